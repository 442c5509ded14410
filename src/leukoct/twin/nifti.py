"""Byte-reproducible NIfTI writing.

``gzip`` stamps the current time into its header; writing the NIfTI bytes
ourselves with ``mtime=0`` makes the same image give the same file, hence
the same SHA-256 in the manifest.
"""

from __future__ import annotations

import gzip
import hashlib
from pathlib import Path

import nibabel as nib
import numpy as np

DESCRIPTION = b"leukoct digital twin - SYNTHETIC, not a patient"


def nifti_bytes(data: np.ndarray, affine: np.ndarray) -> bytes:
    """Uncompressed NIfTI-1 bytes of ``data`` with scanner ``affine``."""
    img = nib.Nifti1Image(np.asarray(data), affine)
    img.header.set_xyzt_units("mm")
    img.header.set_qform(affine, code=1)
    img.header.set_sform(affine, code=1)
    img.header["descrip"] = DESCRIPTION[:79]
    return img.to_bytes()


def write_nifti_gz(path: Path, data: np.ndarray, affine: np.ndarray, level: int = 1) -> str:
    """Write ``data`` as a deterministic ``.nii.gz``; return its SHA-256."""
    blob = gzip.compress(nifti_bytes(data, affine), compresslevel=level, mtime=0)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(blob)
    return hashlib.sha256(blob).hexdigest()
