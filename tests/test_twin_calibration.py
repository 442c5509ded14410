"""The twin's comparison with the paper (leukoct.twin.calibration)."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from leukoct.manifest import load_manifest
from leukoct.twin import calibration as cal
from leukoct.twin.clinical import draw_cohort_tables
from leukoct.twin.settings import TwinSettings


def test_paper_table1_is_the_printed_table() -> None:
    paper = cal.paper_table1()
    assert len(paper) == 17
    row = paper.set_index("label").loc["Sex, women"]
    assert (row["development"], row["external"], row["p_value"]) == \
        ("160 (33.2%)", "185 (47.4%)", "<0.001")
    # The vendor rows of each column account for every analysed subject but
    # the one (development) and five (external) with missing vendor data.
    ct = paper[paper["variable"] == "ct_vendor"]
    counts = {g: sum(int(v.split(" ")[0]) for v in ct[g]) for g in ("development", "external")}
    assert counts == {"development": 481, "external": 385}


def test_summarise_formats_hand_computed_cells() -> None:
    assert cal.summarise(pd.Series([1.0, 2.0, 3.0]), "mean_sd") == "2.0 ± 1.0"
    assert cal.summarise(pd.Series([1, 2, 3, 4, 5]), "median_iqr") == "3.00 (2.00–4.00)"
    # Missing values stay in the denominator of a percentage (the paper's
    # vendor rows) and are ignored by the other statistics.
    vendors = pd.Series(["GE", "GE", None, "SIEMENS"], dtype=object)
    assert cal.summarise(vendors, "n_pct", "GE") == "2 (50.0%)"
    assert cal.summarise(pd.Series([1.0, np.nan, 3.0]), "mean_sd") == "2.0 ± 1.4"
    assert cal.summarise(pd.Series([True, False, None], dtype=object), "n_pct", "True") == \
        "1 (33.3%)"
    with pytest.raises(ValueError, match="unknown statistic"):
        cal.summarise(pd.Series([1.0]), "mode")


def test_slice_class_matches_table1_classes() -> None:
    classes = cal.slice_class(pd.Series([2.5, 4.99, 5.0, 6.0, np.nan]))
    assert classes.iloc[:4].tolist() == ["<5", "<5", "5", ">5"]
    assert pd.isna(classes.iloc[4])


@pytest.fixture(scope="module")
def ci(ci_study: Path) -> tuple[pd.DataFrame, pd.DataFrame]:
    return load_manifest(ci_study / "manifest.csv"), cal.read_truth(ci_study)


def test_table1_side_by_side_counts_only_analysed_subjects(ci) -> None:
    manifest, truth = ci
    side = cal.table1_side_by_side(manifest, truth)
    kept = truth[truth["exclusion_reason"] == ""]
    n_dev = int(kept["cohort"].isin(["train", "internal"]).sum())
    assert side.attrs["n"] == {"development": n_dev,
                               "external": int((kept["cohort"] == "external").sum())}
    assert list(side.columns) == ["paper, development", "twin, development",
                                  "paper, external", "twin, external"]
    # Slice classes of the analysed development subjects add up to all of them.
    slices = side.loc[side.index.str.startswith("Slice thickness"), "twin, development"]
    assert sum(int(v.split(" ")[0]) for v in slices) == n_dev
    dev = manifest[manifest["subject_id"].isin(kept.index)
                   & manifest["cohort"].isin(["train", "internal"])]
    assert side.at["Age, years", "twin, development"] == \
        f"{dev['age'].mean():.1f} ± {dev['age'].std():.1f}"


def test_mismatched_truth_is_refused(ci) -> None:
    manifest, truth = ci
    with pytest.raises(ValueError, match="different twin studies"):
        cal.table1_side_by_side(manifest, truth.drop(index=truth.index[0]))


def test_read_truth_explains_a_folder_without_truth(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match="not a digital-twin study"):
        cal.read_truth(tmp_path)


def test_flowchart_side_by_side_adds_up(ci) -> None:
    _, truth = ci
    flow = cal.flowchart_side_by_side(truth)
    for cohort, group in flow.groupby(level="cohort"):
        steps = group.droplevel("cohort")
        excluded = steps[steps.index.str.startswith("excluded")]
        for column in ("paper", "twin"):
            assert steps.at["identified", column] == \
                steps.at["analysed", column] + excluded[column].sum(), (cohort, column)
    assert flow.loc[("development", "identified"), "paper"] == 876


def test_pick_examples_spans_loads_and_vendors(ci) -> None:
    manifest, truth = ci
    chosen = cal.pick_examples(manifest, truth, n=3)
    assert len(chosen) == len(set(chosen)) == 3
    assert chosen == cal.pick_examples(manifest, truth, n=3), "deterministic"
    volumes = truth.loc[chosen, "la_volume_ml"].to_numpy()
    assert volumes[0] < volumes[-1], "from low to high lesion load"
    assert (truth.loc[chosen, "exclusion_reason"] == "").all()
    vendors = manifest.set_index("subject_id").loc[chosen, "ct_vendor"]
    paired = manifest[manifest["subject_id"].isin(truth.index[truth["exclusion_reason"] == ""])
                      & manifest["flair_path"].notna()]
    assert vendors.nunique() == min(3, paired["ct_vendor"].nunique())


def test_vendor_contrast_is_the_truths_average(ci) -> None:
    manifest, truth = ci
    table = cal.vendor_contrast(manifest, truth)
    assert table["subjects"].sum() == int(truth["ct_noise_sd"].notna().sum())
    assert (table["la_contrast_hu"] > 0).all()
    assert np.allclose(table["contrast_to_noise"],
                       (table["la_contrast_hu"] / table["noise_sd_hu"]), atol=0.3)


def test_planted_effects_state_the_papers_odds_ratios() -> None:
    effects = cal.planted_effects().set_index("effect")
    assert effects.at["LA quintile 5 vs 1 (odds ratio)", "planted"] == "1.64"
    assert effects.at["LA quintile 2 vs 1 (odds ratio)", "paper"].startswith("1.16")


def test_truth_columns_cover_every_column(ci) -> None:
    _, truth = ci
    groups = cal.truth_columns(truth)
    listed = [c for cols in groups["columns"] for c in cols.split(", ")]
    assert sorted(listed) == sorted(truth.columns)


def test_paper_sized_twin_matches_the_other_cohorts_text() -> None:
    tables = draw_cohort_tables(TwinSettings(development=1, external=1, us=100, clinical=1180),
                                seed=7)
    kept = tables[tables["exclusion_reason"] == ""]
    clinical = kept[kept["cohort"] == "clinical"]
    assert len(clinical) == 867 and len(kept[kept["cohort"] == "us"]) == 100
    assert abs(clinical["age"].mean() - 69.3) < 3 * 13.0 / np.sqrt(867)
    q1, med, q3 = np.percentile(clinical["la_volume_ml"], [25, 50, 75])
    assert abs(med / 11.2 - 1) < 0.15 and abs(q1 / 6.2 - 1) < 0.25 and abs(q3 / 20.5 - 1) < 0.25
