"""Seed 002's FLAIR preprocessing: the histogram-peak equalisation, the brain mask, the z-score."""

import numpy as np
import pytest

from leukoct.wmh.preprocess import brain_mask, equalise, preprocess, to_native, to_slices


def _head(shape=(40, 40, 6)):
    """Air around a disc of 'brain' at 100 with a bright 'lesion' at 200 and a dark hole."""
    x, y = np.mgrid[: shape[0], : shape[1]]
    r = np.hypot(x - shape[0] / 2, y - shape[1] / 2)
    vol = np.zeros(shape, np.float32)
    vol[r < 14] = 100.0
    vol[(r < 3)] = 20.0                    # a dark centre (CSF): inside the brain, below 30
    vol[18:21, 10:13] = 200.0
    return vol


def test_peak_moves_to_150_and_air_stays_zero():
    u8 = np.zeros((4, 10, 10), np.uint8)
    u8[:, 2:9, 2:9] = 100                  # bin 12 (96-104), centre 100: the highest non-air peak
    out = equalise(u8)
    assert out[0, 5, 5] == pytest.approx(150.0)
    assert out[0, 0, 0] == 0.0


def test_brain_mask_fills_the_holes():
    vol = _head()
    mask = brain_mask(np.moveaxis(vol, -1, 0))
    assert mask[:, 20, 20].all()           # the dark centre is inside
    assert not mask[:, 0, 0].any()


def test_preprocess_shapes_and_zscore_within_brain():
    prepared = preprocess(_head(), size=32)
    assert prepared.slices.shape == (6, 32, 32) and prepared.brain.shape == (6, 32, 32)
    inside = prepared.slices[prepared.brain]
    assert inside.mean() == pytest.approx(0.0, abs=1e-4)
    assert inside.std() == pytest.approx(1.0, abs=1e-4)
    assert prepared.native_shape == (40, 40)


def test_masks_round_trip_between_grids():
    mask = np.zeros((40, 40, 6), bool)
    mask[10:30, 12:28, 2] = True
    slices = to_slices(mask, 64)
    assert slices.shape == (6, 64, 64) and set(np.unique(slices)) <= {0.0, 1.0}
    back = to_native(slices, (40, 40)) >= 0.5
    assert back.shape == mask.shape
    assert (back == mask).mean() > 0.99


def test_bad_flair_is_refused():
    with pytest.raises(ValueError, match="3-D"):
        preprocess(np.zeros((4, 4)))
    bad = _head()
    bad[0, 0, 0] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        preprocess(bad)


def test_the_head_peak_moves_not_the_noise_peak():
    """Air noise is the histogram's highest peak of a head image; the tissue peak moves to 150."""
    rng = np.random.default_rng(0)
    u8 = np.clip(rng.normal(8, 3, (4, 40, 40)), 0, 255)        # air: most voxels, ~8
    u8[:, 10:25, 10:25] = 180                                   # tissue, bin 22 (176-184)
    out = equalise(np.round(u8).astype(np.uint8))
    assert out[0, 15, 15] == pytest.approx(180 * 150 / 180.0)
    assert out[0, 0, 0] < 30                                    # air stays outside the brain mask
