"""Lesion-wise recall, precision and F1 (seed 004's 40 % rule), on a hand-drawn slice."""

import numpy as np
import pytest

from leukoct.metrics import lesionwise
from leukoct.metrics.lesionwise import lesion_scores, size_class


def _slice():
    ref = np.zeros((40, 40, 1), bool)
    pred = np.zeros_like(ref)
    ref[1:3, 1:6] = True            # A: 10 px, small; 4 of them predicted (40 %: found)
    pred[1:3, 1:3] = True
    ref[10:15, 1:6] = True          # B: 25 px, medium; 9 predicted (36 %: missed)
    pred[10:13, 1:4] = True
    ref[20:33, 20:33] = True        # C: 169 px, large; all predicted
    pred[20:33, 20:33] = True
    pred[2:4, 30:32] = True         # D: 4 px predicted where there is nothing
    return pred, ref


def test_counts_and_scores_by_hand():
    table = lesionwise(*_slice()).set_index("size")
    assert table.loc["all", ["n_ref", "n_found", "n_pred", "n_correct"]].tolist() == [3, 2, 4, 3]
    assert table.loc["small", "recall"] == 1.0
    assert table.loc["medium", "recall"] == 0.0
    assert table.loc["large", "recall"] == 1.0
    assert table.loc["all", "recall"] == pytest.approx(2 / 3)
    # Predicted lesions: A' 4 px, B' 9 px (both inside the reference), D' 4 px (outside): small.
    assert table.loc["small", "precision"] == pytest.approx(2 / 3)
    assert np.isnan(table.loc["medium", "precision"])
    assert table.loc["all", "precision"] == pytest.approx(3 / 4)
    assert table.loc["all", "f1"] == pytest.approx(12 / 17)


def test_sizes_are_areas_in_mm2():
    pred, ref = _slice()
    # 2 mm pixels: A is 40 mm^2 (medium), B 100 (medium), C 676 (large).
    table = lesionwise(pred, ref, spacing=(2.0, 2.0, 5.0)).set_index("size")
    assert table.loc["medium", "n_ref"] == 2
    assert table.loc["small", "n_ref"] == 0
    assert np.isnan(table.loc["small", "recall"])


def test_per_slice_splits_a_3d_lesion():
    ref = np.zeros((6, 6, 3), bool)
    ref[2:4, 2:4, :] = True
    assert lesionwise(ref, ref).set_index("size").loc["all", "n_ref"] == 3
    assert lesionwise(ref, ref, per_slice=False).set_index("size").loc["all", "n_ref"] == 1


def test_size_class_edges_follow_the_seed():
    assert [size_class(s) for s in (19.9, 20, 150, 150.1)] == ["small", "medium", "medium", "large"]


def test_pooled_counts_give_pooled_scores():
    counts = lesionwise(*_slice())
    pooled = lesion_scores(counts[["size", "n_ref", "n_found", "n_pred", "n_correct"]])
    assert pooled["f1"].equals(counts["f1"])


def test_nothing_predicted_has_zero_recall():
    _, ref = _slice()
    row = lesionwise(np.zeros_like(ref), ref).set_index("size").loc["all"]
    assert row["recall"] == 0.0 and np.isnan(row["precision"])
