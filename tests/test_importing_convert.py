"""DICOM pixels to NIfTI: a tilted-gantry CT resampled onto an orthogonal grid, in HU."""

from __future__ import annotations

from pathlib import Path

import nibabel as nib
import numpy as np
from dicom_fixtures import StudyTags, head_phantom, write_series

from leukoct.importing import convert
from leukoct.importing.discover import classify, find_series, geometry


def _centroid(data: np.ndarray, affine: np.ndarray, low: float, high: float) -> np.ndarray:
    index = np.argwhere((data > low) & (data < high))
    return nib.affines.apply_affine(affine, index).mean(axis=0)


def test_a_tilted_ct_is_resampled_to_where_its_voxels_truly_lie(tmp_path: Path) -> None:
    # The head lies at (0, 12, 0) mm (LPS y = -12): a stack tilted by 2 mm per 5 mm slice
    # (21.8 deg) samples it along its slanted slices; read as an orthogonal stack it is sheared.
    shear = np.array([0.0, 2.0, 0.0])
    shape, spacing = (48, 48, 24), (4.0, 4.0, 5.0)
    _, affine = head_phantom(shape, spacing=spacing)
    index = np.indices(shape).reshape(3, -1).T
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
    true_lps = nib.affines.apply_affine(lps, index) + index[:, 2:3] * shear
    ras = true_lps * np.array([-1.0, -1.0, 1.0])
    radius = np.linalg.norm(ras - np.array([0.0, 12.0, 0.0]), axis=1).reshape(shape)
    volume = np.where(radius < 62, 30.0, np.where(radius < 70, 1000.0, -1000.0))
    write_series(tmp_path / "src", volume, affine, StudyTags(1, 1, "20230415", "093000"),
                 modality="CT", number=2, slope=0.25, intercept=-1024.0, shear=shear)
    [series], _, _ = find_series(tmp_path / "src")
    assert classify(series) == ("ct", None)
    geom, _ = geometry(series)
    assert geom.needs_untilt and abs(geom.tilt_deg - np.degrees(np.arctan(2 / 5))) < 0.01
    raw = convert.read_series(series, geom)
    image = convert.as_ct(convert.untilt(raw, geom, convert.CT_FILL_HU))
    out = convert.write_image(image, tmp_path / "ct.nii.gz")
    result = nib.load(out)
    data = np.asanyarray(result.dataobj)
    # -1024 HU where the orthogonal grid leaves the slanted stack (CT_FILL_HU)
    assert data.dtype == np.int16 and data.min() == -1024 and data.max() == 1000
    centre = _centroid(data, result.affine, 0, 100)        # the brain, 30 HU
    np.testing.assert_allclose(centre, [0.0, 12.0, 0.0], atol=1.0)
    # Read without the correction, the brain's centre drifts with the shear.
    sheared = convert.as_ct(raw)
    array = np.transpose(convert.sitk.GetArrayFromImage(sheared), (2, 1, 0))
    plain = convert.write_image(sheared, tmp_path / "sheared.nii.gz")
    assert abs(_centroid(array, nib.load(plain).affine, 0, 100)[1] - 12.0) > 10.0
