"""Can each image of a manifest be used? Opened, decompressed and checked at the door.

The manifest's own checks (:mod:`leukoct.manifest`) read its cells: a path
exists, a checksum matches.  A file can pass them and still be unusable: a
zero-byte or truncated ``.nii.gz`` (ANTs and SimpleITK read a truncated one
silently, half zeros), a 2-D or 4-D volume, NaNs, a CT stored as raw detector
values (0..4095) or scaled 0..1 instead of Hounsfield units, a WMH mask on
another grid than its FLAIR, a probability map instead of a mask.  Each of
these fails late (inside registration or a chapter) or never.  This module
opens every image once, in full, and reports each problem in the manifest's
``row N (subject), column C: problem — fix: ...`` form, all at once.

Verdicts are cached by the file's SHA-256 (the manifest's checksum column),
so an unchanged study is not reopened.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import nibabel as nib
import numpy as np
import pandas as pd

from leukoct.manifest import HEADER_ROW, Problem
from leukoct.schema import CHECKSUM_OF, IMAGE_COLUMNS

__all__ = ["AIR_HU", "GRID_TOLERANCE_MM", "image_problems"]

#: A CT in Hounsfield units shows air (-1000 HU) around the head, or padding
#: below it (-1024, -2048, -3024); raw stored values (0..4095) and scaled
#: images (0..1) have nothing below 0.
AIR_HU = -500.0
#: Largest voxel-centre displacement (mm) between a mask's grid and its
#: image's grid that still counts as the same grid.
GRID_TOLERANCE_MM = 0.5
#: Voxel sizes outside this range (mm) are not a head scan's.
SPACING_RANGE_MM = (0.1, 12.0)
#: A mask's stored values: 0/1, or 0/255 as some tools write.
BINARY_VALUES = ({0.0, 1.0}, {0.0, 255.0})

#: Each image column, the image whose grid its mask must share, and what it holds.
MASK_OF = {"wmh_mask_path": "flair_path", "wmh_reference_path": "flair_path",
           "manual_mask_path": "ct_path"}
#: CT and FLAIR of one subject show the same head: its left-right and
#: front-back extents (2nd-98th percentile of head voxels, world axes) agree
#: within this ratio.  Adult heads differ by ~5 % (SD) in breadth, a CT tilt of
#: 10-20 deg changes the front-back extent by a few %, a skull-stripped FLAIR is
#: ~15 % smaller: 1.3 catches only a gross mismatch (a child's or phantom scan,
#: a cropped or mis-scaled image), not a swap between two adults, which the
#: registration QC has to catch.
SAME_HEAD_RATIO = 1.3
#: Head voxels: above this on CT (skin, bone, brain; not air or the headrest's foam).
HEAD_CT_HU = -300.0
#: Head voxels on FLAIR: above this share of the 99.5th percentile.
HEAD_FLAIR_SHARE = 0.15
_READ_FIX = ("convert the scan to NIfTI with dcm2niix (DICOM) or export it again; "
             "a .nii.gz must be one complete gzip file")


def image_checks() -> list[tuple[str, str]]:
    """Every check made on an image, with its threshold (the data dictionary lists them)."""
    lo, hi = SPACING_RANGE_MM
    return [
        ("readable", "a NIfTI file that decompresses in full (an empty, truncated or renamed "
                     "DICOM file is refused)"),
        ("3-D", "one volume per file; a trailing 4th axis of length 1 is accepted"),
        ("finite", "no NaN or infinite voxel"),
        ("voxel size", f"{lo}-{hi} mm on every axis"),
        ("CT in Hounsfield units", f"the minimum is at or below {AIR_HU:g} HU (air); a header "
                                   "scl_slope / scl_inter is applied first"),
        ("binary masks", "WMH, reference and manual masks hold 0/1 or 0/255 only "
                         "(an all-empty mask is valid)"),
        ("mask on its image's grid", f"same shape as its FLAIR (WMH) or CT (manual), corners "
                                     f"within {GRID_TOLERANCE_MM} mm"),
        ("same head", f"CT and FLAIR head extents (left-right, front-back) within "
                      f"{SAME_HEAD_RATIO}x; head = CT > {HEAD_CT_HU:g} HU, FLAIR > "
                      f"{HEAD_FLAIR_SHARE:.0%} of its 99.5th percentile"),
        ("one file per subject", "no file under two rows, whatever its spelling; no CT or FLAIR "
                                 "copied between rows (same SHA-256)"),
    ]


def _read(path: Path) -> tuple[np.ndarray | None, np.ndarray | None, str | None]:
    """The image's data and affine, or the reason it cannot be read."""
    if path.stat().st_size == 0:
        return None, None, "the file is empty (0 bytes)"
    try:
        image = nib.load(str(path))
        # Every byte decompressed: a truncated .nii.gz fails here, not later.
        data = np.asanyarray(image.dataobj)
        return data, image.affine, None
    except Exception as exc:  # nibabel raises many types for one cause: unreadable
        return None, None, f"cannot be read as NIfTI ({type(exc).__name__}: {exc})"


