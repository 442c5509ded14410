"""DICOM pixels to NIfTI: CT in Hounsfield units, FLAIR, and masks on their image's grid.

The converter is SimpleITK's ``ImageSeriesReader`` (GDCM), not ``dcm2niix``:

- it is already a core dependency (no binary to ship, no subprocess);
- GDCM decodes the compressed transfer syntaxes PACS exports use (JPEG
  lossless, JPEG-LS, JPEG 2000, RLE), which pydicom alone cannot without
  extra plugins;
- it applies each slice's RescaleSlope / RescaleIntercept, so a CT comes out
  in HU;
- the image is rebuilt from its array and geometry before writing, so the
  NIfTI header holds nothing but geometry: dcm2niix writes the acquisition
  time into ``descrip`` and a BIDS sidecar with institution and device
  fields, which would have to be scrubbed.

What dcm2niix does beyond that is done here: files are ordered along the
slice normal from their own positions (:mod:`leukoct.importing.discover`),
and a CT acquired with a tilted gantry is resampled onto an orthogonal grid
(:func:`untilt`, as dcm2niix's gantry-tilt correction).  Enhanced multi-frame
objects and unevenly spaced stacks are refused with their reason instead.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from pathlib import Path

import nibabel as nib
import numpy as np
import pydicom
import SimpleITK as sitk

from leukoct.image_validation import GRID_TOLERANCE_MM
from leukoct.importing.discover import Geometry, Series

__all__ = ["ConversionError", "mask_from_nifti", "mask_from_seg", "read_series", "untilt",
           "write_image"]

#: HU given to CT voxels the untilted grid reaches outside the acquired stack.
CT_FILL_HU = -1024


class ConversionError(Exception):
    """The pixel data of a series cannot be turned into a volume (reason in the message)."""


@contextlib.contextmanager
def _quiet_itk() -> Iterator[None]:
    """ITK's warnings may name source files (whose folders may name a patient): silenced."""
    before = sitk.ProcessObject.GetGlobalWarningDisplay()
    sitk.ProcessObject.SetGlobalWarningDisplay(False)
    try:
        yield
    finally:
        sitk.ProcessObject.SetGlobalWarningDisplay(before)


def read_series(series: Series, geom: Geometry) -> sitk.Image:
    """The series as one image, rescaled (HU for CT), on the stack's own grid.

    The slice axis follows the slice normal with the spacing measured along
    it; a tilted stack keeps its shear to :func:`untilt`.
    """
    reader = sitk.ImageSeriesReader()
    reader.SetFileNames([str(f) for f in series.files])
    try:
        with _quiet_itk():
            image = reader.Execute()
    except RuntimeError as exc:    # the message names files: not passed on
        syntax = getattr(series.first.get("file_meta", None), "TransferSyntaxUID", None)
        name = getattr(syntax, "name", None) or "unknown transfer syntax"
        raise ConversionError(f"pixel data could not be decoded ({name})") from exc
    if image.GetDimension() != 3 or image.GetSize()[2] != len(series.files):
        raise ConversionError("the files did not read as one stack of slices")
    image.SetOrigin(tuple(float(v) for v in geom.origin))
    image.SetSpacing((*geom.pixel_spacing, float(geom.spacing)))
    image.SetDirection(tuple(float(v) for v in
                             np.column_stack([geom.row, geom.column, geom.normal]).ravel()))
    return image


def untilt(image: sitk.Image, geom: Geometry, fill: float,
           interpolator: int = sitk.sitkLinear) -> sitk.Image:
    """``image`` resampled from a tilted gantry's sheared stack onto an orthogonal grid.

    Slice ``k`` was acquired ``k * geom.shear`` off the position the
    orthogonal grid gives it; the output keeps the grid and takes each voxel
    from where it truly lies.  ``fill`` where the grid leaves the stack.
    """
    if not geom.needs_untilt:
        return image
    shear = np.asarray(geom.shear, dtype=float)
    normal = np.asarray(geom.normal, dtype=float)
    matrix = np.eye(3) - np.outer(shear, normal) / geom.spacing
    transform = sitk.AffineTransform(3)
    transform.SetMatrix(tuple(float(v) for v in matrix.ravel()))
    transform.SetCenter(tuple(float(v) for v in geom.origin))
    return sitk.Resample(image, image, transform, interpolator, float(fill), image.GetPixelID())


def _clean(array: np.ndarray, like: sitk.Image) -> sitk.Image:
    """A new image holding ``array`` with ``like``'s geometry and no metadata at all."""
    image = sitk.GetImageFromArray(array)
    image.CopyInformation(like)
    return image


