"""Checks of registry exclusion fields against the CT image itself.

Two exclusion reasons of the paper can be seen on the CT:

* **incomplete CT slices** — the scan stops inside the brain: the brain's
  cross-section at the first or last slice is still large, or the brain's
  cranio-caudal extent is short;
* **contrast-enhanced CT** — enhancing vessels and dural sinuses put
  intracranial voxels at 90-300 HU, which an unenhanced brain does not have
  beyond a few calcifications.

The registry fields stay authoritative (the curation step applies them);
these checks only *report* where image and registry disagree, for the
author to look at.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass

import numpy as np
import pandas as pd
from scipy import ndimage

from leukoct.images import load_volume
from leukoct.skullstrip import ball, ct_brain_mask

#: Defaults, chosen on the digital twin and on the physics (see decisions).
END_FRACTION = 0.4          # brain area at an end slice / largest brain area
MIN_EXTENT_MM = 120.0       # an adult brain spans ~150-180 mm cranio-caudally
ENHANCED_HU = (90.0, 300.0)
ENHANCED_FRACTION = 0.005   # of intracranial voxels away from the skull (vessels + sinuses ~1 %)


@dataclass(frozen=True)
class CTCheck:
    """Image measurements of one CT and what they suggest."""

    top_fraction: float
    bottom_fraction: float
    brain_extent_mm: float
    enhanced_fraction: float
    incomplete_suspected: bool
    contrast_suspected: bool


def coverage(brain: np.ndarray, slice_mm: float) -> tuple[float, float, float]:
    """Brain area at the top and bottom brain slices relative to the largest,
    and the brain's extent along the slice axis (mm)."""
    area = brain.sum(axis=(0, 1)).astype(float)
    present = np.flatnonzero(area)
    if present.size == 0:
        raise ValueError("empty brain mask: coverage cannot be measured")
    # A scan cut inside the brain has brain on its first or last slice.
    first, last = present[0], present[-1]
    top = area[last] / area.max() if last == brain.shape[2] - 1 else 0.0
    bottom = area[first] / area.max() if first == 0 else 0.0
    return float(top), float(bottom), float((last - first + 1) * slice_mm)


def enhanced_fraction(hu: np.ndarray, brain: np.ndarray, spacing: tuple[float, float, float],
                      band: tuple[float, float] = ENHANCED_HU, skull_margin_mm: float = 3.0
                      ) -> float:
    """Fraction of intracranial voxels in the enhancement band, ignoring a
    margin along the skull (partial-volume bone reads 90-300 HU too)."""
    cavity = ndimage.binary_fill_holes(ndimage.binary_dilation(brain, ball(2.0, spacing)))
    skull = ndimage.binary_dilation(hu >= band[1], ball(skull_margin_mm, spacing))
    region = cavity & ~skull
    if not region.any():
        return float("nan")
    hot = (hu >= band[0]) & (hu < band[1]) & region
    return float(hot.sum() / region.sum())


def check_ct(path: str | os.PathLike[str], end_fraction: float = END_FRACTION,
             min_extent_mm: float = MIN_EXTENT_MM,
             max_enhanced: float = ENHANCED_FRACTION) -> CTCheck:
    """Measure one CT (RAS+, slices along the third axis) and flag suspicions."""
    volume = load_volume(path)
    brain = ct_brain_mask(volume.data, volume.spacing)
    top, bottom, extent = coverage(brain, volume.spacing[2])
    enhanced = enhanced_fraction(volume.data, brain, volume.spacing)
    return CTCheck(top, bottom, extent, enhanced,
                   incomplete_suspected=bool(max(top, bottom) > end_fraction
                                             or extent < min_extent_mm),
                   contrast_suspected=bool(enhanced > max_enhanced))


def check_cts(table: pd.DataFrame, progress: bool = False) -> pd.DataFrame:
    """:func:`check_ct` for every subject with a CT; one row per subject.

    A CT that cannot be measured (no brain found) gets an ``error`` text
    instead of numbers, so no subject is silently skipped.
    """
    rows = []
    items = table.loc[table["ct_path"].notna(), ["subject_id", "ct_path"]].itertuples(index=False)
    if progress:
        from tqdm.auto import tqdm

        items = tqdm(list(items), desc="image checks", unit="CT")
    for subject, path in items:
        try:
            rows.append({"subject_id": subject, **asdict(check_ct(path)), "error": ""})
        except ValueError as error:
            rows.append({"subject_id": subject, "error": f"{path}: {error}"})
    return pd.DataFrame(rows).set_index("subject_id")


#: Registry field -> the image check's column.
CHECKED_FIELDS: dict[str, str] = {"incomplete_ct": "incomplete_suspected",
                                  "contrast_ct": "contrast_suspected"}


def disagreements(table: pd.DataFrame, checks: pd.DataFrame) -> pd.DataFrame:
    """Subjects whose registry field and image check disagree.

    Returns
    -------
    pandas.DataFrame
        ``subject_id``, ``field``, ``registry`` (True/False/unknown),
        ``image`` (True/False) and the measurement behind it.
    """
    frame = table.set_index("subject_id").join(checks, how="inner")
    rows = []
    for field, column in CHECKED_FIELDS.items():
        measured = "brain_extent_mm" if field == "incomplete_ct" else "enhanced_fraction"
        ok = frame[frame[column].notna()]
        registry = ok[field].astype("boolean")
        image = ok[column].astype(bool)
        differ = registry.isna() | (registry.fillna(False) != image)
        for subject in ok.index[differ.to_numpy(dtype=bool)]:
            value = ok.at[subject, field]
            rows.append({"subject_id": subject, "field": field,
                         "registry": "unknown" if pd.isna(value) else bool(value),
                         "image": bool(ok.at[subject, column]),
                         "measurement": f"{measured} = {ok.at[subject, measured]:.4g}"})
    return pd.DataFrame(rows, columns=["subject_id", "field", "registry", "image", "measurement"])
