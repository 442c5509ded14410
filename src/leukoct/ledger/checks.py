"""The paper's numbers checked against each other: what its own printed values rule out.

Each check recomputes a printed number from other printed numbers of the paper
(as transcribed in ``leukoct/data/paper_table1.csv``, ``paper_table2.csv`` and
``claims.csv``) and reports where the two cannot both be right, *allowing for
the rounding of every printed input*: a recomputed value is compared over the
whole box of inputs that round to what is printed, never at the printed
digits alone.  No subject data are used, so the findings hold for the paper
whatever any run of leukoct gives.

* :func:`percent_slips` -- a count and its percentage that do not agree at the
  printed precision (127/482 is 26.3 %, printed 26.4 %).
* :func:`partition_sums` -- the levels of a categorical row that do not add up
  to the cohort (CT slice thickness in the external data: 389 of 390).
* :func:`mean_p_values` -- a t-test p value that no pair of means, SDs and
  sizes rounding to the printed ones can give (Table 1's age).
* :func:`count_p_values` -- a chi-square p value that no denominator
  consistent with the printed percentages gives (previous stroke).
* :func:`ccc_above_r` -- a CCC above the correlation, which Lin's coefficient
  can never be (:math:`\\rho_c = r\\,C_b`, :math:`C_b \\le 1`).

:func:`recomputed_inconsistencies` runs them all on the package's tables.
"""

from __future__ import annotations

import itertools
import math
import re
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

from leukoct.messages import require_columns

#: Columns of every check's table.
CHECK_COLUMNS: tuple[str, ...] = ("check", "location", "printed", "recomputed", "finding")
#: Table 1's cohorts, the keys of their sizes in ``claims.csv`` (flow / analysed).
TABLE1_COHORTS: tuple[str, ...] = ("development", "external")
#: Categorical variables of Table 1 whose levels partition the cohort.
PARTITIONS: tuple[str, ...] = ("slice_class", "ct_vendor", "mri_vendor")

_COUNT = re.compile(r"^\s*(\d+)\s*\(\s*([\d.]+)\s*%\s*\)\s*$")
_MEAN_SD = re.compile(r"^\s*(-?[\d.]+)\s*±\s*([\d.]+)\s*$")
_P = re.compile(r"^\s*([\d.]+)\s*$")


def _decimals(text: str) -> int:
    return len(text.split(".")[1]) if "." in text else 0


def _half(text: str) -> float:
    """Half a unit of the last printed digit (the rounding interval's half-width)."""
    return 0.5 * 10.0 ** -_decimals(text)


def _count_cell(cell: Any) -> tuple[int, str] | None:
    match = _COUNT.match(str(cell))
    return (int(match[1]), match[2]) if match else None


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(CHECK_COLUMNS))


def _label(row: pd.Series) -> str:
    return str(row["label"]) if "label" in row and str(row["label"]) else str(row["variable"])


def percent_slips(cells: pd.DataFrame) -> pd.DataFrame:
    """Counts whose printed percentage is not the count over its denominator.

    Parameters
    ----------
    cells
        ``location, cell, denominator``: one printed ``"k (x %)"`` cell per
        row with the cohort size it is a share of.

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`, one row per cell whose :math:`100k/N` lies
        outside the printed percentage's rounding interval.
    """
    require_columns(cells, ["location", "cell", "denominator"], "cells")
    rows = []
    for cell in cells.itertuples(index=False):
        parsed = _count_cell(cell.cell)
        if parsed is None:
            continue
        count, pct = parsed
        exact = 100.0 * count / float(cell.denominator)
        if abs(exact - float(pct)) > _half(pct) + 1e-9:
            shown = f"{exact:.{_decimals(pct)}f}"
            rows.append({"check": "percentage", "location": cell.location,
                         "printed": str(cell.cell).strip(),
                         "recomputed": f"{count}/{int(cell.denominator)} = {exact:.{_decimals(pct) + 2}f} %",
                         "finding": f"{count}/{int(cell.denominator)} rounds to {shown} %, "
                                    f"printed {pct} %"})
    return _frame(rows)


