"""What may leave the importer (PS3.15 basic profile), the leak check, and pseudonyms."""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from pydicom.datadict import tag_for_keyword
from pydicom.dataset import Dataset

from leukoct.cli import app
from leukoct.importing.deidentify import (
    KEPT_ATTRIBUTES,
    basic_profile_tags,
    find_leaks,
    identifying_values,
    in_basic_profile,
)
from leukoct.importing.pseudonyms import PseudonymError, assign, check_outside, join_key, read_map, write_map


def test_no_kept_attribute_is_in_the_basic_profile() -> None:
    assert len(basic_profile_tags()) > 500
    for keyword in ("PatientName", "PatientID", "PatientBirthDate", "AccessionNumber",
                    "StudyDate", "InstitutionName", "SeriesDescription", "StudyInstanceUID"):
        assert in_basic_profile(tag_for_keyword(keyword)), keyword
    assert in_basic_profile(0x60024000)                    # Overlay Comments (60xx,4000)
    assert not [k for k in KEPT_ATTRIBUTES if in_basic_profile(tag_for_keyword(k))]


def test_identifying_values_include_names_ids_dates_and_sequences() -> None:
    ds = Dataset()
    ds.PatientName, ds.PatientID, ds.StudyDate = "DOE^JOHNATHAN", "12345678", "20230415"
    ds.InstitutionName, ds.Manufacturer, ds.PatientSex = "FAKE HOSPITAL", "SIEMENS", "M"
    item = Dataset()
    item.AccessionNumber = "ACC778899"
    ds.RequestAttributesSequence = [item]
    values = identifying_values([ds])
    assert {"DOE^JOHNATHAN", "JOHNATHAN", "12345678", "20230415", "2023-04-15",
            "FAKE HOSPITAL", "ACC778899"} <= values
    assert "SIEMENS" not in values and "M" not in values


def test_leaks_are_found_inside_gzip_files_without_being_repeated(tmp_path: Path) -> None:
    clean, dirty = tmp_path / "a.nii.gz", tmp_path / "b.json"
    clean.write_bytes(gzip.compress(b"nothing here"))
    dirty.write_text('{"x": "john doe"}')
    inside = tmp_path / "c.nii.gz"
    inside.write_bytes(gzip.compress(b"..JOHN DOE.."))
    assert find_leaks([clean, dirty, inside], {"John Doe"}) == [(dirty, 1), (inside, 1)]


def test_pseudonyms_are_kept_and_extended_through_the_map(tmp_path: Path) -> None:
    first = assign(["B7", "A3"], {}, "SITE1")
    assert first == {"B7": "SITE1-0001", "A3": "SITE1-0002"}
    path = write_map(tmp_path / "private" / "map.csv", first, tmp_path / "study")
    again = assign(["C9", "A3"], read_map(path), "SITE1")
    assert again == {"C9": "SITE1-0003", "A3": "SITE1-0002"}
    assert join_key("00412345") == join_key("412345.0") == "412345"
    with pytest.raises(PseudonymError, match="prefix"):
        assign(["X"], {}, "2023")


def test_a_map_inside_the_study_folder_is_refused_cleanly(tmp_path: Path, capsys) -> None:
    with pytest.raises(PseudonymError, match="may not lie inside the study folder"):
        check_outside(tmp_path / "study" / "keys" / "map.csv", tmp_path / "study")
    (tmp_path / "src").mkdir()
    # Called as the installed script calls it (CliRunner bypasses the clean-error handling).
    with pytest.raises(SystemExit) as exit_:
        app(["import", "dicom", str(tmp_path / "src"), str(tmp_path / "study"),
             "--pseudonym-map", str(tmp_path / "study" / "map.csv")])
    err = capsys.readouterr().err
    assert exit_.value.code == 1 and err.startswith("leukoct: error: ") and "Traceback" not in err
    assert "may not lie inside the study folder" in err
    assert not (tmp_path / "study").exists()
