"""Lin's concordance correlation coefficient of two volume series, with its CI."""

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

#: Interval methods of :func:`lins_ccc`, named as R ``epiR::epi.ccc`` names them.
CCCInterval = Literal["z-transform", "asymptotic"]
CCC_INTERVALS: tuple[str, ...] = ("z-transform", "asymptotic")


@dataclass(frozen=True)
class CCCResult(_Result):
    """Lin's concordance correlation coefficient and its parts.

    Attributes
    ----------
    ccc
        :math:`\\hat\\rho_c`.
    ci_low, ci_high
        Confidence limits (``ci``: Fisher z-transform or asymptotic normal,
        Lin 1989/2000 as in epiR).
    n
        Pairs used.
    pearson_r
        Pearson :math:`r` (precision); ``ccc = pearson_r * bias_correction``.
    bias_correction
        :math:`C_b = 2 / (v + 1/v + u^2)` (accuracy, 1 = on the 45 degree line).
    location_shift
        :math:`u = (\\mu_y - \\mu_x) / \\sqrt{\\sigma_x \\sigma_y}` (epiR ``l.shift``).
    scale_shift
        :math:`v = \\sigma_y / \\sigma_x` (epiR ``s.shift``).
    se_z
        Standard error of :math:`\\tanh^{-1}\\hat\\rho_c`.
    se
        Standard error of :math:`\\hat\\rho_c` itself (the asymptotic one).
    n_omitted
        Pairs dropped under ``nan_policy="omit"``.
    confidence
        Confidence level of the interval.
    ci
        The interval's method, ``"z-transform"`` or ``"asymptotic"``.
    """

    ccc: float
    ci_low: float
    ci_high: float
    n: int
    pearson_r: float
    bias_correction: float
    location_shift: float
    scale_shift: float
    se_z: float
    n_omitted: int
    confidence: float
    se: float
    ci: str


