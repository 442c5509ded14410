"""FLAIR → CT registration and the CT pseudo-labels it produces.

The paper makes its CT training labels without annotation: WMH segmented on
FLAIR are carried onto the paired CT by a non-rigid registration of the
skull-stripped FLAIR (moving) to the skull-stripped CT (fixed), and the
warped mask is thresholded at a probability of 0 (Methods, "Data preprocessing
and preparation").  This module does that with ANTs (antspyx):

* both images are skull-stripped (:mod:`leukoct.skullstrip`), the CT is
  windowed to the brain's HU, and both are resampled to a coarse isotropic
  grid (``resolution_mm``) for the optimisation only;
* mutual information drives rigid, then (optionally) affine and SyN stages;
* the transforms are applied to the WMH mask on the *full* CT grid: with
  linear interpolation for the probability map that is kept, and with
  nearest-neighbour label transfer for the pseudo-label (``carried mask >
  threshold``, 0 as in the Methods).  ``label_interpolation="linear"`` cuts the
  probability map instead, which at a threshold of 0 makes labels ~3x the WMH
  volume on 5 mm FLAIR slices (docs/decisions.md);
* QC numbers per pair (mutual information, brain-mask Dice, volumes,
  runtime) feed :func:`flag_registration_errors`, whose flagged subjects are
  the study's "registration error" exclusions.

Everything ANTs writes goes under the subject's own ``out_dir``.
"""

from __future__ import annotations

import os
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import ants
import numpy as np
import pandas as pd
from ants.internal import get_lib_fn, get_pointer_string, process_arguments
from scipy import ndimage

from leukoct.images import Volume
from leukoct.metrics import dice
from leukoct.settings import (  # noqa: F401 (re-exported: their home before)
    Iterations,
    RegistrationSettings,
    TransformType,
)
from leukoct.skullstrip import ball, ct_brain_mask, flair_brain_mask

#: Files written per subject (in ``out_dir``).
TRANSFORM_PREFIX = "flair_to_ct_"
PROBABILITY_FILE = "wmh_probability_ct.nii.gz"
PSEUDOLABEL_FILE = "wmh_pseudolabel_ct.nii.gz"
#: direction ct_to_flair (seed 003): the CT on the FLAIR grid and the label there,
#: the WMH mask as it was drawn.
CT_ON_FLAIR_FILE = "ct_on_flair.nii.gz"
FLAIR_LABEL_FILE = "wmh_label_flair.nii.gz"

#: The CT's HU window given to the optimiser (brain tissue and CSF).
CT_WINDOW_HU = (0.0, 80.0)

#: Stages run by each transform type.
STAGES: dict[str, tuple[str, ...]] = {
    "Identity": (),
    "Rigid": ("Rigid",),
    "Affine": ("Rigid", "Affine"),
    "SyNR": ("Rigid", "SyN"),
    "SyNRA": ("Rigid", "Affine", "SyN"),
}

ImageInput = str | os.PathLike[str] | Volume | ants.ANTsImage


@dataclass(frozen=True)
class RegistrationResult:
    """What :func:`register_pair` wrote and measured.

    Attributes
    ----------
    probability_path
        Warped WMH mask (float, 0-1) on the CT grid.
    pseudolabel_path
        ``probability > threshold`` (uint8) on the CT grid.
    transforms
        ANTs forward transforms (FLAIR → CT), in the order
        :func:`ants.apply_transforms` takes them.
    qc
        One flat row of QC numbers (see :func:`register_pair`).
    """

    probability_path: Path
    pseudolabel_path: Path
    transforms: list[Path]
    qc: dict[str, Any] = field(default_factory=dict)


# --- images in and out -------------------------------------------------------------------------

