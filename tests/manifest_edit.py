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


def put_rescaled_ct(manifest: Path, row: int = 2) -> Path:
    """Give ``row`` a CT stored as scanners store it: 0..4095 with scl_slope 1,
    scl_inter -1024 in the header (30 HU of brain, -1024 HU of air); a valid CT."""
    import nibabel as nib
    import numpy as np

    from leukoct.manifest import fill_checksums

    _, rows = read_rows(manifest)
    stored = np.full((8, 8, 4), 1054, np.int16)
    stored[0] = 0
    image = nib.Nifti1Image(stored, nib.load(manifest.parent / rows[row - 2]["ct_path"]).affine)
    image.header.set_slope_inter(1.0, -1024.0)
    target = manifest.parent / "images" / "rescaled.nii.gz"
    nib.save(image, str(target))
    edit_cells(manifest, row, ct_path="images/rescaled.nii.gz")
    fill_checksums(manifest)
    return target
