"""Reading, validating and writing the data manifest.

The manifest is a CSV file, one row per subject, with the columns of
:class:`leukoct.schema.SubjectRecord`.  Validation reports *every* problem at
once — header, values, files, checksums, duplicates — each naming the
spreadsheet row, the subject, the column, what is wrong and what to do, so a
user fixes a manifest in one pass instead of one error per run.
"""

from __future__ import annotations

import csv
import difflib
import hashlib
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
from pydantic import ValidationError

from leukoct.messages import LeukoctError
from leukoct.schema import (
    BOOLEAN_COLUMNS,
    CHECKSUM_OF,
    COLUMNS,
    IMAGE_COLUMNS,
    REQUIRED_COLUMNS,
    SubjectRecord,
    field_fix,
    mask_identifiers,
    phi_column,
)

#: Cell values read as "missing" (what spreadsheets and R write for NA).
MISSING_TOKENS: frozenset[str] = frozenset({"", "na", "n/a", "nan", "none", "null"})

#: Spreadsheet row of the header; the first subject is on row 2.
HEADER_ROW = 1


@dataclass(frozen=True)
class Problem:
    """One validation problem.

    Attributes
    ----------
    row
        Spreadsheet row (the header is row 1, the first subject row 2);
        ``None`` for a problem of the whole file.
    subject_id
        The row's subject, when it has one.
    column
        The column at fault, or ``None``.
    problem
        What is wrong.
    fix
        What the user should do.
    """

    row: int | None
    subject_id: str | None
    column: str | None
    problem: str
    fix: str

    def __str__(self) -> str:
        where = "file" if self.row is None else f"row {self.row}"
        if self.subject_id:
            where += f" ({self.subject_id})"
        column = self.column or "-"
        return mask_identifiers(f"{where}, column {column}: {self.problem} — fix: {self.fix}")


class ManifestError(LeukoctError, ValueError):
    """The manifest has problems; ``problems`` lists all of them."""

    def __init__(self, path: Path, problems: Sequence[Problem]):
        self.path = path
        self.problems = list(problems)
        lines = [f"{path}: {len(self.problems)} problem(s)"]
        lines += [f"  {p}" for p in self.problems]
        super().__init__("\n".join(lines))


@dataclass
class ValidationReport:
    """Outcome of :func:`validate_manifest`."""

    path: Path
    problems: list[Problem] = field(default_factory=list)
    table: pd.DataFrame | None = None

    @property
    def ok(self) -> bool:
        return not self.problems

    def to_frame(self) -> pd.DataFrame:
        """Problems as a DataFrame with columns row, subject_id, column, problem, fix."""
        frame = pd.DataFrame(
            [p.__dict__ for p in self.problems],
            columns=["row", "subject_id", "column", "problem", "fix"])
        for column in ("subject_id", "problem"):   # a typed-in real ID stays out of the CSV
            frame[column] = frame[column].map(lambda v: mask_identifiers(v)
                                              if isinstance(v, str) else v)
        return frame


def sha256_file(path: str | os.PathLike[str], chunk_size: int = 1 << 20) -> str:
    """SHA-256 hex digest of a file, read in chunks (images can be large)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(chunk_size), b""):
            digest.update(block)
    return digest.hexdigest()


def resolve(manifest_path: Path, value: str) -> Path:
    """Resolve a path cell against the manifest's folder."""
    candidate = Path(value).expanduser()
    return candidate if candidate.is_absolute() else (manifest_path.parent / candidate)


def _is_missing(value: Any) -> bool:
    return value is None or str(value).strip().lower() in MISSING_TOKENS


def _read_raw(path: Path) -> tuple[list[str], list[list[str]]]:
    with open(path, newline="", encoding="utf-8-sig") as handle:
        rows = list(csv.reader(handle))
    if not rows:
        return [], []
    header = [h.strip() for h in rows[0]]
    body = [r for r in rows[1:] if any(cell.strip() for cell in r)]
    return header, body


