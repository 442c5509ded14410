"""Assembling and rendering the Jupyter Book.

The book is built from a *staging* copy, never from the executed notebooks
in place: ``book/`` (hand-written pages, ``_config.yml``, ``_toc.yml``) is
copied to ``<run>/book_src``, the workflow's executed notebooks go to
``chapters/``, the profile's figures folder to ``figures/``, and five pages
are generated: the demo profile against the paper (:mod:`leukoct.deviations`),
the data dictionary (from the manifest schema), "The paper, reproduced" (from
the artefact registry and the provenance sidecars), the claims ledger (the
paper's claims joined to the values the chapters saved, :mod:`leukoct.ledger`)
and the workflow (its rule graph, drawn by the ``rulegraph`` rule, and the
manifest views behind incremental re-runs).  Jupyter Book 1.x then renders the
stage with notebook execution off.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path

import pandas as pd
import yaml

from leukoct import deviations, ledger
from leukoct.config import Profile, load_profile
from leukoct.dictionary import data_dictionary_markdown
from leukoct.manifest_views import profile_views
from leukoct.provenance import read_sidecar
from leukoct.run import Run
from leukoct.steps import Step, study_steps

BOOK_SOURCE = "book"
#: Files and folders of ``book/`` that are never copied to the stage.
_IGNORED = shutil.ignore_patterns("_build", ".ipynb_checkpoints", "__pycache__")


@dataclass(frozen=True)
class Artefact:
    """One table or figure of the paper."""

    id: str
    label: str
    kind: str
    step: str
    caption: str

    def files(self) -> tuple[str, ...]:
        """File names the producing notebook writes for this artefact."""
        if self.kind == "figure":
            return (f"{self.id}.png", f"{self.id}.pdf")
        return (f"{self.id}.csv", f"{self.id}.html")


def artefact_registry() -> list[Artefact]:
    """The paper's artefacts in the paper's order (``leukoct/data/artefacts.yaml``)."""
    raw = yaml.safe_load(files("leukoct").joinpath("data/artefacts.yaml").read_text("utf-8"))
    return [Artefact(**item) for item in raw]


def chapter_notebooks(book: Path) -> list[str]:
    """Notebook stems listed as ``chapters/<stem>`` in a book's ``_toc.yml``, in order."""
    return chapter_notebooks_of(yaml.safe_load((book / "_toc.yml").read_text(encoding="utf-8")))


def chapter_notebooks_of(toc: dict) -> list[str]:
    """Notebook stems listed as ``chapters/<stem>`` in a parsed table of contents."""
    stems: list[str] = []

    def walk(node: object) -> None:
        if isinstance(node, dict):
            entry = node.get("file")
            if isinstance(entry, str) and entry.startswith("chapters/"):
                stems.append(entry.removeprefix("chapters/"))
            for value in node.values():
                walk(value)
        elif isinstance(node, list):
            for item in node:
                walk(item)

    walk(toc)
    return stems


#: Caption of the table of contents' first part: the study's chapters.
STUDY_PART = "The study, step by step"


def study_toc(toc: dict, steps: list[Step]) -> dict:
    """A parsed ``_toc.yml`` with the study's chapters put first, one per step.

    ``book/_toc.yml`` lists the hand-written and generated pages only; the
    chapters come from :data:`leukoct.steps.STEPS` (the steps a run executed,
    in study order), so the book's order and the workflow's are one table.
    """
    if chapter_notebooks_of(toc):
        raise ValueError("book/_toc.yml lists chapters/...: remove them; the study's chapters "
                         "are written from leukoct.steps.STEPS when the book is assembled")
    part = {"caption": STUDY_PART, "chapters": [{"file": f"chapters/{s.stem}"} for s in steps]}
    return {**toc, "parts": [part, *toc.get("parts", [])]}


#: Parameters every step receives (paths and machine settings), left out of
#: the provenance line, which shows the knobs that change a result.
_COMMON_PARAMETERS = frozenset({"profile", "manifest", "figures_dir", "output_dir", "threads",
                                "verify_checksums", "seed"})


def _provenance_line(figures_dir: Path, artefact: Artefact) -> str:
    record = read_sidecar(figures_dir, artefact.id)
    if record is None:
        return ""
    params = record.get("parameters", {})
    profile = Path(str(params.get("profile", "?"))).stem
    knobs = ", ".join(f"`{k}={v}`" for k, v in sorted(params.items())
                      if k not in _COMMON_PARAMETERS)
    inputs = ", ".join(f"`{Path(k).name}` {v[:12]}" for k, v in record.get("inputs", {}).items())
    stem = Path(str(record.get("notebook", artefact.step))).stem
    return (f"*Provenance:* made by the chapter {{doc}}`chapters/{stem}` "
            f"(`{record.get('notebook')}`), profile `{profile}`, seed {params.get('seed', '?')}"
            f"{', parameters ' + knobs if knobs else ''}; code commit "
            f"`{str(record.get('commit'))[:12]}`, {record.get('created', '')}; inputs (SHA-256): "
            f"{inputs or 'none recorded'}.")


