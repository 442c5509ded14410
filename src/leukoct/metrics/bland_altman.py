"""Bland-Altman limits of agreement of two volume series."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from scipy import stats

from leukoct.metrics._common import (
    ArrayLike,
    NanPolicy,
    _check_confidence,
    _paired,
    _Result,
)


@dataclass(frozen=True)
class BlandAltmanResult(_Result):
    """Bland-Altman bias and limits of agreement with confidence intervals.

    Attributes
    ----------
    bias, sd
        Mean and SD (n - 1 denominator) of the differences ``x - y``.
    bias_ci_low, bias_ci_high
        t interval of the bias.
    loa_low, loa_high
        Limits of agreement ``bias -/+ limits * sd``.
    loa_low_ci_low, loa_low_ci_high, loa_high_ci_low, loa_high_ci_high
        Approximate confidence intervals of the two limits.
    loa_se
        Standard error used for the limits' intervals.
    n, n_omitted, limits, confidence, ci_method
        Pairs used, pairs dropped, SD multiplier, confidence level and the
        approximation used (``"1999"`` or ``"1986"``).
    """

    bias: float
    sd: float
    bias_ci_low: float
    bias_ci_high: float
    loa_low: float
    loa_high: float
    loa_low_ci_low: float
    loa_low_ci_high: float
    loa_high_ci_low: float
    loa_high_ci_high: float
    loa_se: float
    n: int
    n_omitted: int
    limits: float
    confidence: float
    ci_method: str


def bland_altman(x: ArrayLike, y: ArrayLike, limits: float = 1.96, confidence: float = 0.95,
                 nan_policy: NanPolicy = "raise",
                 ci_method: Literal["1999", "1986"] = "1999") -> BlandAltmanResult:
    """Bland-Altman analysis of paired measurements.

    The differences are ``d = x - y`` (pass the prediction as ``x`` and the
    reference as ``y`` so that a positive bias means over-estimation).

    Parameters
    ----------
    x, y
        Paired measurements.
    limits
        SD multiplier of the limits of agreement: 1.96 (Bland & Altman 1999)
        or 2 (Bland & Altman 1986).
    confidence
        Confidence level of the intervals.
    nan_policy
        ``"raise"``, ``"omit"`` or ``"propagate"`` (module docstring).
    ci_method
        Approximate standard error of a limit :math:`\\bar d \\pm k s`:

        ``"1999"`` (default): :math:`s\\sqrt{1/n + k^2/(2(n-1))}`
        (Bland & Altman 1999, section 2.2);
        ``"1986"``: :math:`s\\sqrt{(1 + k^2/2)/n}`, which is the
        :math:`\\sqrt{3s^2/n}` of Bland & Altman 1986 for k = 2.

        Both use :math:`t_{1-\\alpha/2,\\,n-1}`; the bias interval is
        :math:`\\bar d \\pm t\\, s/\\sqrt n`.  Exact intervals (tolerance
        factors, Carkeet 2015) are narrower/wider for small n.

    Returns
    -------
    BlandAltmanResult
        All statistics NaN when n < 2.

    Notes
    -----
    The numbers only; :func:`statsmodels.graphics.agreement.mean_diff_plot`
    draws the plot.

    References
    ----------
    .. [1] Bland JM, Altman DG. Statistical methods for assessing agreement
       between two methods of clinical measurement. Lancet. 1986;1:307-310.
    .. [2] Bland JM, Altman DG. Measuring agreement in method comparison
       studies. Stat Methods Med Res. 1999;8:135-160.
    .. [3] Carkeet A. Exact parametric confidence intervals for Bland-Altman
       limits of agreement. Optom Vis Sci. 2015;92:e71-e80.
    """
    confidence = _check_confidence(confidence)
    if ci_method not in ("1999", "1986"):
        raise ValueError(f"ci_method must be '1999' or '1986', got {ci_method!r}")
    limits = float(limits)
    if limits <= 0:
        raise ValueError(f"limits must be positive, got {limits}")
    xa, ya, n_omitted, has_nan = _paired(x, y, nan_policy)
    n = int(xa.size)
    nan = float("nan")
    if has_nan or n < 2:
        return BlandAltmanResult(*([nan] * 11), n=n, n_omitted=n_omitted, limits=limits,
                                 confidence=confidence, ci_method=ci_method)
    d = xa - ya
    bias = float(d.mean())
    sd = float(d.std(ddof=1))
    t = float(stats.t.ppf(0.5 + confidence / 2, n - 1))
    se_bias = sd / math.sqrt(n)
    if ci_method == "1999":
        se_loa = sd * math.sqrt(1.0 / n + limits ** 2 / (2.0 * (n - 1)))
    else:
        se_loa = sd * math.sqrt((1.0 + limits ** 2 / 2.0) / n)
    lo, hi = bias - limits * sd, bias + limits * sd
    return BlandAltmanResult(
        bias=bias, sd=sd, bias_ci_low=bias - t * se_bias, bias_ci_high=bias + t * se_bias,
        loa_low=lo, loa_high=hi,
        loa_low_ci_low=lo - t * se_loa, loa_low_ci_high=lo + t * se_loa,
        loa_high_ci_low=hi - t * se_loa, loa_high_ci_high=hi + t * se_loa,
        loa_se=se_loa, n=n, n_omitted=n_omitted, limits=limits, confidence=confidence,
        ci_method=ci_method)
