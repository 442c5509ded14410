"""Finding the DICOM series under a folder and telling what each one is.

A site's export can have any layout (one folder per patient, per study, per
series, or everything flat): files are grouped by their SeriesInstanceUID,
whatever folder they lie in.  Each series is then classified from its tags
alone (:func:`classify`): a non-contrast head CT, a FLAIR, a DICOM-SEG, or
skipped with the reason a user can check.  :func:`select` keeps one CT and
one FLAIR per patient by a stated rule and lists the others as duplicates.

Headers are read without pixel data (pydicom); the pixels are decoded later,
for the kept series only (:mod:`leukoct.importing.convert`).  Free text of
the headers (descriptions, protocol names) is read here to classify and never
leaves this module: a report names a series by its subject pseudonym, study
number and SeriesNumber only.
"""

from __future__ import annotations

import contextlib
import os
import re
import warnings
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
from pydicom.errors import InvalidDicomError

__all__ = ["Series", "SkippedFile", "Selection", "classify", "find_series", "select"]

#: What a kept series is used as.
CT, FLAIR, SEG = "ct", "flair", "seg"

#: Series with fewer slices are not a head volume (a localiser, a key image).
MIN_SLICES = 10
#: An MR inversion time at or above this (ms) is a (T2-)FLAIR's, which nulls
#: CSF (TI 1,800-2,800 ms at 1.5-3 T); STIR (~150-250 ms) and T1-FLAIR
#: (~750-1,000 ms) lie below.
FLAIR_MIN_TI_MS = 1200.0
#: Slice steps may differ by this share of their median and still be one
#: evenly spaced stack (rounding in the scanner's positions).
SPACING_TOLERANCE = 0.05
#: The paper pairs CT and MRI of one admission; a FLAIR further from every
#: CT of its patient is not this CT's pair (the manifest's ct_mri_interval_h
#: admits 0-720 h).
MAX_INTERVAL_H = 720.0

_SOP_SEG = "1.2.840.10008.5.1.4.1.1.66.4"
_SOP_DICOMDIR = "1.2.840.10008.1.3.10"
_SOP_SECONDARY = ("1.2.840.10008.5.1.4.1.1.7",)   # secondary capture (+ .1-.4 multi-frame)
_SOP_ENHANCED = {"1.2.840.10008.5.1.4.1.1.2.1": "enhanced CT", "1.2.840.10008.5.1.4.1.1.2.2":
                 "legacy enhanced CT", "1.2.840.10008.5.1.4.1.1.4.1": "enhanced MR",
                 "1.2.840.10008.5.1.4.1.1.4.4": "legacy enhanced MR"}

_LOCALISER_WORDS = re.compile(r"scout|topo|locali[sz]er|survey|surview|plan_?scan|tripilot|"
                              r"3.?plane", re.I)
_CONTRAST_WORDS = re.compile(r"\bc\+|\bce\b|contrast|enhanc|\bpost\b|gad|gd\b|arterial|venous|"
                             r"portal|\bcta\b|angio|perfusion|\bctp\b|delay", re.I)
_NO_AGENT = {"", "NONE", "NO", "N", "NONE GIVEN", "NO CONTRAST", "0"}
_FLAIR_WORDS = re.compile(r"flair|dark.?fluid|tirm|\bt2.?fl|\bfl.?t2|\bfl_?ir", re.I)
_T1_WORDS = re.compile(r"\bt1", re.I)
_PROJECTION_WORDS = {"MIP", "MINIP", "PROJECTION IMAGE", "VOLUME", "VR", "SSD", "CURVED"}
_HEAD_PARTS = re.compile(r"head|brain|skull|cran|neuro|cerebr", re.I)


