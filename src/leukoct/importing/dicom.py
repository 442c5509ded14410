"""``leukoct import dicom``: a folder of DICOM studies to pseudonymised NIfTI and a manifest.

The steps: find and classify every series (:mod:`~leukoct.importing.discover`),
keep one CT and one FLAIR per patient, give each patient a pseudonym
(:mod:`~leukoct.importing.pseudonyms`), convert the kept series
(:mod:`~leukoct.importing.convert`) with their masks (DICOM-SEG, or NIfTI
files lying beside a patient's DICOM), record the acquisition facts the
manifest needs, and write

- ``OUT/images/<subject>_<kind>.nii.gz`` and a ``.json`` sidecar of
  whitelisted facts (:data:`~leukoct.importing.deidentify.KEPT_ATTRIBUTES`);
- ``OUT/manifest.csv`` (leukoct's columns, with checksums; age, sex and the
  registry's fields follow from ``leukoct import registry``);
- ``OUT/import_report.csv``: every series, kept or skipped, and why.

Before it returns, every written file is searched for the identifying values
of the headers read (:func:`~leukoct.importing.deidentify.find_leaks`).
"""

from __future__ import annotations

import json
import logging
import os
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd
import pydicom
import SimpleITK as sitk

from leukoct.importing import convert
from leukoct.importing.deidentify import find_leaks, identifying_values
from leukoct.importing.discover import (
    CT,
    FLAIR,
    SEG,
    Selection,
    Series,
    classify,
    find_series,
    geometry,
    quiet_pydicom,
    select,
)
from leukoct.importing.pseudonyms import assign, check_outside, read_map, write_map
from leukoct.manifest import fill_checksums, write_manifest
from leukoct.messages import LeukoctError
from leukoct.schema import canonical_vendor

__all__ = ["DicomImport", "DicomImportError", "import_dicom", "REPORT_NAME"]

log = logging.getLogger(__name__)

REPORT_NAME = "import_report.csv"
REPORT_COLUMNS = ("subject_id", "study", "series_number", "modality", "files", "status",
                  "used_as", "reason", "output")
#: Manifest image column of each kind of mask.
MASK_COLUMNS = {"wmh_mask": "wmh_mask_path", "wmh_reference": "wmh_reference_path",
                "manual_mask": "manual_mask_path"}


class DicomImportError(LeukoctError):
    """The DICOM import cannot proceed; the message names the cause and the fix."""


@dataclass
class DicomImport:
    """What ``import dicom`` wrote, and how much it kept and skipped."""

    manifest: Path
    report: Path
    subjects: int
    kept: int
    skipped: int
    pseudonym_map: Path | None


def _facts(series: Series, geom: Any) -> dict[str, Any]:
    """The sidecar's facts: whitelisted attributes and what the conversion did."""
    def number(keyword: str) -> float | None:
        value = series.tag(keyword)
        try:
            return None if value is None else round(float(value), 4)
        except (TypeError, ValueError):
            return None

    manufacturer = series.tag("Manufacturer")
    field = number("MagneticFieldStrength")
    if field is not None and field > 10:     # some scanners write gauss (15000)
        field = round(field / 10000, 3)
    return {
        "modality": series.modality,
        "vendor": canonical_vendor(manufacturer) if manufacturer else None,
        "kvp": number("KVP"),
        "slice_thickness_mm": number("SliceThickness"),
        "slice_spacing_mm": round(float(geom.spacing), 4),
        "pixel_spacing_mm": [round(v, 4) for v in geom.pixel_spacing],
        "slices": geom.slices,
        "field_strength_t": field,
        "repetition_time_ms": number("RepetitionTime"),
        "echo_time_ms": number("EchoTime"),
        "inversion_time_ms": number("InversionTime"),
        "image_type": sorted(series.image_type),
        "convolution_kernel": str(series.tag("ConvolutionKernel", "")) or None,
        "rescale_slope": number("RescaleSlope"),
        "rescale_intercept": number("RescaleIntercept"),
        "series_number": series.series_number,
        "gantry_tilt_deg": round(geom.tilt_deg, 2),
        "gantry_tilt_corrected": bool(geom.needs_untilt),
        "converter": f"SimpleITK {sitk.Version.VersionString()} ImageSeriesReader (GDCM)",
    }


def _write_sidecar(path: Path, facts: dict[str, Any]) -> Path:
    path.write_text(json.dumps(facts, indent=2) + "\n", encoding="utf-8")
    return path


