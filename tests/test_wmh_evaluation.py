"""The FLAIR chapter's tables from a hand-made predictions table."""

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leukoct.wmh import evaluation as wev


def _predictions():
    rows = []
    for i, (d_se, d_un, index) in enumerate([(0.8, 0.7, 0.1), (0.6, 0.5, 0.3), (0.7, 0.7, 0.5),
                                             (0.9, 0.8, 0.05), (0.3, 0.2, 0.9)]):
        rows.append({"subject_id": f"E{i}", "cohort": "external", "split": "none",
                     "wmh_ml": 10.0 + i, "member0_ml": 10.0 + i, "single_unet_ml": 9.0 + i,
                     "truth_ml": 10.5 + i, "uncertainty_index": index,
                     "ensemble_vs_truth_dice": d_se + 0.02, "ensemble_vs_truth_hd_mm": 20.0,
                     "ensemble_vs_truth_hd95_mm": 8.0,
                     "member0_dice_vs_truth": d_se, "single_unet_dice_vs_truth": d_un})
    rows.append({"subject_id": "T0", "cohort": "train", "split": "train", "wmh_ml": 1.0})
    return pd.DataFrame(rows)


def test_sets_use_the_truth_where_there_is_no_reference():
    sets = wev.evaluation_sets(_predictions())
    assert list(sets) == ["external"] and sets["external"][1] == "truth"
    assert len(sets["external"][0]) == 5


def test_model_table_by_hand():
    table = wev.model_table(_predictions()).set_index("model")
    assert table.loc["single SE-UNet", "dsc_mean"] == pytest.approx(0.66)
    assert table.loc["single UNet", "dsc_mean"] == pytest.approx(0.58)
    assert table.loc["single UNet", "seed_dsc"] == 0.710
    # Volumes 10..14 against 10.5..14.5: r = 1, CCC below 1 by the 0.5 mL bias.
    assert table.loc["ensemble", "r"] == pytest.approx(1.0)
    # Lin: 2 s_xy / (s_x^2 + s_y^2 + bias^2) with divisor n: 2 * 2 / (2 + 2 + 0.25).
    assert table.loc["ensemble", "ccc"] == pytest.approx(4 / 4.25)
    assert table.loc["ensemble", "hd95_mm_mean"] == 8.0


def test_paired_test_matches_a_hand_t():
    test = wev.architecture_test(_predictions()).iloc[0]
    diff = np.array([0.1, 0.1, 0.0, 0.1, 0.1])
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(5))
    assert test["t"] == pytest.approx(t)
    assert test["difference"] == pytest.approx(0.08)


def test_uncertainty_summary_by_hand():
    predictions = _predictions()
    frame = predictions[predictions["cohort"] == "external"]
    strata, summary = wev.uncertainty_table(frame, "truth", cut=0.35)
    assert summary["share_low"] == pytest.approx(3 / 5)
    assert summary["dsc_low"] == pytest.approx(np.mean([0.82, 0.62, 0.92]))
    assert summary["spearman_rho"] < 0
    assert strata["n"].tolist() == [2, 1, 1, 0, 1]


def test_pooled_lesions_sum_counts_then_score():
    lesions = pd.DataFrame({"size": ["small", "all", "small", "all"], "n_ref": [2, 2, 2, 2],
                            "n_found": [1, 1, 2, 2], "n_pred": [1, 1, 4, 4],
                            "n_correct": [1, 1, 2, 2]})
    pooled = wev.pooled_lesions(lesions).set_index("size")
    assert pooled.loc["small", "recall"] == pytest.approx(3 / 4)
    assert pooled.loc["small", "precision"] == pytest.approx(3 / 5)


def test_subregion_table_pairs_patients_with_both_parts():
    frame = pd.DataFrame({
        "ensemble_vs_truth_dice_periventricular_10mm": [0.8, 0.7, 0.9, 0.6],
        "ensemble_vs_truth_dice_deep_10mm": [0.5, 0.6, 0.4, np.nan],   # no deep WMH in the last
    })
    table = wev.subregion_table(frame, "truth").set_index("band_mm")
    row = table.loc[10.0]
    assert row["n"] == 3 and row["n_no_deep"] == 1
    assert row["periventricular_dsc"] == pytest.approx(0.8)
    assert row["deep_dsc"] == pytest.approx(0.5)
    diff = np.array([0.3, 0.1, 0.5])
    t = diff.mean() / (diff.std(ddof=1) / np.sqrt(3))
    assert row["p_value"] == pytest.approx(2 * stats.t.sf(t, 2))
    assert row["seed_periventricular_dsc"] == 0.751 and row["seed_deep_dsc"] == 0.617
    assert 7.5 not in table.index                    # no 7.5 mm columns: no row
    assert wev.subregion_table(frame.iloc[:, :0], "truth").empty