def lins_ccc(x: ArrayLike, y: ArrayLike, confidence: float = 0.95,
             nan_policy: NanPolicy = "raise", ci: CCCInterval = "z-transform") -> CCCResult:
    """Lin's concordance correlation coefficient with a confidence interval.

    .. math::

        \\hat\\rho_c = \\frac{2 s_{xy}}{s_x^2 + s_y^2 + (\\bar x - \\bar y)^2}
                    = r \\, C_b

    with the *population* (denominator n) moments
    :math:`s_x^2 = \\frac1n\\sum (x_i-\\bar x)^2`, :math:`s_{xy} = \\frac1n
    \\sum (x_i-\\bar x)(y_i-\\bar y)`, as in Lin (1989) and R ``epiR::epi.ccc``.
    (With n - 1 denominators, as in torchmetrics, the value differs slightly:
    0.9777 instead of 0.9768 for the 4-pair example of the tests.)

    The paper prints the formula as
    :math:`2\\,\\mathrm{Corr}\\,\\sigma_X\\sigma_Y / (\\sigma_X^2 \\times
    \\sigma_Y^2 + (\\mu_X + \\mu_Y)^2)`; both the product in the denominator
    and the *sum* of means are typographical errors - Lin's coefficient has
    :math:`\\sigma_X^2 + \\sigma_Y^2 + (\\mu_X - \\mu_Y)^2`, implemented here.

    Parameters
    ----------
    x, y
        Paired measurements, e.g. predicted and reference LA volumes (mL).
    confidence
        Confidence level of the interval.
    nan_policy
        ``"raise"``, ``"omit"`` or ``"propagate"`` (module docstring).
    ci
        ``"z-transform"`` (default, epiR's default: Fisher's z, always inside
        (-1, 1)) or ``"asymptotic"`` (the normal interval :math:`p \\pm z\\,
        \\mathrm{se}(p)`, symmetric, which is what the paper's Table 2 prints:
        :func:`leukoct.evaluation.interval_method`).

    Returns
    -------
    CCCResult

    Notes
    -----
    Confidence interval (``ci="z-transform"`` of epiR 2.x, Lin 1989 with the
    correction of Lin 2000): with :math:`p = \\hat\\rho_c`, :math:`r` the
    Pearson coefficient and :math:`u` the location shift,

    .. math::

        \\mathrm{se}(p) = \\sqrt{\\frac{1}{n-2}\\left[
            \\frac{(1-r^2)\\,p^2(1-p^2)}{r^2}
            + \\frac{2p^3(1-p)\\,u^2}{r} - \\frac{p^4u^4}{2r^2}\\right]},\\qquad
        \\mathrm{se}_z = \\frac{\\mathrm{se}(p)}{1-p^2},

    and the limits are :math:`\\tanh(\\tanh^{-1}p \\mp z_{1-\\alpha/2}\\,
    \\mathrm{se}_z)`; ``ci="asymptotic"`` (epiR's other method) gives
    :math:`p \\mp z_{1-\\alpha/2}\\,\\mathrm{se}(p)`, whose upper limit can
    exceed 1 when p is near 1 and n small: it is returned as epiR returns it,
    unclipped, so that a reproduced paper interval is the paper's method's
    (clipping would hide that the method is poor there).  A negative variance estimate (possible in tiny
    samples) is clipped at 0.  The interval needs n >= 3 (NaN otherwise);
    when :math:`|p| = 1` it collapses to ``(p, p)``.  ``ccc`` is NaN when
    n < 2 or both variables are constant with equal means; ``pearson_r`` and
    the interval are NaN when either variable is constant.

    References
    ----------
    .. [1] Lin LI. A concordance correlation coefficient to evaluate
       reproducibility. Biometrics. 1989;45:255-268.
    .. [2] Lin LI. A note on the concordance correlation coefficient.
       Biometrics. 2000;56:324-325.
    .. [3] Stevenson M, Sergeant E et al. epiR: Tools for the analysis of
       epidemiological data, function ``epi.ccc`` (CRAN).
    .. [4] Ryu WS et al., Methods (CCC formula) and Table 2.
    """
    confidence = _check_confidence(confidence)
    xa, ya, n_omitted, has_nan = _paired(x, y, nan_policy)
    n = int(xa.size)
    nan = float("nan")
    if ci not in CCC_INTERVALS:
        raise ValueError(f"ci must be one of {', '.join(CCC_INTERVALS)}, not {ci!r}")
    if has_nan or n < 2:
        return CCCResult(nan, nan, nan, n, nan, nan, nan, nan, nan, n_omitted, confidence,
                         nan, ci)
    mx, my = float(xa.mean()), float(ya.mean())
    sx2 = float(np.mean((xa - mx) ** 2))
    sy2 = float(np.mean((ya - my) ** 2))
    sxy = float(np.mean((xa - mx) * (ya - my)))
    denom = sx2 + sy2 + (mx - my) ** 2
    p = 2.0 * sxy / denom if denom > 0 else nan
    if sx2 == 0 or sy2 == 0:
        return CCCResult(p, nan, nan, n, nan, nan, nan, nan, nan, n_omitted, confidence,
                         nan, ci)
    r = float(np.clip(sxy / math.sqrt(sx2 * sy2), -1.0, 1.0))
    v = math.sqrt(sy2 / sx2)
    u = (my - mx) / math.sqrt(math.sqrt(sx2 * sy2))
    c_b = 2.0 / (v + 1.0 / v + u * u)
    lo = hi = se_z = se = nan
    if n >= 3:
        if abs(p) >= 1.0:
            lo = hi = p
            se_z = se = 0.0
        elif r != 0.0:
            var_p = ((1 - r * r) * p * p * (1 - p * p) / (r * r)
                     + 2 * p ** 3 * (1 - p) * u * u / r
                     - 0.5 * p ** 4 * u ** 4 / (r * r)) / (n - 2)
            se = math.sqrt(max(var_p, 0.0))
            se_z = se / (1 - p * p)
            z = stats.norm.ppf(0.5 + confidence / 2)
            if ci == "asymptotic":
                lo, hi = p - z * se, p + z * se
            else:
                t = math.atanh(p)
                lo, hi = math.tanh(t - z * se_z), math.tanh(t + z * se_z)
    return CCCResult(ccc=p, ci_low=lo, ci_high=hi, n=n, pearson_r=r, bias_correction=c_b,
                     location_shift=u, scale_shift=v, se_z=se_z, n_omitted=n_omitted,
                     confidence=confidence, se=se, ci=ci)