def _patient_order(series: list[Series]) -> list[str]:
    first: dict[str, tuple[Any, str]] = {}
    for s in series:
        if not s.patient_id:
            continue
        stamp = (s.acquired.isoformat() if s.acquired else "9999", s.study_uid)
        if s.patient_id not in first or stamp < first[s.patient_id]:
            first[s.patient_id] = stamp
    return sorted(first, key=lambda p: first[p])


def _study_numbers(series: list[Series]) -> dict[str, int]:
    """Each StudyInstanceUID's number within its patient, in time order (1, 2, ...)."""
    by_patient: dict[str, dict[str, str]] = defaultdict(dict)
    for s in series:
        stamp = s.acquired.isoformat() if s.acquired else "9999"
        studies = by_patient[s.patient_id]
        studies[s.study_uid] = min(studies.get(s.study_uid, stamp), stamp)
    numbers = {}
    for studies in by_patient.values():
        for i, uid in enumerate(sorted(studies, key=lambda u: (studies[u], u)), start=1):
            numbers[uid] = i
    return numbers


def _nifti_owners(src: Path, series: list[Series], nifti: list[Path]) -> dict[Path, str | None]:
    """The patient of each NIfTI file: the one whose DICOM shares its nearest folder.

    None where the nearest folder holding DICOM holds several patients'.
    """
    below: dict[Path, set[str]] = defaultdict(set)
    root = Path(os.path.abspath(src))
    for s in series:
        for f in s.files:
            folder = Path(os.path.abspath(f)).parent
            while True:
                below[folder].add(s.patient_id)
                if folder == root or folder.parent == folder:
                    break
                folder = folder.parent
    owners: dict[Path, str | None] = {}
    for path in nifti:
        folder = Path(os.path.abspath(path)).parent
        while folder not in below and folder != root and folder.parent != folder:
            folder = folder.parent
        patients = below.get(folder, set())
        owners[path] = next(iter(patients)) if len(patients) == 1 else None
    return owners


class _Run:
    """One import: the outputs written so far and the report's rows."""

    def __init__(self, out: Path, studies: dict[str, int], names: dict[str, str]):
        self.out = out
        self.images = out / "images"
        self.studies = studies
        self.names = names
        self.written: list[Path] = []
        self.rows: list[dict[str, Any]] = []

    def row(self, series: Series | None, status: str, used_as: str = "", reason: str = "",
            output: str = "") -> None:
        subject = self.names.get(series.patient_id, "") if series is not None else ""
        record = {
            "subject_id": subject,
            "study": self.studies.get(series.study_uid, "") if series is not None else "",
            "series_number": "" if series is None or series.series_number is None
            else series.series_number,
            "modality": series.modality if series is not None else "",
            "files": len(series.files) if series is not None else 1,
            "status": status, "used_as": used_as, "reason": reason, "output": output}
        self.rows.append(record)
        log.info("%s study %s series %s (%s): %s%s", subject or "-", record["study"] or "-",
                 record["series_number"] or "-", record["modality"] or "?", status,
                 f" as {used_as}" if used_as else f": {reason}")

    def nifti_row(self, subject: str, status: str, used_as: str = "", reason: str = "",
                  output: str = "") -> None:
        self.rows.append({"subject_id": subject, "study": "", "series_number": "",
                          "modality": "NIfTI", "files": 1, "status": status, "used_as": used_as,
                          "reason": reason, "output": output})
        log.info("%s NIfTI mask: %s%s", subject or "-", status,
                 f" as {used_as}" if used_as else f": {reason}")

    def write(self, image: sitk.Image, name: str) -> Path:
        path = convert.write_image(image, self.images / f"{name}.nii.gz")
        self.written.append(path)
        return path


def _convert_scan(run: _Run, series: Series, kind: str, subject: str,
                  ) -> tuple[Path, sitk.Image, Any, dict[str, Any]] | None:
    geom, why = geometry(series)
    assert geom is not None, why
    try:
        raw = convert.read_series(series, geom)
    except convert.ConversionError as exc:
        run.row(series, "skipped", reason=f"unreadable: {exc}")
        return None
    fill = convert.CT_FILL_HU if kind == CT else 0
    image = convert.untilt(raw, geom, fill)
    image = convert.as_ct(image) if kind == CT else convert.as_flair(image)
    name = f"{subject}_{kind}"
    path = run.write(image, name)
    facts = _facts(series, geom)
    run.written.append(_write_sidecar(run.images / f"{name}.json", facts))
    note = f"gantry tilt {geom.tilt_deg:.1f} deg corrected" if geom.needs_untilt else ""
    run.row(series, "kept", used_as=kind, reason=note, output=f"images/{path.name}")
    return path, raw, geom, facts