def _header_problems(header: list[str]) -> list[Problem]:
    problems: list[Problem] = []
    seen: set[str] = set()
    for name in header:
        if name in seen:
            problems.append(Problem(HEADER_ROW, None, name, "column appears twice in the header",
                                    "keep one column of that name"))
        seen.add(name)
        if name not in COLUMNS and (what := phi_column(name)):
            problems.append(Problem(
                HEADER_ROW, None, name, f"looks like {what}: personal data a pseudonymised "
                "study must not hold", "delete the column from the manifest (leukoct needs "
                "no names, birth dates or record numbers; keep the key that links subject_id "
                "to the patient outside the study folder)"))
        elif name not in COLUMNS:
            close = difflib.get_close_matches(name, COLUMNS, n=1, cutoff=0.75)
            fix = (f"did you mean {close[0]!r}? rename it" if close else
                   "remove it, or rename it to a column of the data dictionary")
            problems.append(Problem(HEADER_ROW, None, name or "(empty)",
                                    "unknown column", fix))
    for name in REQUIRED_COLUMNS:
        if name not in seen:
            problems.append(Problem(HEADER_ROW, None, name, "required column is missing",
                                    f"add a column {name!r} ({field_fix(name)})"))
    return problems


def _split_model_error(err: dict[str, Any]) -> list[tuple[str | None, str]]:
    """Turn one pydantic error into (column, message) pairs."""
    if err["loc"]:
        column = str(err["loc"][0])
        value = err.get("input")
        if err["type"] == "missing":
            return [(column, "value is missing")]
        message = err["msg"].removeprefix("Value error, ")
        return [(column, f"value {value!r}: {message}")]
    # The model validator packs several "column: message" parts into one error.
    pairs: list[tuple[str | None, str]] = []
    for part in err["msg"].removeprefix("Value error, ").split(" | "):
        column, _, message = part.partition(": ")
        pairs.append((column, message) if message else (None, part))
    return pairs


def _file_problems(manifest_path: Path, row: int, subject: str | None,
                   cells: dict[str, Any], verify_checksums: bool) -> list[Problem]:
    problems: list[Problem] = []
    for column in IMAGE_COLUMNS:
        value = cells.get(column)
        if _is_missing(value):
            continue
        file = resolve(manifest_path, str(value).strip())
        if not file.exists():
            problems.append(Problem(row, subject, column, f"file not found: {file}",
                                    "correct the path (relative paths start at the "
                                    "manifest's folder) or copy the file there"))
            continue
        if not file.is_file():
            problems.append(Problem(row, subject, column, f"not a file: {file}",
                                    "point to the NIfTI file, not a folder"))
            continue
        if not str(file).endswith((".nii", ".nii.gz")):
            problems.append(Problem(row, subject, column, f"not a NIfTI file: {file.name}",
                                    "convert the image to NIfTI (.nii.gz), e.g. with dcm2niix"))
        sha_column = CHECKSUM_OF[column]
        expected = cells.get(sha_column)
        if verify_checksums and not _is_missing(expected):
            expected = str(expected).strip().lower()
            if len(expected) == 64 and sha256_file(file) != expected:
                problems.append(Problem(
                    row, subject, sha_column, f"checksum does not match {file.name}",
                    "the file changed since the manifest was written: check it is the right "
                    "image, then run `leukoct manifest checksum` to update the digest"))
    return problems


#: Image columns holding scans, whose content is unique to a subject.
SCAN_COLUMNS = ("ct_path", "flair_path")


def _duplicate_problems(manifest_path: Path, frame: pd.DataFrame) -> list[Problem]:
    problems: list[Problem] = []
    if "subject_id" in frame:
        first: dict[str, int] = {}
        for row, subject in zip(frame["_row"], frame["subject_id"]):
            if _is_missing(subject):
                continue
            if subject in first:
                problems.append(Problem(row, subject, "subject_id",
                                        f"duplicate of row {first[subject]}",
                                        "give every subject one row with a unique subject_id"))
            else:
                first[subject] = row
    subjects = frame.get("subject_id", pd.Series([None] * len(frame)))
    for column in IMAGE_COLUMNS:
        if column not in frame:
            continue
        # The same file under two spellings (images/x.nii.gz, ./images/x.nii.gz)
        # is the same file: compare the resolved, normalised paths.
        first_path: dict[str, int] = {}
        flagged: set[int] = set()
        for row, subject, value in zip(frame["_row"], subjects, frame[column]):
            if _is_missing(value):
                continue
            key = os.path.normcase(os.path.normpath(resolve(manifest_path, str(value).strip())))
            if key in first_path:
                problems.append(Problem(row, subject, column,
                                        f"same file as row {first_path[key]}",
                                        "each subject needs its own image; check the path"))
                flagged.add(row)
            else:
                first_path[key] = row
        # A copy of another subject's scan is the same scan: compare digests
        # (scans only: two empty masks on one grid are rightly identical).
        digest_column = CHECKSUM_OF[column]
        if column not in SCAN_COLUMNS or digest_column not in frame:
            continue
        first_digest: dict[str, int] = {}
        for row, subject, value, digest in zip(frame["_row"], subjects, frame[column],
                                               frame[digest_column]):
            if _is_missing(value) or _is_missing(digest) or row in flagged:
                continue
            key = str(digest).strip().lower()
            if key in first_digest:
                problems.append(Problem(row, subject, column,
                                        f"same image content (SHA-256) as row {first_digest[key]}",
                                        "each subject needs its own image; a copied file is "
                                        "another subject's scan"))
            else:
                first_digest[key] = row
    return problems


