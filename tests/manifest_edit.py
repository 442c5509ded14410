"""Editing manifest cells in tests, through the csv module (never by
splitting lines on commas, which breaks on quoted values)."""

from __future__ import annotations

import csv
from pathlib import Path


def read_rows(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    """Header and rows of a manifest CSV."""
    with open(path, newline="", encoding="utf-8") as handle:
        reader = csv.DictReader(handle)
        return list(reader.fieldnames or []), list(reader)


def write_rows(path: Path, header: list[str], rows: list[dict[str, str]]) -> Path:
    """Write a manifest CSV from a header and rows."""
    with open(path, "w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=header, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    return path


def edit_cells(path: Path, row: int, **cells: str) -> Path:
    """Set cells of spreadsheet row ``row`` (row 2 = first subject)."""
    header, rows = read_rows(path)
    rows[row - 2].update(cells)
    return write_rows(path, header, rows)


def replace_image(manifest: Path, column: str, data=None, affine=None, raw: bytes | None = None,
                  name: str = "bad.nii.gz", row: int = 2) -> Path:
    """Put a new image (an array, or raw bytes) in ``column`` of ``row`` and refresh
    the checksums, so that only the image check can catch what is wrong with it."""
    import nibabel as nib

    from leukoct.manifest import fill_checksums

    _, rows = read_rows(manifest)
    original = nib.load(manifest.parent / rows[row - 2][column])
    target = manifest.parent / "images" / name
    if raw is not None:
        target.write_bytes(raw)
    else:
        nib.save(nib.Nifti1Image(data, original.affine if affine is None else affine), str(target))
    edit_cells(manifest, row, **{column: f"images/{name}"})
    fill_checksums(manifest)
    return target
