"""The design arms side by side (leukoct.evaluation.designs), on hand-made frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from leukoct import metrics
from leukoct.evaluation import designs

TRUE = np.array([2.0, 5.0, 8.0, 12.0, 20.0, 30.0, 45.0, 60.0])


def _frame(predicted: np.ndarray, dice: np.ndarray, fazekas=(0, 1, 1, 2, 2, 2, 3, 3)):
    n = len(TRUE)
    return pd.DataFrame({
        "subject_id": [f"E{i}" for i in range(n)], "dataset": "external",
        "predicted_ml": predicted, "registered_ml": TRUE * 1.5, "true_ml": TRUE,
        "dice_label_vs_truth": 0.5, "dice_vs_label": dice - 0.05, "dice_vs_truth": dice,
        "predicted_mask_ml": predicted, "label_mask_ml": TRUE * 1.5, "truth_mask_ml": TRUE,
        "manual_mask_ml": np.nan, "fazekas": list(fazekas)})


@pytest.fixture()
def frames():
    study = _frame(TRUE * 0.6, np.full(len(TRUE), 0.40))            # under-predicts by 40 %
    close = _frame(TRUE * 0.95, np.full(len(TRUE), 0.50) + np.arange(8) * 0.01)
    same = _frame(TRUE * 0.6 + 0.0, np.full(len(TRUE), 0.40))
    return {"study": study, "close": close, "same": same}


def test_the_table_is_the_error_budget_per_design(frames):
    table = designs.design_table(frames).set_index("design")
    # CCC of the prediction against the truth, by hand from metrics.lins_ccc.
    assert table.loc["study", "prediction_vs_truth_ccc"] == pytest.approx(
        metrics.lins_ccc(TRUE * 0.6, TRUE).ccc)
    assert table.loc["close", "prediction_vs_truth_dice"] == pytest.approx(0.535)
    assert table.loc["study", "label_vs_truth_dice"] == pytest.approx(0.5)
    assert table.loc["study", "r_vs_truth"] == pytest.approx(1.0)
    # Bland-Altman bias of prediction - truth: -0.4 x the mean true volume.
    assert table.loc["study", "bias_vs_truth_ml"] == pytest.approx(-0.4 * TRUE.mean())
    assert table.loc["close", "n"] == 8
    assert table.loc["study", "fazekas_r"] == pytest.approx(
        np.corrcoef(TRUE * 0.6, [0, 1, 1, 2, 2, 2, 3, 3])[0, 1])


def test_differences_against_the_study_by_hand(frames):
    diff = designs.design_differences(frames, n_resamples=500, seed=1).set_index("design")
    expected = metrics.lins_ccc(TRUE * 0.95, TRUE).ccc - metrics.lins_ccc(TRUE * 0.6, TRUE).ccc
    row = diff.loc["close"]
    assert row["ccc_difference"] == pytest.approx(expected) and expected > 0
    assert row["ccc_difference_ci_low"] <= expected <= row["ccc_difference_ci_high"]
    d = 0.10 + np.arange(8) * 0.01
    assert row["dice_difference"] == pytest.approx(d.mean())
    half = 2.365 * d.std(ddof=1) / np.sqrt(8)                    # t(0.975, 7) = 2.3646
    assert row["dice_difference_ci_low"] == pytest.approx(d.mean() - half, abs=1e-3)
    # An arm identical to the study: no difference, a degenerate interval at 0.
    assert diff.loc["same", "ccc_difference"] == pytest.approx(0.0)
    again = designs.design_differences(frames, n_resamples=500, seed=1)
    pd.testing.assert_frame_equal(diff.reset_index(), again)             # seeded


def test_the_reading_names_the_largest_change(frames):
    diff = designs.design_differences(frames, n_resamples=500, seed=1)
    text = designs.design_reading(diff, {"close": "a better model", "same": "nothing"})
    assert "most is **close** (a better model): it raises the CCC" in text
    assert "an interval that excludes 0" in text
    assert "above 0: close; below 0: none" in text


def test_differences_need_the_reference_design(frames):
    with pytest.raises(ValueError, match="no design 'paper'"):
        designs.design_differences(frames, reference="paper")