@dataclass
class Series:
    """One DICOM series: its files, their headers (no pixels) and what follows from them.

    ``headers[i]`` belongs to ``files[i]``; after :func:`find_series` both are
    sorted along the slice normal, foot to head for an axial stack.
    """

    uid: str
    files: list[Path]
    headers: list[pydicom.Dataset]
    kind: str | None = None
    reason: str | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def first(self) -> pydicom.Dataset:
        return self.headers[0]

    def tag(self, keyword: str, default: Any = None) -> Any:
        """The first header's value of ``keyword`` (``default`` when absent or empty)."""
        value = self.first.get(keyword, default)
        return default if value in (None, "") else value

    @property
    def modality(self) -> str:
        return str(self.tag("Modality", "")).upper()

    @property
    def patient_id(self) -> str:
        return str(self.tag("PatientID", "")).strip()

    @property
    def study_uid(self) -> str:
        return str(self.tag("StudyInstanceUID", ""))

    @property
    def series_number(self) -> int | None:
        value = self.tag("SeriesNumber")
        try:
            return None if value is None else int(value)
        except (TypeError, ValueError):
            return None

    @property
    def acquired(self) -> datetime | None:
        """When the series was acquired: Acquisition, then Series, then Study date and time."""
        for date_kw, time_kw in (("AcquisitionDate", "AcquisitionTime"),
                                 ("SeriesDate", "SeriesTime"), ("StudyDate", "StudyTime")):
            stamp = parse_datetime(self.tag(date_kw), self.tag(time_kw))
            if stamp is not None:
                return stamp
        return None

    @property
    def text(self) -> str:
        """Series description, protocol and sequence name together (classification only)."""
        return " ".join(str(self.tag(k, "")) for k in
                        ("SeriesDescription", "ProtocolName", "SequenceName"))

    @property
    def image_type(self) -> set[str]:
        value = self.tag("ImageType", [])
        values = [value] if isinstance(value, str) else list(value)
        return {str(v).strip().upper() for v in values}


@dataclass(frozen=True)
class SkippedFile:
    """A file that looked like DICOM but could not be read; no path is kept in a report."""

    error: str


def parse_datetime(date: Any, time: Any = None) -> datetime | None:
    """A DICOM DA (``YYYYMMDD``) and TM (``HHMMSS.frac``) as a datetime, or None.

    >>> parse_datetime("20230415", "093000.5")
    datetime.datetime(2023, 4, 15, 9, 30, 0, 500000)
    """
    date = str(date or "").strip().replace("-", "").replace(".", "")
    if not re.fullmatch(r"\d{8}", date):
        return None
    clock = str(time or "").strip().replace(":", "")
    match = re.fullmatch(r"(\d{2})(\d{2})?(\d{2})?(?:\.(\d{1,6}))?", clock)
    hour, minute, second, frac = match.groups() if match else ("0", None, None, None)
    try:
        return datetime(int(date[:4]), int(date[4:6]), int(date[6:]), int(hour),
                        int(minute or 0), int(second or 0), int((frac or "0").ljust(6, "0")))
    except ValueError:
        return None


@contextlib.contextmanager
def quiet_pydicom() -> Iterator[None]:
    """pydicom's warnings about invalid values quote the values (a name, an ID): silenced."""
    mode = pydicom.config.settings.reading_validation_mode
    pydicom.config.settings.reading_validation_mode = pydicom.config.IGNORE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            yield
        finally:
            pydicom.config.settings.reading_validation_mode = mode


def _read_header(path: Path) -> pydicom.Dataset | SkippedFile | None:
    """The file's header, a :class:`SkippedFile` if it is broken DICOM, None if not DICOM."""
    try:
        with quiet_pydicom():
            header = pydicom.dcmread(path, stop_before_pixels=True)
    except InvalidDicomError:
        return None
    except Exception as exc:  # noqa: BLE001 (pydicom raises many types for one cause)
        return SkippedFile(error=type(exc).__name__)
    sop = str(header.get("SOPClassUID", "") or
              getattr(header.get("file_meta", None), "MediaStorageSOPClassUID", ""))
    if sop == _SOP_DICOMDIR or "DirectoryRecordSequence" in header:
        return None
    if not header.get("SeriesInstanceUID") or not header.get("Modality"):
        return SkippedFile(error="header without SeriesInstanceUID or Modality")
    return header


