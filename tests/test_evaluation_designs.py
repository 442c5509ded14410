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


def _graded_frame(predicted, dice):
    fazekas = [0, 1, 1, 2, 2, 2, 3, 3, 3]
    true = [1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 20.0, 21.0, 22.0]
    return pd.DataFrame({"subject_id": [f"E{i}" for i in range(9)], "dataset": "external",
                         "predicted_ml": predicted, "true_ml": true, "fazekas": fazekas,
                         "dice_vs_truth": dice})


def test_seed003_grading_by_hand():
    """Nine subjects, three per Fazekas group (0-1, 2, 3), volumes in three
    well-separated bands: thresholds fitted on any two thirds put every
    held-out subject in its band (share 1).  A design that predicts 5 mL for
    one Fazekas-3 subject grades that one wrong and no other: 8/9; its
    confusion matrix has the one in row 3, column 0-1."""
    dice = np.array([0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9])
    good = _graded_frame([1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 20.0, 21.0, 22.0], dice)
    bad = _graded_frame([1.0, 2.0, 3.0, 10.0, 11.0, 12.0, 5.0, 21.0, 22.0], dice)
    summary, confusion = designs.design_grading({"study": good, "arm": bad}, folds=10, seed=0)
    summary = summary.set_index("design")
    assert summary.loc["study", "folds"] == 3          # the smallest group has 3 subjects
    assert summary.loc["study", "share_correct"] == pytest.approx(1.0)
    assert summary.loc["arm", "share_correct"] == pytest.approx(8 / 9)
    assert summary.loc["truth", "share_correct"] == pytest.approx(1.0)
    assert confusion["arm"].loc["3"].tolist() == [1, 0, 2]
    assert confusion["arm"].to_numpy().sum() == 9
    # Dice by visual group, by hand: (0.1+0.2+0.3)/3, (0.4+0.5+0.6)/3, (0.7+0.8+0.9)/3.
    assert summary.loc["study", "dice_0-1"] == pytest.approx(0.2)
    assert summary.loc["study", "dice_2"] == pytest.approx(0.5)
    assert summary.loc["study", "dice_3"] == pytest.approx(0.8)
    assert summary.loc["study", "dice_all"] == pytest.approx(0.5)
    assert np.isnan(summary.loc["truth", "dice_all"])


def test_grading_needs_two_groups_and_says_so_by_an_empty_row():
    one_group = _graded_frame([1.0] * 9, np.full(9, 0.5)).assign(fazekas=2)
    summary, confusion = designs.design_grading({"study": one_group})
    assert summary.set_index("design").loc["study", "n"] == 0 and "study" not in confusion


def test_learning_curve_orders_the_training_sizes(frames):
    table = designs.design_table(frames)
    curve = designs.learning_curve(table, {"study": 40, "close": 10})
    assert curve["design"].tolist() == ["close", "study"] and curve["n_train"].tolist() == [10, 40]
    assert "same" not in set(curve["design"])


def test_age_slopes_recover_the_planted_effect_and_its_attenuation():
    """On a simulated clinical cohort with a known age effect on log volume:
    the exact volumes recover it; volumes halved keep it (log-scale shift);
    square-rooted volumes halve every log-scale coefficient, by hand."""
    from test_clinical import SIM_PARAMETERS, simulate_cohort

    cohort = simulate_cohort()
    exact = cohort.assign(predicted_ml=cohort["volume_ml"], true_ml=cohort["volume_ml"])
    frames = {"study": exact, "halved": exact.assign(predicted_ml=exact["volume_ml"] / 2),
              "sqrt": exact.assign(predicted_ml=np.sqrt(exact["volume_ml"]))}
    slopes = designs.design_age_slopes(frames, alpha=0.001,
                                       parameters=SIM_PARAMETERS).set_index("design")
    planted = SIM_PARAMETERS["la_model"]["age_log_per_year"]
    assert slopes.loc["study", "planted"] == planted and slopes.loc["study", "covered"]
    assert slopes.loc["halved", "estimate"] == pytest.approx(slopes.loc["study", "estimate"])
    assert slopes.loc["sqrt", "estimate"] == pytest.approx(slopes.loc["study", "estimate"] / 2)
    assert not slopes.loc["sqrt", "covered"]
    assert slopes.loc["truth", "estimate"] == pytest.approx(slopes.loc["study", "estimate"])


