"""Image reading: orientation, spacing, volumes and slice matching."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
import pytest

from leukoct.images import densest_slice, load_volume, mask_volume_ml, nearest_axial_slice


def test_load_volume_reorients_to_ras(tmp_path: Path) -> None:
    data = np.zeros((4, 5, 6), dtype=np.int16)
    data[0, 0, 0] = 1
    # Left-right flipped (LAS) affine: voxel 0 lies at the right.
    affine = np.diag([-2.0, 1.0, 3.0, 1.0])
    nib.save(nib.Nifti1Image(data, affine), str(tmp_path / "x.nii.gz"))
    volume = load_volume(tmp_path / "x.nii.gz")
    assert volume.spacing == (2.0, 1.0, 3.0)
    assert volume.data[3, 0, 0] == 1  # flipped into RAS+
    assert volume.voxel_volume_ml == 0.006


def test_mask_volume_by_hand() -> None:
    mask = np.zeros((10, 10, 10))
    mask[:2, :5, :1] = 1  # 10 voxels of 0.5 x 0.5 x 5 mm = 12.5 mm^3
    assert mask_volume_ml(mask, (0.5, 0.5, 5.0)) == 0.0125


def test_densest_slice() -> None:
    mask = np.zeros((4, 4, 5))
    mask[:, :, 3] = 1
    mask[0, 0, 1] = 1
    assert densest_slice(mask) == 3
    assert densest_slice(np.zeros((4, 4, 5))) == 2


def test_nearest_axial_slice_uses_scanner_heights(tmp_path: Path) -> None:
    ct = nib.Nifti1Image(np.zeros((4, 4, 40), np.int16), np.diag([1.0, 1.0, 1.0, 1.0]))
    mr = nib.Nifti1Image(np.zeros((4, 4, 8), np.int16),
                         np.array([[1, 0, 0, 0], [0, 1, 0, 0], [0, 0, 5, 3], [0, 0, 0, 1.0]]))
    nib.save(ct, str(tmp_path / "ct.nii.gz"))
    nib.save(mr, str(tmp_path / "mr.nii.gz"))
    # MR slice 4 lies at z = 4*5 + 3 = 23 mm -> CT slice 23.
    assert nearest_axial_slice(load_volume(tmp_path / "ct.nii.gz"),
                               load_volume(tmp_path / "mr.nii.gz"), 4) == 23


def test_image_measurements_read_masks_and_headers(manifest_path: Path) -> None:
    from leukoct.images import image_measurements
    from leukoct.manifest import load_manifest

    table = load_manifest(manifest_path)
    measured = image_measurements(table)
    assert list(measured.index) == list(table["subject_id"]), "no subject dropped"
    # conftest: 8 × 8 × 4 voxels of 1 × 1 × 5 mm; S-001's mask is all ones,
    # S-002's all zeros, the clinical subject has no mask.
    assert measured.loc["S-001", "wmh_flair_ml"] == pytest.approx(8 * 8 * 4 * 5 / 1000)
    assert measured.loc["S-002", "wmh_flair_ml"] == 0.0
    assert np.isnan(measured.loc["S-003", "wmh_flair_ml"])
    assert (measured["ct_inplane_mm"] == 1.0).all()
