"""``leukoct import dicom`` then ``import registry`` on synthetic DICOM studies of twin subjects:
values and geometry round-trip, CT in HU, skipped series listed, the manifest validates with
its images, and no fake identifier reaches OUT, the manifest, the reports, the logs, the
command output or the data chapter run on the imported study."""

from __future__ import annotations

import gzip
import logging
from pathlib import Path

import nbformat
import nibabel as nib
import numpy as np
import pandas as pd
import papermill as pm
import pytest
from dicom_fixtures import phi_strings, write_twin_patient
from profile_edit import profile_in
from typer.testing import CliRunner

from leukoct.cli import app
from leukoct.images import load_volume
from leukoct.manifest import validate_manifest

ROOT = Path(__file__).resolve().parents[1]
TWINS = ("TW-DEV-0001", "TW-DEV-0002")
runner = CliRunner()


def _registry(path: Path, patients: list) -> list[str]:
    """A registry spreadsheet in the example mapping's columns, with identifying columns;
    returns the identifying strings it holds."""
    rows = []
    extra_phi = []
    for i, patient in enumerate(patients, start=1):
        birth = patient.phi["PatientBirthDate"]
        iso = f"{birth[:4]}-{birth[4:6]}-{birth[6:]}"
        rows.append({
            # Patient 1's ID as the registry's typist wrote it: other case of spaces.
            "Hospital number": patient.phi["PatientID"] if i == 2 else
            f" {patient.phi['PatientID']} ",
            "Name": patient.phi["PatientName"].replace("^", " "), "Birth date": iso,
            "Admission date": "2023-04-15", "Age": 60 + i, "Sex": i, "BMI": 23.5,
            "HTN": "Y", "DM": "N", "Dyslipidemia": "yes", "Current smoker": "no",
            "AF": 0, "CAD": 0, "Previous stroke": 1, "IVT or EVT": "", "Initial NIHSS": 3 + i,
            "mRS 3 months": f"mRS {i}", "DWI volume (mL)": 1.5, "Fazekas (CT)": 1,
            "Recurrent stroke": 0, "Ward": "7B"})
        extra_phi += [iso, patient.phi["PatientName"].replace("^", " ")]
    pd.DataFrame(rows).to_excel(path, index=False, engine="openpyxl")
    return extra_phi