def validate_manifest(path: str | os.PathLike[str], verify_checksums: bool = True,
                      images: bool = False,
                      image_cache: str | os.PathLike[str] | None = None) -> ValidationReport:
    """Validate a manifest and collect every problem.

    Parameters
    ----------
    path
        The manifest CSV.
    verify_checksums
        Recompute each file's SHA-256 and compare it with the manifest.
    images
        Also open every image in full (:func:`leukoct.image_validation.image_problems`:
        readable, 3-D, finite, CT in HU, masks binary and on their image's
        grid) once the cells are valid.
    image_cache
        JSON file of earlier image verdicts, keyed by checksum.

    Returns
    -------
    ValidationReport
        ``report.problems`` lists every problem (empty when valid);
        ``report.table`` is the typed table when the manifest is valid.
    """
    path = Path(path)
    report = ValidationReport(path=path)
    if not path.is_file():
        report.problems.append(Problem(None, None, None, f"manifest not found: {path}",
                                       "check the path, or build the twin with `leukoct twin`"))
        return report
    try:
        header, body = _read_raw(path)
    except UnicodeDecodeError:
        report.problems.append(Problem(None, None, None, "file is not UTF-8 text",
                                       "save the manifest as 'CSV UTF-8' from your spreadsheet"))
        return report
    except csv.Error as exc:
        report.problems.append(Problem(None, None, None, f"not a readable CSV file: {exc}",
                                       "save the manifest as CSV (comma-separated)"))
        return report
    if not header:
        report.problems.append(Problem(None, None, None, "file is empty",
                                       "write a header row and one row per subject"))
        return report
    report.problems += _header_problems(header)
    if not body:
        report.problems.append(Problem(None, None, None, "manifest has no subject rows",
                                       "add one row per subject below the header"))
        return report

    records: list[dict[str, Any]] = []
    raw_rows: list[dict[str, Any]] = []
    known = [c for c in header if c in COLUMNS]
    for offset, cells in enumerate(body):
        row = HEADER_ROW + 1 + offset
        if len(cells) != len(header):
            report.problems.append(Problem(
                row, None, None,
                f"has {len(cells)} cells but the header has {len(header)} columns",
                "check for an unquoted comma in a value or a missing cell"))
            continue
        raw = dict(zip(header, cells))
        raw_rows.append({"_row": row, **raw})
        subject = None if _is_missing(raw.get("subject_id")) else raw["subject_id"].strip()
        # Empty cells are left out: optional fields default to None and a
        # required one is reported as missing rather than as a type error.
        values = {c: raw[c].strip() for c in known if not _is_missing(raw[c])}
        try:
            record = SubjectRecord.model_validate(values)
            records.append(record.model_dump())
        except ValidationError as exc:
            for err in exc.errors():
                for column, message in _split_model_error(err):
                    fix = field_fix(column) if column else "see the data dictionary"
                    report.problems.append(Problem(row, subject, column, message, fix))
        report.problems += _file_problems(path, row, subject, raw, verify_checksums)

    report.problems += _duplicate_problems(path, pd.DataFrame(raw_rows))
    report.problems.sort(key=lambda p: (p.row or 0))
    if report.ok:
        report.table = _typed_table(path, records)
        if images:
            from leukoct.image_validation import image_problems  # imports this module

            report.problems += image_problems(report.table, image_cache)
            if report.problems:
                report.table = None
    return report