def partition_sums(table1: pd.DataFrame, sizes: dict[str, int],
                   variables: tuple[str, ...] = PARTITIONS) -> pd.DataFrame:
    """Categorical rows whose levels do not add up to the cohort.

    Parameters
    ----------
    table1
        :func:`leukoct.paper.paper_table1` (``variable``, ``statistic``
        ``n_pct`` rows, one column per cohort).
    sizes
        Cohort -> its size (:data:`TABLE1_COHORTS`).
    variables
        Variables whose levels partition the cohort (one level per subject).

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`, one row per variable and cohort whose levels
        sum to another number than the cohort's size.
    """
    require_columns(table1, ["variable", "statistic", *sizes], "table1")
    rows = []
    for variable in variables:
        levels = table1[(table1["variable"] == variable) & (table1["statistic"] == "n_pct")]
        if levels.empty:
            continue
        label = _label(levels.iloc[0]).split(",")[0]
        for cohort, size in sizes.items():
            counts = [_count_cell(c) for c in levels[cohort]]
            total = sum(c[0] for c in counts if c is not None)
            if total != size:
                rows.append({"check": "levels sum", "location": f"Table 1, {label}, {cohort}",
                             "printed": " + ".join(str(c[0]) for c in counts if c is not None),
                             "recomputed": f"{total}",
                             "finding": f"the {len(levels)} levels sum to {total}, not {size}"})
    return _frame(rows)


def _rounding_box(*printed: str) -> list[tuple[float, ...]]:
    """Every corner of the box of values that round to the printed numbers."""
    return list(itertools.product(*[(float(v) - _half(v), float(v) + _half(v)) for v in printed]))


def mean_p_values(table1: pd.DataFrame, sizes: dict[str, int],
                  alternatives: dict[str, str] | None = None) -> pd.DataFrame:
    """Two-sample t-test p values that the printed means and SDs cannot give.

    For each ``mean_sd`` row with a numeric p value, the pooled and the Welch
    t-test p over the corners of the rounding box of the two means and SDs
    (sizes exact; p is monotone in each input between the corners).  The
    printed p is *reachable* when it lies in that range, within its own
    rounding.

    Parameters
    ----------
    table1
        :func:`leukoct.paper.paper_table1`.
    sizes
        Cohort -> its size, in the order of the test (two cohorts).
    alternatives
        Variable -> another printed mean of the second cohort (e.g. the text's
        external mean age, 69.2), tried as well.

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`, one row per (row, mean used) whose printed p
        is unreachable; a reachable alternative is reported too, as the
        finding that resolves it.
    """
    require_columns(table1, ["variable", "statistic", "p_value", *sizes], "table1")
    (first, n1), (second, n2) = sizes.items()
    rows = []
    for _, row in table1[table1["statistic"] == "mean_sd"].iterrows():
        printed_p = _P.match(str(row["p_value"]))
        a, b = _MEAN_SD.match(str(row[first])), _MEAN_SD.match(str(row[second]))
        if not (printed_p and a and b):
            continue
        p = float(printed_p[1])
        means = {str(row[second]).strip(): b[1]}
        if alternatives and row["variable"] in alternatives:
            means[f"{alternatives[row['variable']]} ± {b[2]} (text)"] = alternatives[row["variable"]]
        label = _label(row).split(",")[0]
        for shown, mean2 in means.items():
            values = [stats.ttest_ind_from_stats(m1, s1, n1, m2, s2, n2, equal_var=pooled).pvalue
                      for m1, s1, m2, s2 in _rounding_box(a[1], a[2], mean2, b[2])
                      for pooled in (True, False)]
            exact = [stats.ttest_ind_from_stats(float(a[1]), float(a[2]), n1, float(mean2),
                                                float(b[2]), n2, equal_var=pooled).pvalue
                     for pooled in (True, False)]
            low, high = min(values), max(values)
            reachable = low - _half(printed_p[1]) <= p <= high + _half(printed_p[1])
            where = f"Table 1, {label} ({row[first]} vs {shown})"
            recomputed = (f"pooled {exact[0]:.3f}, Welch {exact[1]:.3f}; over the rounding "
                          f"{low:.3f}-{high:.3f}")
            rows.append({"check": "t-test p", "location": where, "printed": f"p = {p:g}",
                         "recomputed": recomputed,
                         "finding": (f"p = {p:g} is reachable with this mean" if reachable else
                                     f"no means and SDs that round to these give p = {p:g}")})
    frame = _frame(rows)
    # Report a row only where its printed p is unreachable with some mean, so an
    # unreachable printed mean is shown with the alternative that resolves it.
    unreachable = frame["finding"].str.startswith("no means")
    keep = frame["location"].str.extract(r"^(Table 1, [^(]+)")[0]
    flagged = set(keep[unreachable])
    return frame[keep.isin(flagged)].reset_index(drop=True)