class _Logs(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture(scope="module")
def imported(ci_study: Path, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """Two twin subjects as DICOM (one with a localiser, a duplicate, a contrast phase, a
    T1, a broken file, a SEG and a NIfTI mask), imported with the CLI, registry joined."""
    base = tmp_path_factory.mktemp("dicom_import")
    src, out, private = base / "src", base / "study", base / "private"
    patients = [
        write_twin_patient(src, ci_study / "images", TWINS[0], 1, flat=False, ct_time="093000",
                           mr_time="233000", slope=0.5, intercept=-1024.0, extras=True),
        write_twin_patient(src, ci_study / "images", TWINS[1], 2, flat=True, ct_time="101500",
                           mr_time="081500", slope=1.0, intercept=-1024.0, extras=False)]
    extra_phi = _registry(base / "registry.xlsx", patients)
    logs = _Logs()
    logger = logging.getLogger("leukoct")
    logger.addHandler(logs)
    level = logger.level
    logger.setLevel(logging.DEBUG)
    try:
        dicom = runner.invoke(app, ["import", "dicom", str(src), str(out), "--pseudonym-map",
                                    str(private / "pseudonyms.csv"), "--site", "H7"])
        registry = runner.invoke(app, [
            "import", "registry", str(base / "registry.xlsx"), "--map",
            str(ROOT / "data_manifest" / "registry_mapping.example.yaml"),
            "--pseudonym-map", str(private / "pseudonyms.csv"),
            "--manifest", str(out / "manifest.csv")])
    finally:
        logger.removeHandler(logs)
        logger.setLevel(level)
    return {"base": base, "src": src, "out": out, "private": private, "patients": patients,
            "dicom": dicom, "registry": registry, "logs": logs.lines,
            "phi": phi_strings(2) + extra_phi}


def test_both_commands_succeed_and_say_what_comes_next(imported: dict) -> None:
    assert imported["dicom"].exit_code == 0, imported["dicom"].output
    assert "2 subjects, 6 series kept" in imported["dicom"].output
    assert "warning: pseudonym map written" in imported["dicom"].output
    assert imported["registry"].exit_code == 0, imported["registry"].output
    assert "2 subjects joined" in imported["registry"].output
    assert "valid; next: make book PROFILE=real" in imported["registry"].output
    assert "Ward" in imported["registry"].output     # the unknown column is named


def test_manifest_validates_with_every_image_check(imported: dict) -> None:
    report = validate_manifest(imported["out"] / "manifest.csv", images=True)
    assert report.ok, report.problems
    table = report.table.set_index("subject_id")
    assert list(table.index) == ["SUBJ-0001", "SUBJ-0002"]
    assert (table["site"] == "H7").all() and (table["cohort"] == "train").all()
    assert table["age"].tolist() == [61.0, 62.0] and table["sex"].tolist() == ["M", "F"]
    assert table["hypertension"].tolist() == [True, True]
    assert table["diabetes"].tolist() == [False, False]
    assert table["hyperlipidemia"].tolist() == [True, True]
    assert table["mrs_3m"].tolist() == [1, 2] and table["nihss"].tolist() == [4, 5]
    assert table["revascularization"].isna().all()
    # acquisition facts from the headers; the interval from the study times, dates forgotten
    assert table["ct_vendor"].tolist() == ["SIEMENS"] * 2
    assert table["mri_vendor"].tolist() == ["GE"] * 2          # GE MEDICAL SYSTEMS
    assert table["ct_kvp"].tolist() == [120.0] * 2
    assert table["ct_slice_thickness_mm"].tolist() == [5.0] * 2
    assert table["mri_field_strength_t"].tolist() == [3.0] * 2
    assert table["ct_mri_interval_h"].tolist() == pytest.approx(
        [p.interval_h for p in imported["patients"]])
    assert table["ct_mri_interval_h"].tolist() == pytest.approx([14.0, 22.0])


@pytest.mark.parametrize("kind, twin_kind", [("ct", "ct"), ("flair", "flair"),
                                             ("wmh_mask", "wmh"),
                                             ("wmh_reference", "wmh_reference")])
def test_voxels_and_geometry_round_trip(imported: dict, ci_study: Path, kind: str,
                                        twin_kind: str) -> None:
    subject, twin = "SUBJ-0001", TWINS[0]
    got = load_volume(imported["out"] / "images" / f"{subject}_{kind}.nii.gz")
    want = load_volume(ci_study / "images" / f"{twin}_{twin_kind}.nii.gz")
    assert got.data.shape == want.data.shape
    np.testing.assert_allclose(got.affine, want.affine, atol=1e-3)
    np.testing.assert_array_equal(got.data, want.data)


def test_ct_is_int16_hounsfield_units_after_slope_and_intercept(imported: dict,
                                                                 ci_study: Path) -> None:
    for subject, twin in zip(("SUBJ-0001", "SUBJ-0002"), TWINS):
        image = nib.load(imported["out"] / "images" / f"{subject}_ct.nii.gz")
        data = np.asanyarray(image.dataobj)
        want = np.asanyarray(nib.load(ci_study / "images" / f"{twin}_ct.nii.gz").dataobj)
        assert data.dtype == np.int16
        assert data.min() <= -1000 and np.array_equal(data, want)   # not the +40 HU contrast phase
    masks = nib.load(imported["out"] / "images" / "SUBJ-0001_wmh_mask.nii.gz")
    assert masks.get_data_dtype() == np.uint8


def test_every_skipped_series_is_listed_with_its_reason(imported: dict) -> None:
    report = pd.read_csv(imported["out"] / "import_report.csv", keep_default_na=False)
    skipped = report[report["status"] == "skipped"]
    reasons = dict(zip(skipped["series_number"].astype(str), skipped["reason"]))
    assert reasons["1"] == "localiser (scout)"
    assert reasons["4"].startswith("contrast phase")
    assert reasons["3"].startswith("duplicate: CT series 2 of this patient was kept")
    assert reasons["6"].startswith("MR series, not a FLAIR")
    assert reasons[""].startswith("unreadable file")
    kept = report[report["status"] == "kept"]
    assert sorted(kept["used_as"]) == ["ct", "ct", "flair", "flair", "wmh_mask", "wmh_reference"]
    assert set(report["subject_id"]) == {"SUBJ-0001", "SUBJ-0002", ""}


def test_no_fake_identifier_reaches_any_output(imported: dict) -> None:
    phi = [s.lower() for s in imported["phi"]]
    assert len(phi) > 40
    outputs = [p for p in imported["out"].rglob("*") if p.is_file()]
    assert len(outputs) >= 13        # images, sidecars, manifest, two reports
    texts = {str(p.relative_to(imported["out"])): (gzip.decompress(p.read_bytes())
             if p.name.endswith(".gz") else p.read_bytes()).lower() for p in outputs}
    texts["dicom command output"] = imported["dicom"].output.lower().encode()
    texts["registry command output"] = imported["registry"].output.lower().encode()
    texts["logs"] = "\n".join(imported["logs"]).lower().encode()
    assert len(imported["logs"]) >= 10
    leaks = {name: [s for s in phi if s.encode() in content] for name, content in texts.items()}
    assert not {k: v for k, v in leaks.items() if v}
    # The search finds what is there: the private map (outside OUT) holds the patient IDs.
    private = (imported["private"] / "pseudonyms.csv").read_text().lower()
    assert all(p.phi["PatientID"].lower() in private for p in imported["patients"])
    # NIfTI headers: free-text fields empty.
    for path in (imported["out"] / "images").glob("*.nii.gz"):
        header = nib.load(path).header
        assert all(header[f].tobytes().strip(b"\0") == b""
                   for f in ("descrip", "aux_file", "intent_name", "db_name"))


@pytest.mark.slow
def test_data_chapter_on_the_imported_study_shows_no_identifier(imported: dict) -> None:
    folder = imported["base"] / "chapter"
    folder.mkdir()
    executed = folder / "00_data.ipynb"
    pm.execute_notebook(str(ROOT / "notebooks" / "00_data.ipynb"), str(executed),
                        parameters={"profile": str(profile_in(folder, imported["out"] /
                                                              "manifest.csv"))},
                        cwd=str(ROOT / "notebooks"), progress_bar=False)
    notebook = nbformat.read(executed, as_version=4)
    text = "\n".join(str(o) for c in notebook.cells for o in c.get("outputs", [])).lower()
    assert "valid: 2 subjects" in text and "synthetic data" not in text
    written = [p for p in (folder / "run").rglob("*") if p.is_file() and p.suffix != ".png"]
    assert written
    contents = text + "".join(p.read_text(errors="replace").lower() for p in written)
    assert not [s for s in imported["phi"] if s.lower() in contents]
