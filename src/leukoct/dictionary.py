"""The manifest's data dictionary, generated from the schema.

``data_manifest/README.md`` explains the manifest; the column-by-column
table is generated here from :class:`leukoct.schema.SubjectRecord`, so the
book's data-dictionary page can never drift from what validation enforces.
"""

from __future__ import annotations

import typing

import pandas as pd
from annotated_types import Ge, Gt, Le
from pydantic.fields import FieldInfo

from leukoct.schema import PAIRED_COHORTS, SubjectRecord

_GROUP_TITLES = {
    "identity": "Identity",
    "images": "Images",
    "acquisition": "Acquisition",
    "exclusion": "Registry exclusion fields",
    "clinical": "Demographics and clinical variables",
}


def _type_name(info: FieldInfo) -> str:
    annotation = info.annotation
    args = [a for a in typing.get_args(annotation) if a is not type(None)]
    base = args[0] if args else annotation
    if typing.get_origin(base) is typing.Literal or typing.get_origin(annotation) is typing.Literal:
        literal = base if typing.get_origin(base) is typing.Literal else annotation
        return "one of " + ", ".join(str(v) for v in typing.get_args(literal))
    return {bool: "0/1", int: "integer", float: "number", str: "text"}.get(base, str(base))


def _range(info: FieldInfo) -> str:
    low = high = None
    for item in info.metadata:
        if isinstance(item, Ge | Gt):
            low = getattr(item, "ge", getattr(item, "gt", None))
        if isinstance(item, Le):
            high = item.le
    if low is None and high is None:
        return ""
    return f"{low if low is not None else ''}–{high if high is not None else ''}"


def _requirement(name: str, info: FieldInfo) -> str:
    if info.is_required():
        return "required"
    if name in {"flair_path", "wmh_mask_path"}:
        return "required in " + ", ".join(sorted(PAIRED_COHORTS))
    if name.endswith("_sha256"):
        return "required with its file"
    return "optional"


def data_dictionary() -> pd.DataFrame:
    """One row per manifest column: group, column, type, unit, range, requirement, meaning."""
    rows = []
    for name, info in SubjectRecord.model_fields.items():
        extra = info.json_schema_extra if isinstance(info.json_schema_extra, dict) else {}
        rows.append({
            "group": _GROUP_TITLES.get(str(extra.get("group")), "Other"),
            "column": name,
            "type": _type_name(info),
            "unit": extra.get("unit") or "",
            "range": _range(info),
            "requirement": _requirement(name, info),
            "description": info.description or "",
        })
    return pd.DataFrame(rows)


def data_dictionary_markdown() -> str:
    """The data dictionary as a MyST/Markdown page, one table per column group."""
    table = data_dictionary()
    lines = [
        "# Data dictionary",
        "",
        "The manifest (`manifest.csv`) has one row per subject and the columns below; "
        "this page is generated from the schema that `leukoct manifest validate` enforces. "
        "Empty cells (or `NA`) mean *unknown*. Yes/no fields take `1`/`0`. Paths are "
        "relative to the manifest's folder. See `data_manifest/README.md` for how to "
        "build a manifest for real data.",
        "",
    ]
    for group, part in table.groupby("group", sort=False):
        lines += [f"## {group}", "",
                  "| column | type | unit | range | requirement | description |",
                  "|---|---|---|---|---|---|"]
        for row in part.itertuples():
            cells = [f"`{row.column}`", row.type, row.unit, row.range, row.requirement,
                     row.description.replace("|", "\\|")]
            lines.append("| " + " | ".join(cells) + " |")
        lines.append("")
    from leukoct.image_validation import image_checks

    lines += ["## Image checks", "",
              "`leukoct manifest validate` (and the workflow's curation step) opens every image "
              "in full and refuses, each with its row, column and fix:", "",
              "| check | threshold |", "|---|---|"]
    lines += [f"| {name} | {rule} |" for name, rule in image_checks()]
    lines += ["", "A column whose name looks like personal data (a name, birth date, record, "
              "registration or accession number, contact details) is refused; a "
              "`subject_id` shaped like a resident registration number or holding a date is "
              "refused and masked in every message.", ""]
    return "\n".join(lines)
