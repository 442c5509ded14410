"""Reading images in a common orientation.

Scanners store axes in different orders; every image leukoct reads is
reoriented to the closest canonical (RAS+) orientation first, so that
``volume[:, :, k]`` is always an axial slice, foot to head.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import TYPE_CHECKING

import nibabel as nib
import numpy as np

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True)
class Volume:
    """An image array in RAS+ orientation with its voxel spacing in mm."""

    data: np.ndarray
    spacing: tuple[float, float, float]
    affine: np.ndarray

    @property
    def voxel_volume_ml(self) -> float:
        """Volume of one voxel in mL (1 mL = 1000 mm³)."""
        return float(np.prod(self.spacing)) / 1000.0

    def same_grid(self, other: Volume, atol: float = 1e-3) -> bool:
        """True when ``other`` has this volume's shape and (within ``atol`` mm) affine."""
        return self.data.shape == other.data.shape and np.allclose(self.affine, other.affine,
                                                                    atol=atol)


def load_volume(path: str | os.PathLike[str], dtype: type = np.float32) -> Volume:
    """Load a NIfTI file reoriented to RAS+.

    Raises
    ------
    ValueError
        If the file is not a 3-D image, naming the file.
    """
    image = nib.as_closest_canonical(nib.load(os.fspath(path)))
    if image.ndim != 3:
        raise ValueError(f"{path}: expected a 3-D image, found shape {image.shape}")
    data = np.asarray(image.dataobj, dtype=dtype)
    spacing = tuple(float(s) for s in image.header.get_zooms()[:3])
    return Volume(data=data, spacing=spacing, affine=image.affine)  # type: ignore[arg-type]


def mask_volume_ml(mask: np.ndarray, spacing: tuple[float, float, float]) -> float:
    """Volume of the voxels of ``mask`` that are > 0, in mL."""
    return float(np.count_nonzero(mask > 0) * np.prod(spacing) / 1000.0)


def densest_slice(mask: np.ndarray) -> int:
    """Index of the axial slice with the most voxels > 0 (the middle slice if none)."""
    counts = (mask > 0).reshape(-1, mask.shape[2]).sum(axis=0)
    return int(np.argmax(counts)) if counts.any() else mask.shape[2] // 2


def axial_height_mm(volume: Volume, index: int) -> float:
    """Scanner z coordinate (mm) of the centre of axial slice ``index``."""
    centre = np.array([(volume.data.shape[0] - 1) / 2, (volume.data.shape[1] - 1) / 2, index, 1.0])
    return float((volume.affine @ centre)[2])


def nearest_axial_slice(target: Volume, reference: Volume, index: int) -> int:
    """Slice of ``target`` whose height is closest to slice ``index`` of
    ``reference`` (both RAS+; a display aid, not a registration)."""
    z = axial_height_mm(reference, index)
    heights = np.array([axial_height_mm(target, k) for k in range(target.data.shape[2])])
    return int(np.argmin(np.abs(heights - z)))


def header_spacing(path: str | os.PathLike[str]) -> tuple[float, float, float]:
    """Voxel spacing (mm) in RAS+ order, read from the header only (no pixels)."""
    image = nib.as_closest_canonical(nib.load(os.fspath(path)))
    return tuple(float(s) for s in image.header.get_zooms()[:3])  # type: ignore[return-value]


def image_measurements(table: pd.DataFrame) -> pd.DataFrame:
    """Per subject: WMH mask volume on FLAIR (mL) and CT in-plane spacing (mm).

    Reads every WMH mask listed in ``table`` (``wmh_mask_path``) and the CT
    headers.  Subjects without the image get NaN, not a dropped row.
    """
    import pandas as pd

    rows = []
    for subject, ct, wmh in table[["subject_id", "ct_path", "wmh_mask_path"]].itertuples(
            index=False):
        row = {"subject_id": subject, "wmh_flair_ml": np.nan, "ct_inplane_mm": np.nan}
        if isinstance(wmh, str):
            mask = load_volume(wmh, dtype=np.uint8)
            row["wmh_flair_ml"] = mask_volume_ml(mask.data, mask.spacing)
        if isinstance(ct, str):
            row["ct_inplane_mm"] = float(np.mean(header_spacing(ct)[:2]))
        rows.append(row)
    return pd.DataFrame(rows).set_index("subject_id")
