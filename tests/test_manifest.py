"""Manifest validation: every kind of bad input is reported with its row,
column and a fix, all problems at once."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from manifest_edit import edit_cells as _edit
from manifest_edit import read_rows as _rows
from manifest_edit import write_rows as _write

from leukoct.manifest import (
    ManifestError,
    fill_checksums,
    load_manifest,
    sha256_file,
    validate_manifest,
    write_manifest,
)
from leukoct.schema import COLUMNS


def _problems(path: Path) -> list[tuple[int | None, str | None, str]]:
    report = validate_manifest(path)
    assert not report.ok
    return [(p.row, p.column, p.problem) for p in report.problems]


def _single(path: Path, row: int | None, column: str) -> str:
    report = validate_manifest(path)
    matches = [p for p in report.problems if p.row == row and p.column == column]
    assert matches, f"no problem at row {row}, column {column}: {report.problems}"
    text = str(matches[0])
    assert (f"row {row}" if row else "file") in text and f"column {column}" in text
    assert matches[0].fix, "every problem carries a fix"
    return text


def test_valid_manifest_loads_typed_with_absolute_paths(manifest_path: Path) -> None:
    table = load_manifest(manifest_path)
    assert list(table.columns) == list(COLUMNS)
    assert table["cohort"].tolist() == ["train", "external", "clinical"]
    assert str(table["hypertension"].dtype) == "boolean"
    assert Path(table.loc[0, "ct_path"]).is_absolute()
    assert Path(table.loc[0, "ct_path"]).is_file()
    assert table.loc[2, "flair_path"] is None


# --- twelve and more kinds of bad input -------------------------------------

def test_missing_required_column(manifest_path: Path) -> None:
    header, rows = _rows(manifest_path)
    header.remove("age")
    for r in rows:
        r.pop("age")
    _write(manifest_path, header, rows)
    assert "required column is missing" in _single(manifest_path, 1, "age")


def test_unknown_column_suggests_the_right_name(manifest_path: Path) -> None:
    header, rows = _rows(manifest_path)
    header[header.index("hypertension")] = "hypertention"
    for r in rows:
        r["hypertention"] = r.pop("hypertension")
    _write(manifest_path, header, rows)
    text = _single(manifest_path, 1, "hypertention")
    assert "did you mean 'hypertension'" in text


def test_duplicate_subject_id(manifest_path: Path) -> None:
    _edit(manifest_path, 4, subject_id="S-001")
    assert "duplicate of row 2" in _single(manifest_path, 4, "subject_id")


def test_subject_id_that_looks_like_an_identifier(manifest_path: Path) -> None:
    _edit(manifest_path, 3, subject_id="800101-1234567")
    assert "patient identifier" in _single(manifest_path, 3, "subject_id")


def test_a_registration_number_is_masked_in_every_message(manifest_path: Path,
                                                          tmp_path: Path) -> None:
    # The id is refused, and not echoed: a real identifier typed in by mistake
    # must not travel on into terminals, logs or the --report CSV.
    _edit(manifest_path, 3, subject_id="800101-1234567", age="250")
    report = validate_manifest(manifest_path)
    text = "\n".join(str(p) for p in report.problems)
    assert "800101-1234567" not in text and "1234567" not in text
    assert "row 3 (######-#######), column subject_id" in text
    assert "row 3 (######-#######), column age" in text
    assert "1234567" not in report.to_frame().to_csv()


@pytest.mark.parametrize("column, what", [
    ("patient_name", "a name"), ("Name", "a name"), ("birth_date", "a birth date"),
    ("DOB", "a birth date"), ("MRN", "a record number"), ("hospital_id", "a record number"),
    ("resident_registration_number", "a registration number"), ("SSN", "a registration number"),
    ("accession_number", "an accession number"), ("phone", "contact details"),
])
def test_a_column_of_personal_data_is_refused_with_a_privacy_reason(
        manifest_path: Path, column: str, what: str) -> None:
    header, rows = _rows(manifest_path)
    _write(manifest_path, header + [column], [{**r, column: "x"} for r in rows])
    text = _single(manifest_path, 1, column)
    assert f"looks like {what}: personal data" in text and "delete the column" in text


def test_no_column_of_the_data_dictionary_looks_like_personal_data() -> None:
    from leukoct.schema import phi_column
    assert [c for c in COLUMNS if phi_column(c)] == []
    assert phi_column("subject_id") is None and phi_column("Site") is None


def test_subject_id_with_a_date(manifest_path: Path) -> None:
    _edit(manifest_path, 2, subject_id="KIM_19450312")
    assert "a date" in _single(manifest_path, 2, "subject_id")


def test_unknown_cohort(manifest_path: Path) -> None:
    _edit(manifest_path, 2, cohort="training")
    assert "'training'" in _single(manifest_path, 2, "cohort")


def test_missing_required_value(manifest_path: Path) -> None:
    _edit(manifest_path, 3, site="")
    assert "missing" in _single(manifest_path, 3, "site")


def test_non_numeric_value(manifest_path: Path) -> None:
    _edit(manifest_path, 2, age="sixty")
    assert "'sixty'" in _single(manifest_path, 2, "age")


def test_out_of_range_value(manifest_path: Path) -> None:
    _edit(manifest_path, 4, age="250")
    assert "110" in _single(manifest_path, 4, "age")


def test_fractional_ordinal_score(manifest_path: Path) -> None:
    _edit(manifest_path, 4, mrs_3m="2.5")
    assert "integer" in _single(manifest_path, 4, "mrs_3m")


def test_bad_categorical_value(manifest_path: Path) -> None:
    _edit(manifest_path, 2, sex="X")
    assert "'X'" in _single(manifest_path, 2, "sex")


def test_bad_boolean(manifest_path: Path) -> None:
    _edit(manifest_path, 3, diabetes="maybe")
    assert "'maybe'" in _single(manifest_path, 3, "diabetes")


def test_a_vendor_outside_the_papers_four_is_kept(manifest_path: Path) -> None:
    _edit(manifest_path, 2, ct_vendor="Hitachi Medical Corporation")
    table = load_manifest(manifest_path)
    assert table.loc[0, "ct_vendor"] == "HITACHI MEDICAL CORPORATION"


@pytest.mark.parametrize("spelling, vendor", [
    ("TOSHIBA_MEC", "CANON"), ("Canon Medical Systems", "CANON"), ("SIEMENS HEALTHINEERS", "SIEMENS"),
    ("Philips Medical Systems", "PHILIPS"), ("GE MEDICAL SYSTEMS", "GE"), ("  ge  ", "GE")])
def test_dicom_manufacturer_spellings(manifest_path: Path, spelling: str, vendor: str) -> None:
    _edit(manifest_path, 2, ct_vendor=spelling)
    assert load_manifest(manifest_path).loc[0, "ct_vendor"] == vendor


def test_vendor_spellings_are_normalised(manifest_path: Path) -> None:
    _edit(manifest_path, 2, ct_vendor="GE MEDICAL SYSTEMS", mri_vendor="Toshiba")
    table = load_manifest(manifest_path)
    assert (table.loc[0, "ct_vendor"], table.loc[0, "mri_vendor"]) == ("GE", "CANON")


def test_file_not_found(manifest_path: Path) -> None:
    _edit(manifest_path, 3, ct_path="images/nowhere_ct.nii.gz")
    assert "file not found" in _single(manifest_path, 3, "ct_path")


def test_checksum_mismatch(manifest_path: Path) -> None:
    _edit(manifest_path, 2, flair_sha256="0" * 64)
    assert "checksum does not match" in _single(manifest_path, 2, "flair_sha256")


def test_changed_image_is_detected(manifest_path: Path) -> None:
    image = manifest_path.parent / "images" / "S-002_ct.nii.gz"
    image.write_bytes(image.read_bytes() + b"\0")
    _single(manifest_path, 3, "ct_sha256")


def test_malformed_checksum(manifest_path: Path) -> None:
    _edit(manifest_path, 4, ct_sha256="abc123")
    assert "SHA-256" in _single(manifest_path, 4, "ct_sha256")


def test_path_without_checksum(manifest_path: Path) -> None:
    _edit(manifest_path, 2, wmh_mask_sha256="")
    assert "missing for the file" in _single(manifest_path, 2, "wmh_mask_sha256")


def test_paired_subject_without_flair_is_left_to_the_registration_policy(manifest_path: Path) -> None:
    """Missing FLAIR is not a manifest error: the cascade's missing_flair
    policy decides (tests/test_curation.py)."""
    _edit(manifest_path, 3, flair_path="", flair_sha256="")
    assert validate_manifest(manifest_path).ok


def test_same_image_for_two_subjects(manifest_path: Path) -> None:
    header, rows = _rows(manifest_path)
    rows[1]["ct_path"], rows[1]["ct_sha256"] = rows[0]["ct_path"], rows[0]["ct_sha256"]
    _write(manifest_path, header, rows)
    assert "same file as row 2" in _single(manifest_path, 3, "ct_path")


def test_not_a_nifti_file(manifest_path: Path) -> None:
    other = manifest_path.parent / "images" / "scan.dcm"
    other.write_bytes(b"DICM")
    _edit(manifest_path, 4, ct_path="images/scan.dcm", ct_sha256=sha256_file(other))
    assert "not a NIfTI" in _single(manifest_path, 4, "ct_path")


def test_ragged_row(manifest_path: Path) -> None:
    text = manifest_path.read_text().splitlines()
    text[2] = text[2] + ",extra"
    manifest_path.write_text("\n".join(text) + "\n")
    report = validate_manifest(manifest_path)
    assert any(p.row == 3 and "cells" in p.problem for p in report.problems)


def test_empty_and_headless_files(tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_text("")
    assert "empty" in validate_manifest(empty).problems[0].problem
    header_only = tmp_path / "header.csv"
    header_only.write_text(",".join(COLUMNS) + "\n")
    assert "no subject rows" in validate_manifest(header_only).problems[0].problem


def test_not_utf8(tmp_path: Path) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes("subject_id,site\nS-1,Seongnam H\xf4pital\n".encode("latin-1"))
    assert "UTF-8" in validate_manifest(path).problems[0].problem


def test_all_problems_reported_at_once(manifest_path: Path) -> None:
    _edit(manifest_path, 2, age="250", sex="X")
    _edit(manifest_path, 3, cohort="nope")
    _edit(manifest_path, 4, ct_sha256="f" * 64)
    found = {(row, column) for row, column, _ in _problems(manifest_path)}
    assert {(2, "age"), (2, "sex"), (3, "cohort"), (4, "ct_sha256")} <= found
    with pytest.raises(ManifestError) as info:
        load_manifest(manifest_path)
    assert len(info.value.problems) >= 4


def test_missing_tokens_mean_unknown(manifest_path: Path) -> None:
    _edit(manifest_path, 2, bmi="NA", diabetes="NaN", nihss="")
    table = load_manifest(manifest_path)
    assert table.loc[0, "bmi"] is None or pd.isna(table.loc[0, "bmi"])
    assert pd.isna(table.loc[0, "diabetes"])


def test_write_manifest_round_trip(manifest_path: Path, tmp_path: Path) -> None:
    table = load_manifest(manifest_path)
    copy = write_manifest(table, manifest_path.parent / "copy.csv")
    again = load_manifest(copy)
    pd.testing.assert_frame_equal(table, again)


def test_cli_lists_all_problems_and_exits_nonzero(manifest_path: Path) -> None:
    _edit(manifest_path, 2, age="250")
    _edit(manifest_path, 4, sex="unknown")
    result = subprocess.run([sys.executable, "-m", "leukoct.cli", "manifest", "validate",
                             str(manifest_path)], capture_output=True, text=True)
    assert result.returncode == 1
    assert "row 2 (S-001), column age" in result.stderr
    assert "row 4 (S-003), column sex" in result.stderr
    assert "fix:" in result.stderr


def test_cli_accepts_a_valid_manifest(manifest_path: Path) -> None:
    result = subprocess.run([sys.executable, "-m", "leukoct.cli", "manifest", "validate",
                             str(manifest_path)], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
    assert "valid — 3 subjects" in result.stdout


def test_checksum_refuses_a_ragged_row_and_writes_nothing(manifest_path: Path) -> None:
    lines = manifest_path.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n").rsplit(",", 1)[0] + "\n"   # row 3 loses its last cell
    manifest_path.write_text("".join(lines), encoding="utf-8")
    before = manifest_path.read_bytes()
    with pytest.raises(ManifestError, match=r"row 3, column -: \d+ cells but the header has \d+ "
                                            r"columns; nothing was written"):
        fill_checksums(manifest_path)
    assert manifest_path.read_bytes() == before
    assert not list(manifest_path.parent.glob(".*.partial"))


def test_checksum_of_a_missing_manifest_names_it(tmp_path: Path) -> None:
    with pytest.raises(ManifestError, match="no such manifest"):
        fill_checksums(tmp_path / "nope.csv")


def test_same_file_under_two_spellings(manifest_path: Path) -> None:
    header, rows = _rows(manifest_path)
    rows[1]["ct_path"], rows[1]["ct_sha256"] = "./" + rows[0]["ct_path"], rows[0]["ct_sha256"]
    _write(manifest_path, header, rows)
    assert "same file as row 2" in _single(manifest_path, 3, "ct_path")


def test_copy_of_another_subjects_ct(manifest_path: Path) -> None:
    header, rows = _rows(manifest_path)
    source = manifest_path.parent / rows[0]["ct_path"]
    copy = manifest_path.parent / "images" / "copy_ct.nii.gz"
    copy.write_bytes(source.read_bytes())
    rows[1]["ct_path"], rows[1]["ct_sha256"] = "images/copy_ct.nii.gz", rows[0]["ct_sha256"]
    _write(manifest_path, header, rows)
    assert "same image content (SHA-256) as row 2" in _single(manifest_path, 3, "ct_path")
