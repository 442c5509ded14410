"""The catalogue of bad input: each mistake a user makes, stopped at the door.

Every case starts from a valid study (``conftest.manifest_path``: three
subjects, row 2 S-001 train with FLAIR and WMH mask, row 3 S-002 external,
row 4 S-003 clinical without MRI) or from the ``ci`` profile, makes one
realistic mistake, and runs the command a user runs first -- ``leukoct
manifest validate`` or ``leukoct profile show`` -- as the installed script
runs it.  Each case asserts what the user relies on:

* the command exits non-zero;
* the message names where the problem is (row and subject, and column; or
  the profile file, section and knob) and what it is;
* it says how to fix it;
* there is no traceback;
* nothing was written.

The good controls at the end are inputs that look odd but are valid and must
pass.  ``docs/decisions.md`` ("Bad input") lists every check with its
threshold; the unit tests of each check are in ``test_manifest.py``,
``test_image_validation.py`` and ``test_config.py``.
"""

from __future__ import annotations

import gzip
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
from manifest_edit import (
    edit_cells,
    put_rescaled_ct,
    read_rows,
    replace_image,
    write_rows,
)
from profile_edit import spelled_out

from leukoct.cli import app

ROOT = Path(__file__).resolve().parents[1]


# --- mistakes in a manifest ------------------------------------------------------------------

def _drop_column(name: str) -> Callable[[Path], None]:
    def edit(m: Path) -> None:
        header, rows = read_rows(m)
        header.remove(name)
        write_rows(m, header, [{k: v for k, v in r.items() if k != name} for r in rows])
    return edit


def _rename_column(old: str, new: str) -> Callable[[Path], None]:
    def edit(m: Path) -> None:
        header, rows = read_rows(m)
        header[header.index(old)] = new
        write_rows(m, header, [{(new if k == old else k): v for k, v in r.items()} for r in rows])
    return edit


def _add_column(name: str) -> Callable[[Path], None]:
    def edit(m: Path) -> None:
        header, rows = read_rows(m)
        write_rows(m, header + [name], [{**r, name: "x"} for r in rows])
    return edit


def _cells(row: int, **cells: str) -> Callable[[Path], None]:
    return lambda m: edit_cells(m, row, **cells)


def _ragged(m: Path) -> None:
    lines = m.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n").rsplit(",", 1)[0] + "\n"
    m.write_text("".join(lines), encoding="utf-8")


def _duplicate_header(m: Path) -> None:
    lines = m.read_text(encoding="utf-8").splitlines(keepends=True)
    lines = [lines[0].rstrip("\n") + ",age\n"] + [line.rstrip("\n") + ",70\n" for line in lines[1:]]
    m.write_text("".join(lines), encoding="utf-8")


def _same_file_twice(m: Path) -> None:
    _, rows = read_rows(m)
    edit_cells(m, 3, ct_path=rows[0]["ct_path"], ct_sha256=rows[0]["ct_sha256"])


def _two_spellings(m: Path) -> None:
    _, rows = read_rows(m)
    edit_cells(m, 3, ct_path="./" + rows[0]["ct_path"], ct_sha256=rows[0]["ct_sha256"])


def _copied_ct(m: Path) -> None:
    _, rows = read_rows(m)
    copy = m.parent / "images" / "copy_ct.nii.gz"
    copy.write_bytes((m.parent / rows[0]["ct_path"]).read_bytes())
    edit_cells(m, 3, ct_path="images/copy_ct.nii.gz", ct_sha256=rows[0]["ct_sha256"])


def _changed_image(m: Path) -> None:
    _, rows = read_rows(m)
    target = m.parent / rows[0]["ct_path"]
    target.write_bytes(target.read_bytes() + b"\0")


def _directory(m: Path) -> None:
    (m.parent / "images" / "folder.nii.gz").mkdir()
    edit_cells(m, 2, ct_path="images/folder.nii.gz")


def _text_file(m: Path) -> None:
    (m.parent / "images" / "ct.txt").write_text("not an image")
    edit_cells(m, 2, ct_path="images/ct.txt", ct_sha256="")


def _image(column: str, **kwargs) -> Callable[[Path], None]:  # noqa: ANN003 (replace_image's)
    return lambda m: replace_image(m, column, **kwargs)


