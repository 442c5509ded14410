"""What each study step reads of the manifest, as content digests.

Snakemake re-runs a step when one of its input files is newer than its
outputs.  Were ``manifest.csv`` itself the input of every step, correcting
one patient's 3-month mRS would re-run the registration and re-train
nnU-Net.  So each step depends instead on a *view*: the rows and columns of
the manifest it reads, summarised by a SHA-256 in a small JSON file
(``<run>/manifest_views/<view>.json``).  The workflow refreshes the views
each time it is parsed and rewrites a view only when its digest changes: an
edit of a clinical field rewrites ``clinical.json`` alone, and only the
steps reading that view (the clinical chapter, then the book) re-run.

Image files enter through their checksum columns: the schema requires the
SHA-256 of every image it names, so a replaced image (with its checksum
updated, ``leukoct manifest checksum``) changes every view holding that
cell.  The registration of one subject depends on its own row only (see
:func:`row_digest`).

A view is a contract: the step's results must not depend on any cell
outside it.  ``tests/test_manifest_views.py`` checks that contract on the
pure functions behind each step (perturbing every cell outside a view must
leave the step's tables unchanged).
"""

from __future__ import annotations

import hashlib
import io
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from leukoct.schema import CLINICAL_COHORTS, COHORTS, COLUMNS, columns_of_group

if TYPE_CHECKING:
    from leukoct.config import Profile

__all__ = [
    "CLINICAL_COHORTS",
    "Part",
    "View",
    "columns_of_group",
    "manifest_views",
    "profile_views",
    "read_raw_manifest",
    "refresh_views",
    "row_digest",
    "view_digest",
    "views_folder",
    "write_views",
]

_OTHER_COHORTS: tuple[str, ...] = tuple(c for c in COHORTS if c not in CLINICAL_COHORTS)


@dataclass(frozen=True)
class Part:
    """Some columns of the rows of some cohorts (``None``: every cohort)."""

    columns: tuple[str, ...]
    cohorts: tuple[str, ...] | None = None


@dataclass(frozen=True)
class View:
    """The cells of the manifest a group of workflow rules reads."""

    name: str
    read_by: str
    parts: tuple[Part, ...]


def manifest_views(criteria_columns: Iterable[str] = ()) -> dict[str, View]:
    """The views of the study workflow, by name.

    Parameters
    ----------
    criteria_columns
        Manifest columns the exclusion criteria read
        (:class:`leukoct.curation.Criteria`; a profile may name its own
        criteria, e.g. an age limit, which then joins the cascade's view).

    Returns
    -------
    dict of str to View
        ``scans`` (identity, image paths and checksums, acquisition: the
        data chapter, nnU-Net export and prediction, volumes, overlaps),
        ``flair`` (FLAIRs and their masks: the FLAIR segmentation step),
        ``exclusions`` (the cascade), ``curation`` (the curation chapter:
        the cascade's columns, the images it measures and the Table 1
        variables of the non-clinical cohorts), ``evaluation`` (Fazekas
        grade and infarct volume of the non-clinical cohorts: chapters 7-9)
        and ``clinical`` (every column of the clinical cohort: chapter 10).
    """
    identity = columns_of_group("identity")
    images = columns_of_group("images")  # each path with its checksum
    acquisition = columns_of_group("acquisition")
    criteria = tuple(dict.fromkeys(c for c in criteria_columns if c))
    scans = (*identity, *images, *acquisition)
    exclusions = tuple(dict.fromkeys(("subject_id", "cohort", "flair_path", "wmh_mask_path",
                                      *criteria)))
    registry = tuple(dict.fromkeys((*columns_of_group("exclusion"), *criteria)))
    # Table 1 and S1 describe the paired and US cohorts (leukoct.baseline).
    table1 = ("age", "sex", "prior_stroke", "infarct_volume_ml")
    views = [
        View("scans", "00 data, nnU-Net export and prediction, volumes, overlaps",
             (Part(scans),)),
        View("flair", "03 FLAIR segmentation (the FLAIRs, their reference and WMH masks)",
             (Part(("subject_id", "cohort", "flair_path", "flair_sha256", "wmh_mask_path",
                    "wmh_mask_sha256", "wmh_reference_path", "wmh_reference_sha256")),)),
        View("exclusions", "the exclusion cascade (registration candidates)",
             (Part(exclusions),)),
        View("curation", "02 cohort curation (Figure 1, Tables 1 and S1)",
             (Part((*scans, *registry)), Part(("subject_id", *table1), _OTHER_COHORTS))),
        View("evaluation", "03 FLAIR segmentation, 07 internal, 08 external and vendor, 09 US population",
             (Part(("subject_id", "cohort", "fazekas", "infarct_volume_ml"), _OTHER_COHORTS),)),
        View("clinical", "10 clinical validation (Table S3, Figure S4, Tables S4 and 3)",
             (Part(COLUMNS, CLINICAL_COHORTS),)),
    ]
    return {view.name: view for view in views}


