"""Tests of leukoct.ledger.checks: the paper's numbers recomputed from each other.

The first test runs every check on the package's transcription of the paper and
asserts what the paper's own numbers give (recomputed here, not typed in as
conclusions: the expected figures are scipy's, or plain arithmetic, on the
printed cells); the rest check each function on hand-made tables.
"""

from __future__ import annotations

import pandas as pd
import pytest
from scipy import stats

from leukoct.ledger import checks


@pytest.fixture(scope="module")
def found() -> pd.DataFrame:
    return checks.recomputed_inconsistencies()


def _where(found: pd.DataFrame, check: str, location: str) -> pd.DataFrame:
    return found[(found["check"] == check) & found["location"].str.startswith(location)]


def test_the_papers_rounding_slips_are_found(found):
    slips = found[found["check"] == "percentage"]
    expected = {("Table 1, MRI vendor, GE, development", "26.3"),      # 127/482 = 26.35
                ("Table 1, Slice thickness of CT, < 5 mm, development", "10.2"),  # 49/482
                ("Table 2, n, CANON", "7.18"),                          # 28/390 = 7.179
                ("Table 2, n, GE", "23.3")}                             # 91/390, printed 22.1
    got = {(row.location, row.finding.split(" rounds to ")[1].split(" %")[0])
           for row in slips.itertuples()}
    assert expected <= got
    # Cells that do agree are not reported: 160/482 = 33.2 % (women, development).
    assert not slips["location"].str.contains("Sex").any()


def test_levels_that_do_not_add_up_are_found(found):
    sums = found[found["check"] == "levels sum"].set_index("location")["recomputed"]
    assert sums["Table 1, Slice thickness of CT, external"] == str(238 + 137 + 14)  # 389
    assert "Table 1, Slice thickness of CT, development" not in sums.index      # 49+432+1 = 482


def test_table1_age_p_needs_the_texts_mean(found):
    rows = _where(found, "t-test p", "Table 1, Age")
    table = rows.set_index(rows["location"].str.contains("text"))["finding"]
    # 69.4 (Table 1): even the rounding's extremes give at most 0.18, not 0.252
    assert table[False].startswith("no means and SDs")
    # 69.2 (the text): the rounding reaches 0.252
    assert "reachable" in table[True]
    pooled = stats.ttest_ind_from_stats(68.1, 12.7, 482, 69.4, 13.5, 390).pvalue
    assert f"pooled {pooled:.3f}" in rows.iloc[0]["recomputed"]           # 0.144


def test_previous_stroke_p_is_reproduced_by_no_denominator(found):
    row = _where(found, "chi-square p", "Table 1, Previous stroke").iloc[0]
    # denominators the percentages imply: 88/411 and 88/412 give 21.4 %, 82/412 and 82/413 19.9 %
    for pair in ("88/482 vs 82/390", "88/411 vs 82/412", "88/412 vs 82/413"):
        assert pair in row["recomputed"]
    assert "88/411 vs 82/411" not in row["recomputed"]  # 82/411 prints 20.0 %
    assert "0.565" in row["finding"]


def test_the_toshiba_ccc_above_its_correlation_is_found(found):
    rows = found[found["check"] == "CCC ≤ |r|"]
    assert rows["location"].tolist() == ["Table 2, vs_registered, CANON"]  # 0.933 > √0.8695


def test_percent_slips_allow_the_printed_rounding():
    cells = pd.DataFrame({"location": ["a", "b", "c"],
                          "cell": ["1 (33.3%)", "1 (33.4%)", "2 (66.67%)"],
                          "denominator": [3, 3, 3]})
    found = checks.percent_slips(cells)
    assert found["location"].tolist() == ["b"]          # 33.33 rounds to 33.3, not 33.4


def test_partition_sums_name_the_cohort():
    table1 = pd.DataFrame({"variable": ["v", "v"], "label": ["Thing, a", "Thing, b"],
                           "statistic": ["n_pct", "n_pct"],
                           "one": ["2 (50%)", "2 (50%)"], "two": ["1 (20%)", "3 (60%)"]})
    found = checks.partition_sums(table1, {"one": 4, "two": 5}, variables=("v",))
    assert found[["location", "recomputed"]].values.tolist() == [["Table 1, Thing, two", "4"]]


def test_mean_p_values_flag_only_an_unreachable_p():
    p = stats.ttest_ind_from_stats(10.0, 2.0, 50, 11.0, 2.0, 50).pvalue  # 0.0141
    table1 = pd.DataFrame({"variable": ["x", "y"], "label": ["X, u", "Y, u"],
                           "statistic": ["mean_sd", "mean_sd"],
                           "one": ["10.0 ± 2.0", "10.0 ± 2.0"], "two": ["11.0 ± 2.0", "11.0 ± 2.0"],
                           "p_value": [f"{p:.3f}", "0.500"]})
    found = checks.mean_p_values(table1, {"one": 50, "two": 50})
    assert found["location"].str.startswith("Table 1, Y").all() and len(found) == 1


def test_ccc_above_r_uses_the_most_favourable_rounding():
    table2 = pd.DataFrame({
        "comparison": ["c"] * 4, "statistic": ["ccc", "r2", "ccc", "r2"],
        "group": ["A", "A", "B", "B"], "estimate": [0.95, 0.81, 0.9, 0.81],
        "printed": ["0.95 (0.9 - 1)", "0.81 (0.7 - 0.9)", "0.905 (x)", "0.81 (x)"]})
    # The smallest CCC against the largest |r| the rounding allows:
    # A 0.945 > sqrt(0.815) = 0.9028 and B 0.9045 > 0.9028: both impossible.
    found = checks.ccc_above_r(table2)
    assert found["location"].tolist() == ["Table 2, c, A", "Table 2, c, B"]
    table2.loc[3, "printed"] = "0.82 (x)"                # sqrt(0.825) = 0.908 > 0.9045
    assert checks.ccc_above_r(table2)["location"].tolist() == ["Table 2, c, A"]
