"""The claims ledger: every number the paper states, beside the number this run reproduced.

``leukoct/data/claims.csv`` lists the paper's numeric claims, each keyed like a
row of a ``values`` table: ``(artefact, comparison, statistic, group)``.  The
study notebooks save, per artefact, the long ``values`` table of
:data:`leukoct.evaluation.VALUE_COLUMNS` (:func:`write_values`); the book
reads them all back (:func:`read_values`), joins them to the claims
(:func:`ledger_table`) and renders one page (:func:`ledger_markdown`) with the
claims, their status (:data:`STATUSES`) and the paper's internal
inconsistencies (:func:`inconsistencies`).

Where each artefact's values come from
--------------------------------------
``table2``, ``tableS2``, ``figure3``, ``figure4``, ``figureS2``, ``figureS3``
    The ``.values`` of the evaluation results (:mod:`leukoct.evaluation`:
    ``table2``, ``table_s2``, ``figure3_data``, ``figure4_data``,
    ``manual_agreement``, ``infarct_agreement``).  The ranges over CT vendors
    of Table 2 (:func:`vendor_range_values`) and the subgroup difference of
    Figure S3 (:func:`subgroup_difference_values`) are derived from them by
    :func:`ledger_table` itself.
``figureS1``
    :func:`figure_s1_values` (Figure S1's data carry trend statistics, no
    values table).
``figure1``
    :func:`flow_values` of :func:`leukoct.curation.flow_counts` and the
    development split.
``table1``, ``tableS1``, ``tableS3``
    :func:`baseline_values` of :func:`leukoct.baseline.analysis_frame`.
``table3``, ``tableS4``, ``figureS4``
    :func:`table3_values`, :func:`table_s4_values`, :func:`figure_s4_values`
    of the :mod:`leukoct.clinical` results.
``text`` (numbers printed in the text only)
    :func:`baseline_values` (age, sex and sites of a cohort) and
    :func:`volume_values` (median predicted volume of a cohort); several
    notebooks contribute, each to its own file (``part`` of
    :func:`write_values`).

File names
----------
``<folder>/<artefact>.values.csv``, or ``<artefact>.<part>.values.csv`` when
several notebooks contribute values to one artefact; :func:`read_values`
takes the artefact from the name up to its first dot.

Everything is a pure function of DataFrames except :func:`read_claims`,
:func:`write_values` and :func:`read_values`.
"""

from __future__ import annotations

import math
import os
import re
import shutil
from collections.abc import Callable, Iterable, Sequence
from importlib.resources import files
from io import StringIO
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from leukoct.baseline import VENDOR_NAMES
from leukoct.evaluation import MISSING, VALUE_COLUMNS, format_estimate
from leukoct.evaluation._common import _is_missing as _missing
from leukoct.evaluation._common import _num, _value
from leukoct.messages import id_list

if TYPE_CHECKING:
    from leukoct.clinical import FigureS4Data, RegressionTable, Table3Result
    from leukoct.config import Profile
    from leukoct.evaluation import FigureS1Data

__all__ = [
    "BASELINE_GROUPS",
    "BASELINE_LEVELS",
    "BASELINE_MEANS",
    "BASELINE_MEDIANS",
    "CI_KINDS",
    "CLAIM_COLUMNS",
    "DIFFERS",
    "INSIDE_CI",
    "LEDGER_COLUMNS",
    "MATCHES",
    "NOT_A_RESULT",
    "NOT_ESTIMABLE",
    "NOT_PRODUCED",
    "NOT_REPRODUCIBLE",
    "NOT_RESULT_KINDS",
    "SIGNIFICANCE_LEVEL",
    "STATUSES",
    "UNREPRODUCIBLE",
    "VALUES_SUFFIX",
    "baseline_values",
    "derived_values",
    "figure_s1_values",
    "figure_s4_values",
    "flow_values",
    "inconsistencies",
    "ledger_markdown",
    "ledger_table",
    "read_claims",
    "read_values",
    "values_folder",
    "subgroup_difference_values",
    "table3_values",
    "table_s4_values",
    "vendor_range_values",
    "volume_values",
    "write_values",
]

#: Columns of ``leukoct/data/claims.csv`` (its header comment describes them).
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "section", "location", "quote", "quantity", "published", "estimate", "ci_low",
    "ci_high", "artefact", "step", "comparison", "statistic", "group", "kind", "consistency")
#: Columns of :func:`ledger_table`.
LEDGER_COLUMNS: tuple[str, ...] = ("claim_id", "location", "quantity", "published",
                                   "reproduced", "difference", "status", "note")
#: The key a claim and a reproduced value are joined on.
JOIN: tuple[str, ...] = ("artefact", "comparison", "statistic", "group")