def _typed_table(path: Path, records: Iterable[dict[str, Any]]) -> pd.DataFrame:
    table = pd.DataFrame(list(records), columns=list(COLUMNS))
    for column in BOOLEAN_COLUMNS:
        table[column] = table[column].astype("boolean")
    for column in ("nihss", "mrs_3m", "fazekas"):
        table[column] = table[column].astype("Int64")
    for column in IMAGE_COLUMNS:
        # object dtype keeps None for "no file" (pandas would turn it into NaN).
        table[column] = pd.Series(
            [None if _is_missing_cell(v) else str(resolve(path, v)) for v in table[column]],
            index=table.index, dtype=object)
    return table


def _is_missing_cell(value: Any) -> bool:
    return value is None or (isinstance(value, float) and pd.isna(value))


def load_manifest(path: str | os.PathLike[str], verify_checksums: bool = True,
                  images: bool = False,
                  image_cache: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """Load a valid manifest as a typed DataFrame with absolute image paths.

    ``images`` and ``image_cache`` as in :func:`validate_manifest`.

    Raises
    ------
    ManifestError
        Listing every problem, when the manifest is not valid.
    """
    report = validate_manifest(path, verify_checksums=verify_checksums, images=images,
                               image_cache=image_cache)
    if not report.ok:
        raise ManifestError(report.path, report.problems)
    assert report.table is not None
    return report.table


def write_manifest(table: pd.DataFrame, path: str | os.PathLike[str]) -> Path:
    """Write a manifest in the schema's column order (booleans as 0/1).

    Image paths are written relative to the manifest's folder where they lie
    below it, so that a study folder can be moved as a whole.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    missing = [c for c in REQUIRED_COLUMNS if c not in table]
    if missing:
        raise ValueError(f"cannot write manifest {path}: missing columns {missing}")
    out = table.reindex(columns=list(COLUMNS)).copy()
    for column in BOOLEAN_COLUMNS:
        out[column] = out[column].map(lambda v: "" if pd.isna(v) else int(bool(v)))
    for column in IMAGE_COLUMNS:
        out[column] = out[column].map(lambda v: _relative(path, v))
    out.to_csv(path, index=False, lineterminator="\n")
    return path


def _relative(manifest_path: Path, value: Any) -> Any:
    if _is_missing_cell(value) or value == "":
        return ""
    p = Path(value)
    if p.is_absolute():
        try:
            return p.relative_to(manifest_path.parent.resolve()).as_posix()
        except ValueError:
            return str(p)
    return p.as_posix()


def fill_checksums(path: str | os.PathLike[str]) -> int:
    """Compute and write the SHA-256 of every image file of a manifest.

    Returns the number of digests that changed.  Rows whose file is missing
    are left as they are (validation will report them).  A manifest whose
    rows do not line up with its header is refused before anything is
    written (filling it would shift values into other columns), and the file
    is replaced atomically, so an interrupted run leaves the old manifest.

    Raises
    ------
    ManifestError
        If the manifest does not exist or a row has another number of cells
        than the header.
    """
    path = Path(path)
    if not path.is_file():
        raise ManifestError(path, [Problem(
            None, None, None, "no such manifest",
            "give the path of the manifest CSV (a copy of data_manifest/template.csv)")])
    header, body = _read_raw(path)
    ragged = [Problem(i, None, None,
                      f"{len(cells)} cells but the header has {len(header)} columns; nothing "
                      "was written", "fix the row (a missing or extra comma, or an unquoted "
                      "comma inside a value), then run `leukoct manifest checksum` again")
              for i, cells in enumerate(body, start=2) if len(cells) != len(header)]
    if ragged:
        raise ManifestError(path, ragged)
    for column in IMAGE_COLUMNS:
        if column in header and CHECKSUM_OF[column] not in header:
            header.append(CHECKSUM_OF[column])
    changed = 0
    rows = []
    for cells in body:
        raw = dict(zip(header, cells + [""] * (len(header) - len(cells))))
        for column in IMAGE_COLUMNS:
            value = raw.get(column, "")
            if _is_missing(value):
                continue
            file = resolve(path, value.strip())
            if file.is_file():
                digest = sha256_file(file)
                if raw.get(CHECKSUM_OF[column], "").strip().lower() != digest:
                    raw[CHECKSUM_OF[column]] = digest
                    changed += 1
        rows.append(raw)
    partial = path.with_name(f".{path.name}.partial")
    with open(partial, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    os.replace(partial, path)
    return changed