def find_series(src: Path) -> tuple[list[Series], list[Path], list[SkippedFile]]:
    """Every DICOM series under ``src``, with the NIfTI files and the unreadable files found.

    Files are grouped by SeriesInstanceUID in any folder layout and sorted
    along their slice normal.  Files that are not DICOM (no ``DICM`` preamble)
    and DICOMDIR indexes are passed over.

    Returns
    -------
    series, nifti_files, unreadable
    """
    groups: dict[str, list[tuple[Path, pydicom.Dataset]]] = defaultdict(list)
    nifti: list[Path] = []
    unreadable: list[SkippedFile] = []
    for folder, dirs, names in os.walk(src):
        dirs.sort()
        for name in sorted(names):
            path = Path(folder) / name
            if name.endswith((".nii", ".nii.gz")):
                nifti.append(path)
                continue
            header = _read_header(path)
            if header is None:
                continue
            if isinstance(header, SkippedFile):
                unreadable.append(header)
                continue
            groups[str(header.SeriesInstanceUID)].append((path, header))
    series = [_sorted_series(uid, members) for uid, members in groups.items()]
    series.sort(key=lambda s: (s.patient_id, s.acquired or datetime.min, s.study_uid,
                               s.series_number if s.series_number is not None else -1, s.uid))
    return series, nifti, unreadable


def _sorted_series(uid: str, members: list[tuple[Path, pydicom.Dataset]]) -> Series:
    normal = _normal(members[0][1])

    def along(item: tuple[Path, pydicom.Dataset]) -> tuple[float, int, str]:
        position = _position(item[1])
        instance = int(item[1].get("InstanceNumber", 0) or 0)
        return (float(position @ normal) if position is not None and normal is not None else 0.0,
                instance, str(item[0]))

    members = sorted(members, key=along)
    return Series(uid=uid, files=[p for p, _ in members], headers=[h for _, h in members])


def _orientation(header: pydicom.Dataset) -> np.ndarray | None:
    value = header.get("ImageOrientationPatient")
    if value is None or len(value) != 6:
        return None
    return np.asarray([float(v) for v in value])


def _position(header: pydicom.Dataset) -> np.ndarray | None:
    value = header.get("ImagePositionPatient")
    if value is None or len(value) != 3:
        return None
    return np.asarray([float(v) for v in value])


def _normal(header: pydicom.Dataset) -> np.ndarray | None:
    orientation = _orientation(header)
    if orientation is None:
        return None
    normal = np.cross(orientation[:3], orientation[3:])
    length = np.linalg.norm(normal)
    return normal / length if length > 0 else None


@dataclass(frozen=True)
class Geometry:
    """A stack of evenly spaced parallel slices, as its headers say (LPS, mm).

    ``step`` is the mean shift from one slice to the next; ``spacing`` its
    part along the slice normal and ``shear`` the rest, in the slice plane:
    non-zero for a CT acquired with a tilted gantry.
    """

    origin: np.ndarray
    row: np.ndarray
    column: np.ndarray
    normal: np.ndarray
    pixel_spacing: tuple[float, float]      # (between columns, between rows): x, y
    spacing: float
    shear: np.ndarray
    slices: int

    @property
    def tilt_deg(self) -> float:
        return float(np.degrees(np.arctan2(np.linalg.norm(self.shear), self.spacing)))

    @property
    def needs_untilt(self) -> bool:
        """The accumulated shear over the stack exceeds half an in-plane voxel."""
        return float(np.linalg.norm(self.shear)) * (self.slices - 1) > 0.5 * min(self.pixel_spacing)


