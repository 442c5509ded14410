"""The data-manifest schema: one row per subject, one column per field.

The schema is the single source of truth for three things: validation
(:mod:`leukoct.manifest`), the data dictionary page of the book
(:func:`leukoct.dictionary.data_dictionary`) and the column order of every
manifest leukoct writes (the digital twin's included).

Values are parsed with pydantic; every field carries a human description,
a unit and the *fix* a user should apply when the value is wrong, so that
a validation report can tell the user what to do, not only what is wrong.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

#: Cohorts of the paper.  ``train`` and ``internal`` together are the
#: development dataset (4 hospitals); a manifest that does not know the
#: paper's split labels every development subject ``train`` and the
#: curation step draws the internal-validation split with the profile's seed.
COHORTS: tuple[str, ...] = ("train", "internal", "external", "us", "clinical")

#: Cohorts whose inclusion criterion is an available CT-FLAIR pair.
PAIRED_COHORTS: frozenset[str] = frozenset({"train", "internal", "external"})

#: Cohorts whose clinical fields only the clinical step reads.
CLINICAL_COHORTS: tuple[str, ...] = ("clinical",)

#: Canonical scanner vendors and the spellings found in DICOM headers and
#: registries that map to them (case-insensitive).  Toshiba Medical Systems
#: became Canon Medical Systems; the paper reports them as one vendor.
VENDOR_ALIASES: dict[str, str] = {
    "siemens": "SIEMENS",
    "siemens healthineers": "SIEMENS",
    "ge": "GE",
    "ge medical systems": "GE",
    "ge healthcare": "GE",
    "philips": "PHILIPS",
    "philips medical systems": "PHILIPS",
    "philips healthcare": "PHILIPS",
    "canon": "CANON",
    "toshiba": "CANON",
    "canon medical systems": "CANON",
    "toshiba (canon medical systems)": "CANON",
    "toshiba medical systems": "CANON",
}
VENDORS: tuple[str, ...] = ("SIEMENS", "GE", "PHILIPS", "CANON")
#: First words of DICOM Manufacturer values (0008,0070) as scanners write them
#: (``TOSHIBA_MEC``, ``Canon Medical Systems Corporation``, ``SIEMENS
#: HEALTHINEERS``...): the company is the first word whatever follows.
_VENDOR_FIRST_WORDS: dict[str, str] = {
    "siemens": "SIEMENS", "ge": "GE", "philips": "PHILIPS", "canon": "CANON", "toshiba": "CANON"}


def canonical_vendor(value: Any) -> str:
    """The vendor a Manufacturer spelling names; another vendor is kept, upper-cased.

    >>> canonical_vendor("TOSHIBA_MEC"), canonical_vendor("Philips Medical Systems")
    ('CANON', 'PHILIPS')
    >>> canonical_vendor("Hitachi Medical Corporation")
    'HITACHI MEDICAL CORPORATION'

    A vendor outside the paper's four (:data:`VENDORS`) is not an error: it
    gets its own Table 2 column, and ``leukoct manifest validate`` lists it.
    """
    key = " ".join(re.sub(r"[^a-z0-9]+", " ", str(value).lower()).split())
    if not key:
        raise ValueError(f"vendor {value!r} has no letters")
    canonical = VENDOR_ALIASES.get(key) or _VENDOR_FIRST_WORDS.get(key.split()[0])
    return canonical or key.upper()

SEX_ALIASES: dict[str, str] = {
    "f": "F", "female": "F", "woman": "F", "women": "F",
    "m": "M", "male": "M", "man": "M", "men": "M",
}

_SUBJECT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$")
# Patterns that betray a real identifier rather than a pseudonym: a Korean
# resident registration number (YYMMDD-NNNNNNN), a full date, an e-mail address.
_IDENTIFIER_PATTERNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\d{6}-?[1-4]\d{6}"), "a resident registration number"),
    (re.compile(r"(19|20)\d{2}[-_]?(0[1-9]|1[0-2])[-_]?(0[1-9]|[12]\d|3[01])"), "a date"),
)
_SHA256 = re.compile(r"^[0-9a-f]{64}$")

# Column names that betray personal data a pseudonymised study must not hold
# (HIPAA Safe Harbor identifiers that registries carry): names, birth dates,
# record, registration, accession and phone numbers, addresses, e-mail.
_PHI_COLUMNS: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"(^|_)(patient_?|first_?|last_?|family_?|given_?|sur)?name($|_)"), "a name"),
    (re.compile(r"birth|(^|_)dob($|_)"), "a birth date"),
    (re.compile(r"(^|_)(mrn|medical_?record|record_?(no|num|number)|chart_?(no|number)|"
                r"hospital_?(id|no|number)|patient_?(id|no|number))($|_)"), "a record number"),
    (re.compile(r"(^|_)(rrn|ssn|social_?security|resident_?(registration|number|no)|"
                r"national_?id|jumin)($|_)"), "a registration number"),
    (re.compile(r"accession"), "an accession number"),
    (re.compile(r"phone|(^|_)mobile($|_)|(^|_)address($|_)|e_?mail|zip_?code|postcode"),
     "contact details"),
)


def phi_column(name: str) -> str | None:
    """What personal identifier a column name suggests (``'a name'``), or None.

    ``subject_id`` is the study's pseudonym and never matches.
    """
    key = re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")
    if key in COLUMNS:
        return None
    for pattern, what in _PHI_COLUMNS:
        if pattern.search(key):
            return what
    return None


def mask_identifiers(text: str) -> str:
    """``text`` with anything shaped like a resident registration number masked.

    Messages echo subject ids and cell values; a real identifier typed into
    the manifest by mistake must not travel on into logs and terminals.  The
    first six digits (a birth date) are masked too.
    """
    return _IDENTIFIER_PATTERNS[0][0].sub(lambda m: re.sub(r"\d", "#", m.group(0)), text)


def _meta(
    description: str,
    fix: str,
    unit: str | None = None,
    group: str = "clinical",
    example: Any = None,
) -> dict[str, Any]:
    return {"description": description, "json_schema_extra": {
        "fix": fix, "unit": unit, "group": group, "example": example}}


def _flag(description: str, group: str = "clinical") -> Any:
    return Field(default=None, **_meta(
        description, "write 1 (yes) or 0 (no); leave empty if unknown",
        unit="0/1", group=group, example=0))


class SubjectRecord(BaseModel):
    """One subject of the study, as one row of ``manifest.csv``.

    Empty cells are ``None``.  Paths are relative to the manifest's folder
    (or absolute).  Every image path comes with the SHA-256 of its file so
    that a changed image re-runs exactly what depends on it.
    """

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    # --- identity -------------------------------------------------------
    subject_id: str = Field(**_meta(
        "Pseudonymous subject code, unique in the manifest (letters, digits, '_' "
        "or '-', at most 32 characters). Never a hospital number, name or date.",
        "replace it with a study pseudonym such as SITE1-0001",
        group="identity", example="TW-TRN-0001"))
    cohort: Literal["train", "internal", "external", "us", "clinical"] = Field(**_meta(
        "Study dataset: train / internal (development dataset, 4 hospitals), "
        "external (external test, 5 hospitals), us (US teleradiology CTs), "
        "clinical (clinical-outcome cohort).",
        "use one of: " + ", ".join(COHORTS), group="identity", example="train"))
    site: str = Field(**_meta(
        "Pseudonymous code of the hospital that acquired the images.",
        "give a site code such as H1", group="identity", example="H1"))
    synthetic: bool = Field(default=False, **_meta(
        "1 when the row was generated by the leukoct digital twin, 0 for real data.",
        "write 0 for real data", unit="0/1", group="identity", example=0))

    # --- images ---------------------------------------------------------
    ct_path: str | None = Field(default=None, **_meta(
        "Noncontrast head CT (NIfTI, Hounsfield units). Empty when no CT exists "
        "(the subject is then excluded as 'CT not available').",
        "give the path of the CT NIfTI, relative to the manifest's folder",
        group="images", example="images/TW-TRN-0001_ct.nii.gz"))
    ct_sha256: str | None = Field(default=None, **_meta(
        "SHA-256 of the CT file.", "run `leukoct manifest checksum PATH` to fill it",
        group="images"))
    flair_path: str | None = Field(default=None, **_meta(
        "FLAIR MRI of the same admission (NIfTI). Needed in the paired cohorts: without it the "
        "registration step stops, or excludes the subject if the profile sets "
        "steps.registration.missing_flair: exclude.",
        "give the path of the FLAIR NIfTI, relative to the manifest's folder",
        group="images", example="images/TW-TRN-0001_flair.nii.gz"))
    flair_sha256: str | None = Field(default=None, **_meta(
        "SHA-256 of the FLAIR file.", "run `leukoct manifest checksum PATH` to fill it",
        group="images"))
    wmh_mask_path: str | None = Field(default=None, **_meta(
        "WMH mask segmented on the FLAIR (FLAIR grid; 0 background, >0 lesion). "
        "Needed in the paired cohorts, as flair_path.",
        "give the path of the FLAIR WMH mask NIfTI, relative to the manifest's folder",
        group="images", example="images/TW-TRN-0001_wmh.nii.gz"))
    wmh_mask_sha256: str | None = Field(default=None, **_meta(
        "SHA-256 of the WMH mask file.", "run `leukoct manifest checksum PATH` to fill it",
        group="images"))
    wmh_reference_path: str | None = Field(default=None, **_meta(
        "Optional reference WMH mask on the FLAIR grid (manual or verified; 0 background, "
        ">0 lesion): the subjects that have one train and test leukoct's own FLAIR WMH "
        "segmentation (steps.flair_segmentation). A subset of the development cohort is enough.",
        "give the path of the reference FLAIR mask NIfTI, or leave empty",
        group="images", example="images/TW-TRN-0001_wmh_reference.nii.gz"))
    wmh_reference_sha256: str | None = Field(default=None, **_meta(
        "SHA-256 of the reference FLAIR mask file.",
        "run `leukoct manifest checksum PATH` to fill it", group="images"))
    manual_mask_path: str | None = Field(default=None, **_meta(
        "Optional expert manual LA mask on the CT grid (40 external subjects in the paper).",
        "give the path of the manual CT mask, or leave empty",
        group="images"))
    manual_mask_sha256: str | None = Field(default=None, **_meta(
        "SHA-256 of the manual mask file.",
        "run `leukoct manifest checksum PATH` to fill it", group="images"))

    # --- acquisition ----------------------------------------------------
    ct_vendor: str | None = Field(default=None, **_meta(
        "CT manufacturer: SIEMENS, GE, PHILIPS or CANON (Toshiba), in any DICOM spelling "
        "(TOSHIBA_MEC, GE MEDICAL SYSTEMS...); another vendor is kept as written, upper-cased. "
        "Empty if unknown.",
        "write the scanner's Manufacturer, or leave empty if unknown",
        group="acquisition", example="SIEMENS"))
    ct_kvp: float | None = Field(default=None, ge=70, le=150, **_meta(
        "CT tube voltage.", "give the tube voltage in kVp (70-150)",
        unit="kVp", group="acquisition", example=120))
    ct_slice_thickness_mm: float | None = Field(default=None, gt=0, le=10, **_meta(
        "Reconstructed CT slice thickness.", "give the slice thickness in mm (0-10)",
        unit="mm", group="acquisition", example=5.0))
    mri_vendor: str | None = Field(default=None, **_meta(
        "MRI manufacturer: SIEMENS, GE, PHILIPS or CANON, in any DICOM spelling; another "
        "vendor is kept as written, upper-cased. Empty if unknown.",
        "write the scanner's Manufacturer, or leave empty if unknown",
        group="acquisition", example="PHILIPS"))
    mri_field_strength_t: float | None = Field(default=None, ge=0.2, le=7.0, **_meta(
        "MRI magnetic field strength.", "give the field strength in tesla (e.g. 1.5 or 3)",
        unit="T", group="acquisition", example=3.0))
    ct_mri_interval_h: float | None = Field(default=None, ge=0, le=24 * 30, **_meta(
        "Time between the CT and the FLAIR MRI.",
        "give the absolute CT-MRI interval in hours (0-720)",
        unit="h", group="acquisition", example=3.3))

    # --- registry exclusion fields ---------------------------------------
    recurrent_stroke: bool | None = _flag(
        "Duplicate admission of a patient already in the dataset (recurrent stroke).",
        group="exclusion")
    motion_artifact: bool | None = _flag(
        "Severe motion artefact on CT or MRI.", group="exclusion")
    contrast_ct: bool | None = _flag(
        "The CT is contrast-enhanced.", group="exclusion")
    hemorrhage_or_tumor: bool | None = _flag(
        "Intracranial hemorrhage (incl. hemorrhagic transformation) or brain tumor.",
        group="exclusion")
    incomplete_ct: bool | None = _flag(
        "The CT does not cover the whole brain (missing slices).", group="exclusion")

    # --- clinical -------------------------------------------------------
    age: float = Field(ge=18, le=110, **_meta(
        "Age at admission.", "give the age in years (18-110)",
        unit="years", example=68))
    sex: Literal["F", "M"] = Field(**_meta(
        "Sex: F or M.", "write F or M", example="M"))
    bmi: float | None = Field(default=None, ge=10, le=70, **_meta(
        "Body-mass index.", "give the BMI in kg/m² (10-70)", unit="kg/m²", example=23.5))
    hypertension: bool | None = _flag("Hypertension.")
    diabetes: bool | None = _flag("Diabetes mellitus.")
    hyperlipidemia: bool | None = _flag("Hyperlipidemia.")
    smoking: bool | None = _flag("Current smoking.")
    atrial_fibrillation: bool | None = _flag("Atrial fibrillation.")
    coronary_artery_disease: bool | None = _flag("Coronary artery disease.")
    prior_stroke: bool | None = _flag("Previous stroke.")
    revascularization: bool | None = _flag(
        "Acute revascularization therapy (IV thrombolysis and/or thrombectomy).")
    nihss: int | None = Field(default=None, ge=0, le=42, **_meta(
        "Admission NIH Stroke Scale score.", "give a whole number 0-42", example=3))
    mrs_3m: int | None = Field(default=None, ge=0, le=6, **_meta(
        "Modified Rankin Scale score 3 months after the stroke.",
        "give a whole number 0-6", example=1))
    infarct_volume_ml: float | None = Field(default=None, ge=0, le=1000, **_meta(
        "Acute infarct core volume on DWI.", "give the volume in mL (0-1000)",
        unit="mL", example=0.9))
    fazekas: int | None = Field(default=None, ge=0, le=3, **_meta(
        "Expert visual Fazekas grade of LA on CT (0 none, 1 mild, 2 moderate, 3 severe).",
        "give a whole number 0-3", example=1))

    # --- normalisation of spelling variants -------------------------------
    @field_validator("ct_vendor", "mri_vendor", mode="before")
    @classmethod
    def _vendor(cls, value: Any) -> Any:
        if value is None:
            return None
        return canonical_vendor(value)

    @field_validator("sex", mode="before")
    @classmethod
    def _sex(cls, value: Any) -> Any:
        if value is None:
            return value
        return SEX_ALIASES.get(str(value).strip().lower(), value)

    @field_validator("subject_id")
    @classmethod
    def _pseudonym(cls, value: str) -> str:
        if not _SUBJECT_ID.match(value):
            raise ValueError(
                "must be 1-32 letters, digits, '_' or '-', starting with a letter or digit")
        for pattern, what in _IDENTIFIER_PATTERNS:
            if pattern.search(value):
                raise ValueError(f"looks like it contains {what}, i.e. a patient identifier")
        return value

    @field_validator("ct_sha256", "flair_sha256", "wmh_mask_sha256", "manual_mask_sha256")
    @classmethod
    def _sha(cls, value: str | None) -> str | None:
        if value is not None and not _SHA256.match(value.lower()):
            raise ValueError("is not a SHA-256 digest (64 hexadecimal characters)")
        return None if value is None else value.lower()

    @model_validator(mode="after")
    def _cohort_requirements(self) -> SubjectRecord:
        problems: list[str] = []
        # A paired-cohort subject without FLAIR or WMH mask is valid data: the
        # cascade stops with an error naming it, or excludes it as "missing
        # FLAIR", as the profile's steps.registration.missing_flair says.
        for path_col in IMAGE_COLUMNS:
            sha_col = CHECKSUM_OF[path_col]
            if getattr(self, path_col) is not None and getattr(self, sha_col) is None:
                problems.append(f"{sha_col}: missing for the file in {path_col}")
            if getattr(self, path_col) is None and getattr(self, sha_col) is not None:
                problems.append(f"{path_col}: empty although {sha_col} is given")
        if problems:
            # One ValueError carrying all problems; leukoct.manifest splits it
            # back into one report line per column.
            raise ValueError(" | ".join(problems))
        return self


#: Image path columns and the checksum column that goes with each.
IMAGE_COLUMNS: tuple[str, ...] = ("ct_path", "flair_path", "wmh_mask_path", "wmh_reference_path",
                                  "manual_mask_path")
CHECKSUM_OF: dict[str, str] = {c: c.replace("_path", "_sha256") for c in IMAGE_COLUMNS}

#: Manifest columns in the order leukoct writes them.
COLUMNS: tuple[str, ...] = tuple(SubjectRecord.model_fields)
REQUIRED_COLUMNS: tuple[str, ...] = tuple(
    name for name, f in SubjectRecord.model_fields.items() if f.is_required())
BOOLEAN_COLUMNS: tuple[str, ...] = tuple(
    name for name, f in SubjectRecord.model_fields.items()
    if f.annotation in (bool, bool | None))


def columns_of_group(group: str) -> tuple[str, ...]:
    """Manifest columns of one schema group (``identity``, ``images``,
    ``acquisition``, ``exclusion``, ``clinical``), in the schema's order."""
    out = tuple(name for name, field in SubjectRecord.model_fields.items()
                if isinstance(field.json_schema_extra, dict)
                and field.json_schema_extra.get("group") == group)
    if not out:
        raise ValueError(f"no manifest column in schema group {group!r}")
    return out


def field_fix(column: str) -> str:
    """Return the user-facing fix advice of a manifest column."""
    field = SubjectRecord.model_fields.get(column)
    if field is None or not isinstance(field.json_schema_extra, dict):
        return "see the data dictionary (data_manifest/README.md)"
    return str(field.json_schema_extra.get("fix", ""))
