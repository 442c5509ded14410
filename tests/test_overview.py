"""Study overview counts: per cohort, with missing values counted, not dropped."""

from __future__ import annotations

import pandas as pd

from leukoct.overview import cohort_counts, crosstab


def _table() -> pd.DataFrame:
    return pd.DataFrame({
        "subject_id": ["a", "b", "c", "d", "e"],
        "cohort": ["train", "train", "external", "clinical", "clinical"],
        "site": ["H1", "H2", "H3", "C1", "C1"],
        "ct_path": ["x", "x", "x", "x", None],
        "flair_path": ["f", "f", "f", None, None],
        "wmh_mask_path": ["w", "w", "w", None, None],
        "manual_mask_path": [None, None, "m", None, None],
        "ct_vendor": ["SIEMENS", None, "GE", "GE", None],
    })


def test_cohort_counts_by_hand() -> None:
    counts = cohort_counts(_table()).set_index("cohort")
    assert counts.index.tolist() == ["train", "external", "clinical", "all"]
    assert counts.loc["train"].to_dict() == {
        "subjects": 2, "sites": 2, "CT": 2, "FLAIR": 2, "WMH mask": 2, "manual mask": 0}
    assert counts.loc["clinical", "CT"] == 1
    assert counts.loc["all", "subjects"] == 5 and counts.loc["all", "sites"] == 4


def test_crosstab_keeps_missing_values_as_unknown() -> None:
    table = crosstab(_table(), "ct_vendor")
    assert table.loc["train", "unknown"] == 1
    assert table.loc["clinical", "unknown"] == 1
    assert table.loc["all", "all"] == 5