def geometry(series: Series) -> tuple[Geometry | None, str | None]:
    """The stack's geometry, or the reason the series is not one evenly spaced stack."""
    headers = series.headers
    orientations = [_orientation(h) for h in headers]
    positions = [_position(h) for h in headers]
    if any(o is None for o in orientations) or any(p is None for p in positions):
        return None, "no slice position or orientation (ImagePositionPatient/ImageOrientationPatient)"
    if any(not np.allclose(o, orientations[0], atol=1e-3) for o in orientations):
        return None, "slices with different orientations (a mixed stack)"
    sizes = {(int(h.get("Rows", 0)), int(h.get("Columns", 0))) for h in headers}
    if len(sizes) > 1:
        return None, "slices of different sizes (Rows/Columns)"
    pixel = headers[0].get("PixelSpacing")
    if pixel is None or len(pixel) != 2:
        return None, "no PixelSpacing"
    normal = _normal(headers[0])
    assert normal is not None
    points = np.asarray(positions, dtype=float)
    steps = np.diff(points, axis=0)
    along = steps @ normal
    if len(along) == 0:
        return None, "a single slice"
    if (np.abs(along) < 1e-3).any():
        return None, ("repeated slice positions (several volumes in one series: echoes, "
                      "phases or time points)")
    median = float(np.median(along))
    if np.abs(along - median).max() > SPACING_TOLERANCE * abs(median):
        return None, (f"slice spacing not uniform ({along.min():.2f}-{along.max():.2f} mm): "
                      "missing slices or a mixed stack")
    mean_step = steps.mean(axis=0)
    spacing = float(mean_step @ normal)
    shear = mean_step - spacing * normal
    orientation = orientations[0]
    assert orientation is not None
    return Geometry(origin=points[0], row=orientation[:3], column=orientation[3:], normal=normal,
                    pixel_spacing=(float(pixel[1]), float(pixel[0])), spacing=spacing,
                    shear=shear, slices=len(headers)), None


def _contrast(series: Series) -> bool:
    agent = str(series.tag("ContrastBolusAgent", "")).strip().upper()
    return agent not in _NO_AGENT or bool(_CONTRAST_WORDS.search(series.text))


def classify(series: Series) -> tuple[str | None, str | None]:
    """What a series is used as (``"ct"``, ``"flair"``, ``"seg"``) or why it is skipped.

    The rules, in order: a modality other than CT, MR and SEG; an enhanced
    multi-frame object; a localiser (ImageType LOCALIZER, or a scout/topogram
    description); a secondary capture or projection (MIP, volume rendering);
    fewer than :data:`MIN_SLICES` slices; not one evenly spaced stack
    (:func:`geometry`); a CT that is not axial (a reformat) or not of the
    head (BodyPartExamined); a contrast phase (ContrastBolusAgent, or a
    description naming contrast, angiography or perfusion); an MR series
    that is not a T2-FLAIR (no FLAIR name and no inversion recovery with
    TI >= :data:`FLAIR_MIN_TI_MS`, or a T1-FLAIR).

    Returns
    -------
    (kind, reason)
        One of them is None.
    """
    modality = series.modality
    sop = str(series.tag("SOPClassUID", ""))
    if modality == "SEG" or sop == _SOP_SEG:
        return SEG, None
    if modality not in ("CT", "MR"):
        return None, f"modality {modality or 'missing'}: not used (CT, MR and SEG are)"
    if not series.patient_id:
        return None, "no PatientID: whose scan it is cannot be told"
    if sop in _SOP_ENHANCED or int(series.tag("NumberOfFrames", 1) or 1) > 1:
        return None, (f"{_SOP_ENHANCED.get(sop, 'multi-frame')} DICOM: not read; convert it "
                      "with dcm2niix and add it to the manifest by hand")
    image_type = series.image_type
    if "LOCALIZER" in image_type or _LOCALISER_WORDS.search(series.text):
        return None, "localiser (scout)"
    if sop.startswith(_SOP_SECONDARY):
        return None, "secondary capture (a screenshot or report page)"
    if image_type & _PROJECTION_WORDS:
        return None, "projection image (MIP, volume rendering)"
    if len(series.files) < MIN_SLICES:
        return None, f"{len(series.files)} slice(s): not a head volume"
    geom, why = geometry(series)
    if geom is None:
        return None, why
    if modality == "CT":
        if abs(float(geom.normal[2])) < np.cos(np.radians(45)):
            return None, "CT not axial (a coronal or sagittal reformat)"
        part = str(series.tag("BodyPartExamined", "")).strip()
        if part and not _HEAD_PARTS.search(part):
            return None, f"CT of the body part {part.upper()}, not the head"
        if _contrast(series):
            return None, "contrast phase (contrast agent or contrast description)"
        return CT, None
    if _contrast(series):
        return None, "MR after contrast"
    ti = series.tag("InversionTime")
    ti = float(ti) if ti is not None else None
    sequence = str(series.tag("ScanningSequence", ""))
    named = bool(_FLAIR_WORDS.search(series.text))
    inversion = "IR" in sequence.upper()
    if (named or inversion) and ti is not None and ti < FLAIR_MIN_TI_MS:
        return None, f"MR inversion recovery with TI {ti:.0f} ms: a T1-FLAIR or STIR, not a FLAIR"
    if named and _T1_WORDS.search(series.text):
        return None, "MR T1-FLAIR, not a (T2-)FLAIR"
    if named or (inversion and ti is not None):
        return FLAIR, None
    return None, "MR series, not a FLAIR (no FLAIR name, no inversion recovery with a long TI)"


