"""Hausdorff distance of two masks: hand-worked cases and MONAI's edge-based version."""

import numpy as np
import pytest
import torch
from monai.metrics import compute_hausdorff_distance

from leukoct.metrics import hausdorff


def _monai(pred: np.ndarray, ref: np.ndarray, directed: bool = False) -> float:
    # MONAI takes one-hot (batch, channel, ...) and measures between mask edges.
    def onehot(m):
        return torch.from_numpy(np.stack([~m, m])[None].astype(np.float32))
    return float(compute_hausdorff_distance(onehot(pred), onehot(ref), directed=directed)[0, 0])


def test_two_pixels_by_hand_with_anisotropic_spacing():
    ref = np.zeros((4, 5), bool)
    ref[0, 0] = True
    pred = ref.copy()
    pred[0, 3] = True                      # 3 columns away, columns 2 mm apart: 6 mm
    result = hausdorff(pred, ref, spacing=(1.0, 2.0))
    assert result.hd == pytest.approx(6.0)
    assert result.hd_pred_to_ref == pytest.approx(6.0)
    assert result.hd_ref_to_pred == 0.0
    # HD95: the 95th percentile of the directed distances {0, 6} is 0.95 x 6.
    assert result.hd95 == pytest.approx(5.7)


def test_identical_masks_are_zero_and_empty_is_undefined():
    m = np.zeros((6, 6, 3), bool)
    m[2:4, 2:4, 1] = True
    assert hausdorff(m, m).hd == 0.0
    assert np.isnan(hausdorff(np.zeros_like(m), m).hd)
    assert np.isnan(hausdorff(m, np.zeros_like(m)).hd95)


def test_solid_blobs_agree_with_monai():
    ref = np.zeros((20, 20), bool)
    ref[3:9, 4:10] = True
    pred = np.zeros_like(ref)
    pred[5:12, 6:14] = True
    assert hausdorff(pred, ref).hd == pytest.approx(_monai(pred, ref))


def test_point_sets_not_edges_inside_a_solid_reference():
    """The seed measures between voxel sets: a prediction inside the reference
    is at distance 0 from it, where MONAI's edge distance is not."""
    ref = np.zeros((9, 9), bool)
    ref[:, :] = True
    pred = np.zeros_like(ref)
    pred[4, 4] = True                       # the centre voxel, 4 voxels from every edge
    result = hausdorff(pred, ref)
    assert result.hd_pred_to_ref == 0.0
    assert _monai(pred, ref, directed=True) == pytest.approx(4.0)
    # The other direction is the same for both: corner to centre, 4 * sqrt(2).
    assert result.hd_ref_to_pred == pytest.approx(4 * np.sqrt(2))


@pytest.mark.parametrize("kwargs, match", [
    ({"spacing": (1.0,)}, "spacing"),
    ({"spacing": (1.0, 0.0)}, "spacing"),
    ({"percentile": 0}, "percentile"),
])
def test_bad_arguments_are_named(kwargs, match):
    m = np.ones((3, 3), bool)
    with pytest.raises(ValueError, match=match):
        hausdorff(m, m, **kwargs)


def test_shape_mismatch_is_named():
    with pytest.raises(ValueError, match="same shape"):
        hausdorff(np.ones((3, 3), bool), np.ones((3, 4), bool))
