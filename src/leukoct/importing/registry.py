"""``leukoct import registry``: a site's registry spreadsheet onto the imported manifest.

A registry has its own column names and codings (sex 1/2, ``Y``/``N``, mRS
as text).  A mapping YAML says which registry column is which leukoct column
and how its values are coded (``data_manifest/registry_mapping.example.yaml``):

.. code-block:: yaml

   id_column: Hospital number     # the registry's patient ID: joined through the pseudonym map
   sheet: 0                       # xlsx: sheet name or number
   columns: {Age: age, Sex: sex, HTN: hypertension}
   codings: {sex: {1: M, 2: F}, hypertension: {Y: 1, N: 0}}
   defaults: {cohort: train}      # for every subject whose cell is empty
   ignore: [Name, Birth date]     # registry columns deliberately not used

Each registry row is joined to a manifest subject through the pseudonym map
(patient ID -> subject_id); the IDs themselves never reach the manifest or
the report.  Registry columns neither mapped nor ignored are listed in the
report, never dropped silently.  Every value is checked by the schema before
anything is written; the manifest is then rewritten with its checksums and
validated with its images.
"""

from __future__ import annotations

import csv
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pandas as pd
import yaml
from pydantic import BaseModel, ConfigDict, ValidationError, field_validator

from leukoct.importing.pseudonyms import join_key, read_map
from leukoct.manifest import (
    MISSING_TOKENS,
    ValidationReport,
    fill_checksums,
    validate_manifest,
    write_manifest,
)
from leukoct.messages import LeukoctError, id_list
from leukoct.schema import (
    BOOLEAN_COLUMNS,
    CHECKSUM_OF,
    COLUMNS,
    IMAGE_COLUMNS,
    REQUIRED_COLUMNS,
    SubjectRecord,
    field_fix,
    mask_identifiers,
)

__all__ = ["Mapping", "RegistryError", "RegistryImport", "import_registry", "load_mapping",
           "read_registry"]

REPORT_NAME = "registry_report.csv"
#: leukoct columns a registry may not set: the pseudonym, and what the DICOM import wrote.
NOT_FROM_REGISTRY = frozenset({"subject_id", "synthetic", *IMAGE_COLUMNS, *CHECKSUM_OF.values()})


class RegistryError(LeukoctError):
    """The registry or its mapping cannot be used; the message names the cause and the fix."""


def _key(name: Any) -> str:
    """A column name or coded value as compared: spaces collapsed, case folded, 1.0 -> 1."""
    text = " ".join(str(name).split()).casefold()
    try:
        number = float(text)
        if number.is_integer():
            return str(int(number))
    except ValueError:
        pass
    return text


class Mapping(BaseModel):
    """A registry's columns and codings in leukoct's terms (the mapping YAML)."""

    model_config = ConfigDict(extra="forbid")

    id_column: str
    sheet: str | int = 0
    columns: dict[str, str]
    codings: dict[str, dict[Any, Any]] = {}
    defaults: dict[str, Any] = {}
    ignore: list[str] = []

    @field_validator("columns")
    @classmethod
    def _targets(cls, value: dict[str, str]) -> dict[str, str]:
        problems = []
        for source, target in value.items():
            if target not in COLUMNS:
                problems.append(f"{source!r} -> {target!r} is not a leukoct column")
            elif target in NOT_FROM_REGISTRY:
                problems.append(f"{source!r} -> {target!r}: set by `leukoct import dicom`, "
                                "not by the registry")
        targets = list(value.values())
        problems += [f"two registry columns map onto {t!r}" for t in set(targets)
                     if targets.count(t) > 1]
        if problems:
            raise ValueError("; ".join(sorted(problems)))
        return value

    @field_validator("codings", "defaults")
    @classmethod
    def _known(cls, value: dict[str, Any]) -> dict[str, Any]:
        unknown = [c for c in value if c not in COLUMNS or c in NOT_FROM_REGISTRY]
        if unknown:
            raise ValueError(f"{unknown} are not leukoct columns a registry sets")
        return value


def load_mapping(path: str | os.PathLike[str]) -> Mapping:
    """Read and check a mapping YAML.

    Raises
    ------
    RegistryError
        Naming the file, the key and the fix.
    """
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"{path}: no such mapping file; fix: copy "
                            "data_manifest/registry_mapping.example.yaml and edit it")
    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        return Mapping.model_validate(raw)
    except yaml.YAMLError as exc:
        raise RegistryError(f"{path}: not valid YAML ({exc}); fix: compare it with "
                            "data_manifest/registry_mapping.example.yaml") from exc
    except ValidationError as exc:
        lines = [f"{'.'.join(str(p) for p in err['loc']) or '(top)'}: "
                 f"{err['msg'].removeprefix('Value error, ')}" for err in exc.errors()]
        raise RegistryError(f"{path}: " + "; ".join(lines) + "; fix: see the columns of the data "
                            "dictionary (`leukoct dictionary`) and the example mapping") from exc


