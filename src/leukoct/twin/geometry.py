"""Scanner grids, head poses and resampling from subject space.

A scanner grid has a plain axis-aligned affine (what its NIfTI header says);
the head lies in it with a rigid pose, so CT and FLAIR headers do not align
the two images: registration has work to do, as with real data.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import ndimage
from scipy.spatial.transform import Rotation


def rigid(rot_deg: np.ndarray, shift_mm: np.ndarray) -> np.ndarray:
    """4x4 rigid transform scanner -> head: rotate (xyz Euler, degrees), then shift."""
    m = np.eye(4)
    m[:3, :3] = Rotation.from_euler("xyz", rot_deg, degrees=True).as_matrix()
    m[:3, 3] = shift_mm
    return m


@dataclass(frozen=True)
class Grid:
    """An axis-aligned scanner grid: ``shape`` voxels of ``spacing`` mm."""

    shape: tuple[int, int, int]
    spacing: tuple[float, float, float]
    origin: tuple[float, float, float]

    @property
    def affine(self) -> np.ndarray:
        a = np.diag([*self.spacing, 1.0])
        a[:3, 3] = self.origin
        return a

    @classmethod
    def centred(cls, fov_mm: float, inplane_mm: float, z_range_mm: tuple[float, float],
                slice_mm: float) -> Grid:
        """A grid of ``fov_mm`` square slices centred on the isocentre."""
        n = int(round(fov_mm / inplane_mm))
        nz = int(np.ceil((z_range_mm[1] - z_range_mm[0]) / slice_mm))
        start = -(n - 1) * inplane_mm / 2
        return cls(shape=(n, n, nz), spacing=(inplane_mm, inplane_mm, slice_mm),
                   origin=(start, start, z_range_mm[0] + slice_mm / 2))


def resample(volume: np.ndarray, volume_affine: np.ndarray, grid: Grid,
             head_from_scanner: np.ndarray, n_sub: int = 1, cval: float = 0.0,
             order: int = 1) -> np.ndarray:
    """Sample a subject-space volume on a scanner grid, averaging sub-slices.

    Averaging ``n_sub`` thin sub-slices per slice is the partial-volume
    effect of a thick reconstruction.

    Parameters
    ----------
    volume, volume_affine
        Subject-space map and its voxel-to-world affine.
    grid
        The scanner grid.
    head_from_scanner
        Rigid pose (4x4) mapping scanner mm to subject world mm.
    n_sub
        Sub-slices per slice.
    """
    sub = np.diag([1.0, 1.0, 1.0 / n_sub, 1.0])
    sub[2, 3] = -0.5 + 0.5 / n_sub
    m = np.linalg.inv(volume_affine) @ head_from_scanner @ grid.affine @ sub
    shape = (grid.shape[0], grid.shape[1], grid.shape[2] * n_sub)
    out = ndimage.affine_transform(volume, m[:3, :3], offset=m[:3, 3], output_shape=shape,
                                   order=order, mode="constant", cval=cval, output=np.float32)
    if n_sub > 1:
        out = out.reshape(grid.shape[0], grid.shape[1], grid.shape[2], n_sub).mean(axis=3)
    return out