def artefacts_markdown(figures_dir: Path, stage_figures: str = "figures") -> str:
    """The "paper, reproduced" page: every artefact in the paper's order, shown
    from the files the steps wrote, or marked as not produced yet."""
    registry = artefact_registry()
    made = [a for a in registry if all((figures_dir / f).is_file() for f in a.files())]
    lines = [
        "# The paper, reproduced",
        "",
        "Every table and figure of Ryu et al. in the paper's order, as the study steps of this "
        "run wrote them (not recomputed here). Each is followed by its provenance: the "
        "notebook, profile, seed, code commit and input checksums that produced it.",
        "",
        f"This build reproduces **{len(made)} of {len(registry)}** artefacts.",
        "",
    ]
    for artefact in registry:
        lines += [f"## {artefact.label}", "", f"**{artefact.label}.** {artefact.caption}", ""]
        if artefact in made:
            if artefact.kind == "figure":
                lines += [f"![{artefact.label}]({stage_figures}/{artefact.id}.png)", ""]
            else:
                html = (figures_dir / f"{artefact.id}.html").read_text(encoding="utf-8")
                lines += ["```{raw} html", html.strip(), "```", ""]
            lines += [_provenance_line(figures_dir, artefact), ""]
        else:
            lines += [f"*Not produced by this version of leukoct.* It will be written by "
                      f"the study step `notebooks/{artefact.step}.ipynb`.", ""]
    return "\n".join(lines)


def workflow_markdown(profile: Profile, picture: str | None) -> str:
    """The workflow page: the rule graph and what re-runs after an edit."""
    lines = [
        "# The workflow",
        "",
        "Snakemake runs the study as a graph of rules: each study step is a notebook executed "
        "by papermill (blue below), the per-subject and per-cohort work (registration, "
        "nnU-Net, prediction) are command-line rules between them, and the book is the last "
        "rule. A rule re-runs only when one of its inputs, its parameters or its code "
        "changed, so an author's data update re-runs only what it touches.",
        "",
    ]
    if picture:
        lines += [f"![The workflow's rule graph]({picture})", "",
                  "*The rule graph of this run's profile (`snakemake --rulegraph`, drawn by "
                  "`leukoct.workflow_graph` without graphviz). The per-subject `register` jobs "
                  "sit behind the `cascade` checkpoint and are not drawn.*", ""]
    else:
        lines += ["*The rule graph was not drawn for this build (run the workflow's "
                  "`rulegraph` rule).*", ""]
    lines += [
        "## What an edit of the manifest re-runs",
        "",
        "No step depends on `manifest.csv` as a whole. Each depends on a *view*: the manifest "
        "cells it reads, summarised as a SHA-256 in `<run>/manifest_views/<view>.json` "
        "(`leukoct.manifest_views`). The views are refreshed whenever the workflow is read "
        "and rewritten only when their content changes, so correcting a clinical field "
        "re-runs the clinical chapter and the book, while replacing one CT (and its "
        "checksum) re-runs that subject's registration and everything downstream of it. "
        "On the digital twin the twin's chapter re-runs too: it shows every cell of the "
        "manifest the twin generated.",
        "",
        "| view | read by | cells |",
        "|---|---|---|",
    ]
    for view in profile_views(profile).values():
        cells = "; ".join(
            f"{'every cohort' if p.cohorts is None else ', '.join(p.cohorts)}: "
            f"{len(p.columns)} columns" for p in view.parts)
        lines.append(f"| `{view.name}` | {view.read_by} | {cells} |")
    lines += ["", "`benchmarks/incremental_rebuild.py` times a cold build against the "
              "rebuild after one clinical field changes.", ""]
    return "\n".join(lines)


def ledger_page(profile: Profile) -> str:
    """The claims-ledger page of a run (:mod:`leukoct.ledger`)."""
    claims = ledger.read_claims()
    table = ledger.ledger_table(claims, ledger.read_values(Run(profile).values_root))
    return ledger.ledger_markdown(table, ledger.inconsistencies(claims),
                                  ledger.recomputed_inconsistencies(claims))


