"""Manifest views: an edit rewrites only the views holding the edited cell,
and every step's results are blind to the cells outside its view."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from manifest_edit import edit_cells, read_rows

from leukoct import baseline, clinical, curation
from leukoct.evaluation import evaluation_frame
from leukoct.manifest import load_manifest
from leukoct.manifest_views import (
    columns_of_group,
    manifest_views,
    read_raw_manifest,
    row_digest,
    view_digest,
    write_views,
)
from leukoct.schema import IMAGE_COLUMNS, SubjectRecord

CRITERIA = curation.load_criteria()
VIEWS = manifest_views(c.column for c in CRITERIA.criteria.values() if c.column)


def _row_of(path: Path, cohort: str) -> int:
    """Spreadsheet row (2 = first subject) of the first subject of ``cohort``."""
    _, rows = read_rows(path)
    return next(i for i, r in enumerate(rows, start=2) if r["cohort"] == cohort)


def _edit_and_rewrite(manifest: Path, folder: Path, row: int, **cells: str) -> list[str]:
    edit_cells(manifest, row, **cells)
    return sorted(write_views(manifest, folder, VIEWS))


# --------------------------------------------------------------------------
# which views an edit touches
# --------------------------------------------------------------------------

def test_schema_groups_split_the_columns() -> None:
    assert columns_of_group("identity") == ("subject_id", "cohort", "site", "synthetic")
    assert "mrs_3m" in columns_of_group("clinical")
    assert "ct_vendor" in columns_of_group("acquisition")
    with pytest.raises(ValueError, match="no manifest column in schema group 'genetics'"):
        columns_of_group("genetics")


def test_unchanged_views_keep_their_files(manifest_path: Path, tmp_path: Path) -> None:
    folder = tmp_path / "views"
    assert sorted(write_views(manifest_path, folder, VIEWS)) == sorted(VIEWS)
    stamps = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    os.utime(manifest_path)  # a touched, unchanged manifest
    assert write_views(manifest_path, folder, VIEWS) == []
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == stamps
    record = json.loads((folder / "clinical.json").read_text())
    assert record["parts"][0]["cohorts"] == ["clinical"] and record["parts"][0]["rows"] == 1
    assert len(record["sha256"]) == 64 and record["manifest"] == "manifest.csv"


def test_a_dry_run_writes_the_changed_views_elsewhere(manifest_path: Path, tmp_path: Path) -> None:
    # snakemake -n: the run folder stays as it is; only the changed view goes
    # to the dry run's own folder, where the steps reading it then point.
    folder, elsewhere = tmp_path / "views", tmp_path / "dry"
    write_views(manifest_path, folder, VIEWS)
    stamps = {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()}
    edit_cells(manifest_path, _row_of(manifest_path, "clinical"), mrs_3m="5")
    assert write_views(manifest_path, folder, VIEWS, into=elsewhere) == ["clinical"]
    assert {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in folder.iterdir()} == stamps
    assert [p.name for p in elsewhere.iterdir()] == ["clinical.json"]


@pytest.mark.parametrize(("cohort", "cells", "expected"), [
    # A clinical field of a clinical patient: the clinical chapter only.
    ("clinical", {"mrs_3m": "4"}, ["clinical"]),
    ("clinical", {"nihss": "12", "bmi": "31.5"}, ["clinical"]),
    # Age of a development subject is a Table 1 variable.
    ("train", {"age": "77"}, ["curation"]),
    # A clinical field nobody analyses outside the clinical cohort.
    ("train", {"mrs_3m": "2"}, []),
    ("external", {"fazekas": "3"}, ["evaluation"]),
    # Infarct volume: an exclusion criterion, a Table 1 and an evaluation variable.
    ("train", {"infarct_volume_ml": "7.5"}, ["curation", "evaluation", "exclusions"]),
    ("external", {"recurrent_stroke": "1"}, ["curation", "exclusions"]),
    ("external", {"ct_vendor": "GE"}, ["curation", "scans"]),
    # A replaced image, its checksum updated.
    ("train", {"ct_sha256": "ab" * 32}, ["curation", "scans"]),
])
def test_an_edit_rewrites_the_views_holding_it(manifest_path: Path, tmp_path: Path,
                                                 cohort: str, cells: dict[str, str],
                                                 expected: list[str]) -> None:
    folder = tmp_path / "views"
    write_views(manifest_path, folder, VIEWS)
    assert _edit_and_rewrite(manifest_path, folder, _row_of(manifest_path, cohort),
                             **cells) == expected


def test_a_custom_criterion_joins_the_cascade_view(manifest_path: Path) -> None:
    table = read_raw_manifest(manifest_path)
    with_age = manifest_views(["age"])["exclusions"]
    edited = table.copy()
    edited.loc[edited["cohort"] == "clinical", "age"] = "99"
    assert view_digest(edited, with_age) != view_digest(table, with_age)
    assert view_digest(edited, VIEWS["exclusions"]) == view_digest(table, VIEWS["exclusions"])


def test_row_digest_follows_one_subjects_images(manifest_path: Path) -> None:
    table = read_raw_manifest(manifest_path)
    before = {s: row_digest(table, s) for s in table["subject_id"]}
    edited = table.copy()
    edited.loc[edited["subject_id"] == "S-001", "flair_sha256"] = "cd" * 32
    edited.loc[edited["subject_id"] == "S-002", "age"] = "90"
    after = {s: row_digest(edited, s) for s in edited["subject_id"]}
    assert [s for s in before if before[s] != after[s]] == ["S-001"]
    with pytest.raises(KeyError, match="0 rows for subject 'S-999'"):
        row_digest(table, "S-999")


def test_an_unreadable_manifest_is_named(tmp_path: Path) -> None:
    bad = tmp_path / "manifest.csv"
    bad.write_text("subject_id,site\nS-1,H1\n")
    with pytest.raises(ValueError, match=r"manifest.csv: no column 'cohort'"):
        read_raw_manifest(bad)
    with pytest.raises(ValueError, match="cannot be read"):
        read_raw_manifest(tmp_path / "absent.csv")


# --------------------------------------------------------------------------
# the contract: a step's results do not depend on cells outside its view
# --------------------------------------------------------------------------

def _alternative(column: str, value: str) -> str | None:
    """Another valid value for a cell (None: leave it)."""
    field = SubjectRecord.model_fields[column]
    kind = field.annotation
    if value == "":
        return None
    if kind in (bool, bool | None):
        return "0" if value in ("1", "True", "true") else "1"
    if column == "sex":
        return "M" if value == "F" else "F"
    if column in ("ct_vendor", "mri_vendor"):
        return "GE" if value != "GE" else "SIEMENS"
    bounds = {type(m).__name__: m for m in field.metadata}
    low = getattr(bounds.get("Ge") or bounds.get("Gt"), "ge", None) or \
        getattr(bounds.get("Gt"), "gt", 0) or 0
    high = getattr(bounds.get("Le"), "le", None)
    if kind in (int, int | None):
        number = int(float(value)) + 1
        return str(number if high is None or number <= high else int(low))
    if kind in (float, float | None):
        number = float(value) * 1.1 + 0.5
        return f"{number if high is None or number <= high else max(float(low), 1.0):g}"
    return None


def _perturb_outside(path: Path, view: str, out: Path) -> Path:
    """A copy of the manifest with every cell outside ``view`` changed
    (identity and image cells excepted: files must stay where they are)."""
    table = read_raw_manifest(path)
    inside = pd.DataFrame(False, index=table.index, columns=table.columns)
    for part in VIEWS[view].parts:
        rows = table["cohort"].isin(part.cohorts) if part.cohorts else slice(None)
        inside.loc[rows, [c for c in part.columns if c in table.columns]] = True
    frozen = {*columns_of_group("identity"), *columns_of_group("images")}
    changed = 0
    for column in table.columns:
        if column in frozen or column not in SubjectRecord.model_fields:
            continue
        for index in table.index[~inside[column]]:
            new = _alternative(column, table.at[index, column])
            if new is not None and new != table.at[index, column]:
                table.at[index, column] = new
                changed += 1
    assert changed > 20, "the perturbation must change many cells"
    for column in IMAGE_COLUMNS:
        table[column] = [str((path.parent / v).resolve()) if v else "" for v in table[column]]
    table.to_csv(out, index=False)
    load_manifest(out, verify_checksums=False)  # still a valid manifest
    return out


def _volumes(table: pd.DataFrame, curated: pd.DataFrame) -> pd.DataFrame:
    """A stand-in for the volumes table: one made-up volume per included CT."""
    kept = curated[curated["status"] == "included"]
    rng = np.random.default_rng(0)
    return pd.DataFrame({
        "subject_id": kept["subject_id"].to_numpy(), "group": kept["group"].to_numpy(),
        "split": ["train" if g == "development" else None for g in kept["group"]],
        "ct_vendor": table.set_index("subject_id").loc[kept["subject_id"], "ct_vendor"].to_numpy(),
        "predicted_ml": rng.gamma(2.0, 5.0, len(kept)),
        "registered_ml": rng.gamma(2.0, 5.0, len(kept)),
        "flair_wmh_ml": rng.gamma(2.0, 5.0, len(kept)),
    })


STEP_RESULTS: dict[str, Callable[[pd.DataFrame], list[Any]]] = {
    "exclusions": lambda t: [curation.apply_criteria(t, CRITERIA)],
    "curation": lambda t: (lambda c: [c, baseline.table1(baseline.analysis_frame(t, c)),
                                      baseline.table_s1(baseline.analysis_frame(t, c))])(
        curation.apply_criteria(t, CRITERIA)),
}


@pytest.mark.slow
@pytest.mark.parametrize("view", ["exclusions", "curation", "evaluation", "clinical"])
def test_results_are_blind_to_cells_outside_the_view(ci_study: Path, tmp_path: Path,
                                                      view: str) -> None:
    original = load_manifest(ci_study / "manifest.csv", verify_checksums=False)
    changed = load_manifest(_perturb_outside(ci_study / "manifest.csv", view,
                                             tmp_path / "perturbed.csv"), verify_checksums=False)
    curated = curation.apply_criteria(original, CRITERIA)
    volumes = _volumes(original, curated)

    def results(table: pd.DataFrame) -> list[Any]:
        if view in STEP_RESULTS:
            return STEP_RESULTS[view](table)
        if view == "evaluation":
            return [evaluation_frame(volumes, None, table)]
        frame = clinical.clinical_frame(table, volumes, curated=curated)
        return [frame.drop(columns=[c for c in frame if c.endswith("_path")]),
                baseline.table_s3(baseline.analysis_frame(table, curated))]

    for before, after in zip(results(original), results(changed), strict=True):
        pd.testing.assert_frame_equal(before.drop(columns=[c for c in before.columns
                                                           if str(c).endswith("_path")],
                                                  errors="ignore"),
                                      after.drop(columns=[c for c in after.columns
                                                          if str(c).endswith("_path")],
                                                 errors="ignore"))