def _truncated(m: Path) -> None:
    data = np.random.default_rng(0).integers(-1000, 80, (64, 64, 16)).astype(np.int16)
    full = replace_image(m, "ct_path", data=data, name="full.nii.gz").read_bytes()
    assert len(gzip.decompress(full)) > 0
    replace_image(m, "ct_path", raw=full[: len(full) // 2], name="cut.nii.gz")


def _ramp(low: float, high: float) -> np.ndarray:
    return np.linspace(low, high, 8 * 8 * 4, dtype=np.float32).reshape(8, 8, 4)


def _shifted(mm: float) -> np.ndarray:
    affine = np.diag([1.0, 1.0, 5.0, 1.0])
    affine[0, 3] = mm
    return affine


def _with_head(data: np.ndarray) -> np.ndarray:
    data = data.astype(np.int16)
    data.flat[0] = -1000
    return data


def _small_head() -> np.ndarray:
    # A 4 x 4 mm head in air; the fixture's FLAIR shows an 8 x 8 mm one.
    data = np.full((8, 8, 4), -1000, np.int16)
    data[2:6, 2:6] = 30
    return data


@dataclass(frozen=True)
class Bad:
    """One mistake: how to make it, and what the message must say."""

    id: str
    edit: Callable[[Path], None]
    where: str
    says: str


MANIFEST_CASES: list[Bad] = [
    # structure of the table
    Bad("missing required column", _drop_column("age"), "row 1, column age", "required column is missing"),
    Bad("misspelled column", _rename_column("hypertension", "hypertention"),
        "row 1, column hypertention", "did you mean 'hypertension'"),
    Bad("column twice", _duplicate_header, "row 1, column age", "appears twice"),
    Bad("ragged row", _ragged, "row 3", "cells but the header has"),
    Bad("patient name column", _add_column("patient_name"), "row 1, column patient_name",
        "looks like a name"),
    Bad("birth date column", _add_column("birth_date"), "row 1, column birth_date",
        "looks like a birth date"),
    Bad("record number column", _add_column("MRN"), "row 1, column MRN", "looks like a record number"),
    # values
    Bad("duplicate subject", _cells(4, subject_id="S-001"), "row 4 (S-001), column subject_id",
        "duplicate of row 2"),
    Bad("registration number as id", _cells(3, subject_id="800101-1234567"),
        "row 3 (######-#######), column subject_id", "patient identifier"),
    Bad("date in id", _cells(2, subject_id="KIM_19450312"), "column subject_id", "a date"),
    Bad("space in id", _cells(2, subject_id="S 001"), "column subject_id", "letters, digits"),
    Bad("unknown cohort", _cells(2, cohort="training"), "row 2 (S-001), column cohort", "'training'"),
    Bad("missing site", _cells(3, site=""), "row 3 (S-002), column site", "missing"),
    Bad("age in words", _cells(2, age="sixty"), "row 2 (S-001), column age", "number"),
    Bad("age out of range", _cells(2, age="250"), "row 2 (S-001), column age", "250"),
    Bad("unknown sex", _cells(4, sex="unknown"), "row 4 (S-003), column sex", "'unknown'"),
    Bad("boolean in words", _cells(2, hypertension="maybe"), "row 2 (S-001), column hypertension",
        "maybe"),
    Bad("fractional NIHSS", _cells(2, nihss="3.5"), "row 2 (S-001), column nihss", "3.5"),
    Bad("mRS 7", _cells(2, mrs_3m="7"), "row 2 (S-001), column mrs_3m", "7"),
    Bad("Fazekas 4", _cells(2, fazekas="4"), "row 2 (S-001), column fazekas", "4"),
    Bad("negative slice thickness", _cells(2, ct_slice_thickness_mm="-5"),
        "row 2 (S-001), column ct_slice_thickness_mm", "-5"),
    Bad("negative infarct volume", _cells(3, infarct_volume_ml="-1"),
        "row 3 (S-002), column infarct_volume_ml", "-1"),
    Bad("kVp in words", _cells(2, ct_kvp="high"), "row 2 (S-001), column ct_kvp", "high"),
    Bad("field strength 30 T", _cells(2, mri_field_strength_t="30"),
        "row 2 (S-001), column mri_field_strength_t", "30"),
    Bad("malformed checksum", _cells(2, ct_sha256="abc"), "row 2 (S-001), column ct_sha256", "abc"),
    # files
    Bad("file not found", _cells(2, ct_path="images/nope.nii.gz"), "row 2 (S-001), column ct_path",
        "file not found"),
    Bad("folder instead of a file", _directory, "row 2 (S-001), column ct_path", "not a file"),
    Bad("not a NIfTI name", _text_file, "row 2 (S-001), column ct_path", "not a NIfTI file"),
    Bad("changed image", _changed_image, "row 2 (S-001), column ct_sha256", "does not match"),
    Bad("path without checksum", _cells(2, ct_sha256=""), "row 2 (S-001), column ct_sha256",
        "checksum"),
    Bad("one file for two subjects", _same_file_twice, "row 3 (S-002), column ct_path",
        "same file as row 2"),
    Bad("one file under two spellings", _two_spellings, "row 3 (S-002), column ct_path",
        "same file as row 2"),
    Bad("another subject's CT, copied", _copied_ct, "row 3 (S-002), column ct_path",
        "same image content (SHA-256) as row 2"),
    # images, opened in full
    Bad("zero-byte CT", _image("ct_path", raw=b""), "row 2 (S-001), column ct_path", "empty (0 bytes)"),
    Bad("DICOM renamed .nii.gz", _image("ct_path", raw=b"\0" * 128 + b"DICM" + b"\0" * 400),
        "row 2 (S-001), column ct_path", "cannot be read as NIfTI"),
    Bad("truncated gzip, checksum refreshed", _truncated, "row 2 (S-001), column ct_path",
        "cannot be read as NIfTI"),
    Bad("2-D CT", _image("ct_path", data=_with_head(np.full((8, 8), 30)), affine=np.eye(4)),
        "row 2 (S-001), column ct_path", "2 dimensions"),
    Bad("4-D CT", _image("ct_path", data=_with_head(np.full((8, 8, 4, 3), 30)), affine=np.eye(4)),
        "row 2 (S-001), column ct_path", "4 dimensions"),
    Bad("CT stored 0..4095", _image("ct_path", data=_ramp(0, 4095)), "row 2 (S-001), column ct_path",
        "not Hounsfield units"),
    Bad("CT scaled 0..1", _image("ct_path", data=_ramp(0, 1)), "row 2 (S-001), column ct_path",
        "not Hounsfield units"),
    Bad("all-NaN CT", _image("ct_path", data=np.full((8, 8, 4), np.nan, np.float32)),
        "row 2 (S-001), column ct_path", "NaN"),
    Bad("0.01 mm voxels", _image("ct_path", data=_with_head(np.full((8, 8, 4), 30)),
                                 affine=np.diag([0.01, 0.01, 5.0, 1.0])),
        "row 2 (S-001), column ct_path", "voxel size"),
    Bad("mask of another shape", _image("wmh_mask_path", data=np.zeros((8, 8, 5), np.uint8)),
        "row 2 (S-001), column wmh_mask_path", "differs from its FLAIR"),
    Bad("mask 20 mm off its FLAIR", _image("wmh_mask_path", data=np.zeros((8, 8, 4), np.uint8),
                                           affine=_shifted(20.0)),
        "row 2 (S-001), column wmh_mask_path", "20.0 mm off its FLAIR"),
    Bad("soft probability mask", _image("wmh_mask_path", data=_ramp(0, 1)),
        "row 2 (S-001), column wmh_mask_path", "not a binary mask"),
    Bad("CT of another, smaller head", _image("ct_path", data=_small_head(),
                                              affine=np.diag([1.0, 1.0, 5.0, 1.0])),
        "row 2 (S-001), column flair_path", "not plausibly the same head"),
    Bad("unreadable FLAIR", _image("flair_path", raw=b"garbage"), "row 2 (S-001), column flair_path",
        "cannot be read as NIfTI"),
]


def _tree(folder: Path) -> dict[str, tuple[int, int]]:
    return {str(p.relative_to(folder)): (p.stat().st_size, p.stat().st_mtime_ns)
            for p in folder.rglob("*") if p.is_file()}


def _refused(args: list[str], capsys: pytest.CaptureFixture[str]) -> str:
    with pytest.raises(SystemExit) as exit_:
        app(args)
    assert exit_.value.code not in (0, None)
    out = capsys.readouterr()
    assert "Traceback" not in out.err + out.out
    return out.err


@pytest.mark.parametrize("case", MANIFEST_CASES, ids=[c.id for c in MANIFEST_CASES])
def test_a_bad_manifest_is_refused_at_validate(case: Bad, manifest_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    case.edit(manifest_path)
    before = _tree(manifest_path.parent)
    err = _refused(["manifest", "validate", str(manifest_path)], capsys)
    assert _tree(manifest_path.parent) == before, "validate wrote or changed a file"
    lines = [line for line in err.splitlines() if case.where in line and case.says in line]
    assert lines, f"no line with {case.where!r} and {case.says!r}:\n{err}"
    assert "— fix: " in lines[0] and len(lines[0].split("— fix: ", 1)[1]) > 10


# --- mistakes in a profile -------------------------------------------------------------------

def _profile(tmp_path: Path, old: str, new: str, section: str | None = None) -> Path:
    """The spelled-out ``ci`` profile with ``old`` replaced by ``new`` -- the first
    occurrence after the ``steps.<section>:`` header when given, since several
    steps share knob names (``epochs``, ``confidence``)."""
    text = spelled_out("ci")
    start = text.index(f"\n  {section}:\n") if section else 0
    assert old in text[start:], old
    path = tmp_path / "mine.yaml"
    path.write_text(text[:start] + text[start:].replace(old, new, 1))
    return path


PROFILE_CASES: list[tuple[str, str, str, str]] = [
    # (old, new, where, says): where names the section and knob, says what to do
    ("\noutputs:", "\noutptus:", "outptus", "Extra inputs are not permitted"),
    ("  registration:", "  registraton:", "steps.registraton", "did you mean 'registration'"),
    ("    threshold: 0.0", "    treshold: 0.0", "steps.registration.treshold",
     "did you mean 'threshold'"),
    ("threads: 1\n", "threads: two\n", "threads", "valid integer"),
    ("    threshold: 0.0", "    threshold: -1.0", "steps.registration.threshold",
     "greater than or equal to 0"),
    ("    epochs: 2", "    epochs: many", "steps.training.epochs", "valid integer"),
    ("    missing_flair: error", "    missing_flair: skip", "steps.registration.missing_flair",
     "'error' or 'exclude'"),
    ("    confidence: 0.95", "    confidence: 95", "steps.internal_validation.confidence",
     "less than 1"),
    ("  source: twin", "  source: scanner", "data.source", "'twin' or 'manifest'"),
    ("seed: 20240611", "seed: -1", "seed", "greater than or equal to 0"),
    ("    mirroring: false", "    mirroring: [false", "mine.yaml", "not valid YAML"),
]


@pytest.mark.parametrize("old, new, where, says", PROFILE_CASES,
                         ids=[c[1].strip() for c in PROFILE_CASES])
def test_a_bad_profile_is_refused_when_read(old: str, new: str, where: str, says: str,
                                            tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                            capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    section = where.split(".")[1] if where.startswith("steps.") and where.count(".") == 2 else None
    path = _profile(tmp_path, old, new, section)
    before = _tree(tmp_path)
    err = _refused(["profile", "show", str(path)], capsys)
    assert _tree(tmp_path) == before
    assert err.startswith(f"leukoct: error: {path}")
    assert where in err and says in err, err


def test_an_unknown_profile_name_lists_the_profiles(monkeypatch: pytest.MonkeyPatch,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    err = _refused(["profile", "show", "dmeo"], capsys)
    assert "dmeo" in err and "demo" in err


def test_a_real_data_profile_without_its_manifest(tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    path = _profile(tmp_path, "  source: twin", "  source: manifest")
    err = _refused(["profile", "show", str(path)], capsys)
    assert "data.manifest: no such file" in err and "data_manifest/README.md" in err


# --- inputs that look odd but are valid ------------------------------------------------------

def _bom(m: Path) -> None:
    m.write_bytes(b"\xef\xbb\xbf" + m.read_bytes())


def _mask(high: int) -> np.ndarray:
    data = np.zeros((8, 8, 4), np.uint8)
    data[2:4, 2:4, 1] = high
    return data


GOOD_CASES: dict[str, Callable[[Path], None]] = {
    "all-empty WMH mask": _image("wmh_mask_path", data=np.zeros((8, 8, 4), np.uint8)),
    "0/255 WMH mask": _image("wmh_mask_path", data=_mask(255)),
    "header-rescaled CT": put_rescaled_ct,
    "BOM-prefixed CSV": _bom,
    "a vendor outside the paper's four": _cells(2, ct_vendor="HITACHI"),
    "a DICOM Manufacturer spelling": _cells(3, ct_vendor="TOSHIBA_MEC"),
    "NA tokens for unknown values": _cells(4, nihss="NA", mrs_3m="n/a"),
}


@pytest.mark.parametrize("edit", GOOD_CASES.values(), ids=GOOD_CASES.keys())
def test_odd_but_valid_input_passes(edit: Callable[[Path], None], manifest_path: Path,
                                    capsys: pytest.CaptureFixture[str]) -> None:
    edit(manifest_path)
    app_exit = None
    try:
        app(["manifest", "validate", str(manifest_path)])
    except SystemExit as exit_:
        app_exit = exit_.code
    out = capsys.readouterr()
    assert app_exit in (0, None), out.err
    assert "valid — 3 subjects" in out.out


def test_the_catalogue_holds_at_least_45_distinct_mistakes() -> None:
    # Issue 17's floor: 45 distinct bad inputs across manifest, values, files,
    # images and profiles, each stopped before any registration job.
    ids = {c.id for c in MANIFEST_CASES} | {c[1] for c in PROFILE_CASES}
    assert len(ids) == len(MANIFEST_CASES) + len(PROFILE_CASES) >= 45