def as_ct(image: sitk.Image) -> sitk.Image:
    """HU rounded to int16 (stored values were rescaled by the reader)."""
    array = np.rint(sitk.GetArrayFromImage(image)).clip(-32768, 32767).astype(np.int16)
    return _clean(array, image)


def as_flair(image: sitk.Image) -> sitk.Image:
    """int16 where every value is a whole number in range, else float32."""
    array = sitk.GetArrayFromImage(image)
    whole = np.all(np.mod(array, 1) == 0) and array.min() >= -32768 and array.max() <= 32767
    return _clean(array.astype(np.int16 if whole else np.float32), image)


def write_image(image: sitk.Image, path: Path) -> Path:
    """Write a NIfTI (gzip) whose header carries geometry only (``descrip`` etc. empty)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sitk.WriteImage(image, str(path), useCompression=True)
    return path


def mask_from_seg(seg: pydicom.Dataset, reference: sitk.Image, geom: Geometry,
                  ) -> sitk.Image:
    """A binary DICOM-SEG as a uint8 mask on its referenced series' (untilted) grid.

    Every frame is placed on the referenced slice its ImagePositionPatient
    names; segments are united (0 background, 1 lesion).

    Raises
    ------
    ConversionError
        If a frame does not lie on a slice of the reference, or the frame
        size differs from the reference's.
    """
    frames = np.asarray(seg.pixel_array)
    if frames.ndim == 2:
        frames = frames[None]
    size = reference.GetSize()
    if frames.shape[1:] != (size[1], size[0]):
        raise ConversionError(f"SEG frames of {frames.shape[2]} x {frames.shape[1]} pixels on a "
                              f"reference of {size[0]} x {size[1]}")
    per_frame = seg.get("PerFrameFunctionalGroupsSequence")
    if per_frame is None or len(per_frame) != len(frames):
        raise ConversionError("SEG without one PerFrameFunctionalGroups item per frame")
    mask = np.zeros((size[2], size[1], size[0]), dtype=np.uint8)
    for frame, item in zip(frames, per_frame):
        position = np.asarray([float(v) for v in
                               item.PlanePositionSequence[0].ImagePositionPatient])
        offset = position - geom.origin
        k = int(round(float(offset @ geom.normal) / geom.spacing))
        in_plane = offset - k * (geom.spacing * geom.normal + geom.shear)
        if not 0 <= k < size[2] or np.linalg.norm(in_plane) > GRID_TOLERANCE_MM:
            raise ConversionError("a SEG frame lies on no slice of its referenced series")
        mask[k] |= (frame > 0).astype(np.uint8)
    stack = _clean(mask, reference)
    return untilt(stack, geom, 0, sitk.sitkNearestNeighbor)


def mask_from_nifti(path: Path, reference: Path) -> np.ndarray | None:
    """A NIfTI mask's data reoriented onto the grid of the written image ``reference``,
    or None when it lies on another grid (shape, or corners more than
    :data:`~leukoct.image_validation.GRID_TOLERANCE_MM` apart)."""
    mask = nib.load(str(path))
    ref = nib.load(str(reference))
    if mask.ndim != 3:
        return None
    transform = nib.orientations.ornt_transform(nib.io_orientation(mask.affine),
                                                nib.io_orientation(ref.affine))
    data = nib.orientations.apply_orientation(np.asanyarray(mask.dataobj), transform)
    affine = mask.affine @ nib.orientations.inv_ornt_aff(transform, mask.shape)
    if data.shape != ref.shape:
        return None
    corners = np.array([[i, j, k, 1.0] for i in (0, data.shape[0] - 1)
                        for j in (0, data.shape[1] - 1) for k in (0, data.shape[2] - 1)]).T
    if float(np.abs((affine - ref.affine) @ corners)[:3].max()) > GRID_TOLERANCE_MM:
        return None
    return (np.asarray(data) > 0).astype(np.uint8)


def write_mask(data: np.ndarray, reference: Path, path: Path) -> Path:
    """Write ``data`` (on ``reference``'s voxel grid, nibabel axis order) as a uint8 NIfTI
    with ``reference``'s affine and a header holding geometry only."""
    ref = nib.load(str(reference))
    image = nib.Nifti1Image(data.astype(np.uint8), ref.affine)
    image.set_qform(ref.affine, code=1)
    image.set_sform(ref.affine, code=1)
    path.parent.mkdir(parents=True, exist_ok=True)
    nib.save(image, str(path))
    return path
