"""Registration accuracy in millimetres: an estimated registration against a known geometry.

A FLAIR → CT registration (:mod:`leukoct.registration`) is, for every CT
point, a claim about where that point lies in the FLAIR.  When the true
answer is known — the digital twin writes it for every paired subject as
``truth/<id>_ct_to_flair_mm.nii.gz``, pose *and* non-linear warp together —
the registration's error is a distance in mm per CT point: the
*displacement error*

    e(c) = | T_estimated(c) - T_true(c) |,

summarised over the CT brain by its mean and 95th percentile.

Conventions.  Every point here is in NIfTI world coordinates (RAS mm): CT
points in the CT scanner frame, FLAIR points in the FLAIR scanner frame, each
the frame its own NIfTI header states.  ANTs works in ITK's LPS frame;
:func:`map_points` converts on the way in and out and lets ANTs itself apply
the transforms (:func:`ants.apply_transforms_to_points`).  ANTs' *forward*
transforms, which resample the moving FLAIR onto the fixed CT, map fixed-frame
points to moving-frame points, which is the direction measured here.

Layout read by :func:`cohort_errors`: the registration step's folder
(``subjects/<id>/`` with the transforms :func:`leukoct.registration.saved_transforms`
lists) and a twin's ``truth/`` folder (``<id>_ct_to_flair_mm.nii.gz``, and
``<id>_brain_ct.nii.gz``, the true brain on the CT grid, as the region).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd

from leukoct.images import Volume, load_volume

#: Twin truth files in ``truth/``: true CT -> FLAIR positions; the true brain on the CT grid.
GEOMETRY_SUFFIX = "_ct_to_flair_mm.nii.gz"
BRAIN_SUFFIX = "_brain_ct.nii.gz"

#: Columns of one pair's summary (:func:`error_summary`), mm except ``n_points``.
SUMMARY_COLUMNS = ("mean_mm", "median_mm", "p95_mm", "max_mm", "n_points")

_RAS_LPS = np.array([-1.0, -1.0, 1.0])


# --- the known geometry ------------------------------------------------------------------------

@dataclass(frozen=True)
class KnownGeometry:
    """True positions in the moving (FLAIR) frame of fixed (CT) points on a grid.

    Attributes
    ----------
    positions
        (nx, ny, nz, 3) moving-frame positions, RAS mm, of the grid's nodes.
    affine
        The nodes' voxel -> fixed-frame world (RAS mm) affine.
    """

    positions: np.ndarray
    affine: np.ndarray

    def __post_init__(self) -> None:
        if self.positions.ndim != 4 or self.positions.shape[-1] != 3:
            raise ValueError(f"positions must be (nx, ny, nz, 3); got {self.positions.shape}")

    @classmethod
    def read(cls, path: str | os.PathLike[str]) -> KnownGeometry:
        """A geometry file as the twin writes it (4-D NIfTI, last axis x y z)."""
        image = nib.load(os.fspath(path))
        data = np.asarray(image.dataobj, dtype=np.float64)
        if data.ndim == 5 and data.shape[3] == 1:  # (x, y, z, 1, 3), ITK's vector layout
            data = data[:, :, :, 0, :]
        return cls(positions=data, affine=np.asarray(image.affine, dtype=float))

    @classmethod
    def from_affine(cls, moving_from_fixed: np.ndarray, affine: np.ndarray,
                    shape: tuple[int, int, int]) -> KnownGeometry:
        """The geometry of a known linear map (4x4, fixed RAS mm -> moving RAS mm) on a grid."""
        fixed = grid_points(affine, shape)
        moving = fixed @ moving_from_fixed[:3, :3].T + moving_from_fixed[:3, 3]
        return cls(positions=moving.reshape(*shape, 3), affine=np.asarray(affine, dtype=float))

    @property
    def shape(self) -> tuple[int, int, int]:
        return tuple(self.positions.shape[:3])  # type: ignore[return-value]

    def fixed_points(self) -> np.ndarray:
        """(n, 3) fixed-frame world positions (RAS mm) of the nodes, C order."""
        return grid_points(self.affine, self.shape)

    def moving_points(self) -> np.ndarray:
        """(n, 3) true moving-frame positions of the nodes, in the order of :meth:`fixed_points`."""
        return self.positions.reshape(-1, 3)


def grid_points(affine: np.ndarray, shape: Sequence[int]) -> np.ndarray:
    """(n, 3) world positions of every voxel centre of a grid, C order."""
    ijk = np.stack(np.meshgrid(*(np.arange(n) for n in shape), indexing="ij"), axis=-1)
    ijk = ijk.reshape(-1, 3).astype(float)
    return ijk @ np.asarray(affine)[:3, :3].T + np.asarray(affine)[:3, 3]


def inside_mask(points: np.ndarray, mask: np.ndarray, mask_affine: np.ndarray) -> np.ndarray:
    """Whether each world point (RAS mm) falls in a voxel where ``mask`` is true (nearest voxel)."""
    inverse = np.linalg.inv(mask_affine[:3, :3])
    index = np.rint((np.asarray(points) - mask_affine[:3, 3]) @ inverse.T)
    index = index.astype(int)
    ok = np.all((index >= 0) & (index < np.asarray(mask.shape)), axis=1)
    out = np.zeros(len(index), dtype=bool)
    out[ok] = np.asarray(mask, dtype=bool)[tuple(index[ok].T)]
    return out


# --- the estimated geometry (ANTs) -------------------------------------------------------------

def ras_to_lps(points: np.ndarray) -> np.ndarray:
    """NIfTI world (RAS) <-> ITK physical (LPS) coordinates: x and y change sign (self-inverse)."""
    return np.asarray(points, dtype=float) * _RAS_LPS


lps_to_ras = ras_to_lps


def map_points(points: np.ndarray, transforms: Sequence[str | os.PathLike[str]]) -> np.ndarray:
    """Where a registration sends fixed-frame points in the moving frame.

    Parameters
    ----------
    points
        (n, 3) fixed-frame (CT) world positions, RAS mm.
    transforms
        ANTs forward transforms in :func:`ants.apply_transforms` order
        (:func:`leukoct.registration.saved_transforms`); empty: header alignment,
        each point keeps its world coordinates.

    Returns
    -------
    numpy.ndarray
        (n, 3) moving-frame (FLAIR) world positions, RAS mm.
    """
    points = np.asarray(points, dtype=float)
    if not len(transforms):
        return points.copy()
    import ants

    frame = pd.DataFrame(ras_to_lps(points), columns=["x", "y", "z"])
    moved = ants.apply_transforms_to_points(3, frame, [os.fspath(t) for t in transforms])
    return lps_to_ras(moved[["x", "y", "z"]].to_numpy(dtype=float))


# --- errors ------------------------------------------------------------------------------------

def displacement_errors(estimated: np.ndarray, true: np.ndarray) -> np.ndarray:
    """Euclidean distance (mm) between estimated and true positions, per point."""
    estimated, true = np.asarray(estimated, dtype=float), np.asarray(true, dtype=float)
    if estimated.shape != true.shape:
        raise ValueError(f"shapes differ: {estimated.shape} vs {true.shape}")
    return np.linalg.norm(estimated - true, axis=-1)


def error_summary(errors: np.ndarray) -> dict[str, float]:
    """Mean, median, 95th percentile and maximum of per-point errors (mm), and their count.

    An empty set of points gives NaN statistics and ``n_points`` 0.
    """
    errors = np.asarray(errors, dtype=float).ravel()
    if errors.size == 0:
        return {**{c: float("nan") for c in SUMMARY_COLUMNS[:-1]}, "n_points": 0}
    return {"mean_mm": float(errors.mean()), "median_mm": float(np.median(errors)),
            "p95_mm": float(np.percentile(errors, 95)), "max_mm": float(errors.max()),
            "n_points": int(errors.size)}


def registration_error(transforms: Sequence[str | os.PathLike[str]], geometry: KnownGeometry,
                       brain: Volume) -> dict[str, float]:
    """Displacement error of one registration inside the brain.

    Parameters
    ----------
    transforms
        The registration's forward transforms (empty: header alignment only).
    geometry
        The true fixed -> moving positions (:class:`KnownGeometry`).
    brain
        The region on the fixed (CT) grid, e.g. the CT brain mask; its affine
        places it in the fixed frame.

    Returns
    -------
    dict
        :func:`error_summary` of the errors at the geometry's nodes that fall
        inside ``brain``.
    """
    fixed = geometry.fixed_points()
    keep = inside_mask(fixed, brain.data > 0, brain.affine)
    estimated = map_points(fixed[keep], transforms)
    return error_summary(displacement_errors(estimated, geometry.moving_points()[keep]))


# --- I/O: one pair, one cohort -----------------------------------------------------------------

def pair_error(subject_dir: str | os.PathLike[str], geometry_file: str | os.PathLike[str],
               brain_file: str | os.PathLike[str]) -> dict[str, float]:
    """:func:`registration_error` of a registered subject's folder, with the header
    alignment's error beside it (``header_*``: no registration at all)."""
    from leukoct.registration import saved_transforms

    geometry = KnownGeometry.read(geometry_file)
    brain = load_volume(brain_file)
    header = registration_error([], geometry, brain)
    row = registration_error(saved_transforms(subject_dir), geometry, brain)
    return {**row, **{f"header_{k}": v for k, v in header.items() if k != "n_points"}}


