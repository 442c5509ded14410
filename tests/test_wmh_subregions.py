"""Periventricular vs deep WMH (seed 002), against hand-counted masks."""

import numpy as np
import pytest

from leukoct.wmh.subregions import periventricular_region, subregion_dice


def _ventricle_column(shape=(9, 3, 2)):
    vent = np.zeros(shape, bool)
    vent[0, :, 0] = True          # a ventricle along x = 0, on slice 0 only
    return vent


def test_band_is_measured_in_plane_in_mm():
    vent = _ventricle_column()
    # 2 mm pixels: x = 0, 1, 2 lie at 0, 2, 4 mm from the ventricle; the band of 4.5 mm keeps them.
    region = periventricular_region(vent, spacing=(2.0, 1.0, 5.0), distance_mm=4.5)
    assert region[:, 0, 0].tolist() == [True] * 3 + [False] * 6
    # The slice without ventricles has no periventricular region: the slice gap is not crossed.
    assert not region[:, :, 1].any()
    # 1 mm pixels, the same band: x = 0 ... 4.
    region = periventricular_region(vent, spacing=(1.0, 1.0, 5.0), distance_mm=4.5)
    assert region[:, 1, 0].sum() == 5


def test_subregion_dice_by_hand():
    vent = _ventricle_column()
    ref = np.zeros(vent.shape, bool)
    pred = np.zeros(vent.shape, bool)
    ref[1:3, 1, 0] = True          # periventricular reference: 2 pixels
    pred[1, 1, 0] = True           # 1 of them predicted
    ref[6:8, 1, 0] = True          # deep reference: 2 pixels (x = 6, 7 at >= 6 mm)
    pred[7:9, 1, 0] = True         # 2 predicted, 1 of them right
    ref[4, 1, 1] = True            # slice 1 has no ventricle: deep
    pred[4, 1, 1] = True
    out = subregion_dice(pred, ref, vent, spacing=(1.0, 1.0, 5.0), distances_mm=(4.5,))
    # periventricular: TP 1, pred 1, ref 2 -> 2/3; deep: TP 2 of pred 3 and ref 3 -> 4/6.
    assert out["periventricular_4.5mm"] == pytest.approx(2 / 3)
    assert out["deep_4.5mm"] == pytest.approx(2 / 3)
    # With the seed's widths the deep pixels at 6-8 mm turn periventricular at 10 mm.
    out = subregion_dice(pred, ref, vent, spacing=(1.0, 1.0, 5.0))
    assert out["periventricular_10mm"] == pytest.approx(2 * 2 / (3 + 4))
    assert out["deep_10mm"] == pytest.approx(1.0)          # only slice 1's pixel is deep
    assert set(out) == {"periventricular_10mm", "deep_10mm", "periventricular_7.5mm",
                        "deep_7.5mm"}


def test_an_empty_part_is_undefined_not_perfect():
    vent = _ventricle_column()
    ref = np.zeros(vent.shape, bool)
    ref[1, 1, 0] = True
    out = subregion_dice(ref, ref, vent, spacing=(1.0, 1.0, 5.0), distances_mm=(4.5,))
    assert out["periventricular_4.5mm"] == 1.0 and np.isnan(out["deep_4.5mm"])


def test_shapes_must_agree():
    vent = _ventricle_column()
    with pytest.raises(ValueError, match="different shapes"):
        subregion_dice(np.zeros((9, 3, 1)), np.zeros(vent.shape), vent, (1.0, 1.0, 5.0))