def _seg_kind(seg: pydicom.Dataset, selection: Selection) -> tuple[str | None, str]:
    referenced = [str(item.get("SeriesInstanceUID", ""))
                  for item in seg.get("ReferencedSeriesSequence", [])]
    algorithms = {str(item.get("SegmentAlgorithmType", "")).upper()
                  for item in seg.get("SegmentSequence", [])}
    if selection.flair is not None and selection.flair.uid in referenced:
        return ("wmh_reference" if algorithms == {"MANUAL"} else "wmh_mask"), ""
    if selection.ct is not None and selection.ct.uid in referenced:
        return "manual_mask", ""
    return None, "SEG on a series that was not kept (or no ReferencedSeriesSequence)"


def import_dicom(src: str | os.PathLike[str], out: str | os.PathLike[str], *,
                 site: str = "H1", cohort: str = "train", prefix: str = "SUBJ",
                 pseudonym_map: str | os.PathLike[str] | None = None) -> DicomImport:
    """Import every DICOM study under ``src`` into the study folder ``out``.

    Parameters
    ----------
    src
        Folder of DICOM files, in any layout; NIfTI masks may lie beside a
        patient's DICOM files (file name with ``reference`` or ``manual``:
        a reference mask on the FLAIR grid; on the CT grid: the manual mask).
    out
        The study folder: receives ``images/``, ``manifest.csv`` and
        ``import_report.csv``.
    site, cohort
        Written into every row; the registry import may set them per subject.
    prefix
        Pseudonyms are ``<prefix>-0001``, ...
    pseudonym_map
        CSV linking patient IDs to pseudonyms, read if it exists and written
        back extended; outside ``out``.  Without it no link is kept and the
        registry cannot be joined.

    Raises
    ------
    DicomImportError
        If ``src`` holds no usable series, or an identifying value was found
        in a written file (the written files are then removed).
    """
    src, out = Path(src), Path(out)
    if not src.is_dir():
        raise DicomImportError(f"{src}: no such folder; fix: give the folder holding the DICOM files")
    map_path = Path(pseudonym_map) if pseudonym_map is not None else None
    if map_path is not None:
        check_outside(map_path, out)
    series, nifti, unreadable = find_series(src)
    for s in series:
        s.kind, s.reason = classify(s)
    selections = select(series)
    existing = read_map(map_path) if map_path is not None else {}
    names = assign(_patient_order(series), existing, prefix)
    run = _Run(out, _study_numbers(series), names)
    run.images.mkdir(parents=True, exist_ok=True)
    for s in series:
        if s.kind is None:
            run.row(s, "skipped", reason=s.reason or "")
    for stale in unreadable:
        run.row(None, "skipped", reason=f"unreadable file ({stale.error})")

    segs: dict[str, list[Series]] = defaultdict(list)
    for s in series:
        if s.kind == SEG:
            segs[s.patient_id].append(s)
    owners = _nifti_owners(src, series, nifti)
    rows = []
    for selection in sorted(selections, key=lambda sel: names[sel.patient_id]):
        subject = names[selection.patient_id]
        for s in selection.skipped:
            run.row(s, "skipped", reason=s.reason or "")
        record: dict[str, Any] = {"subject_id": subject, "cohort": cohort, "site": site,
                                  "synthetic": False, "age": None, "sex": None}
        scans: dict[str, tuple[Path, sitk.Image, Any]] = {}
        for kind, chosen in ((CT, selection.ct), (FLAIR, selection.flair)):
            if chosen is None:
                continue
            done = _convert_scan(run, chosen, kind, subject)
            if done is None:
                setattr(selection, kind, None)
                continue
            path, raw, geom, facts = done
            scans[kind] = (path, raw, geom)
            record[f"{kind}_path"] = f"images/{path.name}"
            if kind == CT:
                record.update(ct_vendor=facts["vendor"], ct_kvp=facts["kvp"],
                              ct_slice_thickness_mm=facts["slice_thickness_mm"]
                              or facts["slice_spacing_mm"])
            else:
                record.update(mri_vendor=facts["vendor"],
                              mri_field_strength_t=facts["field_strength_t"])
        if selection.interval_h is not None:
            record["ct_mri_interval_h"] = round(selection.interval_h, 2)
        _masks(run, selection, segs.get(selection.patient_id, []), owners, scans, record, subject)
        rows.append(record)
    for patient, patient_segs in segs.items():     # SEGs of patients without a CT or FLAIR
        if patient not in {sel.patient_id for sel in selections}:
            for s in patient_segs:
                run.row(s, "skipped", reason="SEG of a patient without a kept CT or FLAIR")
    for path, owner in owners.items():
        if owner is None or owner not in {sel.patient_id for sel in selections}:
            run.nifti_row("", "skipped", reason="NIfTI mask beside no single patient's kept "
                                                "DICOM (put it in that patient's folder)")

    if not rows:
        report = _write_report(run)
        raise DicomImportError(f"{src}: no non-contrast head CT or FLAIR series found "
                           f"({len(series)} series looked at); fix: check the folder, or see "
                           f"why each series was skipped in {report}")
    manifest = write_manifest(pd.DataFrame(rows), out / "manifest.csv")
    fill_checksums(manifest)
    report = _write_report(run)
    run.written += [manifest, report]
    leaks = find_leaks(run.written, identifying_values(h for s in series for h in s.headers)
                       | set(names))
    if leaks:
        for path in run.written:
            path.unlink(missing_ok=True)
        raise DicomImportError(
            f"an identifying DICOM value was found in {len(leaks)} written file(s) "
            f"({', '.join(p.name for p, _ in leaks[:5])}); they were removed. This is a bug: "
            "report it without the data")
    if map_path is not None:
        write_map(map_path, {**existing, **names}, out)   # the caller warns (WARNING)
    kept = sum(r["status"] == "kept" for r in run.rows)
    return DicomImport(manifest=manifest, report=report, subjects=len(rows), kept=kept,
                       skipped=len(run.rows) - kept, pseudonym_map=map_path)


