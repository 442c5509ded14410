"""The book: the paper's artefact registry and the generated pages."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from profile_edit import profile_in

from leukoct.artefacts import save_table
from leukoct.book import (
    STUDY_PART,
    artefact_registry,
    artefacts_markdown,
    assemble_book,
    chapter_notebooks,
    chapter_notebooks_of,
    study_toc,
)
from leukoct.config import load_profile
from leukoct.steps import STEPS, study_steps

ROOT = Path(__file__).resolve().parents[1]
PAPER_ORDER = ["Table 1", "Table 2", "Table 3", "Table S1", "Table S2", "Table S3", "Table S4",
               "Figure 1", "Figure 2", "Figure 3", "Figure 4",
               "Figure S1", "Figure S2", "Figure S3", "Figure S4"]


def test_registry_lists_every_artefact_of_the_paper_in_order() -> None:
    registry = artefact_registry()
    assert [a.label for a in registry] == PAPER_ORDER
    assert len({a.id for a in registry}) == len(registry)
    for artefact in registry:
        assert artefact.kind in {"table", "figure"} and artefact.caption


def test_unproduced_artefacts_are_marked_not_hidden(tmp_path: Path) -> None:
    page = artefacts_markdown(tmp_path)
    assert "reproduces **0 of 15** artefacts" in page
    for label in PAPER_ORDER:
        assert f"## {label}" in page
    assert page.count("*Not produced by this version of leukoct.*") == 15


def test_produced_table_is_shown_with_its_provenance(tmp_path: Path) -> None:
    save_table(pd.DataFrame({"x": [1]}), "table1", tmp_path, "notebooks/02_cohort_curation.ipynb",
               {"profile": "/p/ci.yaml", "seed": 5, "criteria": None, "output_dir": "/o"})
    page = artefacts_markdown(tmp_path)
    assert "reproduces **1 of 15** artefacts" in page
    assert "```{raw} html" in page
    # A link to the chapter that made it, the knobs that change it (not the paths).
    assert ("*Provenance:* made by the chapter {doc}`chapters/02_cohort_curation` "
            "(`notebooks/02_cohort_curation.ipynb`), profile `ci`, seed 5, parameters "
            "`criteria=None`; code commit") in page
    assert "/o" not in page


def test_study_chapters_are_written_from_the_steps_table() -> None:
    toc = {"root": "index", "parts": [{"caption": "reference", "chapters": [{"file": "running"}]}]}
    steps = [s for s in STEPS if not s.twin_only]
    written = study_toc(toc, steps)
    assert written["parts"][0] == {"caption": STUDY_PART, "chapters": [
        {"file": f"chapters/{s.stem}"} for s in steps]}
    assert written["parts"][1:] == toc["parts"]
    assert chapter_notebooks_of(written) == [s.stem for s in steps]
    assert len(toc["parts"]) == 1, "input untouched"


def test_hand_listed_chapters_are_refused() -> None:
    toc = {"root": "index", "parts": [{"caption": "x", "chapters": [{"file": "chapters/00_data"}]}]}
    with pytest.raises(ValueError, match="remove them"):
        study_toc(toc, list(STEPS))


def test_the_book_source_lists_no_chapter_by_hand() -> None:
    # Chapters come from leukoct.steps.STEPS (study_toc); a hand-written entry
    # would make the book's order a second table to keep in step.
    assert chapter_notebooks(ROOT / "book") == []


def _profile_in(tmp_path: Path, name: str):
    return load_profile(profile_in(tmp_path, tmp_path / "manifest.csv", name), root=ROOT)


def _executed_run(tmp_path: Path, name: str):
    """A profile in ``tmp_path`` whose run holds a (stub) executed notebook per study step."""
    profile = _profile_in(tmp_path, name)
    executed = profile.outputs.root / "notebooks"
    executed.mkdir(parents=True)
    for step in study_steps(profile):
        (executed / f"{step.stem}.ipynb").write_text("{}")
    return profile


def test_real_data_book_has_no_twin_chapter(tmp_path: Path) -> None:
    profile = _executed_run(tmp_path, "real")
    stage = assemble_book(profile)
    # No twin chapter, and no FLAIR segmentation chapter: a real manifest without
    # reference masks does not run that step unless the profile asks for it.
    assert chapter_notebooks(stage) == [s.stem for s in STEPS
                                        if not s.twin_only and s.name != "flair_segmentation"]
    assert [s.stem for s in study_steps(profile)] == chapter_notebooks(stage)
    assert not (stage / "chapters" / "01_twin.ipynb").exists()


def test_twin_book_needs_every_executed_chapter(tmp_path: Path) -> None:
    profile = _profile_in(tmp_path, "ci")
    executed = profile.outputs.root / "notebooks"
    executed.mkdir(parents=True)
    (executed / "00_data.ipynb").write_text("{}")
    try:
        assemble_book(profile)
    except FileNotFoundError as error:
        assert "01_twin.ipynb" in str(error) and "snakemake" in str(error)
    else:
        raise AssertionError("a missing chapter must stop the book")


def test_landing_page_sets_this_runs_findings_beside_the_papers(tmp_path: Path) -> None:
    from leukoct import ledger
    from leukoct.book import HEADLINE_CLAIMS, HEADLINE_MARKER

    profile = _executed_run(tmp_path, "real")
    # One saved value: the external CCC vs registered LA of Figure 3 (paper 0.925).
    values = pd.DataFrame([{"comparison": "vs_registered", "statistic": "ccc", "group": "All",
                            "estimate": 0.9251, "ci_low": 0.90, "ci_high": 0.95, "n": 38}])
    ledger.write_values(values, "figure3", profile.outputs.root / "values" / "08_external_and_vendor")
    index = (assemble_book(profile) / "index.md").read_text()
    assert HEADLINE_MARKER not in index and "Built with the `real` profile" in index
    line = next(x for x in index.splitlines() if "external CCC, predicted vs registered" in x)
    assert "0.925" in line and "| matches |" in line
    # Every headline claim has its row, produced or not.
    assert sum(x.startswith("| ") for x in index.split(HEADLINE_MARKER)[0].splitlines()) >= \
        len(HEADLINE_CLAIMS)
    assert "not produced in this run" in index


def test_scrub_notebook_hides_private_folders_but_not_images() -> None:
    import json

    from leukoct.book import scrub_notebook

    folders = {"/data/KIM_JAE_SUNG_19800101": "⟨data⟩", "/work/leukoct": "⟨project⟩",
               "/work/leukoct/build/demo": "⟨run⟩"}
    image = "iVBOR/data/KIM_JAE_SUNG_19800101xyz"     # base64 is left as it is
    source = ["manifest = \"/data/KIM_JAE_SUNG_19800101/m.csv\"\n"]
    notebook = {"cells": [{"cell_type": "code", "source": source,
                           "outputs": [{"output_type": "stream", "name": "stdout",
                                        "text": ["written /work/leukoct/build/demo/x.csv\n"]},
                                       {"output_type": "display_data",
                                        "data": {"text/html": "<td>/work/leukoct/README.md</td>",
                                                 "image/png": image}}]}],
                "metadata": {"papermill": {"input_path": "/work/leukoct/notebooks/07.ipynb"}},
                "nbformat": 4, "nbformat_minor": 5}
    scrubbed = json.loads(scrub_notebook(json.dumps(notebook), folders))
    assert scrubbed["metadata"]["papermill"]["input_path"] == "⟨project⟩/notebooks/07.ipynb"
    cleaned = scrubbed["cells"][0]
    assert cleaned["source"] == ["manifest = \"⟨data⟩/m.csv\"\n"]
    assert cleaned["outputs"][0]["text"] == ["written ⟨run⟩/x.csv\n"]
    assert cleaned["outputs"][1]["data"]["text/html"] == "<td>⟨project⟩/README.md</td>"
    assert cleaned["outputs"][1]["data"]["image/png"] == image


def test_reader_view_collapses_code_and_hides_the_run_parameters() -> None:
    import json

    from leukoct.book import reader_view

    def code(tags: list[str]) -> dict:
        return {"cell_type": "code", "source": ["x = 1\n"], "outputs": [],
                "metadata": {"tags": tags}}

    notebook = {"cells": [{"cell_type": "markdown", "source": ["# Chapter\n"], "metadata": {}},
                          code(["parameters"]), code(["injected-parameters"]), code([]),
                          code(["remove-input"]),
                          {"cell_type": "code", "source": [], "outputs": []}],
                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}
    cells = json.loads(reader_view(json.dumps(notebook)))["cells"]
    assert "tags" not in cells[0]["metadata"]                     # prose is untouched
    assert cells[1]["metadata"]["tags"] == ["parameters", "hide-cell"]
    assert cells[2]["metadata"]["tags"] == ["injected-parameters", "hide-cell"]
    assert cells[3]["metadata"]["tags"] == ["hide-input"]         # output stays in view
    assert cells[4]["metadata"]["tags"] == ["remove-input"]       # the author's choice kept
    assert cells[5]["metadata"]["tags"] == ["hide-input"]         # no metadata at all