# The status vocabulary, from the strongest agreement to no comparison at all.
MATCHES = "matches"
INSIDE_CI = "published value inside reproduced CI"
DIFFERS = "differs"
NOT_ESTIMABLE = "not estimable in this run"
NOT_PRODUCED = "not produced in this run"
NOT_REPRODUCIBLE = "not reproducible from these data"
NOT_A_RESULT = "not a result"
#: Every status of :func:`ledger_table`, in this order, with its meaning.
STATUSES: dict[str, str] = {
    MATCHES: "the reproduced value equals the published one at the printed precision, a "
             "count exactly; a statement of significance or direction holds",
    INSIDE_CI: "it does not, but the published value lies inside the reproduced 95 % CI",
    DIFFERS: "the reproduced value differs, or the statement does not hold",
    NOT_ESTIMABLE: "the step ran, but the value could not be estimated: too few subjects",
    NOT_PRODUCED: "this run saved no such value: the step did not run, or gave up",
    NOT_REPRODUCIBLE: "no run can reproduce it: the data do not record what it is about",
    NOT_A_RESULT: "a setting or a formula, not a result of the data",
}
#: Claim kinds that are no result of the data (a training setting, a formula).
NOT_RESULT_KINDS: tuple[str, ...] = ("setting", "formula")
#: Claim kinds whose ``ci_low``/``ci_high`` are a confidence interval (for a median
#: they are the IQR, for the US mean age the range: never compared as a CI).
CI_KINDS: tuple[str, ...] = ("dice", "ccc", "r2", "pearson_r", "or", "coef")
#: The paper's significance level (Methods, Statistical analysis).
SIGNIFICANCE_LEVEL = 0.05
#: Variables of claim keys (``comparison`` up to its ``:``) that these data can
#: never hold, with the reason the ledger prints.
UNREPRODUCIBLE: dict[str, str] = {
    "mri_slice_thickness_mm": "the manifest records no MRI slice thickness "
                              "(leukoct.schema has no such column)",
}
#: Suffix of the files of :func:`write_values`.
VALUES_SUFFIX = ".values.csv"

#: Datasets of the baseline tables, in the paper's order.
BASELINE_GROUPS: tuple[str, ...] = ("development", "external", "us", "clinical")
#: Variables summarised as mean (statistics ``mean``, ``sd``, ``min``, ``max``).
BASELINE_MEANS: tuple[str, ...] = ("age", "bmi")
#: Variables summarised as median with the IQR in ``ci_low``/``ci_high``.
BASELINE_MEDIANS: tuple[str, ...] = ("ct_mri_interval_h", "wmh_flair_ml", "infarct_volume_ml",
                                     "nihss")
#: Categorical variables: one key ``variable:level`` per level (statistics ``n``, ``pct``).
BASELINE_LEVELS: tuple[str, ...] = (
    "sex", "slice_class", "ct_vendor", "mri_vendor", "ct_kvp", "ct_slice_thickness_mm",
    "mri_field_strength_t", "prior_stroke", "hypertension", "diabetes", "hyperlipidemia",
    "smoking", "atrial_fibrillation", "coronary_artery_disease", "revascularization", "mrs_3m")
# Levels are keyed as paper_table1.csv and claims.csv spell them: vendor codes,
# booleans as True/False, slice classes without the unit, numbers with :g except
# the field strength, which Table S1 prints with one decimal (3.0 T).
_BINARY = ("prior_stroke", "hypertension", "diabetes", "hyperlipidemia", "smoking",
           "atrial_fibrillation", "coronary_artery_disease", "revascularization")
_LEVEL_DECIMALS = {"mri_field_strength_t": 1}
_VENDOR_CODES = {name: code for code, name in VENDOR_NAMES.items()}
_NUMBER = re.compile(r"\d[\d,]*(?:\.(\d+))?")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_ALL = "All"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _require(frame: pd.DataFrame, columns: Iterable[str], what: str) -> None:
    absent = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if absent:
        raise ValueError(f"{what}: column(s) {absent} not found; available: {list(frame.columns)}")