def _masks(run: _Run, selection: Selection, segs: list[Series], owners: dict[Path, str | None],
           scans: dict[str, tuple[Path, sitk.Image, Any]], record: dict[str, Any],
           subject: str) -> None:
    """Convert a patient's DICOM-SEG and NIfTI masks onto their images' grids."""
    for s in sorted(segs, key=lambda x: x.series_number or 0):
        try:
            with quiet_pydicom():
                dataset = pydicom.dcmread(s.files[0])
        except Exception as exc:  # noqa: BLE001
            run.row(s, "skipped", reason=f"unreadable SEG ({type(exc).__name__})")
            continue
        kind, why = _seg_kind(dataset, selection)
        if kind is None:
            run.row(s, "skipped", reason=why)
            continue
        column = MASK_COLUMNS[kind]
        if column in record:
            run.row(s, "skipped", reason=f"duplicate: another {kind} of this subject was kept "
                                         "(lowest series number)")
            continue
        scan = CT if kind == "manual_mask" else FLAIR
        path, raw, geom = scans[scan]
        try:
            mask = convert.mask_from_seg(dataset, raw, geom)
        except convert.ConversionError as exc:
            run.row(s, "skipped", reason=str(exc))
            continue
        out = run.write(sitk.Cast(mask, sitk.sitkUInt8), f"{subject}_{kind}")
        record[column] = f"images/{out.name}"
        run.row(s, "kept", used_as=kind, output=f"images/{out.name}")
    for nifti, owner in sorted(owners.items()):
        if owner != selection.patient_id:
            continue
        placed = False
        for scan in (FLAIR, CT):
            if scan not in scans:
                continue
            data = convert.mask_from_nifti(nifti, scans[scan][0])
            if data is None:
                continue
            lower = nifti.name.lower()
            kind = ("manual_mask" if scan == CT else
                    "wmh_reference" if ("reference" in lower or "manual" in lower) else "wmh_mask")
            column = MASK_COLUMNS[kind]
            if column in record:
                run.nifti_row(subject, "skipped", reason=f"duplicate: a {kind} of this subject "
                                                         "was already kept")
            else:
                out = convert.write_mask(data, scans[scan][0],
                                         run.images / f"{subject}_{kind}.nii.gz")
                run.written.append(out)
                record[column] = f"images/{out.name}"
                run.nifti_row(subject, "kept", used_as=kind, output=f"images/{out.name}")
            placed = True
            break
        if not placed:
            run.nifti_row(subject, "skipped", reason="NIfTI mask on the grid of neither the kept "
                                                     "CT nor the kept FLAIR")


def _write_report(run: _Run) -> Path:
    path = run.out / REPORT_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    table = pd.DataFrame(run.rows, columns=list(REPORT_COLUMNS))
    table.to_csv(path, index=False, lineterminator="\n")
    return path
