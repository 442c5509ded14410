"""Synthetic DICOM studies for the importer's tests: twin CTs and FLAIRs as scanners write them.

Each patient's series carry realistic tags (Image Position/Orientation,
PixelSpacing, a rescale slope and intercept, several series per study) and
fake PHI in every identifying tag and in their folder names.  :func:`phi_strings`
lists every fake identifier, to be searched for in everything the importer wrote.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass, field
from pathlib import Path

import nibabel as nib
import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.pixels import pack_bits
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_STORAGE = "1.2.840.10008.5.1.4.1.1.2"
MR_STORAGE = "1.2.840.10008.5.1.4.1.1.4"
SEG_STORAGE = "1.2.840.10008.5.1.4.1.1.66.4"
_counter = itertools.count(1)


def fake_phi(i: int) -> dict[str, str]:
    """Fake identifying tags of patient ``i``: every value distinctive, so a leak is found."""
    return {
        "PatientName": f"HONGXQ{i}^GILDONGXQ{i}",
        "PatientID": f"PIDXQ{i}83726150",
        "PatientBirthDate": f"19{40 + i}0312",
        "OtherPatientIDs": f"OTHERIDXQ{i}5521",
        "PatientAddress": f"{i}7 FAKESTREETXQ SEOUL",
        "PatientTelephoneNumbers": f"010-55{i}1-2{i}34",
        "InstitutionName": f"SAINT FAKEXQ{i} HOSPITAL",
        "InstitutionAddress": f"{i}12 HOSPITALROADXQ",
        "ReferringPhysicianName": f"KIMXQ{i}^REFERRERXQ",
        "PerformingPhysicianName": f"LEEXQ{i}^PERFORMERXQ",
        "OperatorsName": f"PARKXQ{i}^OPERATORXQ",
        "StationName": f"STATIONXQ{i}",
        "DeviceSerialNumber": f"SERIALXQ{i}9911",
    }


def _study_phi(i: int, j: int) -> dict[str, str]:
    return {"AccessionNumber": f"ACCXQ{i}{j}99812377", "StudyID": f"STUDYIDXQ{i}{j}",
            "StudyDescription": f"BRAIN STROKE XQ{i}{j} PROTOCOL"}


def phi_strings(patients: int, studies: int = 2) -> list[str]:
    """Every fake identifier :func:`write_patient` writes for ``patients`` patients."""
    out = []
    for i in range(1, patients + 1):
        phi = fake_phi(i)
        out += list(phi.values()) + phi["PatientName"].split("^")
        for j in range(1, studies + 1):
            out += list(_study_phi(i, j).values())
    return out


@dataclass
class StudyTags:
    """A study's identity: UID, date, time and its fake PHI."""

    patient: int
    number: int
    date: str
    time: str
    uid: str = field(default_factory=generate_uid)

    def tags(self) -> dict[str, str]:
        return {"StudyInstanceUID": self.uid, "StudyDate": self.date, "StudyTime": self.time,
                "SeriesDate": self.date, "AcquisitionDate": self.date, "ContentDate": self.date,
                "AcquisitionTime": self.time, **fake_phi(self.patient),
                **_study_phi(self.patient, self.number)}


def lps_geometry(affine: np.ndarray, k: int, shear: np.ndarray | None = None,
                 ) -> tuple[list[float], list[float], list[float]]:
    """(ImagePositionPatient, ImageOrientationPatient, PixelSpacing) of slice ``k`` of a
    NIfTI (RAS) volume, its first axis along the DICOM rows, its second along the columns."""
    lps = np.diag([-1.0, -1.0, 1.0, 1.0]) @ affine
    dx, dy = np.linalg.norm(lps[:3, 0]), np.linalg.norm(lps[:3, 1])
    position = lps @ np.array([0.0, 0.0, k, 1.0])
    if shear is not None:
        position[:3] += k * shear
    orientation = [*(lps[:3, 0] / dx), *(lps[:3, 1] / dy)]
    return [float(v) for v in position[:3]], [float(v) for v in orientation], [float(dy), float(dx)]


