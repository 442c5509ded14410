"""Notebooks: each has a parameters cell, hard-codes no path, and runs under
papermill with parameters overridden."""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pandas as pd
import papermill as pm
import pytest
from profile_edit import profile_in

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted((ROOT / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_has_a_parameters_cell_and_no_hard_coded_paths(path: Path) -> None:
    notebook = nbformat.read(path, as_version=4)
    tagged = [c for c in notebook.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, "exactly one cell tagged 'parameters'"
    assert 'profile = "demo"' in tagged[0].source
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert "build/" not in cell.source and "/work/" not in cell.source
            assert not cell.get("outputs"), "notebooks are committed without outputs"


#: Inline or display TeX in Markdown: ``$x$`` or ``$$``.  An escaped ``\$`` is text.
_TEX = re.compile(r"(?<![\\$])\$[^$\s][^$\n]*\$|\$\$")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_notebook_prose_has_no_tex(path: Path) -> None:
    # One formula anywhere makes myst-nb load MathJax from a CDN on *every* page
    # of the book, which then fails offline (the full-run test checks the built
    # pages; this says which cell at once).  Write C<sub>b</sub>, r², ρ instead.
    notebook = nbformat.read(path, as_version=4)
    for index, cell in enumerate(notebook.cells):
        if cell.cell_type == "markdown":
            found = _TEX.findall(cell.source)
            assert not found, (f"cell {index} writes TeX {found[:2]}: use Unicode or HTML "
                               "(<sub>, <sup>), the book renders offline without MathJax")


def _kernel() -> str:
    """The project's kernel (installed into .venv by make), else this interpreter's."""
    from jupyter_client.kernelspec import find_kernel_specs

    return "leukoct" if "leukoct" in find_kernel_specs() else "python3"


@pytest.mark.slow
def test_data_notebook_runs_with_parameter_overrides(ci_study: Path, tmp_path: Path) -> None:
    out = tmp_path / "run" / "data"
    subject = "TW-DEV-0002"
    executed = tmp_path / "00_data.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "00_data.ipynb"), str(executed),
        parameters={"profile": str(profile_in(tmp_path, ci_study / "manifest.csv")),
                    "overrides": {"example_subject": subject}},
        kernel_name=_kernel(), cwd=str(ROOT / "notebooks"),
        progress_bar=False)
    notebook = nbformat.read(executed, as_version=4)
    injected = [c for c in notebook.cells if "injected-parameters" in c.metadata.get("tags", [])]
    assert injected and subject in injected[0].source
    text = "\n".join(str(o) for c in notebook.cells for o in c.get("outputs", []))
    assert "Synthetic data" in text
    assert "stderr" not in text, "a chapter shows no warnings"
    shown = json.loads((out / "example_subject.provenance.json").read_text())["inputs"]
    assert shown and all(subject in Path(p).name for p in shown), "the overridden subject is shown"
    counts = (out / "cohort_counts.csv").read_text()
    assert counts.startswith("cohort,subjects")
    assert (out / "example_subject.png").is_file()
    assert (out / "cohort_counts.provenance.json").is_file()


@pytest.mark.slow
def test_twin_notebook_compares_with_the_paper_and_shows_truth(ci_study: Path,
                                                              tmp_path: Path) -> None:
    out = tmp_path / "run" / "twin"
    executed = tmp_path / "01_twin.ipynb"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "01_twin.ipynb"), str(executed),
        parameters={"profile": str(profile_in(tmp_path, ci_study / "manifest.csv")),
                    "overrides": {"examples": 3}},
        kernel_name=_kernel(), cwd=str(ROOT / "notebooks"), progress_bar=False)
    notebook = nbformat.read(executed, as_version=4)
    text = "\n".join(str(o) for c in notebook.cells for o in c.get("outputs", []))
    assert "stderr" not in text, "a chapter shows no warnings"
    side = (out / "table1_side_by_side.csv").read_text(encoding="utf-8")
    assert "68.1 ± 12.7" in side, "the paper's value stands beside the twin's"
    shown = json.loads((out / "twin_examples.provenance.json").read_text())["inputs"]
    assert len({Path(p).name.split("_")[0] for p in shown}) == 3, "three example subjects"
    for name in ("twin_planted_effects.png", "flowchart_side_by_side.csv",
                 "vendor_contrast.csv", "label_quality.csv"):
        assert (out / name).is_file(), name


@pytest.mark.slow
def test_curation_notebook_writes_figure1_and_tables(ci_study: Path, tmp_path: Path) -> None:
    out, figures = tmp_path / "run" / "curation", tmp_path / "figures"
    pm.execute_notebook(
        str(ROOT / "notebooks" / "02_cohort_curation.ipynb"), str(tmp_path / "02.ipynb"),
        parameters={"profile": str(profile_in(tmp_path, ci_study / "manifest.csv"))},
        kernel_name=_kernel(), cwd=str(ROOT / "notebooks"), progress_bar=False)
    notebook = nbformat.read(tmp_path / "02.ipynb", as_version=4)
    text = "\n".join(str(o) for c in notebook.cells for o in c.get("outputs", []))
    assert "stderr" not in text, "a chapter shows no warnings"
    curated = pd.read_csv(out / "curated.csv", keep_default_na=False)
    manifest = pd.read_csv(ci_study / "manifest.csv")
    assert list(curated["subject_id"]) == list(manifest["subject_id"]), "nobody dropped"
    excluded = curated[curated["status"] == "excluded"]
    assert (excluded["reason"] != "").all(), "every exclusion has its reason"
    for name in ("figure1.png", "figure1.pdf", "table1.csv", "tableS1.html"):
        assert (figures / name).is_file(), name
    sidecar = json.loads((figures / "table1.provenance.json").read_text())
    assert sidecar["notebook"] == "notebooks/02_cohort_curation.ipynb"
