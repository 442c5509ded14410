"""Seed 003's repeated cross-validation ensemble: folds and the 0.25 threshold, by hand."""

import numpy as np
import pandas as pd
import pytest

from leukoct.cv_ensemble import SEED003_THRESHOLD, average_and_threshold, repeated_folds


def test_every_subject_is_tested_once_per_repeat():
    subjects = [f"S{i:02d}" for i in range(23)]
    folds = repeated_folds(subjects, folds=5, repeats=3, seed=7)
    assert len(folds) == 23 * 3
    assert (folds.groupby(["subject_id", "repeat"]).size() == 1).all()
    sizes = folds.groupby(["repeat", "fold"]).size()
    assert sizes.min() >= 4 and sizes.max() <= 5           # 23 = 5 + 5 + 5 + 4 + 4
    # The repeats draw different splits, and the same seed draws the same ones.
    pivot = folds.pivot(index="subject_id", columns="repeat", values="fold")
    assert not (pivot[0] == pivot[1]).all()
    again = repeated_folds(list(reversed(subjects)), folds=5, repeats=3, seed=7)
    pd.testing.assert_frame_equal(folds, again)


def test_threshold_on_the_mean_by_hand():
    # Four repeats of a 1 x 4 "image": voxel 0 certain in all, voxel 1 in one of four
    # (mean 0.25: kept, the seed's threshold keeps a voxel one model of four is sure of),
    # voxel 2 at 0.2 in all (mean 0.2: not kept), voxel 3 0.9 in two and 0 in two (0.45).
    stack = np.array([[1.0, 1.0, 0.2, 0.9],
                      [1.0, 0.0, 0.2, 0.9],
                      [1.0, 0.0, 0.2, 0.0],
                      [1.0, 0.0, 0.2, 0.0]])
    mean, mask = average_and_threshold(stack[:, None, :])
    np.testing.assert_allclose(mean[0], [1.0, 0.25, 0.2, 0.45], rtol=1e-6)
    assert mask[0].tolist() == [True, True, False, True]
    assert SEED003_THRESHOLD == 0.25
    # nnU-Net's own rule (argmax, i.e. > 0.5 for two classes) would keep voxel 0 only.
    _, half = average_and_threshold(list(stack[:, None, :]), threshold=0.5)
    assert half[0].tolist() == [True, False, False, False]


def test_bad_maps_are_refused_with_the_fix():
    with pytest.raises(ValueError, match="different shapes.*resample"):
        average_and_threshold([np.zeros((2, 2)), np.zeros((3, 2))])
    with pytest.raises(ValueError, match="softmax"):
        average_and_threshold([np.full((2, 2), 2.0)])
    with pytest.raises(ValueError, match="no probability maps"):
        average_and_threshold([])
    with pytest.raises(ValueError, match="folds must lie"):
        repeated_folds(["a", "b"], folds=3)