def write_series(folder: Path, volume: np.ndarray, affine: np.ndarray, study: StudyTags, *,
                 modality: str, number: int, slope: float = 1.0, intercept: float = 0.0,
                 tags: dict | None = None, slices: list[int] | None = None,
                 shear: np.ndarray | None = None, names: str = "IM") -> str:
    """Write ``volume`` (values after rescale: HU for CT) as one DICOM series, one file a
    slice; return its SeriesInstanceUID."""
    folder.mkdir(parents=True, exist_ok=True)
    stored = np.rint((volume - intercept) / slope)
    signed = stored.min() < 0
    stored = stored.astype(np.int16 if signed else np.uint16)
    series_uid = generate_uid()
    frame_uid = generate_uid()
    storage = CT_STORAGE if modality == "CT" else MR_STORAGE
    indices = list(range(volume.shape[2])) if slices is None else slices
    for instance, k in enumerate(indices, start=1):
        position, orientation, spacing = lps_geometry(affine, k, shear)
        ds = Dataset()
        ds.file_meta = FileMetaDataset()
        ds.file_meta.MediaStorageSOPClassUID = storage
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
        ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
        ds.SOPClassUID, ds.SOPInstanceUID = storage, ds.file_meta.MediaStorageSOPInstanceUID
        for keyword, value in study.tags().items():
            setattr(ds, keyword, value)
        ds.Modality, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = modality, series_uid, frame_uid
        ds.SeriesNumber, ds.InstanceNumber = number, instance
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient, ds.ImageOrientationPatient = position, orientation
        ds.PixelSpacing = spacing
        ds.SliceThickness = float(np.linalg.norm(affine[:3, 2]))
        ds.Rows, ds.Columns = volume.shape[1], volume.shape[0]
        ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
        ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 16, 15
        ds.PixelRepresentation = 1 if signed else 0
        if modality == "CT" or slope != 1.0 or intercept != 0.0:
            ds.RescaleSlope, ds.RescaleIntercept = slope, intercept
            ds.RescaleType = "HU" if modality == "CT" else "US"
        for keyword, value in (tags or {}).items():
            setattr(ds, keyword, value)
        ds.PixelData = np.ascontiguousarray(stored[:, :, k].T).tobytes()
        ds.save_as(folder / f"{names}{next(_counter):06d}", enforce_file_format=True)
    return series_uid