def cohort_errors(registration_dir: str | os.PathLike[str], truth_dir: str | os.PathLike[str],
                  subjects: Iterable[str] | None = None) -> pd.DataFrame:
    """Per-pair displacement errors of a registration run against the twin's truth.

    Parameters
    ----------
    registration_dir
        The registration step's output folder (``subjects/<id>/`` per pair).
    truth_dir
        A twin study's ``truth/`` folder.
    subjects
        The pairs to measure; default: every registered subject with a truth
        geometry (sorted).

    Returns
    -------
    pandas.DataFrame
        One row per pair, indexed by ``subject_id``: :data:`SUMMARY_COLUMNS`
        and the same for header alignment (``header_mean_mm``, ...).  Empty
        (with those columns) when there is no truth, e.g. on real data.

    Raises
    ------
    FileNotFoundError
        If a requested subject has no registration folder or no truth file.
    """
    registration_dir, truth_dir = Path(registration_dir), Path(truth_dir)
    if subjects is None:
        subjects = sorted(p.name for p in (registration_dir / "subjects").glob("*")
                          if (truth_dir / f"{p.name}{GEOMETRY_SUFFIX}").is_file())
    columns = [*SUMMARY_COLUMNS, *(f"header_{c}" for c in SUMMARY_COLUMNS[:-1])]
    rows = {}
    for sid in subjects:
        folder = registration_dir / "subjects" / sid
        files = [truth_dir / f"{sid}{GEOMETRY_SUFFIX}", truth_dir / f"{sid}{BRAIN_SUFFIX}"]
        missing = [str(p) for p in (folder, *files) if not p.exists()]
        if missing:
            raise FileNotFoundError(f"{sid}: missing {', '.join(missing)}")
        rows[sid] = pair_error(folder, *files)
    table = pd.DataFrame.from_dict(rows, orient="index", columns=columns)
    table.index.name = "subject_id"
    return table
