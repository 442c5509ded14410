"""Ordinal logistic regression of the 3-month mRS on leukoaraiosis volume.

The paper relates the predicted LA volume, cut into quintiles, to the 3-month
modified Rankin Scale with a proportional-odds (cumulative logit) model
(McCullagh 1980), crude and adjusted for age, NIHSS, sex, BMI, hypertension,
diabetes, hyperlipidemia, smoking, atrial fibrillation, coronary artery
disease and revascularization (its Table 3).  Because the proportional-odds
assumption was violated it merged mRS 5 and 6.  This module provides each
step as a pure function on DataFrames:

* :func:`quantile_groups` — Q1..Qq groups of a continuous variable;
* :func:`merge_top` — merge the top levels of an ordinal score (mRS 5-6);
* :func:`fit_ordinal_logit` — statsmodels ``OrderedModel`` with readable
  dummy coding;
* :func:`odds_ratio_table` — odds ratios with Wald CIs of the slope terms;
* :func:`crude_adjusted_table` — Table 3: crude and adjusted ORs side by side,
  fitted on the same rows;
* the test of the proportional-odds assumption is :mod:`leukoct.brant`.

Missing values are never dropped silently: by default every function that
fits a model raises a :class:`ValueError` naming the incomplete columns and
their counts; ``missing="drop"`` fits on complete cases and records how many
rows were dropped (``result.n_dropped`` / ``table.attrs["n_dropped"]``).

Design coding follows R, so that numbers and names can be compared with
``MASS::polr`` + ``brant``: a categorical column ``sex`` with levels F, M
becomes one dummy ``sexM`` (first level = reference); a boolean column keeps
its own name and is coded 0/1; numeric columns enter as they are.

Validation: ``tests/test_ordinal.py`` checks the fit against ``MASS::polr``'s
output on the UCLA graduate-school example data that statsmodels ships: the
odds ratios, cut-points and log-likelihood to 1e-6 against polr run to a
tight tolerance (``tests/test_ordinal_polr.R``, kept beside the test).  The
Brant test is :mod:`leukoct.brant` (whose covariance differs from R ``brant``'s,
as it says).
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd
from statsmodels.miscmodels.ordinal_model import OrderedModel

#: Table 3 covariates of the paper, as named in :mod:`leukoct.schema`.
TABLE3_COVARIATES: tuple[str, ...] = (
    "age", "nihss", "sex", "bmi", "hypertension", "diabetes", "hyperlipidemia",
    "smoking", "atrial_fibrillation", "coronary_artery_disease", "revascularization")

Missing = Literal["raise", "drop"]


# --------------------------------------------------------------------------
# grouping and recoding
# --------------------------------------------------------------------------

def quantile_groups(values: Sequence[float] | pd.Series | np.ndarray, q: int = 5,
                    labels: Sequence[str] | None = None) -> pd.Series:
    """Cut a continuous variable into ``q`` quantile groups (Q1 lowest).

    Cut-points are the sample quantiles at ``k/q`` (linear interpolation,
    R's ``quantile(type = 7)``; :func:`pandas.qcut`).  Intervals are closed on
    the right and the lowest includes the minimum, so the result equals R's
    ``cut(x, quantile(x, 0:q/q), include.lowest = TRUE)``.

    Parameters
    ----------
    values
        Numeric values (e.g. predicted LA volume in mL).  Missing values stay
        missing in the result and do not take part in the cut-points.
    q
        Number of groups (5 for quintiles, 4 for quartiles).
    labels
        Group labels, lowest first; default ``Q1`` .. ``Qq``.

    Returns
    -------
    pandas.Series
        Ordered categorical with categories ``labels``, same index (and name)
        as ``values`` when it is a Series.  The cut-points are in
        ``result.attrs["edges"]``.

    Raises
    ------
    ValueError
        When there are fewer than ``q`` distinct non-missing values, or when
        ties make two cut-points equal (a group would be empty).

    Notes
    -----
    Ties are never split: equal values always share a group, so with ties the
    groups are not exactly equal in size, and a value equal to a cut-point
    goes to the lower group.  Splitting ties by order of appearance (as
    ``qcut(x.rank(method="first"))`` would) makes the grouping depend on row
    order, which a reproduction must not.
    """
    series = values.copy() if isinstance(values, pd.Series) else pd.Series(values)
    try:
        numeric = pd.to_numeric(series, errors="raise").astype(float)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"quantile_groups needs numeric values: {exc}") from exc
    if q < 2:
        raise ValueError(f"q must be at least 2, got {q}")
    if labels is None:
        labels = [f"Q{k}" for k in range(1, q + 1)]
    labels = list(labels)
    if len(labels) != q:
        raise ValueError(f"{len(labels)} labels given for {q} groups")
    distinct = numeric.dropna().nunique()
    if distinct < q:
        raise ValueError(f"{q} quantile groups need at least {q} distinct values; "
                         f"got {distinct} (of {numeric.notna().sum()} non-missing)")
    edges = np.quantile(numeric.dropna().to_numpy(), np.linspace(0, 1, q + 1))
    if np.any(np.diff(edges) == 0):
        raise ValueError(
            f"ties make quantile cut-points coincide ({np.round(edges, 6).tolist()}), so "
            f"some of the {q} groups would be empty; use fewer groups")
    groups = pd.cut(numeric, edges, labels=labels, include_lowest=True, ordered=True)
    groups.attrs["edges"] = edges.tolist()
    return groups


def merge_top(y: Sequence[float] | pd.Series | np.ndarray, top: int) -> pd.Series:
    """Merge the levels of an integer ordinal score at and above ``top``.

    ``merge_top(mrs, 5)`` merges mRS 5 (severe disability) and 6 (death) into
    5, as the paper did after the proportional-odds assumption failed.

    Parameters
    ----------
    y
        Integer scores; missing values stay missing.
    top
        Values ``>= top`` become ``top``.

    Returns
    -------
    pandas.Series
        Nullable integer (``Int64``) series, same index and name as ``y``.

    Raises
    ------
    ValueError
        When ``y`` holds non-integer values.
    """
    series = y.copy() if isinstance(y, pd.Series) else pd.Series(y)
    numeric = pd.to_numeric(series, errors="coerce").astype(float)
    bad = (numeric.isna() & series.notna()) | (numeric.notna() & (numeric % 1 != 0))
    if bad.any():
        raise ValueError(f"merge_top needs integer scores; {int(bad.sum())} value(s) are "
                         f"not, e.g. {series[bad].head(3).tolist()}")
    return numeric.clip(upper=top).astype("Int64")


# --------------------------------------------------------------------------
# design matrices
# --------------------------------------------------------------------------

def _complete_cases(frame: pd.DataFrame, columns: Sequence[str],
                    missing: Missing) -> tuple[pd.DataFrame, dict[str, Any]]:
    absent = [c for c in columns if c not in frame.columns]
    if absent:
        raise KeyError(f"column(s) not in the frame: {absent}")
    if missing not in ("raise", "drop"):
        raise ValueError(f"missing must be 'raise' or 'drop', got {missing!r}")
    used = frame.loc[:, list(dict.fromkeys(columns))]
    counts = used.isna().sum()
    counts = counts[counts > 0]
    incomplete = used.isna().any(axis=1)
    info = {"n_dropped": int(incomplete.sum()),
            "dropped_by_column": {str(k): int(v) for k, v in counts.items()}}
    if info["n_dropped"] and missing == "raise":
        listing = ", ".join(f"{k} ({v})" for k, v in info["dropped_by_column"].items())
        raise ValueError(
            f"{info['n_dropped']} of {len(used)} rows have missing values in the columns "
            f"used — {listing}. Impute or remove them first, or pass missing='drop' to "
            "analyse complete cases (the count dropped is then recorded).")
    return used.loc[~incomplete], info


def _is_boolean(column: pd.Series) -> bool:
    if pd.api.types.is_bool_dtype(column.dtype):
        return True
    # object columns that held NaN next to True/False are booleans once complete
    return column.dtype == object and set(column.unique()) <= {True, False}


def _levels(column: pd.Series) -> list[Hashable]:
    if isinstance(column.dtype, pd.CategoricalDtype):
        observed = set(column.unique())
        return [c for c in column.cat.categories if c in observed]
    return sorted(column.unique())


def _design(data: pd.DataFrame, columns: Sequence[str],
            references: Mapping[str, Hashable] | None = None
            ) -> tuple[pd.DataFrame, dict[str, list[str]]]:
    """Numeric design (no intercept) and, per input column, its design columns."""
    references = dict(references or {})
    parts: list[pd.DataFrame] = []
    terms: dict[str, list[str]] = {}
    for name in columns:
        column = data[name]
        if _is_boolean(column):
            block = pd.DataFrame({name: column.astype(float)})
        elif pd.api.types.is_numeric_dtype(column.dtype) and not isinstance(
                column.dtype, pd.CategoricalDtype):
            block = pd.DataFrame({name: column.astype(float)})
        else:
            levels = _levels(column)
            if len(levels) < 2:
                raise ValueError(f"column {name!r} has a single observed level {levels}; "
                                 "it cannot be estimated — leave it out")
            reference = references.get(name, levels[0])
            if reference not in levels:
                raise ValueError(f"reference level {reference!r} of {name!r} is not among "
                                 f"its observed levels {levels}")
            block = pd.DataFrame({f"{name}{level}": (column == level).astype(float)
                                  for level in levels if level != reference},
                                 index=data.index)
        for col in block.columns:
            if block[col].nunique() < 2:
                raise ValueError(f"design column {col!r} is constant in the rows analysed; "
                                 "leave it out")
        terms[name] = list(block.columns)
        parts.append(block)
    design = pd.concat(parts, axis=1) if parts else pd.DataFrame(index=data.index)
    duplicated = design.columns[design.columns.duplicated()].tolist()
    if duplicated:
        raise ValueError(f"dummy coding produced duplicate column names {duplicated}; "
                         "rename the columns or levels involved")
    return design, terms


def _ordered_outcome(column: pd.Series) -> pd.Series:
    """Outcome as an ordered categorical holding only the observed levels."""
    if isinstance(column.dtype, pd.CategoricalDtype):
        if not column.cat.ordered:
            raise ValueError(f"outcome {column.name!r} is an unordered categorical; make it "
                             "ordered (the order of its levels is the outcome's order)")
        result = column.cat.remove_unused_categories()
    elif pd.api.types.is_numeric_dtype(column.dtype):
        levels = sorted(column.unique())
        result = pd.Series(pd.Categorical(column, categories=levels, ordered=True),
                           index=column.index, name=column.name)
    else:
        raise ValueError(f"outcome {column.name!r} must be numeric or an ordered "
                         f"categorical, not {column.dtype}")
    if len(result.cat.categories) < 2:
        raise ValueError(f"outcome {column.name!r} has fewer than two observed levels")
    return result


# --------------------------------------------------------------------------
# proportional-odds model
# --------------------------------------------------------------------------

def fit_ordinal_logit(frame: pd.DataFrame, outcome: str, exposure: str,
                      covariates: Iterable[str] = (), reference: Hashable | None = None,
                      *, missing: Missing = "raise",
                      fit_kwargs: Mapping[str, Any] | None = None):
    """Fit a proportional-odds (cumulative logit) model with statsmodels.

    The model is ``logit P(y <= j | x) = theta_j - x'beta`` (statsmodels'
    :class:`~statsmodels.miscmodels.ordinal_model.OrderedModel`, ``distr="logit"``),
    so ``exp(beta) > 1`` means higher (worse, for the mRS) outcomes — the
    direction of the odds ratios in the paper's Table 3 and of R's ``polr``.

    Parameters
    ----------
    frame
        One row per patient.
    outcome
        Ordinal outcome column: integers (e.g. ``mrs_3m``) or an ordered
        categorical.  Only observed levels get a threshold.
    exposure
        Exposure column.  Categorical (e.g. LA quintile from
        :func:`quantile_groups`) is dummy-coded against ``reference``;
        numeric enters linearly.
    covariates
        Adjustment columns: numeric as is, booleans as 0/1 under their own
        name, categoricals/strings dummy-coded against their first level
        (``sex`` F/M -> ``sexM``).
    reference
        Reference level of a categorical exposure; default its first level
        (``Q1``).
    missing
        ``"raise"`` (default): a ValueError names every used column with
        missing values and their counts.  ``"drop"``: complete-case analysis;
        the result then carries ``n_dropped`` and ``dropped_by_column``.
    fit_kwargs
        Passed to ``OrderedModel.fit`` (default ``method="bfgs", maxiter=2000,
        gtol=1e-8, disp=False``).

    Returns
    -------
    statsmodels OrderedResults
        The fitted results, with extra attributes ``n_dropped`` (int),
        ``dropped_by_column`` (dict) and ``terms`` (dict: input column ->
        its design columns).

    Raises
    ------
    ValueError
        Missing values (with ``missing="raise"``), a constant or single-level
        column, a reference level that is not observed.

    References
    ----------
    McCullagh P. Regression models for ordinal data. J R Stat Soc B 1980;
    42:109-142.
    """
    covariates = list(covariates)
    if exposure in covariates or outcome in [exposure, *covariates]:
        raise ValueError("outcome, exposure and covariates must be distinct columns")
    data, info = _complete_cases(frame, [outcome, exposure, *covariates], missing)
    y = _ordered_outcome(data[outcome])
    refs = {} if reference is None else {exposure: reference}
    design, terms = _design(data, [exposure, *covariates], refs)
    # BFGS's default gradient tolerance (1e-5) stops ~1e-4 short of the optimum in
    # the odds ratios; 1e-8 reaches MASS::polr's optimum to 1e-8 (tests/test_ordinal_polr.R).
    kwargs = {"method": "bfgs", "maxiter": 2000, "gtol": 1e-8, "disp": False,
              **(fit_kwargs or {})}
    result = OrderedModel(y, design, distr="logit").fit(**kwargs)
    if not result.mle_retvals.get("converged", True):
        warnings.warn("OrderedModel did not converge; check result.mle_retvals "
                      "(sparse outcome levels or separation are the usual causes)",
                      RuntimeWarning, stacklevel=2)
    result.n_dropped = info["n_dropped"]
    result.dropped_by_column = info["dropped_by_column"]
    result.terms = terms
    return result


def odds_ratio_table(result, terms: Sequence[str] | None = None,
                     alpha: float = 0.05) -> pd.DataFrame:
    """Odds ratios, Wald confidence intervals and p-values of the slope terms.

    Parameters
    ----------
    result
        Fitted ``OrderedModel`` results (e.g. from :func:`fit_ordinal_logit`).
    terms
        Design columns to report, in this order; default all slopes.  The
        threshold (cut-point) parameters are never reported.
    alpha
        1 - confidence level; 0.05 gives 95 % intervals
        ``exp(beta +/- z_{1-alpha/2} * se)``.

    Returns
    -------
    pandas.DataFrame
        Columns ``term, odds_ratio, ci_low, ci_high, p_value``.

    Raises
    ------
    KeyError
        When a requested term is not a slope of the model.
    """
    names = list(result.model.exog_names[:result.model.k_vars])
    params = pd.Series(np.asarray(result.params), index=result.model.exog_names)
    ci = pd.DataFrame(np.asarray(result.conf_int(alpha=alpha)),
                      index=result.model.exog_names, columns=["low", "high"])
    pvalues = pd.Series(np.asarray(result.pvalues), index=result.model.exog_names)
    if terms is None:
        terms = names
    unknown = [t for t in terms if t not in names]
    if unknown:
        raise KeyError(f"not slope terms of the model: {unknown}; slopes are {names}")
    terms = list(terms)
    return pd.DataFrame({
        "term": terms,
        "odds_ratio": np.exp(params[terms].to_numpy()),
        "ci_low": np.exp(ci.loc[terms, "low"].to_numpy()),
        "ci_high": np.exp(ci.loc[terms, "high"].to_numpy()),
        "p_value": pvalues[terms].to_numpy(),
    })


def crude_adjusted_table(frame: pd.DataFrame, outcome: str, exposure: str,
                         covariates: Iterable[str] = TABLE3_COVARIATES,
                         reference: Hashable | None = None, *, alpha: float = 0.05,
                         missing: Missing = "raise") -> pd.DataFrame:
    """Crude and adjusted odds ratios of a categorical exposure (the paper's Table 3).

    Both models are fitted on the same rows — those complete for the outcome,
    the exposure *and* the covariates — so that the difference between crude
    and adjusted ORs reflects confounding, not a change of sample.

    Parameters
    ----------
    frame, outcome, exposure, covariates, reference, missing
        As in :func:`fit_ordinal_logit`.
    alpha
        1 - confidence level.

    Returns
    -------
    pandas.DataFrame
        Index: the exposure's levels (the reference first, with OR 1 and no
        interval).  Columns: a MultiIndex ``(model, statistic)`` with models
        ``crude``, ``adjusted`` and statistics ``odds_ratio, ci_low, ci_high,
        p_value``.  ``attrs["n"]`` and ``attrs["n_dropped"]`` give the rows
        used and dropped.
    """
    covariates = list(covariates)
    data, info = _complete_cases(frame, [outcome, exposure, *covariates], missing)
    crude = fit_ordinal_logit(data, outcome, exposure, (), reference)
    adjusted = fit_ordinal_logit(data, outcome, exposure, covariates, reference)
    dummies = crude.terms[exposure]
    levels = _levels(data[exposure])
    ref = levels[0] if reference is None else reference
    tables = {}
    for label, result in (("crude", crude), ("adjusted", adjusted)):
        table = odds_ratio_table(result, dummies, alpha).set_index("term")
        table.index = [t[len(exposure):] for t in table.index]
        reference_row = pd.DataFrame({"odds_ratio": [1.0], "ci_low": [np.nan],
                                      "ci_high": [np.nan], "p_value": [np.nan]}, index=[ref])
        tables[label] = pd.concat([reference_row, table])
    out = pd.concat(tables, axis=1)
    out.index = pd.Index([ref, *[lvl for lvl in levels if lvl != ref]], name=exposure)
    out.attrs.update(n=len(data), n_dropped=info["n_dropped"])
    return out