def deviations_page(profile: Profile) -> str:
    """The page listing the demo profile's departures from the paper (:mod:`leukoct.deviations`)."""
    root = profile.root
    return deviations.deviations_markdown(load_profile("demo", root=root),
                                          load_profile("paper", root=root),
                                          built_with=profile.name)


#: The claims the landing page sets beside this run's values (the paper's findings).
HEADLINE_CLAIMS: tuple[str, ...] = ("C049", "C050", "C052", "C053", "C054", "C012", "C013",
                                    "C071", "C072", "C073", "C094")
#: The line of ``book/index.md`` that the headline table replaces.
HEADLINE_MARKER = "<!-- headline: generated by leukoct.book.headline_markdown -->"


def headline_markdown(profile: Profile) -> str:
    """The landing page's "This run at a glance": the paper's findings beside this run's.

    Rows are :data:`HEADLINE_CLAIMS` of the claims ledger (:mod:`leukoct.ledger`), with
    the ledger's status, so the page says at once whether the findings emerged.
    """
    claims = ledger.read_claims()
    table = ledger.ledger_table(claims, ledger.read_values(Run(profile).values_root))
    counts = table["status"].value_counts()
    findings = ledger.finding_counts(table)
    tested = findings[ledger.SUPPORTED] + findings[ledger.NOT_SUPPORTED]
    rows = table.set_index("claim_id").loc[list(HEADLINE_CLAIMS)]
    lines = [f"Built with the `{profile.name}` profile. The paper's main findings beside this "
             f"run's. Of the {tested} claims whose finding this run can test, "
             f"**{findings[ledger.SUPPORTED]} are supported** by this run's values and "
             f"{findings[ledger.NOT_SUPPORTED]} are not (the {{doc}}`ledger` gives each claim "
             f"its rule; {findings[ledger.SCALED]} counts are scaled down by design). "
             f"Digit for digit, {int(counts.get(ledger.MATCHES, 0))} of {len(table)} "
             f"match and {int(counts.get(ledger.INSIDE_CI, 0))} have the published value "
             "inside this run's 95 % CI.", "",
             "| finding | paper | this run | supports the paper? | exact value |",
             "|---|---|---|---|---|"]
    for _, row in rows.iterrows():
        cells = [str(row[c]) if not pd.isna(row[c]) else "" for c in
                 ("quantity", "published", "reproduced", "finding", "status")]
        lines.append("| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |")
    return "\n".join(lines) + "\n"


def private_folders(profile: Profile) -> dict[str, str]:
    """The build machine's folders a rendered page must not show, and their stand-ins.

    The executed notebooks carry absolute paths (papermill's injected
    parameters, printed file names); a real study's folders may carry a
    patient's name.  Each folder is listed as given and resolved (a symlinked
    /tmp differs).
    """
    assert profile.root is not None
    named = {"⟨data⟩": profile.manifest.parent, "⟨run⟩": profile.outputs.root,
             "⟨figures⟩": profile.outputs.figures, "⟨book⟩": profile.outputs.book,
             "⟨profiles⟩": (profile.path or profile.root / "profiles").parent,
             "⟨project⟩": profile.root, "⟨home⟩": Path.home()}
    folders: dict[str, str] = {}
    for stand_in, folder in named.items():
        for variant in (str(folder), str(folder.resolve())):
            if len(variant) > 1:
                folders.setdefault(variant, stand_in)
    return folders


def scrub_paths(text: str, folders: dict[str, str]) -> str:
    """``text`` with each private folder replaced by its stand-in, longest first
    (a run folder inside the project becomes ``⟨run⟩``, not ``⟨project⟩/build/...``)."""
    for folder in sorted(folders, key=len, reverse=True):
        text = text.replace(folder, folders[folder])
    return text


def scrub_notebook(text: str, folders: dict[str, str]) -> str:
    """A notebook's JSON with private folders scrubbed from every string: sources,
    text outputs and metadata (papermill records its input and output paths there).
    Images are left alone: their base64 could contain a short folder by chance."""

    def clean(value: object, key: str = "") -> object:
        if key.startswith(("image/", "application/pdf")):
            return value
        if isinstance(value, str):
            return scrub_paths(value, folders)
        if isinstance(value, list):
            return [clean(v) for v in value]
        if isinstance(value, dict):
            return {k: clean(v, k) for k, v in value.items()}
        return value

    return json.dumps(clean(json.loads(text)), indent=1, ensure_ascii=False) + "\n"


#: Cell tags Jupyter Book reads (sphinx-togglebutton): a collapsed cell with a
#: click to show it, or its source only.  A cell already tagged keeps its tags.
_TOGGLE_TAGS = frozenset({"hide-input", "hide-output", "hide-cell", "remove-input",
                          "remove-output", "remove-cell"})