def _denominators(count: int, pct: str, lowest: int, highest: int) -> list[int]:
    """Denominators N for which ``count / N`` rounds to the printed percentage."""
    return [n for n in range(max(count, lowest), highest + 1)
            if abs(100.0 * count / n - float(pct)) <= _half(pct) + 1e-9]


def count_p_values(table1: pd.DataFrame, sizes: dict[str, int]) -> pd.DataFrame:
    """Chi-square p values of a 2 x 2 comparison that the printed counts cannot give.

    For each single-level ``n_pct`` row with a numeric p value, Pearson's
    chi-square test with and without Yates' correction and Fisher's exact
    test, first on the cohort sizes, then on every pair of denominators for
    which the printed counts give the printed percentages (the paper's
    percentages need not share the cohort's size when values are missing).

    Parameters
    ----------
    table1
        :func:`leukoct.paper.paper_table1`.
    sizes
        Cohort -> its size (two cohorts).

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`, one row per variable whose printed p no test
        on any of those denominators reproduces (within its rounding).
    """
    require_columns(table1, ["variable", "statistic", "p_value", *sizes], "table1")
    (first, n1), (second, n2) = sizes.items()
    rows = []
    singles = table1[table1["statistic"] == "n_pct"].groupby("variable").filter(
        lambda g: len(g) == 1)
    for _, row in singles.iterrows():
        printed_p = _P.match(str(row["p_value"]))
        a, b = _count_cell(row[first]), _count_cell(row[second])
        if not (printed_p and a and b):
            continue
        p, half = float(printed_p[1]), _half(printed_p[1])
        # A percentage's denominator may be any size up to both cohorts together
        # (the paper's previous-stroke percentages fit 411-412 and 412-413).
        most = n1 + n2
        pairs = [(n1, n2)] + [(d1, d2) for d1 in _denominators(a[0], a[1], 1, most)
                              for d2 in _denominators(b[0], b[1], 1, most)]
        results = []
        for d1, d2 in pairs:
            table = np.array([[a[0], d1 - a[0]], [b[0], d2 - b[0]]])
            tests = {"Yates": stats.chi2_contingency(table, correction=True)[1],
                     "chi-square": stats.chi2_contingency(table, correction=False)[1],
                     "Fisher": stats.fisher_exact(table)[1]}
            results.append((d1, d2, tests))
        hit = any(abs(v - p) <= half for *_, tests in results for v in tests.values())
        if hit:
            continue
        shown = "; ".join(f"{a[0]}/{d1} vs {b[0]}/{d2}: "
                          + ", ".join(f"{k} {v:.3f}" for k, v in tests.items())
                          for d1, d2, tests in results)
        rows.append({"check": "chi-square p", "location": f"Table 1, {_label(row)}",
                     "printed": f"{row[first]} vs {row[second]}; p = {p:g}",
                     "recomputed": shown,
                     "finding": f"no test on the cohort sizes or on the denominators the "
                                f"percentages imply gives p = {p:g}"})
    return _frame(rows)


