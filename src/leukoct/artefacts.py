"""Saving the study's figures and tables, each with its provenance sidecar.

Figures go out as PNG (for the book) and PDF (for print), tables as CSV
(for machines) and HTML (for the book).  Output is deterministic: the PDF
carries no creation date, the CSV a fixed float format, so unchanged inputs
give unchanged files.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import matplotlib.figure
import pandas as pd

from leukoct.provenance import provenance_record, write_sidecar


def save_figure(
    fig: matplotlib.figure.Figure,
    artefact_id: str,
    folder: str | os.PathLike[str],
    notebook: str,
    parameters: Mapping[str, Any] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    dpi: int = 150,
) -> list[Path]:
    """Save a figure as ``<id>.png`` and ``<id>.pdf`` plus its provenance sidecar.

    Returns the paths written (PNG, PDF, sidecar).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    png, pdf = folder / f"{artefact_id}.png", folder / f"{artefact_id}.pdf"
    fig.savefig(png, dpi=dpi, bbox_inches="tight", metadata={"Software": None})
    fig.savefig(pdf, bbox_inches="tight", metadata={"CreationDate": None, "Creator": None,
                                                     "Producer": None})
    record = provenance_record(artefact_id, [png, pdf], notebook, parameters, inputs)
    return [png, pdf, write_sidecar(record, folder)]


def save_table(
    table: pd.DataFrame,
    artefact_id: str,
    folder: str | os.PathLike[str],
    notebook: str,
    parameters: Mapping[str, Any] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    caption: str | None = None,
    index: bool = False,
) -> list[Path]:
    """Save a table as ``<id>.csv`` and ``<id>.html`` plus its provenance sidecar.

    Returns the paths written (CSV, HTML, sidecar).
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    csv, html = folder / f"{artefact_id}.csv", folder / f"{artefact_id}.html"
    table.to_csv(csv, index=index, lineterminator="\n")
    styled = table.to_html(index=index, border=0, classes=["leukoct-table"], na_rep="")
    if caption:
        styled = styled.replace(">", f">\n<caption>{caption}</caption>", 1)
    html.write_text(styled + "\n", encoding="utf-8")
    record = provenance_record(artefact_id, [csv, html], notebook, parameters, inputs)
    return [csv, html, write_sidecar(record, folder)]