def to_ants(image: ImageInput) -> ants.ANTsImage:
    """An ANTs float image from a NIfTI path, a :class:`~leukoct.images.Volume` or an ANTs image.

    A path is read by ANTs as stored, so outputs written on its grid keep the
    file's own geometry; a ``Volume`` (RAS+ array and affine) is converted
    to ANTs' LPS physical space.
    """
    if isinstance(image, ants.ANTsImage):
        return image.clone("float")
    if isinstance(image, Volume):
        return volume_to_ants(image.data, image.affine)
    path = Path(image)
    if not path.exists():
        raise FileNotFoundError(f"{path}: no such image")
    img = ants.image_read(str(path))
    if img.dimension != 3:
        raise ValueError(f"{path}: expected a 3-D image, found {img.dimension}-D")
    return img.clone("float")


def volume_to_ants(data: np.ndarray, affine: np.ndarray) -> ants.ANTsImage:
    """ANTs image of ``data`` whose voxel → RAS mm map is ``affine`` (nibabel convention)."""
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ np.asarray(affine, dtype=float)
    spacing = np.linalg.norm(lps[:3, :3], axis=0)
    direction = lps[:3, :3] / spacing
    return ants.from_numpy(np.asarray(data, dtype=np.float32), origin=tuple(lps[:3, 3]),
                           spacing=tuple(spacing), direction=direction)


def _like(reference: ants.ANTsImage, data: np.ndarray) -> ants.ANTsImage:
    return ants.from_numpy(data, origin=reference.origin, spacing=reference.spacing,
                           direction=reference.direction)


def _to_grid(image: ants.ANTsImage, resolution_mm: float) -> ants.ANTsImage:
    return ants.resample_image(image, (resolution_mm,) * 3, use_voxels=False, interp_type=0)


# --- QC helpers ---------------------------------------------------------------------------------

def _overlap(a: np.ndarray, b: np.ndarray) -> float:
    """Dice of two brain masks (1.0 when both are empty)."""
    return dice(np.asarray(a, bool), np.asarray(b, bool), empty=1.0)


def mutual_information(fixed: ants.ANTsImage, moving: ants.ANTsImage) -> float:
    """Mattes mutual information of two images on the same grid (higher = better aligned)."""
    # ITK reports the negative MI (a cost to minimise).
    return -float(ants.image_similarity(fixed, moving, metric_type="MattesMutualInformation"))


def _linear_pose(transform_file: Path) -> tuple[float, float]:
    """Rotation (deg) and translation (mm) of an ANTs affine .mat file."""
    tx = ants.read_transform(str(transform_file))
    params = np.asarray(tx.parameters, dtype=float)
    matrix = params[:9].reshape(3, 3)
    u, _, vt = np.linalg.svd(matrix)
    rotation = u @ vt
    angle = np.degrees(np.arccos(np.clip((np.trace(rotation) - 1.0) / 2.0, -1.0, 1.0)))
    return float(angle), float(np.linalg.norm(params[9:12]))


# --- registration -------------------------------------------------------------------------------

def _levels(iterations: Sequence[int]) -> tuple[str, str, str]:
    n = len(iterations)
    shrink = "x".join(str(2**k) for k in reversed(range(n)))
    sigmas = "x".join(str(k) for k in reversed(range(n))) + "vox"
    return "x".join(str(int(i)) for i in iterations), shrink, sigmas


def _ants_arguments(fixed: ants.ANTsImage, moving: ants.ANTsImage, prefix: str,
                    settings: RegistrationSettings,
                    moving_mask: ants.ANTsImage | None = None) -> list[Any]:
    """The antsRegistration command line for ``settings.type_of_transform``."""
    s = settings
    masks = ["[NA,", moving_mask, "]"] if moving_mask is not None else "[NA,NA]"
    args: list[Any] = [
        "--dimensionality", "3", "--float", "1", "--collapse-output-transforms", "1",
        "--output", f"[{prefix}]", "--interpolation", "Linear",
        "--winsorize-image-intensities", "[0.005,0.995]", "--use-histogram-matching", "0",
        # Start from the brains' centres of mass: robust to large header offsets.
        "--initial-moving-transform", ["[", fixed, ",", moving, ",1]"],
        "--random-seed", str(s.seed), "--write-composite-transform", "0",
    ]
    for stage in STAGES[s.type_of_transform]:
        if stage == "SyN":
            its, shrink, sigmas = _levels(s.syn_iterations)
            transform = f"SyN[{s.syn_gradient_step},{s.syn_flow_sigma},{s.syn_total_sigma}]"
            metric = ["MI[", fixed, ",", moving, f",1,{s.mi_bins}]"]
        else:
            its, shrink, sigmas = _levels(s.iterations)
            transform = f"{stage}[{s.linear_gradient_step}]"
            metric = ["MI[", fixed, ",", moving, f",1,{s.mi_bins},Regular,{s.sampling_rate}]"]
        convergence = f"[{its},{s.convergence_threshold},{s.convergence_window}]"
        args += ["--transform", transform, "--metric", metric, "--convergence", convergence,
                 "--shrink-factors", shrink, "--smoothing-sigmas", sigmas, "--masks", masks]
    return args


