"""Images opened at the door: each unusable file is one problem naming row, column and fix.

Every case starts from the valid three-subject manifest of ``conftest.py``
(row 2: S-001, train, with FLAIR and WMH mask), replaces one image by a bad
one, refreshes its checksum (so only the image check can catch it) and runs
``validate_manifest(images=True)``.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import nibabel as nib
import numpy as np
import pytest
from manifest_edit import put_rescaled_ct, read_rows
from manifest_edit import replace_image as _replace

from leukoct.image_validation import image_problems
from leukoct.manifest import load_manifest, validate_manifest


def _only_problem(manifest: Path, column: str, row: int = 2) -> str:
    report = validate_manifest(manifest, images=True)
    assert [(p.row, p.column) for p in report.problems] == [(row, column)], report.problems
    problem = report.problems[0]
    assert problem.subject_id == f"S-{row - 1:03d}" and problem.fix
    return f"{problem.problem} — {problem.fix}"


def _ct(manifest: Path) -> nib.Nifti1Image:
    _, rows = read_rows(manifest)
    return nib.load(manifest.parent / rows[0]["ct_path"])


def test_valid_images_pass_and_the_cells_only_mode_does_not_open_them(manifest_path: Path) -> None:
    assert validate_manifest(manifest_path, images=True).ok
    _replace(manifest_path, "ct_path", raw=b"")
    assert validate_manifest(manifest_path).ok            # cells only: the default


def test_zero_byte_ct(manifest_path: Path) -> None:
    _replace(manifest_path, "ct_path", raw=b"")
    assert "empty (0 bytes)" in _only_problem(manifest_path, "ct_path")


def test_dicom_renamed_nifti(manifest_path: Path) -> None:
    _replace(manifest_path, "ct_path", raw=b"\0" * 128 + b"DICM" + b"\0" * 400)
    assert "cannot be read as NIfTI" in _only_problem(manifest_path, "ct_path")


def test_truncated_gzip_with_a_refreshed_checksum(manifest_path: Path) -> None:
    data = np.random.default_rng(0).integers(-1000, 80, (64, 64, 16)).astype(np.int16)
    full = _replace(manifest_path, "ct_path", data=data, name="full.nii.gz").read_bytes()
    _replace(manifest_path, "ct_path", raw=full[: len(full) // 2], name="cut.nii.gz")
    with pytest.raises(EOFError):   # the file really is cut short
        gzip.decompress(full[: len(full) // 2])
    assert "cannot be read as NIfTI" in _only_problem(manifest_path, "ct_path")


@pytest.mark.parametrize("shape, expected", [((8, 8), "2 dimensions"), ((8, 8, 4, 3), "4 dimensions")])
def test_ct_that_is_not_3d(manifest_path: Path, shape: tuple[int, ...], expected: str) -> None:
    data = np.full(shape, 30, dtype=np.int16)
    data.flat[0] = -1000
    _replace(manifest_path, "ct_path", data=data, affine=np.eye(4))
    assert expected in _only_problem(manifest_path, "ct_path")


def test_all_nan_ct(manifest_path: Path) -> None:
    _replace(manifest_path, "ct_path", data=np.full((8, 8, 4), np.nan, dtype=np.float32))
    assert "NaN" in _only_problem(manifest_path, "ct_path")


@pytest.mark.parametrize("low, high", [(0, 4095), (0.0, 1.0)])
def test_ct_not_in_hounsfield_units(manifest_path: Path, low: float, high: float) -> None:
    data = np.linspace(low, high, 8 * 8 * 4, dtype=np.float32).reshape(8, 8, 4)
    _replace(manifest_path, "ct_path", data=data)
    message = _only_problem(manifest_path, "ct_path")
    assert "not Hounsfield units" in message and "rescale slope and intercept" in message


def test_header_rescaled_ct_is_in_hounsfield_units(manifest_path: Path) -> None:
    """Stored 0..4095 with scl_slope 1, scl_inter -1024 (as scanners store it): valid."""
    put_rescaled_ct(manifest_path)
    assert validate_manifest(manifest_path, images=True).ok


def test_wmh_mask_with_another_shape_than_its_flair(manifest_path: Path) -> None:
    _replace(manifest_path, "wmh_mask_path", data=np.zeros((8, 8, 5), dtype=np.uint8))
    assert "differs from its FLAIR" in _only_problem(manifest_path, "wmh_mask_path")


def test_wmh_mask_20_mm_off_its_flair(manifest_path: Path) -> None:
    affine = np.diag([1.0, 1.0, 5.0, 1.0])
    affine[0, 3] = 20.0
    _replace(manifest_path, "wmh_mask_path", data=np.zeros((8, 8, 4), dtype=np.uint8), affine=affine)
    assert "20.0 mm off its FLAIR" in _only_problem(manifest_path, "wmh_mask_path")


def test_soft_probability_mask(manifest_path: Path) -> None:
    data = np.linspace(0, 1, 8 * 8 * 4, dtype=np.float32).reshape(8, 8, 4)
    _replace(manifest_path, "wmh_mask_path", data=data)
    message = _only_problem(manifest_path, "wmh_mask_path")
    assert "not a binary mask" in message and "threshold it into 0/1" in message


@pytest.mark.parametrize("high", [1, 255])
def test_binary_masks_0_1_and_0_255_and_empty_are_valid(manifest_path: Path, high: int) -> None:
    data = np.zeros((8, 8, 4), dtype=np.uint8)
    data[2:4, 2:4, 1] = high
    _replace(manifest_path, "wmh_mask_path", data=data)
    assert validate_manifest(manifest_path, images=True).ok
    _replace(manifest_path, "wmh_mask_path", data=np.zeros((8, 8, 4), dtype=np.uint8), name="e.nii.gz")
    assert validate_manifest(manifest_path, images=True).ok


def test_every_problem_reported_at_once(manifest_path: Path) -> None:
    _replace(manifest_path, "ct_path", raw=b"", name="empty.nii.gz", row=2)
    _replace(manifest_path, "ct_path", data=np.zeros((8, 8, 4), dtype=np.int16), name="raw.nii.gz",
             row=4)
    report = validate_manifest(manifest_path, images=True)
    assert [(p.row, p.column) for p in report.problems] == [(2, "ct_path"), (4, "ct_path")]


def test_verdicts_are_cached_by_checksum(manifest_path: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache" / "image_checks.json"
    table = load_manifest(manifest_path)
    assert image_problems(table, cache) == []
    # A cached verdict is reused without opening the file again: break the
    # file behind the cache's back (same checksum cell), and it still passes.
    Path(table.loc[0, "ct_path"]).write_bytes(b"")
    assert image_problems(table, cache) == []
    assert image_problems(table, None)[0].column == "ct_path"


def _head(shape: tuple[int, int, int], width_vox: int) -> np.ndarray:
    """A CT in HU: air around a box-shaped 'head' of width_vox voxels in-plane."""
    data = np.full(shape, -1000, dtype=np.int16)
    lo = (shape[0] - width_vox) // 2
    data[lo:lo + width_vox, lo:lo + width_vox, :] = 30
    return data


def test_ct_of_a_head_half_the_size_of_its_flair(manifest_path: Path) -> None:
    # The FLAIR shows an 8 x 8 mm head (1 mm voxels, every voxel bright); this CT
    # one of 4 x 4 mm: not plausibly the same head.
    _replace(manifest_path, "ct_path", data=_head((8, 8, 4), 4), affine=np.diag([1.0, 1.0, 5.0, 1.0]))
    message = _only_problem(manifest_path, "flair_path")
    assert "not plausibly the same head" in message and "this subject's scans" in message


def test_the_same_head_on_another_grid_passes(manifest_path: Path) -> None:
    # Same 8 mm head, sampled on a finer CT grid with air around it.
    _replace(manifest_path, "ct_path", data=_head((20, 20, 4), 16),
             affine=np.diag([0.5, 0.5, 5.0, 1.0]))
    assert validate_manifest(manifest_path, images=True).ok


def test_head_extent_on_the_twin_agrees_between_ct_and_flair(ci_study: Path) -> None:
    # The twin's CT (240 mm field, tilted) and FLAIR (230 mm, 5 mm slices) of
    # one head: the extents agree within a few per cent, far inside the 1.3 bound.
    from leukoct.image_validation import SAME_HEAD_RATIO, _head_extent

    table = load_manifest(ci_study / "manifest.csv", verify_checksums=False)
    paired = table[table["flair_path"].notna()].head(4)
    assert len(paired) >= 3
    for _, row in paired.iterrows():
        ct, flair = (nib.load(row[c]) for c in ("ct_path", "flair_path"))
        a = _head_extent(np.asanyarray(ct.dataobj), ct.affine, "ct_path")
        b = _head_extent(np.asanyarray(flair.dataobj), flair.affine, "flair_path")
        ratios = np.array(a) / np.array(b)
        assert np.all(np.abs(ratios - 1) < 0.1) and np.all(ratios < SAME_HEAD_RATIO)
