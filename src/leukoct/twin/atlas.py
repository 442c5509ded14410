"""The MNI152 head model every synthetic subject is warped from.

Loaded once per process (``functools.lru_cache``) because each worker of the
process pool draws many subjects from the same template.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from scipy import ndimage

#: Margin (mm) added around the template so that skull and scalp fit on the grid.
PAD_MM = 24.0
#: Depth below the brain surface beyond which CSF is counted as ventricle.
VENTRICLE_DEPTH_MM = 22.0


@dataclass(frozen=True)
class Atlas:
    """Tissue maps of the padded MNI152 template.

    Attributes
    ----------
    gm, wm, csf
        Tissue probabilities (float32, summing to the brain mask).
    brain_sdist
        Signed distance to the brain-mask surface in mm (negative inside).
    vent_dist
        Distance to the nearest ventricle voxel in mm (0 inside).
    affine
        Voxel-to-world (MNI mm, RAS) affine of the padded grid.
    voxel_mm
        Isotropic voxel size.
    """

    gm: np.ndarray
    wm: np.ndarray
    csf: np.ndarray
    brain_sdist: np.ndarray
    vent_dist: np.ndarray
    affine: np.ndarray
    voxel_mm: float

    @property
    def shape(self) -> tuple[int, int, int]:
        return self.gm.shape  # type: ignore[return-value]

    @property
    def voxel_ml(self) -> float:
        return self.voxel_mm ** 3 / 1000.0


@lru_cache(maxsize=2)
def load_atlas(resolution_mm: int = 2) -> Atlas:
    """Load and pad the MNI152 templates shipped with nilearn (no network).

    Parameters
    ----------
    resolution_mm
        1 or 2 (mm).

    Returns
    -------
    Atlas
        The cached head model.
    """
    if resolution_mm not in (1, 2):
        raise ValueError(f"atlas resolution must be 1 or 2 mm, not {resolution_mm}")
    from nilearn import datasets  # imported lazily: nilearn import is slow

    gm_img = datasets.load_mni152_gm_template(resolution=resolution_mm)
    gm = np.asarray(gm_img.get_fdata(), dtype=np.float32)
    wm = np.asarray(datasets.load_mni152_wm_template(resolution=resolution_mm).get_fdata(),
                    dtype=np.float32)
    mask = np.asarray(datasets.load_mni152_brain_mask(resolution=resolution_mm).get_fdata()) > 0
    gm, wm = gm * mask, wm * mask
    total = gm + wm
    over = total > 1
    gm[over] /= total[over]
    wm[over] /= total[over]

    pad = int(round(PAD_MM / resolution_mm))
    # The template's grid cuts the brainstem at its lower edge: extend it
    # downwards (edge mode) so no skull is drawn across the brainstem.
    def _pad(a: np.ndarray) -> np.ndarray:
        lower = np.pad(a, ((0, 0), (0, 0), (pad, 0)), mode="edge")
        return np.pad(lower, ((pad, pad), (pad, pad), (0, pad)), mode="constant")

    gm, wm, mask = _pad(gm), _pad(wm), _pad(mask)
    csf = np.clip(mask - gm - wm, 0.0, 1.0).astype(np.float32)
    affine = gm_img.affine.copy()
    affine[:3, 3] -= pad * resolution_mm

    voxel = float(resolution_mm)
    inside = ndimage.distance_transform_edt(mask) * voxel
    outside = ndimage.distance_transform_edt(~mask) * voxel
    sdist = np.where(mask, -inside + voxel / 2, outside - voxel / 2).astype(np.float32)

    ventricles = (csf > 0.5) & (inside > VENTRICLE_DEPTH_MM)
    ventricles = ndimage.binary_opening(ventricles, iterations=1)
    vent_dist = (ndimage.distance_transform_edt(~ventricles) * voxel).astype(np.float32)
    return Atlas(gm=gm, wm=wm, csf=csf, brain_sdist=sdist, vent_dist=vent_dist,
                 affine=affine, voxel_mm=voxel)
