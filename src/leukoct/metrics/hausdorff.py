"""The Hausdorff distance of two masks, as seed 002 defines it, and its 95th percentile.

Kim et al. (AJNR 2024, seed 002, "Evaluation metrics") define the distance on
the two *point sets* -- every voxel of the reference WMH :math:`X` and of the
predicted WMH :math:`Y`:

.. math::

    hd(X, Y) = \\max_{x \\in X} \\min_{y \\in Y} \\lVert x - y \\rVert,\\qquad
    HD(X, Y) = \\max[hd(X, Y), hd(Y, X)].

MONAI's ``compute_hausdorff_distance`` measures between the masks' *edges*
instead, which differs when a mask has a hole (the centre of a ring is far
from the ring's edge yet inside the set), so it is not used for the seed's
number; on solid blobs the two agree (``tests/test_metrics_hausdorff.py``
checks both).  The exact Euclidean distance transform of one mask, read at the
other's voxels, gives every directed distance at once (scipy).

HD95 is the usual robust variant: the larger of the two directed distances'
95th percentiles over the same point sets.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from leukoct.metrics._common import ArrayLike, _as_mask, _Result


@dataclass(frozen=True)
class HausdorffResult(_Result):
    """Hausdorff distances of two masks (in the units of ``spacing``, mm).

    Attributes
    ----------
    hd
        :math:`\\max[hd(X, Y), hd(Y, X)]`, the seed's HD.
    hd95
        The larger of the two directed distances' 95th percentiles.
    hd_pred_to_ref, hd_ref_to_pred
        The directed distances :math:`hd(Y, X)` and :math:`hd(X, Y)`.
    """

    hd: float
    hd95: float
    hd_pred_to_ref: float
    hd_ref_to_pred: float


def _directed(source: np.ndarray, target: np.ndarray, spacing: Sequence[float]) -> np.ndarray:
    """Distance from each voxel of ``source`` to the nearest voxel of ``target``."""
    # distance_transform_edt measures to the nearest zero: zeros where target is.
    return ndimage.distance_transform_edt(~target, sampling=spacing)[source]


def hausdorff(pred: ArrayLike, ref: ArrayLike, spacing: Sequence[float] | None = None,
              percentile: float = 95.0) -> HausdorffResult:
    """Hausdorff distance (and HD95) between a predicted and a reference mask.

    Parameters
    ----------
    pred, ref
        Binary masks of the same shape (boolean, or 0/1).
    spacing
        Voxel size per axis (mm); default 1 per axis, i.e. distances in voxels.
    percentile
        The robust variant's percentile (95 for HD95).

    Returns
    -------
    HausdorffResult
        All distances are NaN when either mask is empty: a distance to the
        empty set is undefined (the caller counts such subjects, as
        :func:`leukoct.metrics.dice_summary` counts undefined DSCs).

    Raises
    ------
    ValueError
        Shapes differ, a mask is not binary, or ``spacing`` has the wrong
        length or a non-positive entry.
    """
    p = _as_mask(pred, "pred")
    r = _as_mask(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape}")
    if spacing is None:
        spacing = (1.0,) * p.ndim
    spacing = tuple(float(s) for s in spacing)
    if len(spacing) != p.ndim or min(spacing) <= 0:
        raise ValueError(f"spacing must give {p.ndim} positive voxel sizes (mm), got {spacing}")
    if not 0 < percentile <= 100:
        raise ValueError(f"percentile must lie in (0, 100], got {percentile}")
    if not p.any() or not r.any():
        nan = float("nan")
        return HausdorffResult(nan, nan, nan, nan)
    d_pr = _directed(p, r, spacing)
    d_rp = _directed(r, p, spacing)
    return HausdorffResult(
        hd=float(max(d_pr.max(), d_rp.max())),
        hd95=float(max(np.percentile(d_pr, percentile), np.percentile(d_rp, percentile))),
        hd_pred_to_ref=float(d_pr.max()),
        hd_ref_to_pred=float(d_rp.max()),
    )