def read_registry(path: str | os.PathLike[str], sheet: str | int = 0) -> pd.DataFrame:
    """The registry as a table of strings (``.csv`` UTF-8, or ``.xlsx`` through openpyxl)."""
    path = Path(path)
    if not path.is_file():
        raise RegistryError(f"{path}: no such registry file; fix: give the spreadsheet's path")
    suffix = path.suffix.lower()
    try:
        if suffix in (".xlsx", ".xlsm"):
            table = pd.read_excel(path, sheet_name=sheet, dtype=str, engine="openpyxl",
                                  keep_default_na=False)
        elif suffix == ".csv":
            table = pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
        else:
            raise RegistryError(f"{path}: a {suffix or 'suffix-less'} file; fix: save the registry "
                                "as .xlsx or as CSV UTF-8")
    except UnicodeDecodeError as exc:
        raise RegistryError(f"{path}: not UTF-8 text; fix: save it as 'CSV UTF-8' from your "
                            "spreadsheet program") from exc
    except ValueError as exc:     # a missing sheet
        raise RegistryError(f"{path}: {exc}; fix: set `sheet:` in the mapping to a sheet of "
                            "the workbook") from exc
    table.columns = [" ".join(str(c).split()) for c in table.columns]
    return table


@dataclass
class RegistryImport:
    """What ``import registry`` did."""

    manifest: Path
    report: Path
    joined: int
    unknown_columns: list[str]
    subjects_without_registry: list[str]
    registry_rows_without_imaging: list[int]
    validation: ValidationReport | None = field(default=None, repr=False)


def _code(value: str, coding: dict[str, Any] | None) -> tuple[Any, bool]:
    """(value after coding, whether it was coded or passed); missing tokens become None."""
    if value.strip().lower() in MISSING_TOKENS:
        return None, True
    if coding is None:
        return value.strip(), True
    key = _key(value)
    if key in coding:
        coded = coding[key]
        return (None if coded is None else str(coded)), True
    return value, False


def _coding_keys(coding: dict[Any, Any]) -> dict[str, Any]:
    """A coding keyed as values are compared.  YAML reads an unquoted ``yes``/``no``/``on``
    key as a boolean: it stands for every spelling YAML reads so."""
    out: dict[str, Any] = {}
    for key, value in coding.items():
        if isinstance(key, bool):
            for spelling in (("true", "yes", "on") if key else ("false", "no", "off")):
                out[spelling] = value
        else:
            out[_key(key)] = value
    return out