def _row(comparison: str, statistic: str, group: Any, estimate: Any, ci_low: Any = None,
         ci_high: Any = None, n: Any = None) -> dict[str, Any]:
    # The ledger joins on text keys: a numeric group becomes text.
    return _value(comparison, statistic, str(group), estimate, ci_low, ci_high, n)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A values table: key columns as text, numbers as float (``n`` too: it may be NaN)."""
    frame = pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    for column in ("comparison", "statistic", "group"):
        frame[column] = frame[column].astype(object).astype(str)
    for column in ("estimate", "ci_low", "ci_high", "n"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame


# --------------------------------------------------------------------------
# the claims
# --------------------------------------------------------------------------

def read_claims(path: str | os.PathLike[str] | None = None) -> pd.DataFrame:
    """The paper's claims (``leukoct/data/claims.csv``, or another file of its layout).

    Parameters
    ----------
    path
        A claims file; default the package's own.

    Returns
    -------
    pandas.DataFrame
        :data:`CLAIM_COLUMNS` in the file's order: ``estimate``, ``ci_low``
        and ``ci_high`` as float (NaN where empty), every other column as
        text with ``""`` for empty.

    Raises
    ------
    ValueError
        A column is missing (named) or a number does not parse (claims named).
    """
    if path is None:
        text = files("leukoct").joinpath("data/claims.csv").read_text("utf-8")
        where = "leukoct/data/claims.csv"
    else:
        text = Path(path).read_text(encoding="utf-8")
        where = str(path)
    claims = pd.read_csv(StringIO(text), comment="#", dtype=str, keep_default_na=False)
    _require(claims, CLAIM_COLUMNS, where)
    claims = claims[list(CLAIM_COLUMNS)].copy()
    for column in CLAIM_COLUMNS:
        claims[column] = claims[column].astype(object).astype(str)
    for column in ("estimate", "ci_low", "ci_high"):
        number = pd.to_numeric(claims[column].replace("", None), errors="coerce")
        bad = number.isna() & (claims[column].str.strip() != "")
        if bad.any():
            raise ValueError(f"{where}: {column} is not a number for claim(s) "
                             f"{id_list(claims.loc[bad, 'claim_id'])}")
        claims[column] = number.astype(float)
    return claims


def inconsistencies(claims: pd.DataFrame) -> pd.DataFrame:
    """The paper's internal inconsistencies: the claims whose ``consistency`` is not empty.

    Parameters
    ----------
    claims
        :func:`read_claims`.

    Returns
    -------
    pandas.DataFrame
        ``claim_id, location, consistency``, in the claims' order (an
        inconsistency shared by several claims appears once per claim).
    """
    _require(claims, ["claim_id", "location", "consistency"], "claims")
    text = claims["consistency"].fillna("").astype(str).str.strip()
    out = claims.loc[text != "", ["claim_id", "location"]].assign(consistency=text[text != ""])
    return out.reset_index(drop=True)


# --------------------------------------------------------------------------
# converters: result objects -> values tables
# --------------------------------------------------------------------------

def flow_values(flow: pd.DataFrame, split: pd.Series | None = None) -> pd.DataFrame:
    """Figure 1's numbers as a values table.

    Parameters
    ----------
    flow
        :func:`leukoct.curation.flow_counts` (``group``, ``step``, ``n``).
    split
        Optional :func:`leukoct.curation.split_development` (the curated
        table's ``split`` column: ``train`` / ``internal`` / ``""``).

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, comparison ``flow``: statistic ``identified``
        and ``analysed`` (group: the dataset), ``excluded:<rule id>`` per
        exclusion rule (NaN while a rule is pending) and, with ``split``,
        ``split`` per split label (group ``train``, ``internal``).  ``n`` is
        the count itself.
    """
    _require(flow, ["group", "step", "n"], "flow (leukoct.curation.flow_counts)")
    rows = []
    for group, step, n in zip(flow["group"], flow["step"], flow["n"]):
        statistic = step if step in ("identified", "analysed") else f"excluded:{step}"
        rows.append(_row("flow", statistic, group, n, n=n))
    if split is not None:
        labels = split.fillna("").astype(str)
        for label, n in labels[labels != ""].value_counts(sort=False).items():
            rows.append(_row("flow", "split", label, int(n), n=int(n)))
    return _frame(rows)


def _level(variable: str, value: Any) -> str:
    """A categorical value as claims.csv keys it (see the comment at :data:`_BINARY`)."""
    if isinstance(value, (bool, np.bool_)):
        return str(bool(value))
    if isinstance(value, str):
        text = value.strip()
        if variable in _BINARY and text in ("yes", "no"):
            return str(text == "yes")
        if variable in ("ct_vendor", "mri_vendor"):
            return _VENDOR_CODES.get(text, text)
        if variable == "slice_class":
            return text.removesuffix("mm").replace(" ", "")
        return text
    number = float(value)
    if variable in _LEVEL_DECIMALS:
        return f"{number:.{_LEVEL_DECIMALS[variable]}f}"
    return f"{number:g}"


def baseline_values(frame: pd.DataFrame, groups: Sequence[str] | None = None) -> pd.DataFrame:
    """The baseline tables' numbers (Tables 1, S1, S3 and the text) as a values table.

    Parameters
    ----------
    frame
        :func:`leukoct.baseline.analysis_frame` (one row per analysed
        subject, with ``group``).  Variables the frame lacks are left out.
    groups
        Datasets summarised, in order; default those of
        :data:`BASELINE_GROUPS` present, then any other present.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, group = dataset, ``n`` = subjects with a value
        (for categories: the dataset's size):

        * ``subjects`` / ``n``; ``sites`` / ``n`` (distinct ``site``);
        * :data:`BASELINE_MEANS`: ``mean``, ``sd`` (n - 1), ``min``, ``max``
          (the CI columns empty: the paper prints no CI of a mean);
        * :data:`BASELINE_MEDIANS`: ``median`` with the IQR (25th, 75th
          percentiles, linear interpolation as tableone) in
          ``ci_low``/``ci_high``, as claims.csv stores a printed IQR;
        * :data:`BASELINE_LEVELS`: per level ``variable:level`` (e.g.
          ``sex:F``, ``ct_vendor:SIEMENS``, ``slice_class:<5``,
          ``ct_kvp:120``, ``mri_field_strength_t:3.0``,
          ``prior_stroke:True``), statistics ``n`` and ``pct``.  The
          percentage is of all the dataset's analysed subjects, missing values
          included, as the paper divides (262/482 = 54.4 %).  Every level seen
          in any dataset is listed in each (0 where absent).
    """
    _require(frame, ["group"], "frame (build it with leukoct.baseline.analysis_frame)")
    present = list(dict.fromkeys(frame["group"].dropna()))
    if groups is None:
        groups = [g for g in BASELINE_GROUPS if g in present] + [
            g for g in present if g not in BASELINE_GROUPS]
    levels = {
        variable: list(dict.fromkeys(_level(variable, v) for v in frame[variable]
                                     if not _missing(v)))
        for variable in BASELINE_LEVELS if variable in frame}
    rows = []
    for group in groups:
        part = frame.loc[frame["group"] == group]
        size = len(part)
        rows.append(_row("subjects", "n", group, size, n=size))
        if "site" in part:
            sites = {str(s) for s in part["site"] if not _missing(s)}
            rows.append(_row("sites", "n", group, len(sites), n=size))
        for variable in BASELINE_MEANS:
            if variable in part:
                x = pd.to_numeric(part[variable]).dropna().astype(float)
                rows += [_row(variable, "mean", group, x.mean() if len(x) else None, n=len(x)),
                         _row(variable, "sd", group, x.std(ddof=1) if len(x) > 1 else None,
                              n=len(x)),
                         _row(variable, "min", group, x.min() if len(x) else None, n=len(x)),
                         _row(variable, "max", group, x.max() if len(x) else None, n=len(x))]
        for variable in BASELINE_MEDIANS:
            if variable in part:
                x = pd.to_numeric(part[variable]).dropna().astype(float)
                q1, median, q3 = (x.quantile([0.25, 0.5, 0.75]) if len(x)
                                  else (None, None, None))
                rows.append(_row(variable, "median", group, median, q1, q3, n=len(x)))
        for variable, known in levels.items():
            counts = pd.Series([_level(variable, v) for v in part[variable] if not _missing(v)],
                               dtype=object).value_counts()
            for level in known:
                k = int(counts.get(level, 0))
                key = f"{variable}:{level}"
                rows += [_row(key, "n", group, k, n=size),
                         _row(key, "pct", group, 100 * k / size if size else None, n=size)]
    return _frame(rows)


def volume_values(volumes: pd.DataFrame, columns: Sequence[str] = ("predicted_ml",),
                  groups: Sequence[str] | None = None) -> pd.DataFrame:
    """Median volumes per dataset (the text's "median predicted LA volume").

    Parameters
    ----------
    volumes
        The volumes table (:func:`leukoct.volumes.read_volumes`; ``group``
        and the volume columns).
    columns
        Volume columns summarised.
    groups
        Datasets, in order; default all present, in order of appearance.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`: comparison = the column, statistic
        ``median``, the IQR in ``ci_low``/``ci_high`` (as
        :func:`baseline_values`), ``n`` = subjects with a volume.
    """
    _require(volumes, ["group", *columns], "volumes (leukoct.volumes.read_volumes)")
    if groups is None:
        groups = list(dict.fromkeys(volumes["group"].dropna()))
    rows = []
    for group in groups:
        part = volumes.loc[volumes["group"] == group]
        for column in columns:
            x = pd.to_numeric(part[column]).dropna().astype(float)
            q1, median, q3 = x.quantile([0.25, 0.5, 0.75]) if len(x) else (None, None, None)
            rows.append(_row(column, "median", group, median, q1, q3, n=len(x)))
    return _frame(rows)


def table3_values(result: Table3Result) -> pd.DataFrame:
    """Table 3 (:func:`leukoct.clinical.table3`) as a values table.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, comparison ``mrs_ordinal``: statistics
        ``or_crude`` / ``or_adjusted`` (odds ratio with its CI) and
        ``p_crude`` / ``p_adjusted``, group = volume group (``Q2`` .. ``Q5``),
        ``n`` = subjects in the group.  The reference group (OR 1 by
        definition, no interval) is left out: it is no estimate.
    """
    table = result.table
    if not isinstance(table.columns, pd.MultiIndex):
        raise TypeError("result.table: expected columns (model, statistic), as "
                         "leukoct.clinical.table3 returns; got " + repr(list(table.columns)))
    sizes = result.counts.sum(axis=1) if len(result.counts) else pd.Series(dtype=float)
    sizes.index = sizes.index.map(str)
    rows = []
    for model in dict.fromkeys(table.columns.get_level_values(0)):
        part = table[model]
        _require(part, ["odds_ratio", "ci_low", "ci_high", "p_value"], f"result.table[{model!r}]")
        for level, cells in list(part.iterrows())[1:]:
            n = sizes.get(str(level))
            rows += [_row("mrs_ordinal", f"or_{model}", level, cells["odds_ratio"],
                          cells["ci_low"], cells["ci_high"], n),
                     _row("mrs_ordinal", f"p_{model}", level, cells["p_value"], n=n)]
    return _frame(rows)


def table_s4_values(result: RegressionTable) -> pd.DataFrame:
    """Table S4 (:func:`leukoct.clinical.table_s4`) as a values table.

    Returns
    -------
    pandas.DataFrame
        :data:`VALUE_COLUMNS`, comparison ``la_volume_ols``: statistics
        ``coef`` (with its CI) and ``p``; group = the model's term
        (``age``, ``prior_stroke``, ``sexM``, ``Intercept``...) in the
        whole-cohort model, ``"<term> [<model>]"`` in an age stratum (e.g.
        ``hypertension [age < 70]``, ``hypertension [age ≥ 70]``); ``n`` =
        subjects in the model.
    """
    long = result.long
    _require(long, ["model", "term", "coef", "ci_low", "ci_high", "p", "n"],
             "result.long (leukoct.clinical.table_s4)")
    rows = []
    for cells in long.itertuples(index=False):
        group = cells.term if cells.model == _ALL else f"{cells.term} [{cells.model}]"
        rows += [_row("la_volume_ols", "coef", group, cells.coef, cells.ci_low, cells.ci_high,
                      cells.n),
                 _row("la_volume_ols", "p", group, cells.p, n=cells.n)]
    return _frame(rows)


def figure_s4_values(data: FigureS4Data) -> pd.DataFrame:
    """Figure S4's slope (:func:`leukoct.clinical.figure_s4_data`) as a values table.

    Returns
    -------
    pandas.DataFrame
        Comparison ``la_volume_ols``, group ``age``: ``coef`` (mL per year,
        with its CI) and ``p`` of the simple regression on age.
    """
    slope = data.slope
    missing = [k for k in ("coef", "ci_low", "ci_high", "p", "n") if k not in slope.index]
    if missing:
        raise ValueError(f"data.slope: {missing} not found (leukoct.clinical.age_slope)")
    return _frame([_row("la_volume_ols", "coef", "age", slope["coef"], slope["ci_low"],
                        slope["ci_high"], slope["n"]),
                   _row("la_volume_ols", "p", "age", slope["p"], n=slope["n"])])


def figure_s1_values(data: FigureS1Data) -> pd.DataFrame:
    """Figure S1's trends (:func:`leukoct.evaluation.figure_s1_data`) as a values table.

    Returns
    -------
    pandas.DataFrame
        Per dataset and reference volume: comparison ``dice_vs_<reference>``
        (``dice_vs_registered_ml``, ``dice_vs_flair_wmh_ml``), statistics
        ``spearman_rho`` and ``spearman_p``, group = dataset.  Then the
        paper's statement "DSC increased with LA or WMH volume in both
        datasets" as comparison ``dice_vs_volume``, statistic ``trend``,
        group the datasets joined by ``+`` (``internal+external``): the
        smallest of those Spearman rhos, positive exactly when the DSC rises
        in every dataset and with both volumes (NaN when one is not
        estimable); ``n`` is that trend's.
    """
    trend = data.trend
    _require(trend, ["dataset", "reference", "n", "spearman_rho", "p_value"],
             "data.trend (leukoct.evaluation.figure_s1_data)")
    rows = []
    for cells in trend.itertuples(index=False):
        comparison = f"dice_vs_{cells.reference}"
        rows += [_row(comparison, "spearman_rho", cells.dataset, cells.spearman_rho, n=cells.n),
                 _row(comparison, "spearman_p", cells.dataset, cells.p_value, n=cells.n)]
    if len(trend):
        rho = trend["spearman_rho"].astype(float)
        weakest = trend.loc[rho.idxmin()] if rho.notna().all() else None
        group = "+".join(dict.fromkeys(trend["dataset"].astype(str)))
        rows.append(_row("dice_vs_volume", "trend", group,
                         None if weakest is None else weakest["spearman_rho"],
                         n=None if weakest is None else weakest["n"]))
    return _frame(rows)


def vendor_range_values(values: pd.DataFrame, statistics: Sequence[str] = ("ccc", "r2", "dice"),
                        exclude: Sequence[str] = (_ALL, MISSING)) -> pd.DataFrame:
    """The range of a statistic over CT vendors (the text's "ρ ranged from ... to ...").

    Parameters
    ----------
    values
        Table 2's values (:func:`leukoct.evaluation.table2`), :data:`VALUE_COLUMNS`.
    statistics
        Statistics whose range is taken.
    exclude
        Groups that are no vendor.

    Returns
    -------
    pandas.DataFrame
        Per comparison and statistic with an estimate in some vendor:
        statistics ``<statistic>_min`` and ``<statistic>_max``, group
        ``vendors``, with the CI and ``n`` of the vendor that attains it.
    """
    _require(values, VALUE_COLUMNS, "values")
    chosen = values.loc[values["statistic"].isin(statistics)
                        & ~values["group"].astype(str).isin(exclude)
                        & values["estimate"].notna()]
    rows = []
    for (comparison, statistic), part in chosen.groupby(["comparison", "statistic"], sort=False):
        estimate = part["estimate"].astype(float)
        for end, at in (("min", estimate.idxmin()), ("max", estimate.idxmax())):
            cells = part.loc[at]
            rows.append(_row(comparison, f"{statistic}_{end}", "vendors", cells["estimate"],
                             cells["ci_low"], cells["ci_high"], cells["n"]))
    return _frame(rows)


def subgroup_difference_values(values: pd.DataFrame,
                               statistics: Sequence[str] = ("ccc", "r2", "dice")
                               ) -> pd.DataFrame:
    """The difference between the two infarct-volume subgroups of Figure S3.

    Parameters
    ----------
    values
        :func:`leukoct.evaluation.infarct_agreement` values, whose groups
        include one ``≤<t> mL`` and one ``><t> mL``.
    statistics
        Statistics compared.

    Returns
    -------
    pandas.DataFrame
        Statistic ``<statistic>_difference``, group ``"><t> mL - ≤<t> mL"``
        (the larger infarcts minus the smaller), ``n`` the subjects of both;
        empty when either subgroup is absent.
    """
    _require(values, VALUE_COLUMNS, "values")
    groups = list(dict.fromkeys(values["group"].astype(str)))
    lower = [g for g in groups if g.startswith("≤")]
    upper = [g for g in groups if g.startswith(">")]
    if len(lower) != 1 or len(upper) != 1:
        return _frame([])
    keyed = values.assign(group=values["group"].astype(str)).drop_duplicates(
        ["comparison", "statistic", "group"]).set_index(["comparison", "statistic", "group"])
    rows = []
    for comparison, statistic in dict.fromkeys(zip(values["comparison"], values["statistic"])):
        if statistic not in statistics:
            continue
        high, low = ((comparison, statistic, g) for g in (upper[0], lower[0]))
        if high in keyed.index and low in keyed.index:
            a, b = keyed.loc[high], keyed.loc[low]
            rows.append(_row(comparison, f"{statistic}_difference", f"{upper[0]} - {lower[0]}",
                             a["estimate"] - b["estimate"], n=_num(a["n"]) + _num(b["n"])))
    return _frame(rows)


#: Values derived from an artefact's own values: artefact -> function.
_DERIVED: dict[str, Callable[[pd.DataFrame], pd.DataFrame]] = {
    "table2": vendor_range_values, "figureS3": subgroup_difference_values}


def derived_values(values: pd.DataFrame) -> pd.DataFrame:
    """The values derived from others: Table 2's vendor ranges, Figure S3's difference.

    Parameters
    ----------
    values
        :func:`read_values` (with ``artefact``).

    Returns
    -------
    pandas.DataFrame
        ``artefact`` and :data:`VALUE_COLUMNS`: :func:`vendor_range_values` of
        ``table2`` and :func:`subgroup_difference_values` of ``figureS3``.
    """
    _require(values, ["artefact", *VALUE_COLUMNS], "values (read_values)")
    frames = [function(values.loc[values["artefact"] == artefact, list(VALUE_COLUMNS)])
              .assign(artefact=artefact)
              for artefact, function in _DERIVED.items() if (values["artefact"] == artefact).any()]
    columns = ["artefact", *VALUE_COLUMNS]
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c in JOIN else float) for c in columns})
    return pd.concat(frames, ignore_index=True)[columns]


# --------------------------------------------------------------------------
# files
# --------------------------------------------------------------------------

def write_values(values: pd.DataFrame, artefact: str, folder: str | os.PathLike[str], *,
                 part: str | None = None) -> Path:
    """Save an artefact's values as ``<folder>/<artefact>.values.csv``.

    Parameters
    ----------
    values
        :data:`VALUE_COLUMNS` (other columns are not written).
    artefact
        Artefact id (``artefacts.yaml``) or ``text``.
    folder
        Folder (created if needed); the profile's figures folder.
    part
        For an artefact several notebooks contribute to (``text``): the
        contribution's name, written as ``<artefact>.<part>.values.csv``.

    Returns
    -------
    pathlib.Path
        The file written.

    Raises
    ------
    ValueError
        A column of :data:`VALUE_COLUMNS` is missing (artefact and columns
        named), or the artefact or part is not a plain name.
    """
    for what, name in (("artefact", artefact), ("part", part)):
        if name is not None and not _NAME.match(name):
            raise ValueError(f"{what} must be letters, digits, '_' or '-', not {name!r}")
    absent = [c for c in VALUE_COLUMNS if c not in values.columns]
    if absent:
        raise ValueError(f"values of {artefact!r}: column(s) {absent} missing; a values table "
                         f"has the columns {list(VALUE_COLUMNS)}")
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{artefact}{f'.{part}' if part else ''}{VALUES_SUFFIX}"
    values[list(VALUE_COLUMNS)].to_csv(path, index=False, lineterminator="\n", encoding="utf-8")
    return path


def values_folder(profile: Profile, notebook: str) -> Path:
    """The empty folder where one chapter writes its values (``<run>/values/<notebook>``).

    Emptied first, so that a value a chapter no longer produces (a model
    not estimable on new data) does not linger from an earlier run.
    """
    if not _NAME.match(notebook):
        raise ValueError(f"notebook must be a plain name such as 09_clinical, not {notebook!r}")
    folder = profile.outputs.root / "values" / notebook
    if folder.is_dir():
        shutil.rmtree(folder)
    folder.mkdir(parents=True)
    return folder


def read_values(folder: str | os.PathLike[str]) -> pd.DataFrame:
    """Every ``*.values.csv`` of a folder and its sub-folders, as one table.

    Parameters
    ----------
    folder
        Where :func:`write_values` wrote; a folder that does not exist holds
        no values.

    Returns
    -------
    pandas.DataFrame
        ``artefact`` (the file name up to its first dot) and
        :data:`VALUE_COLUMNS`, files in name order: keys as text, numbers as
        float.

    Raises
    ------
    ValueError
        A file lacks a column or holds a number that does not parse (file named).
    """
    columns = ["artefact", *VALUE_COLUMNS]
    # Each chapter writes into its own sub-folder (values_folder).
    paths = sorted(Path(folder).rglob(f"*{VALUES_SUFFIX}")) if Path(folder).is_dir() else []
    frames = []
    for path in paths:
        table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8")
        absent = [c for c in VALUE_COLUMNS if c not in table.columns]
        if absent:
            raise ValueError(f"{path}: column(s) {absent} missing; a values table has the "
                             f"columns {list(VALUE_COLUMNS)}")
        table = table[list(VALUE_COLUMNS)].astype(object)
        for column in ("estimate", "ci_low", "ci_high", "n"):
            number = pd.to_numeric(table[column].replace("", None), errors="coerce")
            bad = number.isna() & (table[column].astype(str).str.strip() != "")
            if bad.any():
                raise ValueError(f"{path}: {column} is not a number in row(s) "
                                 f"{id_list(np.flatnonzero(bad) + 2)} (counting the header)")
            table[column] = number.astype(float)
        frames.append(table.assign(artefact=path.name.split(".", 1)[0]))
    if not frames:
        return pd.DataFrame({c: pd.Series(dtype=object if c in JOIN else float) for c in columns})
    out = pd.concat(frames, ignore_index=True)[columns]
    for column in JOIN:
        out[column] = out[column].astype(str)
    return out


# --------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------

def _decimals(published: str) -> int | None:
    """Decimals of the first number printed (``None`` when it is a word: "five")."""
    match = _NUMBER.search(published)
    if match is None:
        return None
    return len(match.group(1) or "")


def _expected_sign(published: str, claim_id: str) -> int:
    text = published.lower()
    if any(w in text for w in ("decreas", "lower", "fell", "fall", "smaller", "negative")):
        return -1
    if any(w in text for w in ("increas", "higher", "rose", "rise", "greater", "positive")):
        return 1
    raise ValueError(f"claim {claim_id}: no direction in {published!r} (increased / lower ...)")


def _expects_significance(published: str, claim_id: str) -> bool:
    text = published.lower().replace(" ", "")
    if "notsignificant" in text or "n.s" in text or "p>" in text or "p≥" in text:
        return False
    if "p<" in text or "significant" in text:
        return True
    raise ValueError(f"claim {claim_id}: no significance statement in {published!r}")


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _formatted(kind: str, digits: int, value: pd.Series, sd: float) -> str:
    estimate, low, high = value["estimate"], value["ci_low"], value["ci_high"]
    if kind == "count":
        return f"{estimate:,.0f}" if float(estimate).is_integer() else f"{estimate:,.2f}"
    if kind == "percent":
        return f"{estimate:.{digits}f}%"
    if kind == "mean":
        return f"{estimate:.{digits}f}" + ("" if _missing(sd) else f" (SD {sd:.{digits}f})")
    if kind == "median":
        return f"{estimate:.{digits}f}" + (
            "" if _missing(low) or _missing(high) else f" (IQR {low:.{digits}f}–{high:.{digits}f})")
    return format_estimate(estimate, low, high, digits)


def _judge(claim: pd.Series, value: pd.Series | None, sd: float, has_artefact: bool
           ) -> tuple[str, float, str, str]:
    """(reproduced, difference, status, note) of one claim."""
    kind, published = claim["kind"], claim["published"]
    if kind in NOT_RESULT_KINDS:
        return "", math.nan, NOT_A_RESULT, f"a {kind}: nothing to reproduce from data"
    variable = claim["comparison"].split(":", 1)[0]
    if variable in UNREPRODUCIBLE:
        return "", math.nan, NOT_REPRODUCIBLE, UNREPRODUCIBLE[variable]
    key = "/".join(claim[c] for c in ("comparison", "statistic", "group"))
    if value is None:
        note = (f"{claim['artefact']}'s values have no {key}" if has_artefact
                else f"no values saved for {claim['artefact']}")
        return "–", math.nan, NOT_PRODUCED, note
    n = value["n"]
    size = "" if _missing(n) else f"n = {n:.0f}"
    estimate = value["estimate"]
    if _missing(estimate):
        return "–", math.nan, NOT_ESTIMABLE, size or "no estimate"
    if kind == "significance":
        significant = estimate < SIGNIFICANCE_LEVEL
        holds = significant == _expects_significance(published, claim["claim_id"])
        note = (f"{'significant' if significant else 'not significant'} at "
                f"{SIGNIFICANCE_LEVEL:g}" + (f"; {size}" if size else ""))
        return _p_text(estimate), math.nan, MATCHES if holds else DIFFERS, note
    if kind == "direction":
        expected = _expected_sign(published, claim["claim_id"])
        sign = int(np.sign(estimate))
        words = {1: "positive", -1: "negative", 0: "zero"}
        note = f"expected {words[expected]}, reproduced {words[sign]}" + (
            f"; {size}" if size else "")
        return f"{estimate:+.3f}", math.nan, MATCHES if sign == expected else DIFFERS, note
    digits = _decimals(published)
    target = claim["estimate"]
    difference = estimate - target
    reproduced = _formatted(kind, 3 if digits is None else digits, value, sd)
    if kind == "count":
        close = float(estimate) == float(target)
    else:
        # Agreement at the printed precision: within half a unit of its last digit.
        close = abs(difference) <= 0.5 * 10.0 ** -(digits or 0) + 1e-9
    if close:
        status = MATCHES
    elif (kind in CI_KINDS and not _missing(value["ci_low"]) and not _missing(value["ci_high"])
          and value["ci_low"] <= target <= value["ci_high"]):
        status = INSIDE_CI
    else:
        status = DIFFERS
    return reproduced, float(difference), status, size


def ledger_table(claims: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Every claim beside the value this run reproduced.

    Claims join values on ``(artefact, comparison, statistic, group)``.  The
    values are completed with :func:`derived_values` (Table 2's vendor ranges,
    Figure S3's subgroup difference) where they lack them.  A key may occur
    more than once (a notebook saving the values of several results for one
    artefact, or a derived value it saved itself); the first occurrence, in
    file order, is used, as :func:`leukoct.evaluation.compare_with_paper` does,
    so that a value saved explicitly wins over one derived here.

    Parameters
    ----------
    claims
        :func:`read_claims`.
    values
        :func:`read_values` (``artefact`` and :data:`VALUE_COLUMNS`); may be
        empty.

    Returns
    -------
    pandas.DataFrame
        One row per claim, in the claims' order, :data:`LEDGER_COLUMNS`:
        ``published`` as printed; ``reproduced`` formatted like the claim (a
        count as an integer, a percentage, a mean with its SD, a median with
        its IQR, other estimates with their 95 % CI at the printed number of
        decimals, a p value for a significance claim, the signed estimate for
        a direction claim, ``–`` when there is none); ``difference`` the
        reproduced minus the published estimate (NaN when either is
        missing); ``status`` one of :data:`STATUSES`; ``note`` why (``n``,
        the reason a value is missing).

        Tolerances: a count must be equal; any other number must agree to
        half a unit of the last printed digit (0.531 within ±0.0005); a
        claim of significance holds when the reproduced p is below
        :data:`SIGNIFICANCE_LEVEL` (and "not significant" when it is not); a
        direction claim when the reproduced estimate has the stated sign.

    Raises
    ------
    ValueError
        Missing columns; a direction or significance claim whose published
        text states none.
    """
    _require(claims, ["claim_id", "location", "quantity", "published", "estimate", "kind",
                      *JOIN], "claims (read_claims)")
    _require(values, ["artefact", *VALUE_COLUMNS], "values (read_values)")
    values = pd.concat([values[["artefact", *VALUE_COLUMNS]], derived_values(values)],
                       ignore_index=True)
    values[list(JOIN)] = values[list(JOIN)].astype(str)
    values = values.drop_duplicates(list(JOIN), keep="first")
    lookup = {key: row for key, (_, row) in zip(
        zip(*(values[c] for c in JOIN)), values.iterrows())}
    produced = set(values["artefact"])
    rows = []
    for _, claim in claims.iterrows():
        claim = claim.copy()
        for column in ("published", "kind", *JOIN):
            claim[column] = "" if _missing(claim[column]) else str(claim[column])
        key = tuple(claim[c] for c in JOIN)
        sd_row = lookup.get((key[0], key[1], "sd", key[3]))
        sd = math.nan if sd_row is None else sd_row["estimate"]
        reproduced, difference, status, note = _judge(claim, lookup.get(key), sd,
                                                      claim["artefact"] in produced)
        rows.append({"claim_id": claim["claim_id"], "location": claim["location"],
                     "quantity": claim["quantity"], "published": claim["published"],
                     "reproduced": reproduced, "difference": difference, "status": status,
                     "note": note})
    table = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
    table["difference"] = table["difference"].astype(float)
    return table


# --------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------

# Markdown (MyST, with dollarmath) would read these as markup, roles or math.
_MARKUP = re.compile(r"([\\`*_{}\[\]<>#|$~])")


def _text(text: str) -> str:
    return _MARKUP.sub(r"\\\1", str(text))


def _signed(difference: float) -> str:
    if _missing(difference):
        return ""
    if float(difference).is_integer():
        return f"{difference:+.0f}" if difference else "0"
    return f"{difference:+.4f}".rstrip("0").rstrip(".")


def ledger_markdown(table: pd.DataFrame, inconsistencies: pd.DataFrame) -> str:
    """The book's "Claims ledger" page (MyST Markdown).

    Parameters
    ----------
    table
        :func:`ledger_table`.
    inconsistencies
        :func:`inconsistencies` of the same claims.

    Returns
    -------
    str
        ``# Claims ledger``: an introduction, the count of claims per status,
        the ledger as an HTML table (``{raw} html``, as the artefacts page
        embeds tables) and ``## The paper's internal inconsistencies``, each
        stated once with the claims it concerns.
    """
    _require(table, LEDGER_COLUMNS, "table (ledger_table)")
    _require(inconsistencies, ["claim_id", "consistency"], "inconsistencies")
    counts = table["status"].value_counts()
    unknown = sorted(set(counts.index) - set(STATUSES))
    if unknown:
        raise ValueError(f"table: statuses {unknown} are not in STATUSES")
    lines = [
        "# Claims ledger",
        "",
        ("Every number the paper states in its abstract, text and key table cells "
          f"({len(table)} claims), beside the value this run reproduced. Reproduced values "
         "are those the study steps saved; nothing is recomputed here. A claim matches when "
         "the reproduced value agrees at the printed precision (counts exactly); a statement "
         f"of significance is checked against p < {SIGNIFICANCE_LEVEL:g}, a statement of "
         "direction against the sign of the reproduced estimate. The difference is "
         "reproduced minus published."),
        "",
        "## Summary",
        "",
    ]
    for status, meaning in STATUSES.items():
        lines.append(f"- **{_text(status)}**: {int(counts.get(status, 0))}. "
                     f"{_text(meaning[:1].upper() + meaning[1:])}.")
    shown = table.assign(difference=table["difference"].map(_signed))
    html = shown.to_html(index=False, escape=True, border=0, na_rep="",
                         classes=["leukoct-table", "leukoct-ledger"]).strip()
    fence = "````" if "```" in html else "```"
    lines += ["", "## Claims", "", f"{fence}{{raw}} html", html, fence, "",
              "## The paper's internal inconsistencies", ""]
    if len(inconsistencies):
        lines.append("Numbers the paper prints differently in different places, or that do "
                     "not add up; each is kept as printed in the claims above.")
        lines.append("")
        grouped = inconsistencies.groupby("consistency", sort=False)["claim_id"]
        for text, ids in grouped:
            lines.append(f"- {_text(text)} (claims {', '.join(map(str, ids))})")
    else:
        lines.append("None recorded.")
    return "\n".join(lines) + "\n"