def read_raw_manifest(path: str | os.PathLike[str]) -> pd.DataFrame:
    """The manifest's cells as written (text, empty cells as ``""``).

    Digests are taken on the text, not on parsed values, so that they do
    not depend on where the study folder lies (image paths stay relative)
    nor on the parser's version.
    """
    path = Path(path)
    try:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, comment=None)
    except (OSError, pd.errors.ParserError, UnicodeDecodeError) as error:
        raise ValueError(f"{path}: cannot be read as a CSV manifest ({error}); "
                         f"check it with `leukoct manifest validate {path}`") from error
    for column in ("subject_id", "cohort"):
        if column not in table.columns:
            raise ValueError(f"{path}: no column {column!r}; every manifest needs it "
                             f"(see data_manifest/README.md)")
    return table.map(str.strip)


def _part_text(table: pd.DataFrame, part: Part) -> str:
    rows = table if part.cohorts is None else table[table["cohort"].isin(part.cohorts)]
    # A column the manifest lacks is part of the view as "absent" (its
    # appearance changes the digest).
    present = [c for c in part.columns if c in table.columns]
    absent = [c for c in part.columns if c not in table.columns]
    buffer = io.StringIO()
    rows[present].to_csv(buffer, index=False, lineterminator="\n")
    return f"cohorts={part.cohorts}\nabsent={absent}\n{buffer.getvalue()}"


def view_digest(table: pd.DataFrame, view: View) -> str:
    """SHA-256 of the cells of ``table`` (:func:`read_raw_manifest`) in ``view``.

    The manifest's row order is part of the digest: the curation keeps it.
    """
    digest = hashlib.sha256()
    for part in view.parts:
        digest.update(_part_text(table, part).encode("utf-8"))
    return digest.hexdigest()


def row_digest(table: pd.DataFrame, subject_id: str,
               columns: Sequence[str] = ("ct_path", "ct_sha256", "flair_path", "flair_sha256",
                                         "wmh_mask_path", "wmh_mask_sha256")) -> str:
    """SHA-256 of one subject's cells (by default: what its registration reads)."""
    rows = table[table["subject_id"] == subject_id]
    if len(rows) != 1:
        raise KeyError(f"manifest: {len(rows)} rows for subject {subject_id!r}, expected 1")
    row = rows.iloc[0]
    text = json.dumps({c: row.get(c, None) for c in columns}, sort_keys=True)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()


def views_folder(run_root: str | os.PathLike[str]) -> Path:
    """Where a run keeps its view files."""
    return Path(run_root) / "manifest_views"


def _record(table: pd.DataFrame, view: View, manifest: Path) -> dict[str, object]:
    return {
        "view": view.name,
        "read_by": view.read_by,
        "manifest": manifest.name,
        "parts": [{"cohorts": list(p.cohorts) if p.cohorts is not None else "all",
                   "columns": [c for c in p.columns if c in table.columns],
                   "rows": int(len(table) if p.cohorts is None
                               else table["cohort"].isin(p.cohorts).sum())}
                  for p in view.parts],
        "sha256": view_digest(table, view),
    }


def write_views(manifest: str | os.PathLike[str], folder: str | os.PathLike[str],
                views: Mapping[str, View],
                into: str | os.PathLike[str] | None = None) -> list[str]:
    """Write one JSON file per view, rewriting only those whose content changed.

    An unchanged view keeps its file, and so its modification time: that
    is what keeps Snakemake from re-running the steps that read it.

    Parameters
    ----------
    into
        Write the new or changed views there instead, leaving ``folder`` as
        it is: a dry run (``snakemake -n``) points its steps at them, so it
        lists what a run would do without writing into the run folder.

    Returns
    -------
    list of str
        Names of the views written (new or changed).
    """
    manifest = Path(manifest)
    folder = Path(folder)
    out = Path(into) if into is not None else folder
    out.mkdir(parents=True, exist_ok=True)
    table = read_raw_manifest(manifest)
    written = []
    for name, view in views.items():
        text = json.dumps(_record(table, view, manifest), indent=1, sort_keys=True) + "\n"
        target = folder / f"{name}.json"
        if target.is_file() and target.read_text(encoding="utf-8") == text:
            continue
        target = out / f"{name}.json"
        # Atomic: parallel Snakemake processes (cluster jobs) parse the
        # workflow, and so refresh the views, at the same time.
        temporary = target.with_name(f".{name}.{os.getpid()}.tmp")
        temporary.write_text(text, encoding="utf-8")
        temporary.replace(target)
        written.append(name)
    return written


def profile_views(profile: Profile) -> dict[str, View]:
    """:func:`manifest_views` with the columns of the profile's exclusion criteria."""
    from leukoct.curation import load_criteria

    rules = load_criteria(profile.steps.get("curation", {}).get("criteria"))
    return manifest_views(c.column for c in rules.criteria.values() if c.column)


def refresh_views(profile: Profile, into: str | os.PathLike[str] | None = None) -> list[str]:
    """Write the views of the profile's manifest (:func:`write_views`, ``into``
    a folder other than the run's for a dry run); no-op while the manifest
    does not exist yet (the twin's rule writes them)."""
    if not profile.manifest.is_file():
        return []
    return write_views(profile.manifest, views_folder(profile.outputs.root),
                       profile_views(profile), into=into)