def _volume_problems(data: np.ndarray, affine: np.ndarray) -> list[tuple[str, str]]:
    problems = []
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        problems.append((f"has {data.ndim} dimensions {tuple(data.shape)}, not 3",
                         "give one 3-D volume per file (split a 4-D series; a 2-D slice is "
                         "not a scan)"))
        return problems
    if not np.isfinite(data).all():
        share = float(np.mean(~np.isfinite(data)))
        problems.append((f"{share:.0%} of its voxels are NaN or infinite",
                         "export the scan again; a volume must hold finite numbers"))
    spacing = np.sqrt((affine[:3, :3] ** 2).sum(axis=0))
    lo, hi = SPACING_RANGE_MM
    if not ((spacing >= lo) & (spacing <= hi)).all():
        problems.append((f"voxel size {tuple(round(float(s), 3) for s in spacing)} mm is not a "
                         f"head scan's ({lo}-{hi} mm)", "check the NIfTI header's pixdim / affine"))
    return problems


def _ct_problems(data: np.ndarray) -> list[tuple[str, str]]:
    finite = data[np.isfinite(data)]
    if finite.size == 0:
        return []
    low, high = float(finite.min()), float(finite.max())
    if low > AIR_HU:
        return [(f"values {low:g}..{high:g} are not Hounsfield units (air, about -1000 HU, "
                 "is missing)", "apply the DICOM rescale slope and intercept when converting "
                 "(dcm2niix and SimpleITK's series reader do)")]
    return []


def _mask_problems(data: np.ndarray) -> list[tuple[str, str]]:
    values = np.unique(data[np.isfinite(data)])
    if values.size > 3 or not any(set(values.tolist()) <= allowed for allowed in BINARY_VALUES):
        shown = ", ".join(f"{v:g}" for v in values[:4]) + (", ..." if values.size > 4 else "")
        return [(f"is not a binary mask (values {shown}): a probability map?",
                 "threshold it into 0/1 before adding it (leukoct reads masks as 0/1 or 0/255; "
                 "steps.registration.threshold applies after registration)")]
    return []


def _head_extent(data: np.ndarray, affine: np.ndarray, column: str) -> list[float] | None:
    """Left-right and front-back extent (mm, world axes) of the head, or None."""
    if data.ndim == 4 and data.shape[3] == 1:
        data = data[..., 0]
    if data.ndim != 3:
        return None
    finite = np.where(np.isfinite(data), data, -np.inf)
    if column == "ct_path":
        head = finite > HEAD_CT_HU
    else:
        high = float(np.percentile(data[np.isfinite(data)], 99.5))
        head = finite > HEAD_FLAIR_SHARE * high if high > 0 else np.zeros(data.shape, bool)
    step = max(1, int(round((head.size / 2e5) ** (1 / 3))))   # ~200,000 voxels suffice
    index = np.argwhere(head[::step, ::step, ::step]) * step
    if len(index) < 20:
        return None
    world = nib.affines.apply_affine(affine, index)
    lo, hi = np.percentile(world[:, :2], [2, 98], axis=0)
    return [float(v) for v in hi - lo]


def _same_head_problem(ct_mm: list[float], flair_mm: list[float]) -> list[tuple[str, str]]:
    ratios = [c / f if f > 0 else np.inf for c, f in zip(ct_mm, flair_mm)]
    if all(1 / SAME_HEAD_RATIO <= r <= SAME_HEAD_RATIO for r in ratios):
        return []
    return [(f"the head on this CT is {ct_mm[0]:.0f} x {ct_mm[1]:.0f} mm (left-right x "
             f"front-back), on its FLAIR {flair_mm[0]:.0f} x {flair_mm[1]:.0f} mm: not "
             "plausibly the same head",
             "check that ct_path and flair_path are this subject's scans, and that neither "
             "is cropped or has a wrong voxel size in its header")]


