"""Brant's (1990) test of the proportional-odds assumption.

The paper merged mRS 5 and 6 because the proportional-odds assumption of its
Table 3 model was violated.  Brant's Wald test compares the slopes of the
separate binary logits ``1{y > level}`` (:func:`brant_fit`); :func:`brant_test`
gives the omnibus and per-variable statistics, :func:`brant_merge_comparison`
the test before and after merging the top levels.

leukoct's covariance of the stacked slopes is Brant's, symmetric in all its
blocks (R's ``brant`` package fills the lower off-diagonal blocks without
transposing them, which moves its omnibus statistic in the fourth digit).
Validation (``tests/test_ordinal.py``): the postoperative-nausea 2x4 table of
Fagerland, Lydersen & Laake 2017, chapter 6 (T = 1.668, df 2, P = 0.434), a
sandwich covariance built from the stacked score equations, and simulated
data with and without proportional odds.

References
----------
.. [1] Brant R. Assessing proportionality in the proportional odds model for
   ordinal logistic regression. Biometrics 1990;46:1171-8.
"""

from __future__ import annotations

import warnings
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.api as sm
from scipy import stats
from statsmodels.tools.sm_exceptions import PerfectSeparationWarning

# The same rows, dummy coding and outcome levels as the proportional-odds
# fit: the two models must see one design to be compared.
from leukoct.ordinal import (
    Missing,
    _complete_cases,
    _design,
    _ordered_outcome,
    merge_top,
)


@dataclass
class BrantFit:
    """The separate binary logits behind the Brant test.

    Attributes
    ----------
    coefficients
        Slopes of the binary logits ``1{y > level}``: one row per split
        (``"mrs_3m>0"`` ..), one column per design column.
    intercepts
        Intercepts of the binary logits, one per split.
    covariance
        Brant's covariance of the stacked slopes, rows and columns a
        MultiIndex ``(split, term)``.
    results
        The statsmodels ``Logit`` results, one per split.
    terms
        Input column -> its design columns.
    n_dropped
        Rows dropped for missing values (``missing="drop"``).
    """

    coefficients: pd.DataFrame
    intercepts: pd.Series
    covariance: pd.DataFrame
    results: list[Any] = field(repr=False)
    terms: dict[str, list[str]]
    n_dropped: int = 0


def _check_separation(design: pd.DataFrame, z: np.ndarray, split: str) -> None:
    # A 0/1 column whose 1s (or 0s) all fall on one side of a split has an
    # infinite MLE; name it instead of letting the fit drift off to ±inf.
    for col in design.columns:
        x = design[col].to_numpy()
        if not np.isin(x, (0.0, 1.0)).all():
            continue
        for value in (0.0, 1.0):
            side = z[x == value]
            if side.size and (side.min() == side.max()):
                above = "above" if side[0] == 1 else "at or below"
                raise ValueError(
                    f"perfect separation at split {split!r}: every row with {col} = "
                    f"{value:g} is {above} the cut, so that binary logit has no finite "
                    "estimate and the Brant test is meaningless; merge sparse outcome "
                    "levels or categories")


