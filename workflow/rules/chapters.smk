# One rule per study step, generated from the steps table (leukoct.steps.STEPS):
# papermill runs the step's notebook with the profile's parameters.  What a
# step reads and writes is declared in that table, so adding a step means a
# row there and a notebook in notebooks/; nothing here changes.


def chapter_inputs(step):
    """A step's inputs: its notebook and what ``step.reads`` names."""
    files = {"notebook": str(ROOT / "notebooks" / f"{step.stem}.ipynb")}
    for name in step.reads:
        if name.startswith("view:"):
            files.update(manifest=ancient(str(MANIFEST)))
            files[name.replace(":", "_")] = view(name.removeprefix("view:"))
        elif name in WORKFLOW_INPUTS:
            files[name] = WORKFLOW_INPUTS[name]
        else:
            files[name] = str(getattr(RUN, name))
    return files


def chapter_outputs(step):
    """A step's outputs: its executed notebook, its files, artefacts and values."""
    files = {"notebook": str(RUN.notebook(step.stem))}
    files.update({name: str(getattr(RUN, name)) for name in step.writes})
    if step.artefacts:
        files["artefacts"] = artefact_files(step.artefacts)
    if step.values:
        files["values"] = directory(str(RUN.values(step.stem)))
    return files


for step in STEPS:

    rule:
        name:
            step.name
        input:
            **chapter_inputs(step),
        output:
            **chapter_outputs(step),
        params:
            parameters=injected(step.name),
            settings=settings(step.name),
        resources:
            **cluster(step.name),
        log:
            log(step.stem),
        shell:
            papermill(step.name)
