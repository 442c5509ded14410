"""The paper's published evaluation values and the side-by-side comparison.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from leukoct.evaluation._common import (
    VALUE_COLUMNS,
    format_estimate,
    is_missing,
)
from leukoct.messages import require_columns
from leukoct.paper import paper_table

# --------------------------------------------------------------------------
# the paper's published values
# --------------------------------------------------------------------------

#: Files of published values: table key -> data file of the package.
#: Published tables read with :func:`leukoct.paper.paper_table` (``data/paper_<name>.csv``).
PUBLISHED_FILES: dict[str, str] = {"table2": "table2", "tableS2": "tableS2"}
#: Values of the evaluation figures printed in the Results text
#: (``data/paper_figures.csv``, one file for Figures 4, S2 and S3).
FIGURES_FILE = "figures"

_PUBLISHED_COLUMNS = ("table", "comparison", "statistic", "group", "estimate", "ci_low",
                      "ci_high", "printed", "source", "note")


def published_values(table: str | None = None) -> pd.DataFrame:
    """The paper's published evaluation values (reads the package's data files).

    Parameters
    ----------
    table
        ``"table2"`` (``leukoct/data/paper_table2.csv``), ``"tableS2"``
        (``paper_tableS2.csv``), ``"figure4"``, ``"figureS2"``,
        ``"figureS3"`` (``paper_figures.csv``), or ``None`` for all.

    Returns
    -------
    pandas.DataFrame
        ``table, comparison, statistic, group, estimate, ci_low, ci_high,
        printed, source, note``; the numbers as float (NaN where not printed),
        the rest as text.  Keys as in :data:`VALUE_COLUMNS`.
    """
    figures = paper_table(FIGURES_FILE)
    known = [*PUBLISHED_FILES, *dict.fromkeys(figures["table"])]
    if table is not None and table not in known:
        raise ValueError(f"table must be one of {known} or None, not {table!r}")
    frames = [paper_table(path) for key, path in PUBLISHED_FILES.items()
              if table in (None, key)]
    frames.append(figures)
    values = pd.concat(frames, ignore_index=True).reindex(columns=list(_PUBLISHED_COLUMNS))
    if table is not None:
        values = values.loc[values["table"] == table].reset_index(drop=True)
    for column in _PUBLISHED_COLUMNS:
        text = values[column].astype(object)
        text = text.where(text.notna() & (text != ""), None)
        if column in ("estimate", "ci_low", "ci_high"):
            values[column] = pd.to_numeric(text).astype(float)
        else:
            values[column] = text.where(text.notna(), "").astype(str)
    return values


def compare_with_paper(values: pd.DataFrame, table: str,
                       published: pd.DataFrame | None = None) -> pd.DataFrame:
    """Reproduced values beside the paper's published ones.

    Parameters
    ----------
    values
        A result's ``values`` (:data:`VALUE_COLUMNS`), e.g. ``table2(...).values``.
    table
        Which published table to compare with (see :func:`published_values`).
    published
        The published values (default: :func:`published_values` of ``table``).

    Returns
    -------
    pandas.DataFrame
        One row per published value, in the published order: ``comparison``,
        ``statistic``, ``group``, ``published`` (as printed),
        ``published_estimate``, ``published_ci_low``, ``published_ci_high``,
        ``reproduced_estimate``, ``reproduced_ci_low``, ``reproduced_ci_high``,
        ``reproduced_n``, ``difference`` (reproduced - published),
        ``published_in_ci`` (the published estimate inside the reproduced
        interval; ``<NA>`` without one), ``reproduced`` (formatted),
        ``source``, ``note``.  A published value without a reproduced one
        keeps NaN there and its note starts with ``"not reproduced"`` (no
        such value in ``values``) or ``"not estimable here (n = k)"``.
    """
    require_columns(values, VALUE_COLUMNS, "values")
    published = published_values(table) if published is None else published
    mine = values.drop_duplicates(["comparison", "statistic", "group"]).rename(columns={
        "estimate": "reproduced_estimate", "ci_low": "reproduced_ci_low",
        "ci_high": "reproduced_ci_high", "n": "reproduced_n"})
    theirs = published.rename(columns={"estimate": "published_estimate",
                                       "ci_low": "published_ci_low",
                                       "ci_high": "published_ci_high", "printed": "published"})
    merged = theirs.merge(mine, on=["comparison", "statistic", "group"], how="left",
                          validate="one_to_one")
    merged["difference"] = merged["reproduced_estimate"] - merged["published_estimate"]
    inside = ((merged["reproduced_ci_low"] <= merged["published_estimate"])
              & (merged["published_estimate"] <= merged["reproduced_ci_high"]))
    has_ci = merged["reproduced_ci_low"].notna() & merged["reproduced_ci_high"].notna()
    merged["published_in_ci"] = pd.array(inside, dtype="boolean")
    merged.loc[~has_ci, "published_in_ci"] = pd.NA
    digits = np.where(merged["statistic"] == "n", 0, 3)
    merged["reproduced"] = [format_estimate(e, lo, hi, int(d)) for e, lo, hi, d in zip(
        merged["reproduced_estimate"], merged["reproduced_ci_low"],
        merged["reproduced_ci_high"], digits)]
    absent = merged["reproduced_estimate"].isna()
    merged.loc[absent, "note"] = [
        ("not reproduced" if is_missing(n) else f"not estimable here (n = {int(n)})")
        + (f"; {note}" if note else "")
        for n, note in zip(merged.loc[absent, "reproduced_n"], merged.loc[absent, "note"])]
    return merged[["comparison", "statistic", "group", "published", "published_estimate",
                   "published_ci_low", "published_ci_high", "reproduced_estimate",
                   "reproduced_ci_low", "reproduced_ci_high", "reproduced_n", "difference",
                   "published_in_ci", "reproduced", "source", "note"]]


def side_by_side(values: pd.DataFrame, table: str) -> pd.DataFrame:
    """:func:`compare_with_paper`, reduced to what a reader compares.

    Returns
    -------
    pandas.DataFrame
        ``comparison``, ``statistic``, ``group``, ``paper`` (as printed),
        ``reproduced`` (formatted, with its interval), ``n``,
        ``paper inside CI`` (the published estimate inside the reproduced
        interval: ``yes`` / ``no`` / blank without an interval), ``note``.
    """
    compared = compare_with_paper(values, table)
    inside = compared["published_in_ci"].map({True: "yes", False: "no"}).fillna("")
    n = compared["reproduced_n"].astype("Int64").astype(str).replace("<NA>", "")
    return pd.DataFrame({
        "comparison": compared["comparison"], "statistic": compared["statistic"],
        "group": compared["group"], "paper": compared["published"],
        "reproduced": compared["reproduced"], "n": n, "paper inside CI": inside,
        "note": compared["note"]})



# --------------------------------------------------------------------------
# which interval method the paper used
# --------------------------------------------------------------------------

#: Columns of :func:`interval_method`.
INTERVAL_METHOD_COLUMNS: tuple[str, ...] = (
    "comparison", "group", "estimate", "ci_low", "ci_high", "asymptotic_low",
    "z_transform_low", "asymptotic_error", "z_transform_error", "method")


def interval_method(published: pd.DataFrame, statistic: str = "ccc",
                    decimals: int = 3) -> pd.DataFrame:
    """Which CCC interval method reproduces each interval the paper prints.

    From a printed estimate :math:`p` and upper limit :math:`u`, each method
    fixes the lower limit: the asymptotic interval :math:`p \\pm z\\,se` is
    symmetric (:math:`2p - u`); Fisher's z-transform interval is symmetric in
    :math:`\\tanh^{-1}`, so its lower limit is :math:`\\tanh(2\\tanh^{-1}p -
    \\tanh^{-1}u)`.  Both grow with :math:`p` and fall with :math:`u`, so over
    every :math:`(p, u)` that rounds to the printed numbers (half a unit of
    the last printed digit each way) the implied lower limit spans
    ``[f(p - h, u + h), f(p + h, u - h)]``; a method reproduces the printed
    lower limit when that span meets the printed limit's own rounding
    interval.  No subject data are needed.

    Parameters
    ----------
    published
        :func:`published_values` (rows with an estimate and both limits of
        ``statistic`` are used).
    statistic
        ``"ccc"``.
    decimals
        Decimals the paper prints.

    Returns
    -------
    pandas.DataFrame
        :data:`INTERVAL_METHOD_COLUMNS`, one row per printed interval;
        ``method`` is ``"asymptotic"``, ``"z-transform"``, ``"both"`` (an
        interval too narrow to tell) or ``"neither"``.
    """
    require_columns(published, ["comparison", "statistic", "group", "estimate", "ci_low",
                                "ci_high"], "published values")
    rows = published.loc[(published["statistic"] == statistic)
                         & published[["estimate", "ci_low", "ci_high"]].notna().all(axis=1)]
    h = 0.5 * 10.0 ** -decimals + 1e-12
    p, low, high = (rows[c].to_numpy(float) for c in ("estimate", "ci_low", "ci_high"))

    def asymptotic_low(p: np.ndarray, u: np.ndarray) -> np.ndarray:
        return 2 * p - u

    def z_low(p: np.ndarray, u: np.ndarray) -> np.ndarray:
        edge = 1 - 1e-12  # a limit rounded to 1.000 may be 1: atanh(1) is infinite
        return np.tanh(2 * np.arctanh(np.clip(p, -edge, edge))
                       - np.arctanh(np.clip(u, -edge, edge)))

    def reproduces(f) -> np.ndarray:
        return (f(p - h, high + h) <= low + h) & (f(p + h, high - h) >= low - h)

    asymptotic, z_transform = asymptotic_low(p, high), z_low(p, high)
    a_ok, z_ok = reproduces(asymptotic_low), reproduces(z_low)
    method = np.select([a_ok & z_ok, a_ok, z_ok], ["both", "asymptotic", "z-transform"],
                       "neither")
    return pd.DataFrame({
        "comparison": rows["comparison"].to_numpy(), "group": rows["group"].to_numpy(),
        "estimate": p, "ci_low": low, "ci_high": high, "asymptotic_low": asymptotic,
        "z_transform_low": z_transform, "asymptotic_error": asymptotic - low,
        "z_transform_error": z_transform - low, "method": method},
        columns=list(INTERVAL_METHOD_COLUMNS))