def write_seg(path: Path, mask: np.ndarray, affine: np.ndarray, study: StudyTags,
              referenced_series: str, *, number: int, algorithm: str = "AUTOMATIC") -> Path:
    """A binary DICOM-SEG of ``mask`` (on the grid of ``affine``), one frame per
    non-empty slice, referencing ``referenced_series``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = SEG_STORAGE
    ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.SOPClassUID, ds.SOPInstanceUID = SEG_STORAGE, ds.file_meta.MediaStorageSOPInstanceUID
    for keyword, value in study.tags().items():
        setattr(ds, keyword, value)
    ds.Modality, ds.SeriesInstanceUID, ds.SeriesNumber = "SEG", generate_uid(), number
    ds.SegmentationType = "BINARY"
    ds.Rows, ds.Columns = mask.shape[1], mask.shape[0]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 1, 1, 0, 0
    segment = Dataset()
    segment.SegmentNumber, segment.SegmentLabel = 1, "WMH"
    segment.SegmentAlgorithmType = algorithm
    ds.SegmentSequence = [segment]
    reference = Dataset()
    reference.SeriesInstanceUID = referenced_series
    ds.ReferencedSeriesSequence = [reference]
    frames, per_frame = [], []
    for k in range(mask.shape[2]):
        if not mask[:, :, k].any():
            continue
        position, orientation, spacing = lps_geometry(affine, k)
        plane = Dataset()
        plane.ImagePositionPatient = position
        which = Dataset()
        which.ReferencedSegmentNumber = 1
        item = Dataset()
        item.PlanePositionSequence, item.SegmentIdentificationSequence = [plane], [which]
        per_frame.append(item)
        frames.append((mask[:, :, k].T > 0).astype(np.uint8))
    shared, plane_orientation, measures = Dataset(), Dataset(), Dataset()
    plane_orientation.ImageOrientationPatient = orientation
    measures.PixelSpacing = spacing
    shared.PlaneOrientationSequence, shared.PixelMeasuresSequence = [plane_orientation], [measures]
    ds.SharedFunctionalGroupsSequence = [shared]
    ds.PerFrameFunctionalGroupsSequence = per_frame
    ds.NumberOfFrames = len(frames)
    ds.PixelData = pack_bits(np.stack(frames))
    ds.save_as(path, enforce_file_format=True)
    return path


def _load(path: Path) -> tuple[np.ndarray, np.ndarray]:
    image = nib.load(str(path))
    return np.asanyarray(image.dataobj), image.affine


@dataclass
class SourcePatient:
    """What was written for one patient, for the tests to check against."""

    twin_id: str
    phi: dict[str, str]
    ct_series: int
    flair_series: int
    interval_h: float


def write_twin_patient(root: Path, images: Path, twin_id: str, i: int, *, flat: bool,
                       ct_time: str, mr_time: str, slope: float, intercept: float,
                       extras: bool) -> SourcePatient:
    """Write one twin subject's CT and MR studies under ``root`` (a folder named by the
    patient's fake name and ID, or one flat folder), with, if ``extras``: a localiser, a
    thicker duplicate reconstruction, a contrast phase, a T1, a DICOM-SEG of the WMH mask
    and a NIfTI reference mask."""
    phi = fake_phi(i)
    ct, ct_affine = _load(images / f"{twin_id}_ct.nii.gz")
    flair, flair_affine = _load(images / f"{twin_id}_flair.nii.gz")
    ct_study = StudyTags(i, 1, "20230415", ct_time)
    mr_study = StudyTags(i, 2, "20230415" if mr_time > ct_time else "20230416", mr_time)
    base = root / "flat" if flat else root / f"{phi['PatientName']}_{phi['PatientID']}"
    ct_dir = base if flat else base / f"{ct_study.date}_CT_{_study_phi(i, 1)['AccessionNumber']}"
    mr_dir = base if flat else base / f"{mr_study.date}_MR"
    ct_tags = {"Manufacturer": "SIEMENS", "KVP": 120, "BodyPartExamined": "HEAD",
               "SeriesDescription": "HEAD STD 5mm", "ConvolutionKernel": "H30s"}
    write_series(ct_dir / "s2", ct.astype(float), ct_affine, ct_study, modality="CT", number=2,
                 slope=slope, intercept=intercept, tags=ct_tags)
    mr_tags = {"Manufacturer": "GE MEDICAL SYSTEMS", "MagneticFieldStrength": 3.0,
               "ScanningSequence": ["SE", "IR"], "InversionTime": 2500.0,
               "RepetitionTime": 9000.0, "EchoTime": 120.0, "SeriesDescription": "AX T2 FLAIR"}
    flair_uid = write_series(mr_dir / "s5", flair.astype(float), flair_affine, mr_study,
                             modality="MR", number=5, tags=mr_tags)
    if extras:
        write_series(ct_dir / "s1", ct.astype(float), ct_affine, ct_study, modality="CT",
                     number=1, slope=slope, intercept=intercept, slices=[ct.shape[2] // 2],
                     tags={**ct_tags, "SeriesDescription": "Topogram 0.6 T20s",
                           "ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"]})
        write_series(ct_dir / "s3", ct.astype(float), ct_affine, ct_study, modality="CT",
                     number=3, slope=slope, intercept=intercept,
                     slices=list(range(0, ct.shape[2], 2)),
                     tags={**ct_tags, "SeriesDescription": "HEAD 10mm"})
        write_series(ct_dir / "s4", ct.astype(float) + 40, ct_affine, ct_study, modality="CT",
                     number=4, slope=slope, intercept=intercept,
                     tags={**ct_tags, "SeriesDescription": "HEAD C+",
                           "ContrastBolusAgent": "IOPAMIDOL 370"})
        write_series(mr_dir / "s6", flair.astype(float), flair_affine, mr_study, modality="MR",
                     number=6, tags={**mr_tags, "SeriesDescription": "AX T1 SE",
                                     "ScanningSequence": "SE", "InversionTime": None})
        wmh, wmh_affine = _load(images / f"{twin_id}_wmh.nii.gz")
        write_seg(mr_dir / "s7" / "SEG0001", wmh, wmh_affine, mr_study, flair_uid, number=7)
        reference = images / f"{twin_id}_wmh_reference.nii.gz"
        (mr_dir / "wmh_reference.nii.gz").write_bytes(reference.read_bytes())
        (ct_dir / "README.txt").write_text("exported from PACS\n")
        whole = next((ct_dir / "s2").iterdir()).read_bytes()
        (ct_dir / "s2" / "BROKEN01").write_bytes(whole[:200])   # cut inside the file meta
    hours = (int(mr_time[:2]) - int(ct_time[:2])) + (int(mr_time[2:4]) - int(ct_time[2:4])) / 60
    if mr_study.date != ct_study.date:
        hours += 24
    return SourcePatient(twin_id=twin_id, phi=phi, ct_series=2, flair_series=5,
                         interval_h=hours)


def head_phantom(shape: tuple[int, int, int] = (48, 48, 24), centre: tuple[float, ...] = (0, 0, 0),
                 spacing: tuple[float, float, float] = (4.0, 4.0, 5.0),
                 ) -> tuple[np.ndarray, np.ndarray]:
    """A small head-shaped CT in HU on a RAS grid centred on the origin: air -1000, a
    bone shell 1000 HU, brain 30 HU (a sphere of radius 70 mm at ``centre``, mm)."""
    affine = np.diag([*spacing, 1.0])
    affine[:3, 3] = -np.asarray(spacing) * (np.asarray(shape) - 1) / 2
    index = np.indices(shape).reshape(3, -1).T
    world = nib.affines.apply_affine(affine, index)
    radius = np.linalg.norm(world - np.asarray(centre), axis=1).reshape(shape)
    volume = np.full(shape, -1000.0)
    volume[radius < 70] = 1000.0
    volume[radius < 62] = 30.0
    return volume, affine