def _raw_manifest(path: Path) -> list[dict[str, str]]:
    with open(path, newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _typed(cells: dict[str, Any]) -> dict[str, Any]:
    """Manifest cells as write_manifest takes them: None for empty, booleans as bool."""
    out: dict[str, Any] = {}
    for column in COLUMNS:
        value = cells.get(column)
        if value is None or str(value).strip().lower() in MISSING_TOKENS:
            out[column] = None
        elif column in BOOLEAN_COLUMNS:
            out[column] = str(value).strip().lower() in {"1", "true", "yes", "y"}
        else:
            out[column] = value
    return out


def import_registry(registry: str | os.PathLike[str], mapping: str | os.PathLike[str],
                    pseudonym_map: str | os.PathLike[str],
                    manifest: str | os.PathLike[str]) -> RegistryImport:
    """Join a registry onto the manifest ``import dicom`` wrote, and validate the result.

    Parameters
    ----------
    registry
        ``.xlsx`` or ``.csv``, one row per patient.
    mapping
        The mapping YAML (:class:`Mapping`).
    pseudonym_map
        The map ``import dicom --pseudonym-map`` wrote.
    manifest
        The manifest to complete (rewritten in place, with checksums).

    Raises
    ------
    RegistryError
        For a mapping or registry that cannot be used, naming registry rows
        and columns (never patient IDs) and the fix; nothing is written then.
    """
    rules = load_mapping(mapping)
    table = read_registry(registry, rules.sheet)
    manifest = Path(manifest)
    if not manifest.is_file():
        raise RegistryError(f"{manifest}: no such manifest; fix: run `leukoct import dicom` first")
    names = read_map(Path(pseudonym_map))
    if not Path(pseudonym_map).is_file():
        raise RegistryError(f"{pseudonym_map}: no such pseudonym map; fix: give the file "
                            "`leukoct import dicom --pseudonym-map` wrote")
    by_key = {_key(c): c for c in table.columns}
    id_col = by_key.get(_key(rules.id_column))
    if id_col is None:
        raise RegistryError(f"{registry}: no column {rules.id_column!r} (id_column of {mapping}); "
                            f"fix: set id_column to the registry's patient ID column; columns: "
                            f"{id_list(table.columns)}")
    missing = [s for s in rules.columns if _key(s) not in by_key]
    if missing:
        raise RegistryError(f"{mapping}: columns {missing} are not in {registry}; fix: correct "
                            "their spelling or remove them from `columns:`")
    rows = _raw_manifest(manifest)
    have = {c for row in rows for c, v in row.items() if v not in ("", None)}
    mapped = set(rules.columns.values()) | set(rules.defaults)
    for column in REQUIRED_COLUMNS:
        if column not in mapped and column not in have:
            raise RegistryError(f"{mapping}: the required leukoct column {column!r} is neither "
                                f"mapped nor given a default; fix: add `<registry column>: "
                                f"{column}` under columns: (or `{column}: ...` under defaults:); "
                                f"{column}: {field_fix(column)}")
    codings = {target: _coding_keys(coding) for target, coding in rules.codings.items()}
    subject_of = {join_key(pid): sid for pid, sid in names.items()}
    manifest_index = {row["subject_id"]: i for i, row in enumerate(rows)}

    problems: list[str] = []
    seen: dict[str, int] = {}
    updates: dict[str, dict[str, Any]] = {}
    unmatched_rows: list[int] = []
    for offset, line in enumerate(table.to_dict("records")):
        row_number = offset + 2       # the spreadsheet's row, header = 1
        pid = str(line[id_col]).strip()
        if not pid:
            continue
        subject = subject_of.get(join_key(pid))
        if subject is None or subject not in manifest_index:
            unmatched_rows.append(row_number)
            continue
        if subject in seen:
            problems.append(f"rows {seen[subject]} and {row_number}: the same patient; fix: keep "
                            "one registry row per patient (the admission of the imaged studies)")
            continue
        seen[subject] = row_number
        values: dict[str, Any] = {}
        for source, target in rules.columns.items():
            raw = str(line[by_key[_key(source)]])
            coded, ok = _code(raw, codings.get(target))
            if not ok:
                problems.append(f"row {row_number}, column {source!r}: value "
                                f"{mask_identifiers(raw.strip())!r} has no coding; fix: add it "
                                f"under codings.{target} in {Path(mapping).name}")
            values[target] = coded
        updates[subject] = values

    merged_rows = []
    for row in rows:
        cells: dict[str, Any] = dict(row)
        cells.update(updates.get(row["subject_id"], {}))
        for column, value in rules.defaults.items():
            if cells.get(column) in (None, ""):
                cells[column] = None if value is None else str(value)
        merged_rows.append(cells)
        if row["subject_id"] in updates:
            values = {c: v for c, v in cells.items() if c in COLUMNS and v not in (None, "")}
            try:
                SubjectRecord.model_validate(values)
            except ValidationError as exc:
                registry_row = seen[row["subject_id"]]
                source_of = {t: s for s, t in rules.columns.items()}
                for err in exc.errors():
                    column = str(err["loc"][0]) if err["loc"] else "?"
                    where = (f"column {source_of[column]!r} ({column})" if column in source_of
                             else f"column {column}")
                    message = err["msg"].removeprefix("Value error, ")
                    problems.append(f"row {registry_row}, {where}: {mask_identifiers(message)}; "
                                    f"fix: {field_fix(column)}")
    if problems:
        raise RegistryError(f"{registry}: {len(problems)} problem(s), nothing written:\n  "
                            + "\n  ".join(problems[:20])
                            + (f"\n  ... and {len(problems) - 20} more" if len(problems) > 20 else ""))

    write_manifest(pd.DataFrame([_typed(c) for c in merged_rows], columns=list(COLUMNS)), manifest)
    fill_checksums(manifest)
    used = {_key(rules.id_column)} | {_key(c) for c in rules.columns}
    ignored = {_key(c) for c in rules.ignore}
    unknown = [c for c in table.columns if _key(c) not in used | ignored]
    without = sorted(row["subject_id"] for row in rows if row["subject_id"] not in updates)
    report = _write_report(manifest.parent / REPORT_NAME, list(table.columns), rules, without,
                           unmatched_rows)
    validation = validate_manifest(manifest, images=True)
    return RegistryImport(manifest=manifest, report=report, joined=len(updates),
                          unknown_columns=unknown, subjects_without_registry=without,
                          registry_rows_without_imaging=unmatched_rows, validation=validation)


def _write_report(path: Path, columns: list[str], rules: Mapping, without: list[str],
                  unmatched_rows: list[int]) -> Path:
    """One line per registry column (how it was used) and per unjoined subject or row."""
    targets = {_key(s): t for s, t in rules.columns.items()}
    ignored = {_key(c) for c in rules.ignore}
    lines = []
    for column in columns:
        key = _key(column)
        if key == _key(rules.id_column):
            status, detail = "join key", "matched through the pseudonym map; not copied"
        elif key in targets:
            status, detail = "mapped", targets[key]
        elif key in ignored:
            status, detail = "ignored", "listed under ignore: in the mapping"
        else:
            status, detail = "unknown", "not mapped and not ignored: map it or list it under ignore:"
        lines.append({"item": "registry column", "name": column, "status": status,
                      "detail": detail})
    lines += [{"item": "subject", "name": s, "status": "no registry row",
               "detail": "clinical fields left empty"} for s in without]
    lines += [{"item": "registry row", "name": str(r), "status": "no imaging",
               "detail": "no imported subject has this patient ID"} for r in unmatched_rows]
    pd.DataFrame(lines, columns=["item", "name", "status", "detail"]).to_csv(
        path, index=False, lineterminator="\n")
    return path
