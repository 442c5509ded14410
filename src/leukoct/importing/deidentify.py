"""What of a DICOM header may leave the importer, and a check that nothing else did.

De-identification here is by construction: no DICOM file is written.  The
importer writes NIfTI images built from pixel arrays and geometry alone, and
per image a JSON sidecar holding the facts of :data:`KEPT_ATTRIBUTES` only.
Every attribute of the DICOM PS3.15 Basic Application Level Confidentiality
Profile (Table E.1-1: names, IDs, dates, times, institutions, devices,
descriptions, UIDs...) is read at most to classify a series or to compute
the CT-MRI interval, and then forgotten.  The profile's list comes from the
``dicom-anonymizer`` package (Kitware), which ships Table E.1-1 edition by
edition; :data:`PS315_EDITION` names the one used.

:func:`identifying_values` collects the identifying values of the headers
read, and :func:`find_leaks` searches every written file for them (inside
``.nii.gz`` files after decompression): the importer refuses to finish if one
is found.  That check backs the construction up; it does not replace it.
"""

from __future__ import annotations

import gzip
import re
from collections.abc import Iterable
from functools import lru_cache
from pathlib import Path

import pydicom
from pydicom.datadict import keyword_for_tag
from pydicom.tag import Tag

__all__ = ["KEPT_ATTRIBUTES", "PS315_EDITION", "basic_profile_tags", "find_leaks",
           "identifying_values", "in_basic_profile"]

#: The edition of PS3.15 Table E.1-1 (as shipped by dicom-anonymizer) used.
PS315_EDITION = "dicomfields_2026c"

#: Header attributes whose values may reach the sidecar JSON and the manifest
#: (none of them is in the basic profile; tests/test_importing_deidentify.py
#: checks).  Dates are not among them: the CT-MRI interval in hours is.
KEPT_ATTRIBUTES: tuple[str, ...] = (
    "Modality", "Manufacturer", "KVP", "SliceThickness", "MagneticFieldStrength",
    "ImageType", "RepetitionTime", "EchoTime", "InversionTime", "ScanningSequence",
    "PixelSpacing", "RescaleSlope", "RescaleIntercept", "SeriesNumber", "ConvolutionKernel",
)

#: Value representations whose values identify whatever the attribute: person
#: names, dates, date-times and UIDs.
_IDENTIFYING_VR = {"PN", "DA", "DT", "UI"}
#: Other basic-profile attributes whose keyword says they hold an identifier.
_IDENTIFYING_KEYWORD = re.compile(r"(ID|IDs|Number|Numbers|Name|Names|Address|Locator|"
                                  r"Title|Residence)$")
#: Shorter values are not searched for: "M", "7" or "CT" occur by chance.
MIN_LENGTH = 4


@lru_cache(maxsize=1)
def _profile() -> tuple[frozenset[int], tuple[tuple[int, int, int, int], ...]]:
    from dicomanonymizer.dicomfields_selector import dicom_anonymization_database_selector

    table = dicom_anonymization_database_selector(PS315_EDITION)["ALL_TAGS"]
    exact = frozenset(int(Tag(t[0], t[1])) for t in table if len(t) == 2)
    # Repeating groups (curves 50xx, overlays 60xx): (group, element, group mask, element mask).
    masked = tuple((t[0], t[1], t[2], t[3]) for t in table if len(t) == 4)
    return exact, masked


def basic_profile_tags() -> frozenset[int]:
    """Every single tag of the PS3.15 basic profile (Table E.1-1), as integers
    (the repeating curve and overlay groups are matched by :func:`in_basic_profile`)."""
    return _profile()[0]


def in_basic_profile(tag: int) -> bool:
    """Whether the basic profile removes, empties or replaces the attribute ``tag``."""
    exact, masked = _profile()
    group, element = tag >> 16, tag & 0xFFFF
    return tag in exact or any(group & gm == g & gm and element & em == e & em
                               for g, e, gm, em in masked)


def _is_identifying(element: pydicom.DataElement) -> bool:
    if not in_basic_profile(int(element.tag)):
        return False
    if element.VR in _IDENTIFYING_VR:
        return True
    return bool(_IDENTIFYING_KEYWORD.search(keyword_for_tag(element.tag) or ""))


def _spellings(element: pydicom.DataElement) -> set[str]:
    values = element.value if element.VM > 1 else [element.value]
    out: set[str] = set()
    for value in values:
        text = str(value).strip()
        if not text:
            continue
        out.add(text)
        if element.VR == "PN":      # DOE^JOHN: also each name, and "JOHN DOE"
            parts = [p for p in re.split(r"[\^=]", text) if p.strip()]
            out.update(p.strip() for p in parts)
            out.add(" ".join(reversed(parts[:2])))
        if element.VR == "DA" and re.fullmatch(r"\d{8}", text):   # 20230415, 2023-04-15
            out.add(f"{text[:4]}-{text[4:6]}-{text[6:]}")
        if element.VR == "DT" and len(text) >= 8:
            out.add(text[:8])
    return {s for s in out if len(s) >= MIN_LENGTH}


def identifying_values(headers: Iterable[pydicom.Dataset]) -> set[str]:
    """The identifying values found in ``headers``, sequences included.

    Identifying: an attribute of the basic profile with VR PN, DA, DT or UI,
    or whose keyword ends in ID, Number, Name, Address, Locator, Title or
    Residence (PatientID, AccessionNumber, InstitutionName, StationName...).
    Person names add each component; dates their ISO spelling.  Values
    shorter than :data:`MIN_LENGTH` characters are left out.
    """
    found: set[str] = set()

    def visit(dataset: pydicom.Dataset) -> None:
        for element in dataset:
            if element.VR == "SQ":
                for item in element.value:
                    visit(item)
            elif _is_identifying(element):
                found.update(_spellings(element))

    for header in headers:
        visit(header)
    return found


def _content(path: Path) -> bytes:
    data = path.read_bytes()
    if path.name.endswith(".gz"):
        data = gzip.decompress(data)
    return data


def find_leaks(paths: Iterable[Path], values: Iterable[str]) -> list[tuple[Path, int]]:
    """The files among ``paths`` that contain one of ``values`` (bytes, case-insensitive).

    Returns ``(file, how many values)`` pairs, never the values themselves:
    the caller reports a leak without repeating it.
    """
    needles = sorted({v.lower().encode("utf-8") for v in values if v}, key=len)
    leaks = []
    for path in paths:
        content = _content(path).lower()
        hits = sum(needle in content for needle in needles)
        if hits:
            leaks.append((path, hits))
    return leaks
