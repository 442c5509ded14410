"""The registry join: names and codings mapped, IDs joined through the pseudonym map and
never copied, unknown columns listed, every bad value named by its registry row."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
import yaml
from manifest_edit import edit_cells

from leukoct.importing.pseudonyms import write_map
from leukoct.importing.registry import RegistryError, import_registry
from leukoct.manifest import load_manifest

MAPPING = {"id_column": "MRN", "columns": {"Age (y)": "age", "Gender": "sex", "HTN": "hypertension",
                                           "mRS": "mrs_3m"},
           "codings": {"sex": {1: "M", 2: "F"}, "hypertension": {"Y": 1, "N": 0}},
           "ignore": ["Patient name"]}


def _setup(tmp_path: Path, manifest_path: Path, rows: list[dict], mapping: dict = MAPPING,
           ) -> tuple[Path, Path, Path]:
    registry = tmp_path / "registry.csv"
    pd.DataFrame(rows).to_csv(registry, index=False)
    rules = tmp_path / "mapping.yaml"
    rules.write_text(yaml.safe_dump(mapping))
    keys = write_map(tmp_path.parent / f"{tmp_path.name}-private" / "map.csv",
                     {"00012345": "S-001", "A-77": "S-002", "B-99": "S-003"},
                     manifest_path.parent)
    return registry, rules, keys


ROWS = [{"MRN": 12345, "Patient name": "KIMXQ MINJUXQ", "Age (y)": 71, "Gender": 2, "HTN": "Y",
         "mRS": 3, "Ward": "7B"},
        {"MRN": "A-77", "Patient name": "LEEXQ JIHOXQ", "Age (y)": 55, "Gender": 1, "HTN": "n",
         "mRS": "", "Ward": "3A"},
        {"MRN": "Z-00", "Patient name": "NOBODYXQ", "Age (y)": 40, "Gender": 1, "HTN": "N",
         "mRS": 0, "Ward": "1C"}]


def test_registry_values_are_mapped_coded_and_joined(tmp_path: Path, manifest_path: Path) -> None:
    registry, rules, keys = _setup(tmp_path, manifest_path, ROWS)
    done = import_registry(registry, rules, keys, manifest_path)
    assert done.joined == 2 and done.validation.ok, done.validation.problems
    assert done.unknown_columns == ["Ward"]
    assert done.subjects_without_registry == ["S-003"] and done.registry_rows_without_imaging == [4]
    table = load_manifest(manifest_path).set_index("subject_id")
    assert table.loc["S-001", ["age", "sex", "hypertension", "mrs_3m"]].tolist() == [71, "F", True, 3]
    assert table.loc["S-002", ["age", "sex", "hypertension"]].tolist() == [55, "M", False]
    assert pd.isna(table.loc["S-002", "mrs_3m"])
    assert table.loc["S-003", "age"] == 63          # no registry row: left as it was
    report = pd.read_csv(done.report, keep_default_na=False)
    assert dict(zip(report["name"], report["status"]))["Ward"] == "unknown"
    assert dict(zip(report["name"], report["status"]))["Patient name"] == "ignored"
    written = manifest_path.read_text() + done.report.read_text()
    assert not [s for s in ("12345", "A-77", "Z-00", "KIMXQ", "LEEXQ", "NOBODYXQ") if s in written]


def test_a_value_without_its_coding_is_named_by_row_and_column(tmp_path: Path,
                                                                manifest_path: Path) -> None:
    rows = [dict(ROWS[0], Gender=3), dict(ROWS[1], **{"Age (y)": 7})]
    registry, rules, keys = _setup(tmp_path, manifest_path, rows)
    before = manifest_path.read_text()
    with pytest.raises(RegistryError) as error:
        import_registry(registry, rules, keys, manifest_path)
    message = str(error.value)
    assert "row 2, column 'Gender': value '3' has no coding; fix: add it under codings.sex" in message
    assert "row 3, column 'Age (y)' (age): Input should be greater than or equal to 18" in message
    assert manifest_path.read_text() == before       # nothing written


def test_a_required_column_absent_after_mapping_is_a_clean_error(tmp_path: Path,
                                                                 manifest_path: Path) -> None:
    for row in (2, 3, 4):
        edit_cells(manifest_path, row, sex="")
    mapping = {**MAPPING, "columns": {"Age (y)": "age"}, "codings": {}}
    registry, rules, keys = _setup(tmp_path, manifest_path, ROWS, mapping)
    with pytest.raises(RegistryError, match=r"required leukoct column 'sex' is neither mapped"):
        import_registry(registry, rules, keys, manifest_path)
    bad = {**MAPPING, "columns": {"Age (y)": "agee", "MRN2": "ct_path"}}
    registry, rules, keys = _setup(tmp_path, manifest_path, ROWS, bad)
    with pytest.raises(RegistryError, match=r"'agee' is not a leukoct column.*set by `leukoct "
                                            r"import dicom`"):
        import_registry(registry, rules, keys, manifest_path)
