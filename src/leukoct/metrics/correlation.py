"""Pearson's r and the coefficient of determination r², with their CIs."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np
from scipy import stats

from leukoct.metrics._common import (
    ArrayLike,
    NanPolicy,
    _check_confidence,
    _paired,
    _Result,
)


@dataclass(frozen=True)
class PearsonResult(_Result):
    """Pearson correlation with a Fisher-z confidence interval.

    Attributes
    ----------
    r, ci_low, ci_high, p_value, n, n_omitted, confidence
        Coefficient, confidence limits, two-sided p value (t test of
        :math:`\\rho = 0`), pairs used, pairs dropped, confidence level.
    """

    r: float
    ci_low: float
    ci_high: float
    p_value: float
    n: int
    n_omitted: int
    confidence: float


def pearson(x: ArrayLike, y: ArrayLike, confidence: float = 0.95,
            nan_policy: NanPolicy = "raise") -> PearsonResult:
    """Pearson correlation coefficient, Fisher-z confidence interval and p value.

    A thin wrapper of :func:`scipy.stats.pearsonr`; its
    ``confidence_interval`` is :math:`\\tanh(\\tanh^{-1} r \\mp
    z_{1-\\alpha/2}/\\sqrt{n-3})` (for n = 3 it is (-1, 1)).

    Parameters
    ----------
    x, y
        Paired values (the paper: predicted LA volume and Fazekas grade).
    confidence
        Confidence level of the interval.
    nan_policy
        ``"raise"``, ``"omit"`` or ``"propagate"`` (module docstring).

    Returns
    -------
    PearsonResult
        All statistics NaN when n < 3 or a variable is constant.

    References
    ----------
    .. [1] Fisher RA. On the "probable error" of a coefficient of correlation
       deduced from a small sample. Metron. 1921;1:3-32.
    .. [2] Ryu WS et al., Statistical analysis and Figure 4.
    """
    confidence = _check_confidence(confidence)
    xa, ya, n_omitted, has_nan = _paired(x, y, nan_policy)
    n = int(xa.size)
    nan = float("nan")
    if has_nan or n < 3 or np.ptp(xa) == 0 or np.ptp(ya) == 0:
        return PearsonResult(nan, nan, nan, nan, n, n_omitted, confidence)
    res = stats.pearsonr(xa, ya)
    ci = res.confidence_interval(confidence_level=confidence)
    return PearsonResult(r=float(res.statistic), ci_low=float(ci.low), ci_high=float(ci.high),
                         p_value=float(res.pvalue), n=n, n_omitted=n_omitted,
                         confidence=confidence)


@dataclass(frozen=True)
class RSquaredResult(_Result):
    """Coefficient of determination of a simple linear relation.

    Attributes
    ----------
    r_squared, ci_low, ci_high
        :math:`r^2` and its confidence limits.
    p_value
        Two-sided p value of :math:`\\rho = 0` (same as for :math:`r`).
    pearson_r, n, n_omitted, confidence, method
        Pearson :math:`r`, pairs used, pairs dropped, confidence level, CI method.
    """

    r_squared: float
    ci_low: float
    ci_high: float
    p_value: float
    pearson_r: float
    n: int
    n_omitted: int
    confidence: float
    method: str


def r_squared(x: ArrayLike, y: ArrayLike, confidence: float = 0.95,
              nan_policy: NanPolicy = "raise",
              method: Literal["fisher", "olkin-finn"] = "fisher") -> RSquaredResult:
    """Coefficient of determination :math:`r^2` with a confidence interval.

    :math:`r^2` is the square of Pearson's :math:`r` (the paper's definition).

    Parameters
    ----------
    x, y
        Paired values.
    confidence
        Confidence level of the interval.
    nan_policy
        ``"raise"``, ``"omit"`` or ``"propagate"`` (module docstring).
    method
        ``"fisher"`` (default): the Fisher-z interval ``(lo, hi)`` of
        :math:`r` (:func:`pearson`) is squared.  When it contains 0 the
        :math:`r^2` interval is ``[0, max(lo^2, hi^2)]`` (the square is not
        monotone across 0); otherwise ``[min, max]`` of the squared limits.
        The interval is asymmetric and stays in [0, 1].

        ``"olkin-finn"``: the symmetric large-sample interval
        :math:`r^2 \\pm z_{1-\\alpha/2}\\,\\mathrm{SE}` with
        :math:`\\mathrm{SE}^2 = 4r^2(1-r^2)^2(n-2)^2 / ((n^2-1)(n+3))`
        (Cohen et al. 2003, section 3.6.2; R ``psychometric::CI.Rsq`` with
        k = 1), clipped to [0, 1].  The paper's Table 2 intervals are
        symmetric and some rows (e.g. GE) match this formula, so it is offered
        to compare with the published numbers.

    Returns
    -------
    RSquaredResult
        All statistics NaN when n < 3 or a variable is constant.

    References
    ----------
    .. [1] Fisher RA. Metron. 1921;1:3-32.
    .. [2] Olkin I, Finn JD. Correlations redux. Psychological Bulletin.
       1995;118:155-164.
    .. [3] Cohen J, Cohen P, West SG, Aiken LS. Applied multiple
       regression/correlation analysis for the behavioral sciences, 3rd ed.
       Mahwah: Erlbaum; 2003. Section 3.6.2.
    .. [4] Ryu WS et al., Methods (r^2 formula) and Table 2.
    """
    if method not in ("fisher", "olkin-finn"):
        raise ValueError(f"method must be 'fisher' or 'olkin-finn', got {method!r}")
    pr = pearson(x, y, confidence=confidence, nan_policy=nan_policy)
    r2 = pr.r ** 2
    if math.isnan(pr.r):
        lo = hi = float("nan")
    elif method == "fisher":
        a, b = pr.ci_low, pr.ci_high
        if a <= 0.0 <= b:
            lo, hi = 0.0, max(a * a, b * b)
        else:
            lo, hi = min(a * a, b * b), max(a * a, b * b)
    else:
        n = pr.n
        se = math.sqrt(4 * r2 * (1 - r2) ** 2 * (n - 2) ** 2 / ((n * n - 1) * (n + 3)))
        half = stats.norm.ppf(0.5 + pr.confidence / 2) * se
        lo, hi = max(0.0, r2 - half), min(1.0, r2 + half)
    return RSquaredResult(r_squared=r2, ci_low=float(lo), ci_high=float(hi), p_value=pr.p_value,
                          pearson_r=pr.r, n=pr.n, n_omitted=pr.n_omitted,
                          confidence=pr.confidence, method=method)
