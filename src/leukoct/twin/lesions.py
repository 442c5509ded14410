"""Lesions in subject space: LA/WMH, acute infarct, hemorrhage or tumor.

Lesions are grown to an exact voxel count (the drawn volume) by ranking a
score, so the true volume is known without thresholding guesswork.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage

from leukoct.metrics import dice
from leukoct.twin.anatomy import Anatomy


def smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma_vox: float) -> np.ndarray:
    """Gaussian random field with unit SD and correlation length ``sigma_vox``."""
    field = ndimage.gaussian_filter(rng.standard_normal(shape).astype(np.float32), sigma_vox)
    return field / max(float(field.std()), 1e-6)


def bounding_box(mask: np.ndarray, margin: int) -> tuple[slice, ...]:
    """Slices of the bounding box of ``mask`` grown by ``margin`` voxels."""
    idx = np.argwhere(mask)
    lo = np.maximum(idx.min(axis=0) - margin, 0)
    hi = np.minimum(idx.max(axis=0) + margin + 1, mask.shape)
    return tuple(slice(int(a), int(b)) for a, b in zip(lo, hi))


def top_n(score: np.ndarray, n: int) -> np.ndarray:
    """Boolean mask of the ``n`` highest finite scores (ties by position)."""
    flat = score.ravel()
    out = np.zeros(flat.size, dtype=bool)
    n = int(min(max(n, 0), np.isfinite(flat).sum()))
    if n:
        out[np.argpartition(-flat, n - 1)[:n]] = True
    return out.reshape(score.shape)


def volume_preserving_mask(fraction: np.ndarray, volume_ml: float, voxel_ml: float) -> np.ndarray:
    """Binarise a resampled partial-volume map keeping the true volume.

    A fixed 0.5 threshold on thick slices erodes thin lesions; taking the
    voxels of highest lesion fraction up to the true volume keeps the
    volume, which is what the twin's truth is about.
    """
    n = int(round(volume_ml / voxel_ml))
    return top_n(np.where(fraction > 0.02, fraction, -np.inf), n)


@dataclass
class LesionField:
    """The LA mask and the score it was grown from (inside a bounding box)."""

    mask: np.ndarray        # full grid, bool
    score: np.ndarray       # box grid, -inf where lesions cannot be
    box: tuple[slice, ...]
    periventricular_mm: float
    deep_weight: float


def grow_la(anat: Anatomy, rng: np.random.Generator, volume_ml: float,
            exclude: np.ndarray | None = None) -> LesionField:
    """Grow periventricular caps/bands and deep blobs to ``volume_ml``.

    The score is a periventricular term (decaying with distance from the
    ventricles, stronger at the frontal and occipital horns) plus smooth
    random fields for deep confluent and punctate lesions; the top voxels
    inside white matter become the lesion.
    """
    box = bounding_box(anat.wm > 0.1, margin=2)
    wm, vent, sdist = anat.wm[box], anat.vent_dist[box], anat.sdist[box]
    candidates = (wm > 0.5) & (sdist < -3.0) & (vent > 0)
    if exclude is not None:
        candidates &= ~exclude[box]
    scale = rng.uniform(4.0, 8.0)
    deep_weight = rng.uniform(0.25, 0.9)
    _, y, _ = anat.world_axes()
    # Caps at the horns: periventricular lesions are thicker anteriorly and posteriorly.
    horn = 1.0 + 0.5 * np.abs(y[box[1]] + 18.0)[None, :, None] / 60.0
    sigma = 4.0 / anat.voxel_mm
    shape = wm.shape
    # Mostly confluent (smooth field), with a few punctate deep foci.
    score = (np.exp(-vent / scale) * horn
             + deep_weight * (0.4 * smooth_noise(rng, shape, sigma)
                              + 0.08 * smooth_noise(rng, shape, max(sigma / 3.0, 0.6))))
    score = np.where(candidates, score, -np.inf).astype(np.float32)
    n = int(round(volume_ml / anat.voxel_ml))
    mask = np.zeros(anat.wm.shape, dtype=bool)
    mask[box] = top_n(score, n)
    return LesionField(mask=mask, score=score, box=box, periventricular_mm=float(scale),
                       deep_weight=float(deep_weight))


def perturbed_copy(field: LesionField, rng: np.random.Generator, target_dice: float,
                   volume_factor: float, sigma_vox: float = 1.5) -> tuple[np.ndarray, float]:
    """A segmentation of the lesion with about ``target_dice`` overlap.

    Smooth noise of increasing amplitude is added to the lesion score
    (bisection), which moves borders, drops faint blobs and adds false
    ones, like a real segmenter or rater; ``volume_factor`` biases the
    segmented volume.

    Returns
    -------
    mask, dice
        The full-grid mask and its Dice against the true lesion.
    """
    truth = field.mask[field.box]
    n = int(round(truth.sum() * volume_factor))
    noise = smooth_noise(rng, truth.shape, sigma_vox)
    finite = np.isfinite(field.score)
    spread = float(field.score[finite].std()) if finite.any() else 1.0
    lo, hi = 0.0, 4.0 * spread
    best, best_d = top_n(field.score, n), 0.0
    best_d = dice(best, truth, empty=1.0)
    for _ in range(12):
        amp = 0.5 * (lo + hi)
        candidate = top_n(field.score + amp * noise, n)
        d = dice(candidate, truth, empty=1.0)
        if abs(d - target_dice) < abs(best_d - target_dice):
            best, best_d = candidate, d
        if d > target_dice:
            lo = amp
        else:
            hi = amp
    mask = np.zeros(field.mask.shape, dtype=bool)
    mask[field.box] = best
    return mask, float(best_d)


def blob(anat: Anatomy, rng: np.random.Generator, volume_ml: float, min_depth_mm: float,
         exclude: np.ndarray | None = None) -> np.ndarray:
    """An irregular ellipsoidal blob of ``volume_ml`` inside the brain.

    Used for the acute infarct and for hemorrhage/tumor.  The centre is a
    random brain voxel at least ``min_depth_mm`` deep.
    """
    mask = np.zeros(anat.gm.shape, dtype=bool)
    n = int(round(volume_ml / anat.voxel_ml))
    if n <= 0:
        return mask
    sites = np.argwhere((anat.sdist < -min_depth_mm) & (anat.gm + anat.wm > 0.8))
    centre = sites[rng.integers(len(sites))]
    radius = (3 * n / (4 * np.pi)) ** (1 / 3)
    half = int(np.ceil(2.2 * radius)) + 3
    box = tuple(slice(max(int(c) - half, 0), min(int(c) + half + 1, s))
                for c, s in zip(centre, mask.shape))
    grids = np.meshgrid(*(np.arange(b.start, b.stop) - c for b, c in zip(box, centre)),
                        indexing="ij")
    axes = rng.uniform(0.7, 1.4, size=3)
    dist = np.sqrt(sum((g / a) ** 2 for g, a in zip(grids, axes)))
    dist = dist + 0.35 * radius * smooth_noise(rng, dist.shape, 1.5)
    allowed = anat.brain[box] > 0.5
    if exclude is not None:
        allowed &= ~exclude[box]
    mask[box] = top_n(np.where(allowed, -dist, -np.inf), n)
    return mask
