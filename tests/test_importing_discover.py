"""Series classification and the one-CT-one-FLAIR rule, on in-memory headers."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from pydicom.dataset import Dataset

from leukoct.importing.discover import Series, classify, parse_datetime, select


def _series(modality: str = "CT", slices: int = 20, step: float = 5.0, uid: str = "1.2.3",
            tilt: float = 0.0, **tags) -> Series:
    headers = []
    for k in range(slices):
        ds = Dataset()
        ds.Modality, ds.PatientID, ds.StudyInstanceUID = modality, "P1", tags.pop("study", "9.9")
        ds.SeriesInstanceUID, ds.SeriesNumber = uid, tags.get("SeriesNumber", 2)
        ds.SOPClassUID = "1.2.840.10008.5.1.4.1.1.2" if modality == "CT" else "1.2.840.10008.5.1.4.1.1.4"
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.ImagePositionPatient = [0.0, k * tilt, k * step]
        ds.PixelSpacing, ds.Rows, ds.Columns = [0.5, 0.5], 64, 64
        for keyword, value in tags.items():
            setattr(ds, keyword, value)
        headers.append(ds)
    return Series(uid=uid, files=[Path(f"f{k}") for k in range(slices)], headers=headers)


@pytest.mark.parametrize("tags, expected", [
    ({}, ("ct", None)),
    ({"ImageType": ["ORIGINAL", "PRIMARY", "LOCALIZER"]}, (None, "localiser (scout)")),
    ({"SeriesDescription": "Topogram"}, (None, "localiser (scout)")),
    ({"ContrastBolusAgent": "OMNIPAQUE"}, (None, "contrast phase (contrast agent or contrast "
                                                  "description)")),
    ({"ContrastBolusAgent": "NONE"}, ("ct", None)),
    ({"SeriesDescription": "CTA HEAD"}, (None, "contrast phase (contrast agent or contrast "
                                               "description)")),
    ({"BodyPartExamined": "CHEST"}, (None, "CT of the body part CHEST, not the head")),
    ({"ImageType": ["DERIVED", "SECONDARY", "MIP"]}, (None, "projection image (MIP, volume "
                                                            "rendering)")),
])
def test_ct_series_are_kept_or_skipped_by_their_tags(tags: dict, expected: tuple) -> None:
    assert classify(_series(**tags)) == expected


@pytest.mark.parametrize("tags, kind", [
    ({"SeriesDescription": "AX T2 FLAIR"}, "flair"),
    ({"ScanningSequence": ["SE", "IR"], "InversionTime": 2500.0}, "flair"),   # no name, long TI
    ({"SeriesDescription": "tirm_tra_dark-fluid"}, "flair"),
    ({"ScanningSequence": ["SE", "IR"], "InversionTime": 160.0}, None),      # STIR
    ({"SeriesDescription": "T1 FLAIR", "InversionTime": 860.0}, None),
    ({"SeriesDescription": "AX DWI"}, None),
    ({"SeriesDescription": "FLAIR POST GD"}, None),
])
def test_flair_is_told_by_name_or_a_long_inversion_time(tags: dict, kind: str | None) -> None:
    assert classify(_series("MR", **tags))[0] == kind


def test_stacks_that_are_not_one_even_stack_are_refused() -> None:
    few = _series(slices=3)
    assert classify(few) == (None, "3 slice(s): not a head volume")
    uneven = _series()
    uneven.headers[7].ImagePositionPatient = [0.0, 0.0, 37.0]
    assert classify(uneven)[1].startswith("slice spacing not uniform")
    repeated = _series()
    repeated.headers[5].ImagePositionPatient = repeated.headers[4].ImagePositionPatient
    repeated.headers = sorted(repeated.headers, key=lambda h: float(h.ImagePositionPatient[2]))
    assert classify(repeated)[1].startswith("repeated slice positions")
    assert classify(_series(tilt=1.0)) == ("ct", None)        # a tilted gantry is converted
    coronal = _series(step=0.0, tilt=5.0, ImageOrientationPatient=[1, 0, 0, 0, 0, -1])
    assert classify(coronal) == (None, "CT not axial (a coronal or sagittal reformat)")


def test_the_closest_ct_flair_pair_is_kept_then_most_slices() -> None:
    def timed(series: Series, stamp: str) -> Series:
        for h in series.headers:
            h.AcquisitionDate, h.AcquisitionTime = stamp.split()
        series.kind = classify(series)[0]
        return series

    early = timed(_series(uid="1", SeriesNumber=2), "20230101 080000")
    thin = timed(_series(uid="2", slices=40, step=2.5, SeriesNumber=3), "20230105 080000")
    thick = timed(_series(uid="3", SeriesNumber=4), "20230105 080000")
    flair = timed(_series("MR", uid="4", SeriesDescription="FLAIR", SeriesNumber=5),
                  "20230105 100000")
    [chosen] = select([early, thin, thick, flair])
    assert chosen.ct is thin and chosen.flair is flair and chosen.interval_h == 2.0
    assert {s.uid for s in chosen.skipped} == {"1", "3"}
    assert all("CT series 3 of this patient was kept" in s.reason for s in chosen.skipped)
    far = timed(_series("MR", uid="5", SeriesDescription="FLAIR"), "20230301 100000")
    [alone] = select([early, far])
    assert alone.ct is early and alone.flair is None
    assert alone.skipped[0].reason.startswith("no CT of this patient within 720 h")


def test_dicom_dates_and_times() -> None:
    assert parse_datetime("20230415", "0930") == datetime(2023, 4, 15, 9, 30)
    assert parse_datetime("2023-04-15", None) == datetime(2023, 4, 15)
    assert parse_datetime("", "093000") is None and parse_datetime("20231345") is None
