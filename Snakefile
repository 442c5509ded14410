# leukoct study workflow.
#
# Each study step is a notebook run by papermill with parameters from the
# profile; each rule declares what it reads and writes, so Snakemake re-runs
# only the steps whose inputs, parameters or notebook changed.
#
#   snakemake --cores 2                          # default profile: demo
#   snakemake --cores 2 --config profile=ci      # any profile name or YAML path
#   snakemake -n --config profile=real           # dry run: what would run
#
# `make book` wraps the first command.  All paths are absolute (the project
# root, or the profile's output folders), so `--directory` may point anywhere.  A cluster runs the same workflow with
# a Snakemake executor plugin (e.g. --executor slurm).

import json
from pathlib import Path

from leukoct.config import load_profile, notebook_parameters
from leukoct.steps import study_steps

PROFILE = load_profile(config.get("profile", "demo"), root=Path(workflow.basedir))
ROOT = PROFILE.root
RUN = PROFILE.outputs.root
EXECUTED = RUN / "notebooks"
LOGS = RUN / "logs"
MANIFEST = PROFILE.manifest
KERNEL = config.get("kernel", "leukoct")

# Study steps in study order (leukoct.steps): notebook stem -> step name
# (the profile's `steps:` key and the step's output folder).  The book's
# _toc.yml lists the same notebooks as chapters; a run on real data skips the
# twin's chapter.
STEPS = {step.stem: step.name for step in study_steps(PROFILE)}


def papermill(step):
    """Shell command running one notebook with the profile's parameters."""
    return (
        "papermill {input.notebook} {output.notebook} --kernel " + KERNEL
        + " --cwd " + str(ROOT / "notebooks")
        + " --parameters_yaml {params.parameters:q} --log-output --no-progress-bar"
        + " > {log} 2>&1"
    )


def parameters(step):
    # JSON is valid YAML; sorted keys keep the string, and so Snakemake's
    # params-change trigger, stable between runs.
    return json.dumps(notebook_parameters(PROFILE, step), sort_keys=True)


localrules: all, book


rule all:
    input:
        PROFILE.outputs.book / "_build" / "html" / "index.html",


if PROFILE.data.source == "twin":

    rule twin_data:
        """Build the synthetic digital-twin study (images, truth, manifest)."""
        input:
            # The data depend on the generator's code: a change regenerates them.
            # calibration.py only reads a study (for the twin's chapter).
            code=sorted(str(p) for p in (ROOT / "src" / "leukoct" / "twin").glob("*.py")
                        if p.name != "calibration.py"),
        output:
            manifest=str(MANIFEST),
            truth=str(MANIFEST.parent / "truth" / "subjects.csv"),
        params:
            settings=json.dumps(PROFILE.twin.model_dump(), sort_keys=True),
            seed=PROFILE.seed,
            profile=str(PROFILE.path),
        threads: PROFILE.twin.workers
        log:
            str(LOGS / "twin.log"),
        shell:
            "leukoct twin --profile {params.profile} --out $(dirname {output.manifest})"
            " --workers {threads} > {log} 2>&1"


rule data:
    """00 — validate the manifest and show what the study holds."""
    input:
        notebook=str(ROOT / "notebooks" / "00_data.ipynb"),
        manifest=str(MANIFEST),
    output:
        notebook=str(EXECUTED / "00_data.ipynb"),
        counts=str(PROFILE.step_dir("data") / "cohort_counts.csv"),
    params:
        parameters=parameters("data"),
    log:
        str(LOGS / "00_data.log"),
    shell:
        papermill("data")


if "01_twin" in STEPS:

    rule twin:
        """01 — the digital twin: what is simulated, its truth, its calibration."""
        input:
            notebook=str(ROOT / "notebooks" / "01_twin.ipynb"),
            manifest=str(MANIFEST),
            truth=str(MANIFEST.parent / "truth" / "subjects.csv"),
        output:
            notebook=str(EXECUTED / "01_twin.ipynb"),
            table1=str(PROFILE.step_dir("twin") / "table1_side_by_side.csv"),
        params:
            parameters=parameters("twin"),
        log:
            str(LOGS / "01_twin.log"),
        shell:
            papermill("twin")


rule curation:
    """02 — exclusions in the paper's order, Figure 1, Tables 1, S1 and S3."""
    input:
        notebook=str(ROOT / "notebooks" / "02_cohort_curation.ipynb"),
        manifest=str(MANIFEST),
        # The paper's criteria (a profile may name its own file instead).
        criteria=str(ROOT / (PROFILE.steps["curation"].get("criteria")
                             or "src/leukoct/data/exclusion_criteria.yaml")),
    output:
        notebook=str(EXECUTED / "02_cohort_curation.ipynb"),
        curated=str(PROFILE.step_dir("curation") / "curated.csv"),
        artefacts=[str(PROFILE.outputs.figures / name) for name in (
            "figure1.png", "figure1.pdf", "table1.csv", "table1.html",
            "tableS1.csv", "tableS1.html", "tableS3.csv", "tableS3.html")],
    params:
        parameters=parameters("curation"),
    log:
        str(LOGS / "02_cohort_curation.log"),
    shell:
        papermill("curation")


rule book:
    """Render the executed notebooks and the paper's artefacts as a Jupyter Book."""
    input:
        notebooks=[str(EXECUTED / f"{stem}.ipynb") for stem in STEPS],
        sources=sorted(
            str(p) for p in (ROOT / "book").rglob("*")
            if p.is_file() and "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
        ),
        registry=str(ROOT / "src" / "leukoct" / "data" / "artefacts.yaml"),
    output:
        index=str(PROFILE.outputs.book / "_build" / "html" / "index.html"),
    params:
        profile=str(PROFILE.path),
    log:
        str(LOGS / "book.log"),
    shell:
        "leukoct book --profile {params.profile} > {log} 2>&1"