def brant_fit(frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *,
              references: Mapping[str, Hashable] | None = None,
              missing: Missing = "raise") -> BrantFit:
    """Fit the J-1 binary logits of an ordinal outcome and Brant's covariance.

    For each split ``j`` the binary outcome ``z_j = 1{y > level_j}`` is fitted
    by statsmodels ``Logit`` on an intercept plus the predictors.  The
    covariance of the stacked estimates across splits is Brant's (1990)

    ``Var(b_j, b_m) = (X'W_j X)^{-1} X'W_jm X (X'W_m X)^{-1}``,
    ``W_jm = diag(pi_m - pi_j pi_m)`` for ``j <= m``,

    with ``pi_j`` the fitted probabilities of logit ``j`` and ``X`` including
    the intercept (``W_jj = pi_j (1 - pi_j)`` gives the usual Logit
    covariance).  Only the slope part is kept.

    Parameters
    ----------
    frame, outcome
        Data and ordinal outcome (integers or ordered categorical).
    predictors
        Columns; categoricals are dummy-coded as in :func:`fit_ordinal_logit`.
    references
        Reference level per categorical column (default: first level).
    missing
        ``"raise"`` or ``"drop"``, as in :func:`fit_ordinal_logit`.

    Returns
    -------
    BrantFit

    Raises
    ------
    ValueError
        Fewer than three outcome levels, perfect separation in a binary
        logit, a binary logit that does not converge, or missing values.

    References
    ----------
    Brant R. Assessing proportionality in the proportional odds model for
    ordinal logistic regression. Biometrics 1990; 46:1171-1178.
    """
    predictors = list(predictors)
    data, info = _complete_cases(frame, [outcome, *predictors], missing)
    y = _ordered_outcome(data[outcome])
    levels = list(y.cat.categories)
    if len(levels) < 3:
        raise ValueError(f"the Brant test needs at least 3 outcome levels (two binary "
                         f"logits to compare); {outcome!r} has {levels}")
    design, terms = _design(data, predictors, references)
    codes = y.cat.codes.to_numpy()
    x1 = sm.add_constant(design.to_numpy(), has_constant="add")
    splits = [f"{outcome}>{level}" for level in levels[:-1]]
    results, probs = [], []
    for j, split in enumerate(splits):
        z = (codes > j).astype(float)
        _check_separation(design, z, split)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            res = sm.Logit(z, x1).fit(method="newton", maxiter=100, disp=False)
        if any(issubclass(w.category, PerfectSeparationWarning) for w in caught):
            raise ValueError(f"perfect separation in the binary logit {split!r}; the Brant "
                             "test is meaningless — merge sparse outcome levels")
        if not res.mle_retvals.get("converged", False):
            raise ValueError(f"the binary logit {split!r} did not converge; the Brant test "
                             "is unreliable (quasi-separation or very sparse levels?)")
        results.append(res)
        probs.append(res.predict(x1))

    k = x1.shape[1]
    p = k - 1
    inverse = [np.asarray(r.cov_params()) for r in results]   # (X'W_jX)^{-1}
    cov = np.zeros(((len(splits)) * p,) * 2)
    for j in range(len(splits)):
        for m in range(j, len(splits)):
            w_jm = probs[m] - probs[j] * probs[m]
            middle = x1.T @ (x1 * w_jm[:, None])
            block = (inverse[j] @ middle @ inverse[m])[1:, 1:]
            cov[j * p:(j + 1) * p, m * p:(m + 1) * p] = block
            cov[m * p:(m + 1) * p, j * p:(j + 1) * p] = block.T

    columns = list(design.columns)
    index = pd.MultiIndex.from_product([splits, columns], names=["split", "term"])
    return BrantFit(
        coefficients=pd.DataFrame([np.asarray(r.params)[1:] for r in results],
                                  index=pd.Index(splits, name="split"), columns=columns),
        intercepts=pd.Series([np.asarray(r.params)[0] for r in results],
                             index=pd.Index(splits, name="split"), name="intercept"),
        covariance=pd.DataFrame(cov, index=index, columns=index),
        results=results, terms=terms, n_dropped=info["n_dropped"])


def _wald_equal(beta: np.ndarray, cov: np.ndarray, n_splits: int,
                idx: Sequence[int], p: int) -> tuple[float, int]:
    """Wald chi2 that the coefficients ``idx`` are equal across the splits."""
    # rows of D contrast split 1 with split j (j = 2..J-1) for each coefficient
    sel = np.array([j * p + i for j in range(n_splits) for i in idx])
    b = beta[sel]
    v = cov[np.ix_(sel, sel)]
    r = len(idx)
    d = np.zeros(((n_splits - 1) * r, n_splits * r))
    for j in range(1, n_splits):
        d[(j - 1) * r:j * r, :r] = np.eye(r)
        d[(j - 1) * r:j * r, j * r:(j + 1) * r] = -np.eye(r)
    diff = d @ b
    chi2 = float(diff @ np.linalg.solve(d @ v @ d.T, diff))
    return chi2, d.shape[0]