def ccc_above_r(table2: pd.DataFrame) -> pd.DataFrame:
    """Printed CCCs above the printed correlation, which Lin's coefficient cannot be.

    :math:`\\rho_c = r\\,C_b` with :math:`0 < C_b \\le 1`, so
    :math:`\\rho_c \\le |r| = \\sqrt{r^2}`.  A cell is impossible when even the
    smallest CCC and the largest :math:`r^2` that round to the printed ones
    break the bound.

    Parameters
    ----------
    table2
        :func:`leukoct.evaluation.published_values` of ``table2``
        (``comparison, statistic, group, estimate, printed``).

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`, one row per impossible cell.
    """
    require_columns(table2, ["comparison", "statistic", "group", "estimate", "printed"], "table2")
    cells = table2.set_index(["comparison", "statistic", "group"])
    rows = []
    for (comparison, statistic, group), cell in cells.iterrows():
        if statistic != "ccc" or (comparison, "r2", group) not in cells.index:
            continue
        r2 = cells.loc[(comparison, "r2", group)]
        ccc_text = str(cell["printed"]).split()[0]
        r2_text = str(r2["printed"]).split()[0]
        smallest = float(ccc_text) - _half(ccc_text)
        largest_r = math.sqrt(float(r2_text) + _half(r2_text))
        if smallest > largest_r:
            rows.append({"check": "CCC ≤ |r|", "location": f"Table 2, {comparison}, {group}",
                         "printed": f"CCC {ccc_text}, r² {r2_text}",
                         "recomputed": f"|r| ≤ √{float(r2_text) + _half(r2_text):.4f} = "
                                       f"{largest_r:.5f} < {smallest:.4f}",
                         "finding": f"CCC {ccc_text} exceeds |r| ≤ {largest_r:.5f}: impossible "
                                    "(CCC = r × C_b, C_b ≤ 1), so one of the two cells is a "
                                    "copy error"})
    return _frame(rows)


def recomputed_inconsistencies(claims: pd.DataFrame | None = None) -> pd.DataFrame:
    """Every check of this module on the paper's transcribed tables.

    Parameters
    ----------
    claims
        :func:`leukoct.ledger.read_claims` (for the cohort sizes, ``flow /
        analysed``, and the text's external mean age); default the package's.

    Returns
    -------
    pandas.DataFrame
        :data:`CHECK_COLUMNS`, the checks' rows in this module's order.
    """
    from leukoct.evaluation import published_values
    from leukoct.ledger.claims import read_claims
    from leukoct.paper import paper_table1

    claims = read_claims() if claims is None else claims
    flow = claims[(claims["comparison"] == "flow") & (claims["statistic"] == "analysed")]
    sizes = {c: int(flow.loc[flow["group"] == c, "estimate"].iloc[0]) for c in TABLE1_COHORTS}
    # A mean the text prints for the second cohort where Table 1 prints another.
    text_means = claims[(claims["section"] == "Abstract") & (claims["statistic"] == "mean")
                        & (claims["group"] == TABLE1_COHORTS[1])]
    alternatives = {r.comparison: r.published.split()[0] for r in text_means.itertuples()}
    table1 = paper_table1()
    table2 = published_values("table2")
    cells = [{"location": f"Table 1, {_label(row)}, {cohort}", "cell": row[cohort],
              "denominator": size}
             for _, row in table1[table1["statistic"] == "n_pct"].iterrows()
             for cohort, size in sizes.items()]
    subjects = table2[(table2["comparison"] == "subjects") & (table2["group"] != "All")]
    total = int(table2.loc[(table2["comparison"] == "subjects") & (table2["group"] == "All"),
                           "estimate"].iloc[0])
    cells += [{"location": f"Table 2, n, {row.group}", "cell": row.printed, "denominator": total}
              for row in subjects.itertuples()]
    parts = [percent_slips(pd.DataFrame(cells)), partition_sums(table1, sizes),
             mean_p_values(table1, sizes, alternatives), count_p_values(table1, sizes),
             ccc_above_r(table2)]
    return pd.concat(parts, ignore_index=True)
