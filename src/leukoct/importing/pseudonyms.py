"""Subject pseudonyms, and the one file that links them to patient IDs.

A pseudonym is ``<prefix>-0001``, ``<prefix>-0002``, ... numbered in the
order of each patient's first study (then StudyInstanceUID): deterministic,
and carrying nothing of the patient ID, so it cannot be reversed without the
map.  (A keyed hash, HMAC of the ID, would be stable without a map, but
anyone with the key and a hospital's ID range could recompute every link; a
number reveals only the order of admission.)  The map, a CSV of
``patient_id,subject_id``, is written only where the user asks, never inside
the study folder; given again, it is read and extended, so a patient keeps
their pseudonym across imports and the registry joins through it
(:mod:`leukoct.importing.registry`).
"""

from __future__ import annotations

import csv
import os
import re
from collections.abc import Iterable
from pathlib import Path

from leukoct.messages import LeukoctError

__all__ = ["PseudonymError", "assign", "check_outside", "join_key", "read_map", "write_map"]

_PREFIX = re.compile(r"^[A-Za-z][A-Za-z0-9]{0,15}$")
WARNING = ("this file links every pseudonym to a patient ID: keep it off the study folder and "
           "out of git, on an encrypted drive, and never share it")


class PseudonymError(LeukoctError):
    """A pseudonym map or prefix cannot be used."""


def join_key(patient_id: str) -> str:
    """A patient ID as it is matched: trimmed, and leading zeros dropped from all-digit IDs.

    A spreadsheet stores ``00412345`` as the number 412345; DICOM keeps the
    string.  Two patients whose IDs differ only in leading zeros are
    refused where the map is read.

    >>> join_key(" 00412345 "), join_key("A-0012")
    ('412345', 'A-0012')
    """
    text = str(patient_id).strip()
    if re.fullmatch(r"\d+(\.0)?", text):
        text = str(int(float(text))) if "." in text else text.lstrip("0") or "0"
    return text


def check_outside(path: Path, out: Path) -> None:
    """Refuse a map path inside the study folder ``out``."""
    if Path(os.path.abspath(path)).is_relative_to(Path(os.path.abspath(out))):
        raise PseudonymError(
            f"{path}: the pseudonym map may not lie inside the study folder {out}; fix: give a "
            "path outside it (e.g. on an encrypted drive): the study folder is meant to be "
            "shared, the map never")


def read_map(path: Path) -> dict[str, str]:
    """The map ``patient_id -> subject_id`` of a pseudonym-map CSV (empty if no file)."""
    if not path.is_file():
        return {}
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        if reader.fieldnames is None or not {"patient_id", "subject_id"} <= set(reader.fieldnames):
            raise PseudonymError(f"{path}: not a pseudonym map (columns patient_id, subject_id); "
                                 "fix: give the file `leukoct import dicom --pseudonym-map` wrote")
        mapping: dict[str, str] = {}
        keys: dict[str, int] = {}
        for row, line in enumerate(reader, start=2):
            pid, sid = line["patient_id"].strip(), line["subject_id"].strip()
            key = join_key(pid)
            if key in keys:
                raise PseudonymError(f"{path}: rows {keys[key]} and {row} hold the same patient "
                                     "ID (up to leading zeros); fix: keep one row per patient")
            keys[key] = row
            mapping[pid] = sid
    if len(set(mapping.values())) < len(mapping):
        raise PseudonymError(f"{path}: a subject_id is given to two patient IDs; fix: restore the "
                             "map from its backup")
    return mapping


def assign(patients: Iterable[str], existing: dict[str, str], prefix: str) -> dict[str, str]:
    """Pseudonyms for ``patients`` (in their order): kept from ``existing``, else the next number.

    Raises
    ------
    PseudonymError
        If ``prefix`` is not 1-16 letters and digits starting with a letter.
    """
    if not _PREFIX.match(prefix):
        raise PseudonymError(f"pseudonym prefix {prefix!r}: fix: use 1-16 letters and digits, "
                             "starting with a letter (e.g. SITE1)")
    by_key = {join_key(p): s for p, s in existing.items()}
    numbers = [int(m.group(1)) for s in existing.values()
               if (m := re.fullmatch(re.escape(prefix) + r"-(\d+)", s))]
    following = max(numbers, default=0) + 1
    out: dict[str, str] = {}
    for patient in patients:
        key = join_key(patient)
        if key in by_key:
            out[patient] = by_key[key]
            continue
        out[patient] = by_key[key] = f"{prefix}-{following:04d}"
        following += 1
    return out


def write_map(path: Path, mapping: dict[str, str], out: Path) -> Path:
    """Write the map (refused inside ``out``), patients in pseudonym order."""
    check_outside(path, out)
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle, lineterminator="\n")
        writer.writerow(["patient_id", "subject_id"])
        for pid, sid in sorted(mapping.items(), key=lambda item: item[1]):
            writer.writerow([pid, sid])
    os.replace(partial, path)
    return path
