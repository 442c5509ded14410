"""Baseline tables (Table 1, S1, S3) built with tableone and the paper's tests."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leukoct.baseline import analysis_frame, chi_square, missing_footnote, table1, table_s3


def _study() -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(0)
    rows = []
    for i in range(40):
        cohort = "train" if i < 20 else "external"
        rows.append({"subject_id": f"S{i:02d}", "cohort": cohort, "age": 60.0 + (i % 9) * 2,
                     "sex": "F" if i % 3 == 0 else "M", "ct_mri_interval_h": 1.0 + i * 0.1,
                     "prior_stroke": i % 4 == 0, "infarct_volume_ml": 0.5 + (i % 7),
                     "ct_slice_thickness_mm": 5.0 if i % 2 else 2.5,
                     "ct_vendor": None if i == 3 else ("SIEMENS" if i % 2 else "GE"),
                     "mri_vendor": "PHILIPS", "mri_field_strength_t": 3.0, "ct_kvp": 120.0})
    for i in range(10):
        rows.append({"subject_id": f"C{i:02d}", "cohort": "clinical", "age": 70.0 + i,
                     "sex": "F", "ct_slice_thickness_mm": 5.0, "ct_vendor": "GE",
                     "mri_vendor": None, "nihss": i, "mrs_3m": i % 7, "hypertension": i < 7,
                     "prior_stroke": False, "infarct_volume_ml": 1.0})
    table = pd.DataFrame(rows)
    group = np.where(table["cohort"] == "train", "development", table["cohort"])
    curated = pd.DataFrame({"subject_id": table["subject_id"], "group": group,
                            "status": "included"})
    curated.loc[0, "status"] = "excluded"                     # must not be counted
    extra = pd.DataFrame({"wmh_flair_ml": rng.lognormal(2, 1, 40)},
                         index=[f"S{i:02d}" for i in range(40)])
    return analysis_frame(table, curated, extra), table


def test_table1_uses_the_papers_tests_and_formats() -> None:
    frame, table = _study()
    t = table1(frame)
    dev = frame[frame["group"] == "development"]
    ext = frame[frame["group"] == "external"]
    assert t.loc[("n", ""), "Training and internal validation"] == "19", "excluded S00 left out"
    age = t.xs("Age, years, mean ± SD", level="characteristic").iloc[0]
    assert age["Training and internal validation"] == \
        f"{dev['age'].mean():.1f} ± {dev['age'].std():.1f}"
    assert float(age["P-Value"]) == round(stats.ttest_ind(dev["age"], ext["age"]).pvalue, 3)
    assert age["Test"] == "Student's t-test"
    # the unrounded p values travel with the table (for the claims ledger)
    assert t.attrs["p_values"]["age"] == pytest.approx(
        stats.ttest_ind(dev["age"], ext["age"]).pvalue, rel=1e-9)
    assert "ct_vendor" not in t.attrs["p_values"]   # described without a test
    wmh = t.xs("WMH volume on FLAIR, mL, median (IQR)", level="characteristic").iloc[0]
    q1, med, q3 = np.percentile(dev["wmh_flair_ml"], [25, 50, 75])
    assert wmh["Training and internal validation"] == f"{med:.2f} ({q1:.2f}–{q3:.2f})"
    p = stats.mannwhitneyu(dev["wmh_flair_ml"], ext["wmh_flair_ml"]).pvalue
    assert float(wmh["P-Value"]) == round(p, 3) and wmh["Test"] == "Wilcoxon rank-sum"
    women = t.loc[("Sex, women, n (%)", "yes")]
    k = int((dev["female"] == "yes").sum())
    assert women["Training and internal validation"] == f"{k} ({100 * k / len(dev):.1f})"
    counts = [[(dev["female"] == "yes").sum(), (ext["female"] == "yes").sum()],
              [(dev["female"] == "no").sum(), (ext["female"] == "no").sum()]]
    assert float(women["P-Value"]) == round(stats.chi2_contingency(counts).pvalue, 3)
    assert women["Test"] == "Chi-square"
    # Vendors: a missing vendor is a level of its own, and has no p value.
    vendors = t.xs("CT vendor, n (%)", level="characteristic")
    assert "unknown" in vendors.index and (vendors["P-Value"] == "").all()
    assert "CT vendor: data were missing in 1 patient in the training and internal " \
           "validation dataset." in missing_footnote(frame)


def test_chi_square_is_yates_corrected_on_2x2_and_plain_otherwise() -> None:
    assert np.isclose(chi_square([9, 8], [10, 15]),
                      stats.chi2_contingency([[9, 8], [10, 15]], correction=True).pvalue)
    table = [[5, 9], [7, 3], [4, 8]]
    assert np.isclose(chi_square(*table), stats.chi2_contingency(table).pvalue)
    assert np.isnan(chi_square([5, 9]))


def test_table_s3_describes_the_clinical_cohort_only() -> None:
    frame, _ = _study()
    t = table_s3(frame)
    assert t.loc[("n", ""), "Overall"] == "10"
    assert t.loc[("Hypertension, n (%)", "yes"), "Overall"] == "7 (70.0)"
    mrs = t.xs("3-month mRS score, n (%)", level="characteristic")
    assert list(mrs.index) == [str(v) for v in range(7)]


def test_paper_formats() -> None:
    from leukoct.baseline import paper_format

    assert paper_format("68.1 (12.7)", "mean_sd") == "68.1 ± 12.7"
    assert paper_format("3.30 [1.04,8.18]", "median_iqr") == "3.30 (1.04–8.18)"
    assert paper_format("-0.5 [-1.0,2.0]", "median_iqr") == "-0.5 (-1.0–2.0)"
    assert paper_format("160 (33.2)", "median_iqr") == "160 (33.2)", "other cells untouched"


def test_paper_comparison_puts_every_printed_row_beside_this_run() -> None:
    from leukoct.baseline import paper_comparison

    frame, _ = _study()
    t = table1(frame)
    versus = paper_comparison(t)
    assert len(versus) == 17
    age = versus.loc["Age, years"]
    assert age[("Training and internal validation", "paper")] == "68.1 ± 12.7"
    dev = frame[frame["group"] == "development"]
    assert age[("Training and internal validation", "this run")] == \
        f"{dev['age'].mean():.1f} ± {dev['age'].std():.1f}"
    assert versus.loc["CT vendor, Toshiba (Canon)", ("External test", "this run")] == "0 (0.0)"
    assert versus.loc["CT vendor, GE", ("p value", "this run")] == "", "no test for vendors"