def brant_test(frame: pd.DataFrame, outcome: str, predictors: Sequence[str], *,
               references: Mapping[str, Hashable] | None = None,
               by_variable: bool = False, missing: Missing = "raise") -> pd.DataFrame:
    """Brant's Wald test of the proportional-odds (parallel lines) assumption.

    The J-1 binary logits ``1{y > j}`` are fitted separately
    (:func:`brant_fit`) and the hypothesis that each slope is the same in all
    of them is tested with a Wald statistic using Brant's covariance of the
    stacked estimates — the test of R's ``brant`` package and Stata's
    ``brant`` (Long & Freese).

    Parameters
    ----------
    frame, outcome, predictors, references, missing
        As in :func:`brant_fit`.
    by_variable
        ``False`` (default, as R's ``brant``): one row per design column
        (``sexM``, ``la_quintileQ2`` ..).  ``True``: one joint row per input
        column (all dummies of a categorical together), as R's
        ``brant(by.var = TRUE)``.

    Returns
    -------
    pandas.DataFrame
        Index ``omnibus`` then one row per predictor; columns ``chi2``, ``df``,
        ``p_value``.  The omnibus test has ``df = (J-2) p`` for ``p`` design
        columns, a single-column test ``df = J-2``.  A small p-value means the
        assumption is violated.  ``attrs["n_dropped"]`` records rows dropped
        under ``missing="drop"``.

    Raises
    ------
    ValueError
        As :func:`brant_fit`: fewer than three outcome levels (no test is
        possible with one binary logit), perfect separation, non-convergence.

    References
    ----------
    Brant R. Assessing proportionality in the proportional odds model for
    ordinal logistic regression. Biometrics 1990; 46:1171-1178.

    McCullagh P. Regression models for ordinal data. J R Stat Soc B 1980;
    42:109-142.
    """
    fit = brant_fit(frame, outcome, predictors, references=references, missing=missing)
    columns = list(fit.coefficients.columns)
    p = len(columns)
    n_splits = len(fit.coefficients)
    beta = fit.coefficients.to_numpy().ravel()
    cov = fit.covariance.to_numpy()
    groups = ({name: [columns.index(c) for c in cols] for name, cols in fit.terms.items()}
              if by_variable else {c: [i] for i, c in enumerate(columns)})
    rows = {"omnibus": _wald_equal(beta, cov, n_splits, range(p), p)}
    for name, idx in groups.items():
        rows[name] = _wald_equal(beta, cov, n_splits, idx, p)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=["chi2", "df"])
    table["df"] = table["df"].astype(int)
    table["p_value"] = stats.chi2.sf(table["chi2"], table["df"])
    table.index.name = "test"
    table.attrs["n_dropped"] = fit.n_dropped
    return table


def brant_merge_comparison(frame: pd.DataFrame, outcome: str, predictors: Sequence[str],
                           top: int = 5, **kwargs: Any) -> pd.DataFrame:
    """Brant test with the outcome as recorded and with its top levels merged.

    Reproduces the paper's check: test proportional odds on the full mRS 0-6,
    then after merging mRS 5 and 6 (:func:`merge_top`).

    Parameters
    ----------
    frame, outcome, predictors
        As in :func:`brant_test`; ``outcome`` must hold integer scores.
    top
        Levels ``>= top`` are merged (5 merges mRS 5 and 6).
    **kwargs
        Passed to :func:`brant_test` (``references``, ``by_variable``,
        ``missing``).

    Returns
    -------
    pandas.DataFrame
        Rows as :func:`brant_test`; columns a MultiIndex ``(outcome coding,
        statistic)`` with codings ``original`` and ``merged``.
    """
    merged = frame.assign(**{outcome: merge_top(frame[outcome], top)})
    return pd.concat({"original": brant_test(frame, outcome, predictors, **kwargs),
                      "merged": brant_test(merged, outcome, predictors, **kwargs)}, axis=1)
