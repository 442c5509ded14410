"""The Dice similarity coefficient of two masks, its mean over subjects with a CI, and the
volumes of agreeing and disagreeing voxels."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import stats

from leukoct.metrics._common import (
    ArrayLike,
    _as_float_vector,
    _as_mask,
    _check_confidence,
    _Result,
)


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


@dataclass(frozen=True)
class VoxelVolumes(_Result):
    """Volumes (mL) of the voxels two masks agree and disagree on.

    Attributes
    ----------
    both_ml
        Lesion in both (correctly segmented, taking ``ref`` as the truth).
    pred_only_ml
        Lesion in ``pred`` only (false positive).
    ref_only_ml
        Lesion in ``ref`` only (missed).
    """

    both_ml: float
    pred_only_ml: float
    ref_only_ml: float


def voxel_volumes(pred: ArrayLike, ref: ArrayLike, voxel_ml: float) -> VoxelVolumes:
    """Volumes of correctly and incorrectly segmented voxels (Pitkänen et al. 2020, Fig. 2b).

    Dice is ``2 * both / (2 * both + pred_only + ref_only)`` of these volumes;
    seed 003 plots the three against the lesion volume to show where a CT
    segmentation errs (small lesions missed, large ones over-grown).

    Parameters
    ----------
    pred, ref
        Binary masks of one shape (as for :func:`dice`).
    voxel_ml
        Volume of one voxel in mL.
    """
    p = _as_mask(pred, "pred")
    r = _as_mask(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape} "
                         "(resample the prediction onto the reference grid first)")
    if not voxel_ml > 0:
        raise ValueError(f"voxel_ml must be positive, not {voxel_ml}")
    both = int(np.count_nonzero(p & r))
    return VoxelVolumes(both_ml=both * voxel_ml,
                        pred_only_ml=(int(np.count_nonzero(p)) - both) * voxel_ml,
                        ref_only_ml=(int(np.count_nonzero(r)) - both) * voxel_ml)




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
