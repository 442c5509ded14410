"""Segmentation and volume-agreement metrics of the paper.

Ryu et al. evaluate predicted leukoaraiosis (LA) on CT against the
registered LA mask (CT ground truth) and the FLAIR WMH mask with

* the Dice similarity coefficient per subject, summarised as mean (95 % CI);
* the coefficient of determination :math:`r^2` of the volumes;
* Lin's concordance correlation coefficient (CCC, :math:`\\rho_c`) of the
  volumes with its 95 % CI;
* the Pearson correlation of volumes with Fazekas grade;

overall and per CT vendor (Table 2) and per infarct-volume group
(:math:`\\le 10` versus :math:`> 10` mL, Figure S3).  Bland-Altman limits of
agreement are added because they answer the clinical question "how far apart
can two volumes be" that a correlation cannot.

Everything here is a pure function of arrays or DataFrames; volumes are
measured from masks elsewhere.

Missing values
--------------
No function drops a missing value silently.  Paired metrics take
``nan_policy`` with scipy's vocabulary:

``"raise"`` (default)
    a :class:`ValueError` naming how many pairs have a NaN and where;
``"omit"``
    drop the incomplete pairs and report their number as ``n_omitted``;
``"propagate"``
    any NaN makes every statistic NaN (``n`` is then the number of pairs).

Infinite values are always an error.  Per-subject Dice values that are NaN
mean "undefined" (both masks empty, see :func:`dice`) and are counted as
``n_undefined`` by :func:`dice_summary`.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import Any, Literal

import numpy as np
import numpy.typing as npt
import pandas as pd
from scipy import stats

__all__ = [
    "NanPolicy",
    "ALL",
    "MISSING_GROUP",
    "DiceSummary",
    "CCCResult",
    "RSquaredResult",
    "PearsonResult",
    "BlandAltmanResult",
    "dice",
    "dice_summary",
    "lins_ccc",
    "r_squared",
    "pearson",
    "bland_altman",
    "agreement",
    "infarct_group",
]

NanPolicy = Literal["raise", "omit", "propagate"]

#: Column label of the whole sample in :func:`agreement`.
ALL = "All"
#: Column label of the rows whose group is missing in :func:`agreement`.
MISSING_GROUP = "missing"

ArrayLike = npt.ArrayLike


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _check_confidence(confidence: float) -> float:
    confidence = float(confidence)
    if not 0.0 < confidence < 1.0:
        raise ValueError(f"confidence must lie strictly between 0 and 1, got {confidence}")
    return confidence


def _as_float_vector(values: ArrayLike, name: str) -> np.ndarray:
    if isinstance(values, (pd.Series, pd.Index)):
        try:
            arr = pd.to_numeric(values, errors="raise").to_numpy(dtype=float, na_value=np.nan)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from exc
    else:
        try:
            arr = np.asarray(values, dtype=float)
        except (TypeError, ValueError) as exc:
            raise TypeError(f"{name} must be numeric: {exc}") from exc
    if arr.ndim == 0:
        arr = arr.reshape(1)
    if arr.ndim != 1:
        raise ValueError(f"{name} must be one-dimensional, got shape {arr.shape}")
    if np.isinf(arr).any():
        where = np.flatnonzero(np.isinf(arr))[:10].tolist()
        raise ValueError(f"{name} has {int(np.isinf(arr).sum())} infinite value(s) "
                         f"(positions {where}); fix or remove them")
    return arr


def _paired(x: ArrayLike, y: ArrayLike, nan_policy: NanPolicy,
            names: tuple[str, str] = ("x", "y")) -> tuple[np.ndarray, np.ndarray, int, bool]:
    """Validate a pair of vectors and apply ``nan_policy``.

    Returns ``(x, y, n_omitted, has_nan)``; ``has_nan`` is only true under
    ``"propagate"``.
    """
    if nan_policy not in ("raise", "omit", "propagate"):
        raise ValueError(f"nan_policy must be 'raise', 'omit' or 'propagate', got {nan_policy!r}")
    xa = _as_float_vector(x, names[0])
    ya = _as_float_vector(y, names[1])
    if xa.shape != ya.shape:
        raise ValueError(f"{names[0]} and {names[1]} must have the same length, "
                         f"got {xa.shape[0]} and {ya.shape[0]}")
    bad = np.isnan(xa) | np.isnan(ya)
    n_bad = int(bad.sum())
    if n_bad == 0:
        return xa, ya, 0, False
    if nan_policy == "raise":
        where = np.flatnonzero(bad)[:10].tolist()
        more = "" if n_bad <= 10 else f" and {n_bad - 10} more"
        raise ValueError(
            f"{n_bad} of {bad.size} pair(s) of {names[0]}/{names[1]} have a NaN "
            f"(positions {where}{more}); pass nan_policy='omit' to drop them "
            "(their number is reported as n_omitted) or fill the missing values")
    if nan_policy == "omit":
        return xa[~bad], ya[~bad], n_bad, False
    return xa, ya, 0, True


def _as_mask(mask: ArrayLike, name: str) -> np.ndarray:
    arr = np.asarray(mask)
    if arr.dtype == bool:
        return arr
    if arr.dtype.kind in "iuf":
        if arr.dtype.kind == "f" and np.isnan(arr).any():
            raise ValueError(f"{name} contains NaN; a mask must be boolean or 0/1")
        if np.isin(arr, (0, 1)).all():
            return arr.astype(bool)
        raise ValueError(f"{name} has values other than 0 and 1 (e.g. a probability map "
                         "or a label image); threshold it to a boolean mask first")
    raise TypeError(f"{name} must be a boolean (or 0/1) array, got dtype {arr.dtype}")


# --------------------------------------------------------------------------
# Dice
# --------------------------------------------------------------------------

def dice(pred: ArrayLike, ref: ArrayLike, empty: float = float("nan")) -> float:
    """Dice similarity coefficient of two binary masks.

    .. math:: \\mathrm{DSC} = \\frac{2\\,TP}{2\\,TP + FP + FN}

    computed over all voxels of one subject (the paper's per-subject DSC).

    Parameters
    ----------
    pred, ref
        Masks of the same shape: boolean arrays, or integer/float arrays
        holding only 0 and 1.  Probability maps and label images are refused
        (threshold them first) rather than silently binarised.
    empty
        Value returned when **both** masks are empty, where the formula is
        0/0.  The default, NaN, marks the subject as *undefined*:
        :func:`dice_summary` counts such subjects (``n_undefined``) and leaves
        them out of the mean.  Pass ``empty=1.0`` to score "no lesion, none
        predicted" as perfect agreement (as some challenge evaluations do).
        When only one mask is empty the DSC is 0 whatever ``empty`` is.

    Returns
    -------
    float
        DSC in [0, 1], or ``empty``.

    Raises
    ------
    ValueError
        Shapes differ, or a mask is not binary.

    References
    ----------
    .. [1] Dice LR. Measures of the amount of ecologic association between
       species. Ecology. 1945;26:297-302.
    .. [2] Ryu WS et al. Segmentation of leukoaraiosis on noncontrast head CTs
       using CT-MRI paired data without human annotation (Methods,
       "Segmentation performance evaluation metrics").
    """
    p = _as_mask(pred, "pred")
    r = _as_mask(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape} "
                         "(resample the prediction onto the reference grid first)")
    tp = int(np.count_nonzero(p & r))
    size = int(np.count_nonzero(p)) + int(np.count_nonzero(r))  # = 2TP + FP + FN
    if size == 0:
        return float(empty)
    return 2.0 * tp / size


class _Result:
    """Base of the result records: :meth:`as_dict` for DataFrame rows."""

    def as_dict(self) -> dict[str, Any]:
        """The fields as a plain dict (one row of a results table)."""
        return asdict(self)  # type: ignore[call-overload]


@dataclass(frozen=True)
class DiceSummary(_Result):
    """Mean Dice with a t-based confidence interval.

    Attributes
    ----------
    mean, sd
        Mean and sample SD (n - 1 denominator) of the defined values.
    ci_low, ci_high
        ``mean -/+ t(1 - alpha/2, n - 1) * sd / sqrt(n)``; NaN when n < 2.
    n
        Number of defined (non-NaN) values.
    n_undefined
        Number of NaN values (both masks empty under ``dice(empty=nan)``).
    confidence
        Confidence level of the interval.
    """

    mean: float
    sd: float
    ci_low: float
    ci_high: float
    n: int
    n_undefined: int
    confidence: float


def dice_summary(values: ArrayLike, confidence: float = 0.95) -> DiceSummary:
    """Mean, SD and t-based confidence interval of per-subject Dice values.

    Parameters
    ----------
    values
        Per-subject DSC.  NaN values are *undefined* cases (both masks
        empty, see :func:`dice`): they are excluded from the statistics and
        counted in ``n_undefined`` - never dropped silently.
    confidence
        Confidence level, 0.95 for the paper's 95 % CI.

    Returns
    -------
    DiceSummary

    Notes
    -----
    The interval is the Student-t interval of a mean,
    :math:`\\bar d \\pm t_{1-\\alpha/2,\\,n-1}\\, s/\\sqrt{n}`.  The paper reports
    DSC as "estimate (95 % CI)" without naming the method; with n = 390 a t
    and a normal interval agree to three decimals.

    References
    ----------
    .. [1] Ryu WS et al., Table 2 and Table S2 (DSC, mean and 95 % CI).
    """
    confidence = _check_confidence(confidence)
    arr = _as_float_vector(values, "values")
    undefined = np.isnan(arr)
    d = arr[~undefined]
    if ((d < 0) | (d > 1)).any():
        raise ValueError("Dice values must lie in [0, 1]")
    n = int(d.size)
    mean = float(d.mean()) if n else float("nan")
    sd = float(d.std(ddof=1)) if n >= 2 else float("nan")
    if n >= 2:
        half = stats.t.ppf(0.5 + confidence / 2, n - 1) * sd / math.sqrt(n)
        lo, hi = mean - half, mean + half
    else:
        lo = hi = float("nan")
    return DiceSummary(mean=mean, sd=sd, ci_low=float(lo), ci_high=float(hi), n=n,
                       n_undefined=int(undefined.sum()), confidence=confidence)


# --------------------------------------------------------------------------
# Lin's concordance correlation coefficient
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class CCCResult(_Result):
    """Lin's concordance correlation coefficient and its parts.

    Attributes
    ----------
    ccc
        :math:`\\hat\\rho_c`.
    ci_low, ci_high
        Confidence limits (Fisher z-transform, Lin 1989/2000 as in epiR).
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
    n_omitted
        Pairs dropped under ``nan_policy="omit"``.
    confidence
        Confidence level of the interval.
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


def lins_ccc(x: ArrayLike, y: ArrayLike, confidence: float = 0.95,
             nan_policy: NanPolicy = "raise") -> CCCResult:
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
    \\mathrm{se}_z)`.  A negative variance estimate (possible in tiny
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
    if has_nan or n < 2:
        return CCCResult(nan, nan, nan, n, nan, nan, nan, nan, nan, n_omitted, confidence)
    mx, my = float(xa.mean()), float(ya.mean())
    sx2 = float(np.mean((xa - mx) ** 2))
    sy2 = float(np.mean((ya - my) ** 2))
    sxy = float(np.mean((xa - mx) * (ya - my)))
    denom = sx2 + sy2 + (mx - my) ** 2
    p = 2.0 * sxy / denom if denom > 0 else nan
    if sx2 == 0 or sy2 == 0:
        return CCCResult(p, nan, nan, n, nan, nan, nan, nan, nan, n_omitted, confidence)
    r = float(np.clip(sxy / math.sqrt(sx2 * sy2), -1.0, 1.0))
    v = math.sqrt(sy2 / sx2)
    u = (my - mx) / math.sqrt(math.sqrt(sx2 * sy2))
    c_b = 2.0 / (v + 1.0 / v + u * u)
    lo = hi = se_z = nan
    if n >= 3:
        if abs(p) >= 1.0:
            lo = hi = p
            se_z = 0.0
        elif r != 0.0:
            var_p = ((1 - r * r) * p * p * (1 - p * p) / (r * r)
                     + 2 * p ** 3 * (1 - p) * u * u / r
                     - 0.5 * p ** 4 * u ** 4 / (r * r)) / (n - 2)
            se_z = math.sqrt(max(var_p, 0.0)) / (1 - p * p)
            z = stats.norm.ppf(0.5 + confidence / 2)
            t = math.atanh(p)
            lo, hi = math.tanh(t - z * se_z), math.tanh(t + z * se_z)
    return CCCResult(ccc=p, ci_low=lo, ci_high=hi, n=n, pearson_r=r, bias_correction=c_b,
                     location_shift=u, scale_shift=v, se_z=se_z, n_omitted=n_omitted,
                     confidence=confidence)


# --------------------------------------------------------------------------
# Pearson r and r^2
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Bland-Altman
# --------------------------------------------------------------------------

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


# --------------------------------------------------------------------------
# Table 2: agreement per group
# --------------------------------------------------------------------------

#: Rows of the table returned by :func:`agreement`.
AGREEMENT_ROWS: tuple[str, ...] = (
    "n", "n_omitted", "pearson_r", "r2", "r2_ci_low", "r2_ci_high",
    "ccc", "ccc_ci_low", "ccc_ci_high",
    "dice", "dice_ci_low", "dice_ci_high", "dice_n", "dice_n_undefined",
)


def _group_order(keys: pd.Series, order: Sequence[Any] | None) -> list[Any]:
    present = list(pd.unique(keys.dropna()))
    if order is None:
        if isinstance(keys.dtype, pd.CategoricalDtype):
            return list(keys.cat.categories)
        return present
    order = list(order)
    if len(set(order)) != len(order):
        raise ValueError(f"order has duplicates: {order}")
    return order + [g for g in present if g not in order]


def _agreement_column(pred: np.ndarray, ref: np.ndarray, dsc: np.ndarray | None,
                      confidence: float, min_n: int, nan_policy: NanPolicy,
                      r2_method: Literal["fisher", "olkin-finn"],
                      names: tuple[str, str], group: Any) -> dict[str, float]:
    out: dict[str, float] = dict.fromkeys(AGREEMENT_ROWS, float("nan"))
    try:
        xa, ya, n_omitted, _ = _paired(pred, ref, nan_policy, names=names)
    except ValueError as exc:
        raise ValueError(f"group {group!r}: {exc}") from exc
    out["n"], out["n_omitted"] = xa.size, n_omitted
    if dsc is not None:
        summary = dice_summary(dsc, confidence)
        out["dice_n"], out["dice_n_undefined"] = summary.n, summary.n_undefined
    if xa.size < min_n:
        return out
    r2 = r_squared(xa, ya, confidence, nan_policy="propagate", method=r2_method)
    ccc = lins_ccc(xa, ya, confidence, nan_policy="propagate")
    out.update(pearson_r=r2.pearson_r, r2=r2.r_squared, r2_ci_low=r2.ci_low,
               r2_ci_high=r2.ci_high, ccc=ccc.ccc, ccc_ci_low=ccc.ci_low,
               ccc_ci_high=ccc.ci_high)
    if dsc is not None:
        out.update(dice=summary.mean, dice_ci_low=summary.ci_low, dice_ci_high=summary.ci_high)
    return out


def agreement(frame: pd.DataFrame, pred: str, ref: str, by: str | None = None,
              dice: str | None = None, order: Sequence[Any] | None = None,
              confidence: float = 0.95, min_n: int = 3, nan_policy: NanPolicy = "raise",
              r2_method: Literal["fisher", "olkin-finn"] = "fisher",
              wide: bool = True) -> pd.DataFrame:
    """Volume agreement overall and per group, in the layout of Table 2.

    Parameters
    ----------
    frame
        One row per subject.
    pred, ref
        Columns of predicted and reference volumes (e.g. predicted LA volume
        and registered LA volume on CT, or WMH volume on FLAIR).
    by
        Grouping column (e.g. ``"ct_vendor"``, or the output of
        :func:`infarct_group`), or ``None`` for the whole sample only.
    dice
        Optional column of per-subject Dice values; adds mean DSC with a
        t-based CI (:func:`dice_summary`; NaN = undefined, counted).
    order
        Order of the group columns (e.g. :data:`leukoct.schema.VENDORS`).
        Groups listed but absent get a column with n = 0; groups present but
        not listed follow in order of appearance.  Without ``order`` the
        categories of a categorical column, else the order of appearance.
    confidence
        Confidence level of every interval.
    min_n
        Groups with fewer usable pairs get NaN metrics (not an exception);
        ``n`` is still recorded.  Default 3, the least n for which a
        correlation has a residual degree of freedom.
    nan_policy
        For the ``pred``/``ref`` pairs: ``"raise"`` (default), ``"omit"``
        (dropped pairs are counted in the ``n_omitted`` row) or
        ``"propagate"``.
    r2_method
        Interval of :math:`r^2`, see :func:`r_squared`.
    wide
        ``True`` (default): one column per group, ``"All"`` first, one row
        per statistic (Table 2's layout), all values float (counts too).
        ``False``: one row per group, counts as nullable integers.

    Returns
    -------
    pandas.DataFrame
        Rows (or columns when ``wide=False``) are :data:`AGREEMENT_ROWS`.
        Subjects whose group is missing count in ``"All"`` and get their own
        column ``"missing"``, so that none disappears from the table.

    References
    ----------
    .. [1] Ryu WS et al., Table 2 (per CT vendor) and Figure S3 (per
       infarct-volume group).
    """
    confidence = _check_confidence(confidence)
    if min_n < 2:
        raise ValueError(f"min_n must be at least 2, got {min_n}")
    columns = [pred, ref] + ([by] if by else []) + ([dice] if dice else [])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"columns not in frame: {missing}; available: {list(frame.columns)}")

    def values(sub: pd.DataFrame, column: str) -> np.ndarray:
        return _as_float_vector(sub[column], column)

    def column(sub: pd.DataFrame, group: Any) -> dict[str, float]:
        return _agreement_column(values(sub, pred), values(sub, ref),
                                 values(sub, dice) if dice else None,
                                 confidence, min_n, nan_policy, r2_method, (pred, ref), group)

    results: dict[Any, dict[str, float]] = {ALL: column(frame, ALL)}
    if by is not None:
        keys = frame[by]
        for group in _group_order(keys, order):
            in_group = (keys == group).fillna(False).to_numpy(dtype=bool)
            results[group] = column(frame.loc[in_group], group)
        if keys.isna().any():
            results[MISSING_GROUP] = column(frame.loc[keys.isna().to_numpy()], MISSING_GROUP)
    table = pd.DataFrame.from_dict(results, orient="index", columns=list(AGREEMENT_ROWS))
    count_rows = ["n", "n_omitted", "dice_n", "dice_n_undefined"]
    if not dice:
        table = table.drop(columns=[c for c in AGREEMENT_ROWS if c.startswith("dice")])
        count_rows = ["n", "n_omitted"]
    table.index.name = by or "group"
    if wide:
        return table.astype(float).T.rename_axis("statistic")
    table[count_rows] = table[count_rows].astype("Int64")
    return table


# --------------------------------------------------------------------------
# infarct-volume groups
# --------------------------------------------------------------------------

def infarct_group(volume_ml: ArrayLike, threshold: float = 10.0) -> pd.Series:
    """Label infarct core volumes as ``"≤10 mL"`` or ``">10 mL"``.

    The paper stratifies the external test set by DWI infarct core volume
    (> 10 mL, n = 99, versus ≤ 10 mL, n = 312; Figure S3).  A volume equal to
    the threshold belongs to the lower group.

    Parameters
    ----------
    volume_ml
        Infarct core volumes in mL (a Series keeps its index).
    threshold
        Cut-off in mL; the labels follow it (``f"≤{threshold:g} mL"``).

    Returns
    -------
    pandas.Series
        Categorical with categories ``["≤10 mL", ">10 mL"]`` in that order.
        Missing volumes stay missing (NaN), never silently put in a group: the
        caller reports them (:func:`agreement` in a ``"missing"`` column,
        :func:`leukoct.evaluation.infarct_agreement` in its footnotes).

    Raises
    ------
    ValueError
        A volume is negative or infinite, or the threshold is negative.

    References
    ----------
    .. [1] Ryu WS et al., Results ("stratification by infarct core volume")
       and Figure S3.
    """
    threshold = float(threshold)
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite volume >= 0 mL, got {threshold}")
    index = volume_ml.index if isinstance(volume_ml, pd.Series) else None
    name = volume_ml.name if isinstance(volume_ml, pd.Series) else "infarct_group"
    vol = _as_float_vector(volume_ml, "volume_ml")
    negative = vol < 0
    if negative.any():
        where = np.flatnonzero(negative)[:10].tolist()
        raise ValueError(f"{int(negative.sum())} negative infarct volume(s) at positions "
                         f"{where}; volumes are in mL and cannot be negative")
    low, high = f"≤{threshold:g} mL", f">{threshold:g} mL"
    labels = np.where(np.isnan(vol), None, np.where(vol > threshold, high, low))
    return pd.Series(pd.Categorical(labels, categories=[low, high]), index=index, name=name)