def _flatten(args: list[Any]) -> list[Any]:
    """Join bracketed pieces holding images into single pointer-string arguments."""
    out: list[Any] = []
    for arg in args:
        if isinstance(arg, list):
            out.append("".join(get_pointer_string(a) if isinstance(a, ants.ANTsImage)
                               else str(a) for a in arg))
        else:
            out.append(arg)
    return out


def run_ants_registration(fixed: ants.ANTsImage, moving: ants.ANTsImage, out_dir: Path,
                          settings: RegistrationSettings,
                          moving_mask: ants.ANTsImage | None = None) -> list[Path]:
    """Register ``moving`` onto ``fixed``; return the forward transforms (apply order).

    ``moving_mask`` (non-zero = used) restricts the metric to part of the
    moving image.  Only the forward transforms are kept: the inverse warp is
    deleted, since nothing downstream maps CT back to FLAIR.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    prefix = str(out_dir / TRANSFORM_PREFIX)
    for old in out_dir.glob(f"{TRANSFORM_PREFIX}*"):
        old.unlink()  # stale transforms of an earlier run would be picked up below
    if settings.type_of_transform == "Identity":
        return []
    # ANTs' antsRegistration entry point takes pointer strings for in-memory images.
    fixed = fixed.clone("float")
    moving = moving.clone("float")
    if moving_mask is not None:
        moving_mask = (moving_mask.numpy() > 0).astype(np.uint8)
        moving_mask = ants.from_numpy(moving_mask, origin=moving.origin, spacing=moving.spacing,
                                      direction=moving.direction).clone("unsigned char")
    args = _flatten(_ants_arguments(fixed, moving, prefix, settings, moving_mask))
    code = get_lib_fn("antsRegistration")(process_arguments(args))
    if code != 0:
        raise RuntimeError(f"antsRegistration failed with exit code {code}")
    for inverse in out_dir.glob(f"{TRANSFORM_PREFIX}*InverseWarp.nii.gz"):
        inverse.unlink()
    return saved_transforms(out_dir)


def saved_transforms(folder: str | os.PathLike[str]) -> list[Path]:
    """The forward transforms a registration wrote into ``folder``, in the
    order :func:`ants.apply_transforms` takes them (empty for ``Identity``)."""
    files = sorted(Path(folder).glob(f"{TRANSFORM_PREFIX}[0-9]*"))
    # ANTs applies the last-listed transform first: warp, then affine.
    return list(reversed(files))


_THREADS_IN_EFFECT: list[int] = []


def _set_threads(threads: int) -> None:
    """Ask ITK for ``threads`` threads.

    ITK reads ``ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS`` once, when its thread
    pool is first created (measured: later changes leave the pool as it is),
    so the first registration of a process fixes the count; asking for
    another count later warns instead of silently giving a different run.
    """
    if _THREADS_IN_EFFECT:
        if _THREADS_IN_EFFECT[0] != threads:
            warnings.warn(f"ITK already runs {_THREADS_IN_EFFECT[0]} thread(s) in this process; "
                          f"threads={threads} takes effect only in a new process",
                          RuntimeWarning, stacklevel=3)
        return
    os.environ["ITK_GLOBAL_DEFAULT_NUMBER_OF_THREADS"] = str(int(threads))
    _THREADS_IN_EFFECT.append(int(threads))


def register_pair(ct: ImageInput, flair: ImageInput, wmh_mask: ImageInput, *,
                  settings: RegistrationSettings | None = None, out_dir: str | os.PathLike[str],
                  subject_id: str | None = None) -> RegistrationResult:
    """Register FLAIR onto CT, warp the WMH mask and write the CT pseudo-label.

    Parameters
    ----------
    ct
        Head CT in HU (fixed image): NIfTI path, ``Volume`` or ANTs image.
    flair
        FLAIR MRI (moving image), any grid and pose.
    wmh_mask
        WMH mask on the FLAIR grid (values > 0 are lesion).
    settings
        Registration knobs; defaults to :class:`RegistrationSettings()`.
    out_dir
        The subject's output folder; receives the transforms
        (``flair_to_ct_0GenericAffine.mat``, ``flair_to_ct_1Warp.nii.gz``),
        ``wmh_probability_ct.nii.gz`` and ``wmh_pseudolabel_ct.nii.gz``, both on
        the CT's grid and geometry.  Nothing is written elsewhere.
    subject_id
        Copied into the QC row when given.

    Returns
    -------
    RegistrationResult
        Paths and the QC row: ``mutual_information`` (Mattes MI of the
        skull-stripped images after registration, on the registration grid),
        ``brain_dice`` (warped FLAIR brain mask vs CT brain mask, within the
        FLAIR's field of view), ``brain_dice_linear`` (the same after the
        linear stage only), ``mean_displacement_mm`` (mean SyN displacement
        over the CT brain; 0 without SyN), ``pseudolabel_ml``,
        ``probability_ml`` (sum of the probability map), ``wmh_flair_ml``,
        ``ct_brain_ml``, ``flair_brain_ml``, ``rotation_deg`` and
        ``translation_mm`` of the linear stage, ``runtime_s`` and the main
        settings.

    Notes
    -----
    The CT's third voxel axis is taken as its slice axis (per-slice hole
    filling of the brain masks), as for axial acquisitions.

    Raises
    ------
    ValueError
        If an image is not a usable CT / FLAIR (see :mod:`leukoct.skullstrip`)
        or the WMH mask is not on the FLAIR grid.
    """
    settings = settings or RegistrationSettings()
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    _set_threads(settings.threads)
    start = time.perf_counter()

    ct_img, flair_img, wmh_img = to_ants(ct), to_ants(flair), to_ants(wmh_mask)
    if wmh_img.shape != flair_img.shape or not np.allclose(wmh_img.spacing, flair_img.spacing):
        raise ValueError(f"WMH mask grid {wmh_img.shape} {wmh_img.spacing} differs from the FLAIR "
                         f"grid {flair_img.shape} {flair_img.spacing}")
    ct_mask = ct_brain_mask(ct_img.numpy(), ct_img.spacing)
    flair_mask = flair_brain_mask(flair_img.numpy(), flair_img.spacing)

    fixed, moving = prepare_images(ct_img, ct_mask, flair_img, flair_mask, settings.resolution_mm,
                                   settings.crop_margin_mm)
    moving_mask = None
    if settings.lesion_margin_mm is not None and wmh_img.numpy().any():
        moving_mask = lesion_exclusion_mask(wmh_img, moving, settings.lesion_margin_mm)
    transforms = run_ants_registration(fixed, moving, out, settings, moving_mask)

    def warp(image: ants.ANTsImage, reference: ants.ANTsImage, interpolator: str) -> np.ndarray:
        return warp_image(image, reference, transforms, interpolator)

    wmh = (wmh_img.numpy() > 0).astype(np.float32)
    probability = np.clip(warp(_like(wmh_img, wmh), ct_img, "linear"), 0.0, 1.0)
    if settings.label_interpolation == "nearest":
        # Each CT voxel takes the label of the FLAIR voxel its centre falls in:
        # the label's volume is kept whatever the slice thickness and tilt.
        pseudolabel = warp(_like(wmh_img, wmh), ct_img, "nearestNeighbor") > settings.threshold
    else:
        pseudolabel = probability > settings.threshold
    probability_path, pseudolabel_path = out / PROBABILITY_FILE, out / PSEUDOLABEL_FILE
    ants.image_write(_like(ct_img, probability.astype(np.float32)), str(probability_path))
    ants.image_write(_like(ct_img, pseudolabel.astype(np.uint8)), str(pseudolabel_path))

    if settings.direction == "ct_to_flair":
        # Seed 003's direction: the CT goes onto the FLAIR grid and the WMH mask stays
        # as drawn.  The rigid transform is estimated once (FLAIR onto CT, as for the
        # paper's direction) and inverted, which is exact for a linear transform, so
        # the two directions differ only in which image is resampled.
        ct_on_flair = ct_to_flair(ct_img, flair_img, transforms)
        write_hu(ct_on_flair, out / CT_ON_FLAIR_FILE)
        ants.image_write(_like(wmh_img, wmh.astype(np.uint8)), str(out / FLAIR_LABEL_FILE))
    qc = _qc(ct_img, ct_mask, flair_img, flair_mask, wmh, fixed, moving, warp, transforms,
             probability, pseudolabel)
    qc["runtime_s"] = time.perf_counter() - start
    qc.update(type_of_transform=settings.type_of_transform, resolution_mm=settings.resolution_mm,
              label_interpolation=settings.label_interpolation, threshold=settings.threshold,
              direction=settings.direction)
    if subject_id is not None:
        qc = {"subject_id": subject_id, **qc}
    return RegistrationResult(probability_path=probability_path, pseudolabel_path=pseudolabel_path,
                              transforms=transforms, qc=qc)


def warp_image(moving: ImageInput, reference: ImageInput, transforms: Sequence[Path | str],
               interpolator: str = "linear") -> np.ndarray:
    """Resample ``moving`` (a FLAIR-space image) onto ``reference`` through ``transforms``.

    Parameters
    ----------
    moving
        Image on the FLAIR grid (e.g. another mask).
    reference
        The CT (its grid receives the result).
    transforms
        :attr:`RegistrationResult.transforms`; empty means header alignment only.
    interpolator
        ANTs interpolator name (``linear``, ``nearestNeighbor``, ...).

    Returns
    -------
    numpy.ndarray
        The warped image, in the reference's voxel order.
    """
    moving_img, reference_img = to_ants(moving), to_ants(reference)
    if not transforms:
        warped = ants.resample_image_to_target(moving_img, reference_img, interp_type=interpolator)
    else:
        warped = ants.apply_transforms(reference_img, moving_img, [str(t) for t in transforms],
                                       interpolator=interpolator)
    return warped.numpy()


def ct_to_flair(ct: ImageInput, flair: ImageInput, transforms: Sequence[Path | str]
                ) -> ants.ANTsImage:
    """Resample the CT onto the FLAIR grid through the inverse of linear FLAIR → CT transforms.

    Parameters
    ----------
    ct
        The head CT (HU).
    flair
        The FLAIR (its grid receives the CT).
    transforms
        :attr:`RegistrationResult.transforms` of a linear registration (one
        affine file, or none for ``Identity``).

    Returns
    -------
    ants.ANTsImage
        The CT on the FLAIR grid, linearly interpolated, in HU (float; written
        by :func:`write_hu`); voxels outside the CT's field of view are air
        (-1024 HU).

    Raises
    ------
    ValueError
        If a transform is a displacement field (no exact inverse is kept).
    """
    ct_img, flair_img = to_ants(ct), to_ants(flair)
    if any(str(t).endswith(".nii.gz") for t in transforms):
        raise ValueError("ct_to_flair needs linear transforms only (a .mat file); got "
                         f"{[Path(t).name for t in transforms]}: register with "
                         "type_of_transform Rigid")
    # Shift so that 0 is air: the resampler pads outside the CT with 0.
    shifted = ct_img.clone("float") + AIR_HU_OFFSET
    if transforms:
        warped = ants.apply_transforms(flair_img, shifted, [str(t) for t in reversed(transforms)],
                                       interpolator="linear",
                                       whichtoinvert=[True] * len(transforms))
    else:
        warped = ants.resample_image_to_target(shifted, flair_img, interp_type="linear")
    return warped - AIR_HU_OFFSET


def write_hu(image: ants.ANTsImage, path: Path) -> None:
    """Write a CT in whole HU as int16, as scanners store them (half the disk of
    float; ANTs writes no 16-bit integers, so SimpleITK does, with ITK's geometry)."""
    import SimpleITK as sitk

    hu = np.round(image.numpy()).astype(np.int16)
    out = sitk.GetImageFromArray(np.ascontiguousarray(np.transpose(hu, (2, 1, 0))))
    out.SetOrigin(tuple(image.origin))
    out.SetSpacing(tuple(image.spacing))
    out.SetDirection(tuple(np.asarray(image.direction).ravel()))
    sitk.WriteImage(out, str(path), useCompression=True)


def mask_to_ct(mask: ImageInput, ct: ImageInput, transforms: Sequence[Path | str],
               target: str | os.PathLike[str]) -> float:
    """Carry a FLAIR-grid mask onto the CT grid (nearest neighbour) and write it.

    The way back of direction ``ct_to_flair``: a prediction made on the FLAIR
    grid, put on the CT's so that it is scored like-for-like with the paper's
    design.  Returns the carried mask's volume (mL).
    """
    ct_img = to_ants(ct)
    carried = warp_image(mask, ct_img, transforms, "nearestNeighbor") > 0.5
    ants.image_write(_like(ct_img, carried.astype(np.uint8)).clone("unsigned char"), str(target))
    return float(carried.sum() * np.prod(ct_img.spacing) / 1000.0)


#: Added before resampling a CT so that the padding (0) is air, subtracted after.
AIR_HU_OFFSET = 1024.0


def prepare_images(ct_img: ants.ANTsImage, ct_mask: np.ndarray, flair_img: ants.ANTsImage,
                   flair_mask: np.ndarray, resolution_mm: float, crop_margin_mm: float = 10.0
                   ) -> tuple[ants.ANTsImage, ants.ANTsImage]:
    """Skull-stripped, windowed CT and FLAIR on ``resolution_mm`` isotropic grids.

    CSF is dark in both after this (CT windowed at 0-80 HU, FLAIR nulls CSF)
    and the background is 0 in both, so the brain outline and the ventricles
    drive mutual information the same way in the two modalities.
    """
    lo, hi = CT_WINDOW_HU
    ct = (np.clip(ct_img.numpy(), lo, hi) - lo) / (hi - lo) * ct_mask
    flair = flair_img.numpy() * flair_mask
    scale = float(np.percentile(flair[flair_mask], 99.5)) if flair_mask.any() else 1.0
    flair = np.clip(flair / max(scale, 1e-6), 0.0, 1.5)
    fixed = _to_grid(_like(ct_img, ct.astype(np.float32)), resolution_mm)
    moving = _to_grid(_like(flair_img, flair.astype(np.float32)), resolution_mm)
    return crop_to_content(fixed, crop_margin_mm), moving


def lesion_exclusion_mask(wmh: ants.ANTsImage, grid: ants.ANTsImage,
                          margin_mm: float) -> ants.ANTsImage:
    """1 where the metric may sample the moving image: away from the WMH mask.

    The mask is dilated by ``margin_mm`` on its own grid, then brought onto
    the registration ``grid`` (any overlap with the dilated lesion excludes).
    """
    lesion = wmh.numpy() > 0
    if margin_mm > 0:
        lesion = ndimage.binary_dilation(lesion, ball(margin_mm, wmh.spacing))
    near = ants.resample_image_to_target(_like(wmh, lesion.astype(np.float32)), grid,
                                         interp_type="linear")
    return _like(grid, (near.numpy() <= 0).astype(np.float32))


def crop_to_content(image: ants.ANTsImage, margin_mm: float) -> ants.ANTsImage:
    """``image`` cropped to the bounding box of its non-zero voxels plus ``margin_mm``."""
    nonzero = np.argwhere(image.numpy() > 0)
    if nonzero.size == 0:
        return image
    pad = np.ceil(margin_mm / np.asarray(image.spacing)).astype(int)
    lower = np.maximum(nonzero.min(0) - pad, 0)
    upper = np.minimum(nonzero.max(0) + pad + 1, image.shape)
    return ants.crop_indices(image, lower.tolist(), upper.tolist())


def _qc(ct_img: ants.ANTsImage, ct_mask: np.ndarray, flair_img: ants.ANTsImage,
        flair_mask: np.ndarray, wmh: np.ndarray, fixed: ants.ANTsImage, moving: ants.ANTsImage,
        warp: Any, transforms: list[Path], probability: np.ndarray,
        pseudolabel: np.ndarray) -> dict[str, Any]:
    ct_ml = float(np.prod(ct_img.spacing)) / 1000.0
    flair_ml = float(np.prod(flair_img.spacing)) / 1000.0
    brain = _like(flair_img, flair_mask.astype(np.float32))
    # Compare brains only where the FLAIR was acquired: a FLAIR slab that
    # misses the vertex is not a registration error.
    fov = warp(_like(flair_img, np.ones(flair_img.shape, np.float32)), ct_img, "linear") > 0.5
    warped_brain = warp(brain, ct_img, "linear") > 0.5
    # SyN can force brain outlines together whatever the pose; the linear
    # stage's overlap still shows a gross pose or shape mismatch.
    affine = [t for t in transforms if t.suffix == ".mat"]
    linear_brain = warp_image(brain, ct_img, affine, "linear") > 0.5
    warped_moving = _like(fixed, warp(moving, fixed, "linear"))
    rotation, translation = _linear_pose(affine[0]) if affine else (0.0, 0.0)
    warps = [t for t in transforms if t.name.endswith("Warp.nii.gz")]
    return {
        "mutual_information": mutual_information(fixed, warped_moving),
        "brain_dice": _overlap(warped_brain & fov, ct_mask & fov),
        "brain_dice_linear": _overlap(linear_brain & fov, ct_mask & fov),
        "mean_displacement_mm": mean_displacement(warps[0], ct_img, ct_mask) if warps else 0.0,
        "pseudolabel_ml": float(pseudolabel.sum() * ct_ml),
        "probability_ml": float(probability.sum() * ct_ml),
        "wmh_flair_ml": float(wmh.sum() * flair_ml),
        "ct_brain_ml": float(ct_mask.sum() * ct_ml),
        "flair_brain_ml": float(flair_mask.sum() * flair_ml),
        "rotation_deg": rotation,
        "translation_mm": translation,
    }


def mean_displacement(warp_file: Path, ct_img: ants.ANTsImage, ct_mask: np.ndarray) -> float:
    """Mean length (mm) of a SyN displacement field over the CT brain."""
    field = ants.image_read(str(warp_file))
    brain = ants.resample_image_to_target(_like(ct_img, ct_mask.astype(np.float32)), field,
                                          interp_type="nearestNeighbor").numpy() > 0.5
    vectors = field.numpy()
    if not brain.any():
        return 0.0
    return float(np.linalg.norm(vectors[brain], axis=-1).mean())


# --- QC rule ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class OutlierRule:
    """One robust outlier test of :func:`flag_registration_errors`.

    A pair fails when its ``column`` lies more than ``k`` robust SDs from the
    batch median on the bad ``side``, or beyond the absolute ``limit``.  The
    robust SD is 1.4826 x MAD, floored at ``min_sd`` and at
    ``min_sd_fraction`` x |median| so a very uniform batch does not flag noise.
    """

    column: str
    side: Literal["low", "high"]
    k: float = 3.5
    min_sd: float = 0.0
    min_sd_fraction: float = 0.0
    limit: float | None = None

    def sd_floor(self, values: pd.Series) -> float:
        """The smallest robust SD the rule accepts for this batch."""
        return max(self.min_sd, self.min_sd_fraction * abs(float(values.median())))

    def bound(self, values: pd.Series) -> float:
        """The batch value beyond which a pair fails the z test (for plots)."""
        values = values.astype(float)
        median = float(values.median())
        sd = max(1.4826 * float((values - median).abs().median()), self.sd_floor(values), 1e-12)
        return median + (-1.0 if self.side == "low" else 1.0) * self.k * sd


#: The study's registration QC.  k = 3.5 is the usual cut on the modified
#: z-score (Iglewicz & Hoaglin); on the demo twin (60 pairs, default settings)
#: the planted error scored MI z = -4.8 and displacement z = +7.4, while the
#: worst other pair scored -1.7 and +2.2 (brain Dice: -1.8 vs -3.0).
QC_RULES: tuple[OutlierRule, ...] = (
    # Final overlap of the brain outlines: a pose the optimiser could not fix.
    OutlierRule("brain_dice", "low", min_sd=0.01, limit=0.85),
    # Intensity agreement of the registered images, whatever the outlines.
    OutlierRule("mutual_information", "low", min_sd_fraction=0.05),
    # SyN had to bend the FLAIR far more than usual: the images disagree in
    # shape (or SyN forced a failed pose into place).
    OutlierRule("mean_displacement_mm", "high", min_sd=0.1),
)


def robust_z(values: pd.Series, min_sd: float = 0.0) -> pd.Series:
    """(value - median) / max(1.4826 MAD, min_sd): a z-score that outliers do not inflate."""
    values = values.astype(float)
    median = float(values.median())
    sd = max(1.4826 * float((values - median).abs().median()), min_sd, 1e-12)
    return (values - median) / sd


def qc_scores(qc: pd.DataFrame, rules: Sequence[OutlierRule] = QC_RULES) -> pd.DataFrame:
    """Robust z-score and pass/fail of each rule, one row per pair.

    Returns
    -------
    pandas.DataFrame
        ``z_<column>`` and ``fail_<column>`` for each rule, indexed like ``qc``.
    """
    missing = sorted({r.column for r in rules} - set(qc.columns))
    if missing:
        raise KeyError(f"QC table lacks column(s) {missing}")
    out = pd.DataFrame(index=qc.index)
    for rule in rules:
        values = qc[rule.column].astype(float)
        z = robust_z(values, rule.sd_floor(values)) if len(values) else values
        sign = -1.0 if rule.side == "low" else 1.0
        fail = sign * z > rule.k
        if rule.limit is not None:
            fail |= sign * values > sign * rule.limit
        out[f"z_{rule.column}"] = z
        out[f"fail_{rule.column}"] = fail | values.isna()
    return out


def flag_registration_errors(qc: pd.DataFrame,
                             rules: Sequence[OutlierRule] = QC_RULES) -> pd.Series:
    """Flag failed registrations in a table of :func:`register_pair` QC rows.

    A pair is flagged when any rule fails (see :data:`QC_RULES`):

    * ``brain_dice`` more than 3.5 robust SDs below the batch median (SD at
      least 0.01) or below 0.85 whatever the batch;
    * ``mutual_information`` more than 3.5 robust SDs below the median (SD at
      least 5 % of the median, MI having no fixed scale);
    * ``mean_displacement_mm`` more than 3.5 robust SDs above the median (SD
      at least 0.1 mm; 0 for linear registrations).

    The rules are one-sided: a pair better than usual is never flagged.  A
    missing value fails.  Run it on a whole batch (a cohort): the medians are
    the batch's.

    Parameters
    ----------
    qc
        One row per pair with the rules' columns.
    rules
        The outlier tests.

    Returns
    -------
    pandas.Series
        Boolean ``registration_error``, indexed like ``qc``.
    """
    scores = qc_scores(qc, rules)
    fails = scores[[c for c in scores.columns if c.startswith("fail_")]]
    return fails.any(axis=1).astype(bool).rename("registration_error")
