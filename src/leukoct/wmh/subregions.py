"""Periventricular and deep WMH: seed 002's split by distance from the ventricles.

Kim et al. (seed 002) segment the ventricles on FLAIR, take "a distance
transform based on the OpenCV algorithm" to define the periventricular region
within 10 and 7.5 mm of the ventricular surface, call WMH inside it
periventricular and WMH outside it deep, and report the DSC of each (10 mm:
0.751 vs 0.617, P < .001).  OpenCV's distance transform is a 2-D one, so the
distance here is measured within each axial slice, in mm of the slice's own
pixel spacing: with 5 mm FLAIR slices a 3-D distance would be dominated by
the slice gap.  The ventricles themselves count as periventricular (a WMH
voxel labelled inside them is next to the surface, not deep).

Pure functions on arrays; the step (:mod:`leukoct.wmh.step`) reads the masks.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike
from scipy import ndimage

from leukoct.metrics import dice

#: Seed 002's two definitions of the periventricular region (mm from the ventricular surface).
DISTANCES_MM = (10.0, 7.5)
#: Seed 002, Results: DSC of periventricular vs deep WMH, per definition.
SEED002_SUBREGION_DSC = {10.0: (0.751, 0.617), 7.5: (0.751, 0.628)}


def periventricular_region(ventricles: ArrayLike, spacing: tuple[float, ...],
                           distance_mm: float) -> np.ndarray:
    """Voxels within ``distance_mm`` of the ventricles, slice by slice (axis 2).

    Parameters
    ----------
    ventricles
        Binary ventricle mask, shape (x, y, z).
    spacing
        Voxel spacing in mm; the first two entries (in-plane) are used.
    distance_mm
        Width of the periventricular band.

    Returns
    -------
    numpy.ndarray
        Boolean mask: the ventricles and every voxel whose in-plane Euclidean
        distance to a ventricle voxel is at most ``distance_mm``.  A slice
        without ventricles has no periventricular region.
    """
    vent = np.asarray(ventricles) > 0
    if vent.ndim != 3:
        raise ValueError(f"the ventricle mask must be 3-D (x, y, z), not {vent.ndim}-D")
    if distance_mm < 0:
        raise ValueError(f"distance_mm must be >= 0, not {distance_mm}")
    sampling = (float(spacing[0]), float(spacing[1]))
    region = np.zeros(vent.shape, dtype=bool)
    for z in range(vent.shape[2]):
        if vent[:, :, z].any():
            distance = ndimage.distance_transform_edt(~vent[:, :, z], sampling=sampling)
            region[:, :, z] = distance <= distance_mm
    return region


def subregion_dice(pred: ArrayLike, ref: ArrayLike, ventricles: ArrayLike,
                   spacing: tuple[float, ...],
                   distances_mm: tuple[float, ...] = DISTANCES_MM) -> dict[str, float]:
    """DSC of the periventricular and of the deep part of a WMH mask, per band width.

    Returns ``{"periventricular_<d>mm": DSC, "deep_<d>mm": DSC}`` for each
    distance ``d`` (``10mm``, ``7.5mm``); NaN where neither mask has WMH in
    that part (:func:`leukoct.metrics.dice`'s undefined case).
    """
    pred, ref = np.asarray(pred) > 0, np.asarray(ref) > 0
    if pred.shape != ref.shape or pred.shape != np.shape(ventricles):
        raise ValueError(f"masks of different shapes: prediction {pred.shape}, reference "
                         f"{ref.shape}, ventricles {np.shape(ventricles)}")
    out: dict[str, float] = {}
    for d in distances_mm:
        region = periventricular_region(ventricles, spacing, d)
        tag = f"{d:g}mm"
        out[f"periventricular_{tag}"] = dice(pred & region, ref & region)
        out[f"deep_{tag}"] = dice(pred & ~region, ref & ~region)
    return out