def test_age_slopes_say_why_a_small_cohort_is_not_fitted():
    tiny = pd.DataFrame({"subject_id": ["a", "b"], "age": [60, 70], "predicted_ml": [1.0, 2.0],
                         "hypertension": [True, False]})
    slopes = designs.design_age_slopes({"study": tiny})
    assert slopes["note"].iloc[0].startswith("not fitted") and np.isnan(slopes["estimate"].iloc[0])


def test_voxel_volumes_from_the_overlaps_equal_the_mask_count():
    """Correct / false-positive / missed volume derived from Dice and the two mask
    volumes equals metrics.voxel_volumes counted on the masks themselves."""
    rng = np.random.default_rng(7)
    rows, counted = [], []
    for i in range(6):
        true = rng.random((6, 20, 20)) < 0.05 * (i + 1)
        pred = (rng.random(true.shape) < 0.08) | (true & (rng.random(true.shape) < 0.7))
        voxel_ml = 0.004
        rows.append({"subject_id": f"S{i}", "dataset": "external",
                     "predicted_mask_ml": pred.sum() * voxel_ml,
                     "truth_mask_ml": true.sum() * voxel_ml,
                     "dice_vs_truth": metrics.dice(pred, true)})
        counted.append(metrics.voxel_volumes(pred, true, voxel_ml))
    derived = designs.subject_voxel_volumes(pd.DataFrame(rows))
    assert derived["correct_ml"].to_numpy() == pytest.approx([c.both_ml for c in counted])
    assert derived["false_positive_ml"].to_numpy() == pytest.approx([c.pred_only_ml for c in counted])
    assert derived["missed_ml"].to_numpy() == pytest.approx([c.ref_only_ml for c in counted])


def test_voxel_volumes_by_lesion_load_by_hand(frames):
    """Study: prediction 0.6 x truth at Dice 0.4.  Correct = 0.4 (0.6 T + T) / 2 = 0.32 T,
    false positive 0.6 T - 0.32 T = 0.28 T, missed 0.68 T; the share found 0.32."""
    table = designs.design_voxel_volumes({"study": frames["study"]}).set_index("true volume (mL)")
    assert list(table.index) == ["0-5", "5-15", ">= 15", "all"]
    assert table["n"].tolist() == [1, 3, 4, 8]               # 2 | 5, 8, 12 | 20, 30, 45, 60
    assert table.loc["5-15", "correct_ml"] == pytest.approx(0.32 * (5 + 8 + 12) / 3)
    assert table.loc["all", "false_positive_ml"] == pytest.approx(0.28 * TRUE.mean())
    assert table.loc["all", "missed_ml"] == pytest.approx(0.68 * TRUE.mean())
    assert table["share_found"].to_numpy() == pytest.approx(0.32)


def test_grids_put_seed003s_flair_scores_beside_the_ct_ones_by_hand():
    """Two subjects on the external set, one outside it; a design without FLAIR
    overlaps (the paper's direction) has no row.  Means and t intervals by hand:
    mean 0.6 of (0.5, 0.7), sd 0.1414, t(0.975, 1) = 12.706 -> +/- 1.2706."""
    ct = pd.DataFrame({"subject_id": ["a", "b", "c"], "dice_vs_label": [0.5, 0.7, 0.0],
                       "dice_vs_truth": [0.4, 0.4, 0.0]})
    flair = ct.assign(dice_vs_label=[0.8, 0.8, 0.0], dice_vs_truth=[0.5, 0.7, 0.0])
    table = designs.design_grids({"study": ct, "ct_to_flair": ct},
                                  {"ct_to_flair": flair}, ["a", "b"])
    assert table[["design", "grid", "n"]].values.tolist() == [["ct_to_flair", "FLAIR", 2],
                                                             ["ct_to_flair", "CT", 2]]
    flair_row, ct_row = table.iloc[0], table.iloc[1]
    assert flair_row["dice_vs_label"] == pytest.approx(0.8)
    assert flair_row["dice_vs_truth"] == pytest.approx(0.6)
    assert flair_row["dice_vs_truth_ci_high"] == pytest.approx(0.6 + 12.7062 * 0.1, abs=1e-3)
    assert ct_row["dice_vs_label"] == pytest.approx(0.6)
    assert ct_row["dice_vs_truth"] == pytest.approx(0.4)