def _grid_problem(mask_shape: tuple[int, ...], mask_affine: np.ndarray,
                  ref_shape: tuple[int, ...], ref_affine: np.ndarray,
                  reference: str) -> list[tuple[str, str]]:
    fix = (f"give the mask on its {reference}'s grid (resample it with the {reference} as "
           "reference, nearest neighbour)")
    if tuple(mask_shape[:3]) != tuple(ref_shape[:3]):
        return [(f"shape {tuple(mask_shape[:3])} differs from its {reference}'s "
                 f"{tuple(ref_shape[:3])}", fix)]
    corners = np.array([[i, j, k, 1.0] for i in (0, mask_shape[0] - 1)
                        for j in (0, mask_shape[1] - 1) for k in (0, mask_shape[2] - 1)]).T
    offset = float(np.abs((mask_affine - ref_affine) @ corners)[:3].max())
    if offset > GRID_TOLERANCE_MM:
        return [(f"its grid lies up to {offset:.1f} mm off its {reference}'s (same shape, "
                 "other origin, spacing or orientation)", fix)]
    return []


class _Cache:
    """Verdicts by SHA-256, in a JSON file (nothing is cached without one)."""

    def __init__(self, path: Path | None):
        self.path = path
        self.entries: dict[str, Any] = {}
        if path is not None and path.is_file():
            self.entries = json.loads(path.read_text(encoding="utf-8"))

    def get(self, key: str | None, compute: Callable[[], Any]) -> Any:
        if key is None:
            return compute()
        if key not in self.entries:
            self.entries[key] = compute()
        return self.entries[key]

    def save(self) -> None:
        if self.path is None:
            return
        self.path.parent.mkdir(parents=True, exist_ok=True)
        partial = self.path.with_name(f".{self.path.name}.partial")
        partial.write_text(json.dumps(self.entries, indent=1, sort_keys=True), encoding="utf-8")
        os.replace(partial, self.path)


def image_problems(table: pd.DataFrame, cache: str | os.PathLike[str] | None = None
                   ) -> list[Problem]:
    """Open every image of a valid manifest and report what makes one unusable.

    Parameters
    ----------
    table
        The typed manifest (:func:`leukoct.manifest.load_manifest`): absolute
        image paths, one row per subject in file order (row 2 is the first).
    cache
        JSON file of earlier verdicts, keyed by each file's SHA-256 (rows
        without a checksum are always opened).

    Returns
    -------
    list of Problem
        Every problem of every image; empty when all can be used.  An
        all-empty mask is valid (a subject without WMH).
    """
    store = _Cache(Path(cache) if cache is not None else None)
    problems: list[Problem] = []
    for offset, row in enumerate(table.itertuples(index=False)):
        record = row._asdict()
        number, subject = HEADER_ROW + 1 + offset, record["subject_id"]
        grids: dict[str, tuple[list[int], list[list[float]]] | None] = {}
        heads: dict[str, list[float] | None] = {}
        for column in IMAGE_COLUMNS:
            value = record.get(column)
            if value is None or (isinstance(value, float) and pd.isna(value)):
                continue
            digest = record.get(CHECKSUM_OF[column])
            # v2: verdicts carry the head's extent (cache entries of v1 lack it).
            key = f"v2:{column}:{digest}" if isinstance(digest, str) and digest else None
            verdict = store.get(key, lambda v=value, c=column: _check(Path(v), c))
            grids[column] = verdict["grid"]
            heads[column] = verdict.get("head")
            problems += [Problem(number, subject, column, p, f) for p, f in verdict["problems"]]
        for mask, reference in MASK_OF.items():
            if grids.get(mask) and grids.get(reference):
                (m_shape, m_aff), (r_shape, r_aff) = grids[mask], grids[reference]
                label = "FLAIR" if reference == "flair_path" else "CT"
                problems += [Problem(number, subject, mask, p, f) for p, f in _grid_problem(
                    tuple(m_shape), np.array(m_aff), tuple(r_shape), np.array(r_aff), label)]
        if heads.get("ct_path") and heads.get("flair_path"):
            problems += [Problem(number, subject, "flair_path", p, f)
                         for p, f in _same_head_problem(heads["ct_path"], heads["flair_path"])]
    store.save()
    return problems


def _check(path: Path, column: str) -> dict[str, Any]:
    """One image's problems and grid (JSON-ready, for the cache)."""
    data, affine, unreadable = _read(path)
    if unreadable is not None or data is None or affine is None:
        return {"problems": [(unreadable, _READ_FIX)], "grid": None}
    found = _volume_problems(data, affine)
    if not found:
        found += _ct_problems(data) if column == "ct_path" else []
        found += _mask_problems(data) if column in MASK_OF else []
    grid = None if data.ndim < 3 else ([int(n) for n in data.shape[:3]], affine.tolist())
    head = (_head_extent(data, affine, column)
            if not found and column in ("ct_path", "flair_path") else None)
    return {"problems": [list(p) for p in found], "grid": grid, "head": head}