def reader_view(text: str) -> str:
    """A notebook's JSON as the book shows it: code collapsed behind a click.

    A chapter should read as prose, results and figures, with the code one click
    away.  The ``parameters`` cell and papermill's ``injected-parameters`` cell
    are collapsed whole (``hide-cell``): they hold a run's paths and knobs,
    which the provenance lines already state; every other code cell keeps its
    output visible and collapses its source (``hide-input``).  Cells whose
    author chose a toggle tag are left as they are.
    """
    notebook = json.loads(text)
    for cell in notebook.get("cells", []):
        if cell.get("cell_type") != "code":
            continue
        tags = list(cell.setdefault("metadata", {}).get("tags", []))
        if _TOGGLE_TAGS.intersection(tags):
            continue
        whole = {"parameters", "injected-parameters"}.intersection(tags)
        cell["metadata"]["tags"] = tags + ["hide-cell" if whole else "hide-input"]
    return json.dumps(notebook, indent=1, ensure_ascii=False) + "\n"


def assemble_book(profile: Profile, stage: Path | None = None) -> Path:
    """Copy sources, executed notebooks and figures into a staging folder.

    Returns the stage.  Raises ``FileNotFoundError`` naming any chapter whose
    executed notebook is missing (run its workflow step first).
    """
    assert profile.root is not None
    source = profile.root / BOOK_SOURCE
    run = Run(profile)
    stage = stage or run.book_stage
    if stage.exists():
        shutil.rmtree(stage)
    shutil.copytree(source, stage, ignore=_IGNORED)
    executed = run.executed
    chapters = stage / "chapters"
    chapters.mkdir(exist_ok=True)
    # A run renders the chapters of the steps it executed (real data skip
    # the twin's chapter).
    toc = study_toc(yaml.safe_load((source / "_toc.yml").read_text(encoding="utf-8")),
                    study_steps(profile))
    (stage / "_toc.yml").write_text(yaml.safe_dump(toc, sort_keys=False), encoding="utf-8")
    for stem in chapter_notebooks(stage):
        notebook = executed / f"{stem}.ipynb"
        if not notebook.is_file():
            raise FileNotFoundError(
                f"executed notebook {notebook} is missing: run the workflow step first "
                f"(snakemake --config profile={profile.name})")
        (chapters / notebook.name).write_text(
            reader_view(scrub_notebook(notebook.read_text(encoding="utf-8"),
                                       private_folders(profile))),
            encoding="utf-8")
    figures = profile.outputs.figures
    if figures.is_dir():
        shutil.copytree(figures, stage / "figures", dirs_exist_ok=True,
                        ignore=shutil.ignore_patterns("*.md", ".gitignore"))
    (stage / "data_dictionary.md").write_text(data_dictionary_markdown(), encoding="utf-8")
    (stage / "artefacts.md").write_text(artefacts_markdown(figures), encoding="utf-8")
    (stage / "ledger.md").write_text(ledger_page(profile), encoding="utf-8")
    (stage / "demo_vs_paper.md").write_text(deviations_page(profile), encoding="utf-8")
    index = stage / "index.md"
    text = index.read_text(encoding="utf-8")
    if HEADLINE_MARKER in text:
        index.write_text(text.replace(HEADLINE_MARKER, headline_markdown(profile)),
                         encoding="utf-8")
    picture = run.rulegraph
    if picture.is_file():
        (stage / "workflow").mkdir(exist_ok=True)
        shutil.copy2(picture, stage / "workflow" / "rulegraph.png")
    (stage / "workflow.md").write_text(
        workflow_markdown(profile, "workflow/rulegraph.png" if picture.is_file() else None),
        encoding="utf-8")
    return stage


def build_book(profile: Profile, strict: bool = True) -> Path:
    """Assemble the stage and render it with Jupyter Book 1.x (no execution).

    Returns the path of ``index.html``.  With ``strict``, Sphinx warnings are
    errors, so a broken link or a missing figure fails the build.
    """
    stage = assemble_book(profile)
    out = profile.outputs.book
    out.mkdir(parents=True, exist_ok=True)
    # The jupyter-book script sits beside the interpreter running leukoct.
    command = [str(Path(sys.executable).parent / "jupyter-book"), "build", str(stage),
               "--path-output", str(out), "--builder", "html"]
    if strict:
        command += ["--warningiserror", "--keep-going"]
    subprocess.run(command, check=True)
    index = out / "_build" / "html" / "index.html"
    if not index.is_file():
        raise FileNotFoundError(f"Jupyter Book finished but {index} was not written")
    return index
