# The book: the rule graph as a picture, then every executed chapter, the
# paper's artefacts and the claims ledger rendered by Jupyter Book.


rule rulegraph:
    """The workflow's rule graph as a picture, for the book."""
    input:
        # The workflow's files and the code that draws them.
        workflow=[str(ROOT / "Snakefile"),
                  *sorted(str(p) for p in (ROOT / "workflow" / "rules").glob("*.smk"))],
        code=str(ROOT / "src" / "leukoct" / "workflow_graph.py"),
    output:
        png=str(RUN.rulegraph),
    params:
        profile=str(PROFILE.path),
    log:
        log("rulegraph"),
    shell:
        "leukoct rulegraph --profile {params.profile} --out {output.png} > {log} 2>&1"


rule book:
    """Render the executed notebooks and the paper's artefacts as a Jupyter Book."""
    input:
        notebooks=[str(RUN.notebook(stem)) for stem in STEMS],
        values=[str(RUN.values(step.stem)) for step in STEPS if step.values],
        rulegraph=str(RUN.rulegraph),
        claims=str(ROOT / "src" / "leukoct" / "data" / "claims.csv"),
        sources=sorted(
            str(p) for p in (ROOT / "book").rglob("*")
            if p.is_file() and "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
        ),
        registry=str(ROOT / "src" / "leukoct" / "data" / "artefacts.yaml"),
        # The chapters' order and titles (the book's table of contents).
        steps=str(ROOT / "src" / "leukoct" / "steps.py"),
        # The demo-vs-paper page reads both profiles and the reasons file.
        deviations=[str(ROOT / "src" / "leukoct" / "data" / "demo_deviations.yaml"),
                    str(ROOT / "profiles" / "demo.yaml"), str(ROOT / "profiles" / "paper.yaml")],
    output:
        index=str(RUN.book_index),
    params:
        profile=str(PROFILE.path),
    log:
        log("book"),
    shell:
        "leukoct book --profile {params.profile} > {log} 2>&1"
