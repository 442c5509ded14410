"""Lesion-wise detection: recall, precision and F1 over connected lesions (seed 004).

A voxel-wise Dice is dominated by the large confluent lesions: a model that
gets one periventricular cap right and misses ten small deep lesions still
scores well.  Zhao et al. (Front Neurosci 2024, seed 004, "Evaluation") count
lesions instead: "a lesion was said to be correctly identified if at least 40 %
of the lesioned pixels were correctly marked by the prediction model", and
report recall by lesion size -- small (< 20), medium (20-150) and large
(> 150) "pixel*spacing" -- 61.07, 77.24 and 95.11 % on their external set.

Reading of the seed, stated because it is not spelled out there:

* lesions are connected components of each **axial slice** (the seed's model
  and its counts are 2-D; ``per_slice=False`` labels in 3-D instead), with
  face connectivity;
* a lesion's size is its area in mm² (pixel count × pixel area: the seed's
  "pixel*spacing" for pixels of 1 mm, as its resampled slices are);
* precision applies the same 40 % rule the other way: a predicted lesion is
  correct when at least 40 % of its pixels lie in the reference mask;
* F1 is the harmonic mean of lesion-wise recall and precision.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from leukoct.metrics._common import ArrayLike, _as_mask

#: Seed 004's lesion sizes (mm²): small < 20, medium 20-150, large > 150.
SIZE_EDGES: tuple[float, float] = (20.0, 150.0)
SIZES: tuple[str, ...] = ("small", "medium", "large")

#: Seed 004's share of reference lesions found, external test set (Results).
SEED004_RECALL: dict[str, float] = {"small": 0.6107, "medium": 0.7724, "large": 0.9511}

#: Share of a lesion's voxels that must be covered for it to count (seed 004).
DETECTION_FRACTION = 0.40


@dataclass(frozen=True)
class Lesion:
    """One connected lesion: its size, and how much of it the other mask covers."""

    size: float
    covered: float


def _lesions(mask: np.ndarray, other: np.ndarray, area: float, per_slice: bool) -> list[Lesion]:
    """Connected lesions of ``mask`` with the share of each that ``other`` covers."""
    out: list[Lesion] = []
    planes = ([(mask[..., k], other[..., k]) for k in range(mask.shape[-1])]
              if per_slice else [(mask, other)])
    for m, o in planes:
        labels, n = ndimage.label(m)
        if n == 0:
            continue
        idx = np.arange(1, n + 1)
        count = ndimage.sum_labels(np.ones_like(m, dtype=np.int64), labels, idx)
        hit = ndimage.sum_labels(o, labels, idx)
        out.extend(Lesion(float(c) * area, float(h) / float(c)) for c, h in zip(count, hit))
    return out


def size_class(size: float, edges: tuple[float, float] = SIZE_EDGES) -> str:
    """Seed 004's size class of a lesion: "small" (< 20), "medium" (20-150) or "large" (> 150)."""
    if size < edges[0]:
        return "small"
    return "medium" if size <= edges[1] else "large"


def lesionwise(pred: ArrayLike, ref: ArrayLike, spacing: Sequence[float] | None = None,
               per_slice: bool = True, fraction: float = DETECTION_FRACTION,
               edges: tuple[float, float] = SIZE_EDGES) -> pd.DataFrame:
    """Lesion-wise recall, precision and F1 of one subject, overall and by size.

    Parameters
    ----------
    pred, ref
        Binary masks of the same shape; with ``per_slice`` the last axis is
        the slice axis.
    spacing
        Voxel size per axis (mm); default 1 mm.  With ``per_slice`` a lesion's
        size is its area (mm²: the first two spacings), else its volume (mm³).
    per_slice
        Lesions are 2-D components of each slice (seed 004), or 3-D components.
    fraction
        Share of a lesion that must be covered for it to count as found.
    edges
        The small/medium and medium/large size limits; seed 004's by default.

    Returns
    -------
    pandas.DataFrame
        One row per size bin and an ``all`` row: ``n_ref`` reference lesions,
        ``n_found`` of them found, ``n_pred`` predicted lesions, ``n_correct``
        of them correct, ``recall``, ``precision`` and ``f1`` (NaN where a
        denominator is zero: no lesion of that size to find or predicted).
        Counts, not only shares, so that subjects can be pooled.
    """
    p = _as_mask(pred, "pred")
    r = _as_mask(ref, "ref")
    if p.shape != r.shape:
        raise ValueError(f"pred and ref must have the same shape, got {p.shape} and {r.shape}")
    if spacing is None:
        spacing = (1.0,) * p.ndim
    if len(spacing) != p.ndim or min(spacing) <= 0:
        raise ValueError(f"spacing must give {p.ndim} positive voxel sizes (mm), got {spacing}")
    if not 0 < fraction <= 1:
        raise ValueError(f"fraction must lie in (0, 1], got {fraction}")
    size_of = float(np.prod(spacing[:2] if per_slice else spacing))
    ref_lesions = _lesions(r, p, size_of, per_slice)
    pred_lesions = _lesions(p, r, size_of, per_slice)
    rows = []
    for name in (*SIZES, "all"):
        rl = [x for x in ref_lesions if name in ("all", size_class(x.size, edges))]
        pl = [x for x in pred_lesions if name in ("all", size_class(x.size, edges))]
        rows.append({"size": name, "n_ref": len(rl),
                     "n_found": sum(x.covered >= fraction for x in rl),
                     "n_pred": len(pl), "n_correct": sum(x.covered >= fraction for x in pl)})
    return lesion_scores(pd.DataFrame(rows))


def pool_lesions(lesions: pd.DataFrame, by: Sequence[str] = ()) -> pd.DataFrame:
    """Lesion-wise recall, precision and F1 pooled over subjects, by size.

    The counts of :func:`lesionwise` rows (any number of subjects) are summed
    per size (and per ``by`` column, e.g. the reference), then scored: a
    lesion-weighted share, as seed 004 reports it, not a mean of per-subject
    shares.
    """
    counts = ["n_ref", "n_found", "n_pred", "n_correct"]
    keys = [*by, "size"]
    pooled = lesions.groupby(keys, sort=False)[counts].sum().reset_index()
    order = {s: i for i, s in enumerate((*SIZES, "all"))}
    pooled["_order"] = pooled["size"].map(order)
    pooled = (pooled.sort_values([*by, "_order"], kind="stable").drop(columns="_order")
              .reset_index(drop=True))
    return lesion_scores(pooled)


def lesion_scores(counts: pd.DataFrame) -> pd.DataFrame:
    """Recall, precision and F1 from lesion counts (one subject's, or pooled sums).

    ``counts`` holds ``n_ref``, ``n_found``, ``n_pred`` and ``n_correct``;
    pooling subjects is ``frame.groupby("size")[counts].sum()`` then this.
    """
    out = counts.copy()
    with np.errstate(divide="ignore", invalid="ignore"):
        out["recall"] = np.where(out["n_ref"] > 0, out["n_found"] / out["n_ref"], np.nan)
        out["precision"] = np.where(out["n_pred"] > 0, out["n_correct"] / out["n_pred"], np.nan)
        s = out["recall"] + out["precision"]
        out["f1"] = np.where(s > 0, 2 * out["recall"] * out["precision"] / s,
                             np.where(s == 0, 0.0, np.nan))
    return out