@dataclass
class Selection:
    """One patient's kept series and the others, each with its reason."""

    patient_id: str
    ct: Series | None = None
    flair: Series | None = None
    segs: list[Series] = field(default_factory=list)
    skipped: list[Series] = field(default_factory=list)

    @property
    def interval_h(self) -> float | None:
        if self.ct is None or self.flair is None:
            return None
        a, b = self.ct.acquired, self.flair.acquired
        return None if a is None or b is None else abs((b - a).total_seconds()) / 3600


def _size_then_number(s: Series) -> tuple[int, int]:
    return (-len(s.files), s.series_number if s.series_number is not None else 1 << 30)


def _hours(a: Series, b: Series) -> float:
    if a.acquired is None or b.acquired is None:
        return float("inf")
    return abs((a.acquired - b.acquired).total_seconds()) / 3600


def select(series: list[Series]) -> list[Selection]:
    """One CT and one FLAIR per patient; every other candidate is listed as a duplicate.

    The rule: the CT-FLAIR pair closest in time is kept (the paper pairs the
    CT and MRI of one admission); among series equally close (one study holds
    several reconstructions) the one with the most slices, then the lowest
    SeriesNumber.  A patient without FLAIR keeps the earliest CT, by the same
    tie rule; a FLAIR more than :data:`MAX_INTERVAL_H` from every CT is not
    paired.  Series must have been through :func:`classify` (``kind`` set).
    """
    by_patient: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        if s.kind in (CT, FLAIR):
            by_patient[s.patient_id].append(s)
    selections = []
    for patient, members in by_patient.items():
        cts = sorted((s for s in members if s.kind == CT), key=_size_then_number)
        flairs = sorted((s for s in members if s.kind == FLAIR), key=_size_then_number)
        chosen = Selection(patient_id=patient)
        if cts and flairs:
            pairs = [(round(_hours(c, f), 3), _size_then_number(c), _size_then_number(f), c, f)
                     for c in cts for f in flairs]
            hours, _, _, ct, flair = min(pairs, key=lambda p: p[:3])
            chosen.ct = ct
            if hours <= MAX_INTERVAL_H:
                chosen.flair = flair
        elif cts:
            chosen.ct = min(cts, key=lambda c: (c.acquired or datetime.max, _size_then_number(c)))
        else:
            chosen.flair = flairs[0]
        for s in members:
            if s is chosen.ct or s is chosen.flair:
                continue
            kept = chosen.ct if s.kind == CT else chosen.flair
            if kept is None:
                s.reason = f"no CT of this patient within {MAX_INTERVAL_H:.0f} h of this FLAIR"
            else:
                s.reason = (f"duplicate: {s.kind.upper() if s.kind == CT else 'FLAIR'} series "
                            f"{kept.series_number} of this patient was kept (closest CT-FLAIR "
                            "pair, then most slices, then lowest series number)")
            chosen.skipped.append(s)
        selections.append(chosen)
    return selections
