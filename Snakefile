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

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

from leukoct.config import load_profile, notebook_parameters
from leukoct.steps import study_steps
from leukoct import evaluation, manifest_views, predictions, pseudolabels
from leukoct.book import artefact_registry

PROFILE = load_profile(config.get("profile", "demo"), root=Path(workflow.basedir))
ROOT = PROFILE.root
RUN = PROFILE.outputs.root
EXECUTED = RUN / "notebooks"
LOGS = RUN / "logs"
MANIFEST = PROFILE.manifest
KERNEL = config.get("kernel", "leukoct")

# What each step reads of the manifest (leukoct.manifest_views): the steps
# depend on these small digest files, not on the manifest itself, so that an
# edit re-runs only the steps that read the edited cells (a clinical field:
# the clinical chapter and the book).  The manifest stays an input of each
# step as ancient(): it orders the steps after the twin's data, and a missing
# manifest is named, but its date alone re-runs nothing.  The views are
# refreshed at every parse and rewritten only when their content changes.
# A dry run (-n) writes nothing into the run folder: the views that changed
# go to a temporary folder, and the steps reading them point there (so the
# dry run still lists them).
VIEWS = manifest_views.views_folder(RUN)
VIEW_NAMES = tuple(manifest_views.profile_views(PROFILE))
DRY_VIEWS = (Path(tempfile.mkdtemp(prefix="leukoct-dry-run-views-"))
             if workflow.output_settings.dryrun else None)
if DRY_VIEWS is not None:
    atexit.register(shutil.rmtree, DRY_VIEWS, True)
CHANGED_VIEWS = set(manifest_views.refresh_views(PROFILE, into=DRY_VIEWS))


def view(name):
    """The digest file of one manifest view."""
    assert name in VIEW_NAMES, name
    folder = DRY_VIEWS if DRY_VIEWS is not None and name in CHANGED_VIEWS else VIEWS
    return str(folder / f"{name}.json")


def manifest_input(name):
    """A step's manifest inputs: the manifest (ancient) and its view."""
    return dict(manifest=ancient(str(MANIFEST)), view=view(name))

# Study steps in study order (leukoct.steps): notebook stem -> step name
# (the profile's `steps:` key and the step's output folder).  The book's
# _toc.yml lists the same notebooks as chapters; a run on real data skips the
# twin's chapter.
STEPS = {step.stem: step.name for step in study_steps(PROFILE)}


def papermill(step):
    """Shell command running one notebook with the profile's parameters."""
    # The kernel draws figures inline whatever backend the caller exported
    # (make exports Agg for the command-line jobs; Agg would drop every figure).
    return (
        "MPLBACKEND=module://matplotlib_inline.backend_inline"
        " papermill {input.notebook} {output.notebook} --kernel " + KERNEL
        + " --cwd " + str(ROOT / "notebooks")
        + " --parameters_yaml {params.parameters:q} --log-output --no-progress-bar"
        + " > {log} 2>&1"
        # A failed notebook's log starts with its error (leukoct.failures).
        + " || leukoct notebook-failed {log} --step " + step
    )


def parameters(step):
    # JSON is valid YAML; sorted keys keep the string, and so Snakemake's
    # params-change trigger, stable between runs.
    return json.dumps(notebook_parameters(PROFILE, step), sort_keys=True)


def values_dir(stem):
    """The folder where a chapter writes the values the claims ledger reads."""
    return directory(str(RUN / "values" / stem))


VALUES = ["02_cohort_curation", "06_internal_validation", "07_external_and_vendor",
          "08_us_population", "09_clinical"]


def artefact_files(*ids):
    """The files a chapter writes for the paper's artefacts ``ids`` (PNG+PDF or CSV+HTML)."""
    registry = {a.id: a for a in artefact_registry()}
    return [str(PROFILE.outputs.figures / name) for i in ids for name in registry[i].files()]


localrules: all, book, cascade, registration_qc, volumes, overlaps, rulegraph


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
            views=[view(name) for name in VIEW_NAMES],
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
            " && leukoct manifest views --profile {params.profile} >> {log} 2>&1"


rule data:
    """00 — validate the manifest and show what the study holds."""
    input:
        notebook=str(ROOT / "notebooks" / "00_data.ipynb"),
        **manifest_input("scans"),
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


CRITERIA = str(ROOT / (PROFILE.steps["curation"].get("criteria")
                       or "src/leukoct/data/exclusion_criteria.yaml"))
REGISTRATION = pseudolabels.step_dir(PROFILE)


checkpoint cascade:
    """Exclusion cascade before registration QC: who must be registered."""
    input:
        **manifest_input("exclusions"),
        criteria=CRITERIA,
    output:
        cascade=str(pseudolabels.cascade_path(PROFILE)),
    params:
        profile=str(PROFILE.path),
        missing_flair=PROFILE.steps.get("registration", {}).get("missing_flair", "error"),
    log:
        str(LOGS / "cascade.log"),
    shell:
        "leukoct curate --profile {params.profile} > {log} 2>&1"


@functools.cache
def _manifest():
    # Read once per workflow parse, not once per subject (the jobs of a
    # thousand-subject study are created one by one).
    from leukoct.manifest import load_manifest

    return load_manifest(MANIFEST, verify_checksums=False).set_index("subject_id")


@functools.cache
def _raw_manifest():
    return manifest_views.read_raw_manifest(MANIFEST)


rule register:
    """FLAIR -> CT registration of one subject: its CT pseudo-label and QC."""
    input:
        manifest=ancient(str(MANIFEST)),
        images=lambda w: [_manifest().loc[w.subject, c]
                          for c in ("ct_path", "flair_path", "wmh_mask_path")],
    output:
        qc=str(REGISTRATION / "subjects" / "{subject}" / "qc.json"),
    params:
        profile=str(PROFILE.path),
        # Only what changes a registration (not the chapter's or the cascade's knobs).
        settings=pseudolabels.registration_settings(PROFILE).model_dump_json(),
        # The subject's own image cells: editing another row re-registers nothing.
        row=lambda w: manifest_views.row_digest(_raw_manifest(), w.subject),
    threads: int(PROFILE.steps.get("registration", {}).get("threads", 1))
    log:
        str(LOGS / "register" / "{subject}.log"),
    shell:
        "leukoct register --profile {params.profile} --subject {wildcards.subject} > {log} 2>&1"


def registered_qc(wildcards):
    import pandas as pd

    cascade = pd.read_csv(checkpoints.cascade.get().output.cascade)
    return [str(REGISTRATION / "subjects" / s / "qc.json")
            for s in cascade.loc[cascade["register"], "subject_id"]]


rule registration_qc:
    """Gather the per-subject QC and flag registration errors."""
    input:
        registered_qc,
    output:
        qc=str(pseudolabels.qc_path(PROFILE)),
    params:
        profile=str(PROFILE.path),
    log:
        str(LOGS / "registration_qc.log"),
    shell:
        "leukoct registration-qc --profile {params.profile} {input} > {log} 2>&1"


rule curation:
    """02 — exclusions in the paper's order, Figure 1, Tables 1 and S1."""
    input:
        notebook=str(ROOT / "notebooks" / "02_cohort_curation.ipynb"),
        **manifest_input("curation"),
        qc=str(pseudolabels.qc_path(PROFILE)),
        # The paper's criteria (a profile may name its own file instead).
        criteria=CRITERIA,
    output:
        notebook=str(EXECUTED / "02_cohort_curation.ipynb"),
        curated=str(PROFILE.step_dir("curation") / "curated.csv"),
        artefacts=artefact_files("figure1", "table1", "tableS1"),
        values=values_dir("02_cohort_curation"),
    params:
        parameters=parameters("curation"),
    log:
        str(LOGS / "02_cohort_curation.log"),
    shell:
        papermill("curation")


rule registration:
    """03 — the registration chapter: QC, failures, pseudo-labels."""
    input:
        notebook=str(ROOT / "notebooks" / "03_registration.ipynb"),
        **manifest_input("scans"),
        qc=str(pseudolabels.qc_path(PROFILE)),
        curated=str(PROFILE.step_dir("curation") / "curated.csv"),
        # The chapter shows the benchmark's sweep table when it exists.
        sweep=[str(p) for p in [ROOT / "benchmarks" / "results" / "registration_sweep.csv"]
               if p.is_file()],
    output:
        notebook=str(EXECUTED / "03_registration.ipynb"),
    params:
        parameters=parameters("registration"),
    log:
        str(LOGS / "03_registration.log"),
    shell:
        papermill("registration")


NNUNET = predictions.folders(PROFILE)
TRAINING = predictions.training_settings(PROFILE)
FOLD = NNUNET.fold_dir(TRAINING)


rule nnunet_export:
    """Development CTs (HU clipped) and pseudo-labels in nnU-Net's raw format; integrity check."""
    input:
        **manifest_input("scans"),
        curated=str(predictions.curated_path(PROFILE)),
        # The pseudo-labels of every registered subject exist once the QC is gathered.
        qc=str(pseudolabels.qc_path(PROFILE)),
    output:
        dataset=str(NNUNET.dataset_raw / "dataset.json"),
        cases=str(NNUNET.cases),
    params:
        profile=str(PROFILE.path),
        normalization=TRAINING.normalization,
    log:
        str(LOGS / "nnunet_export.log"),
    shell:
        "leukoct nnunet-export --profile {params.profile} > {log} 2>&1"


rule nnunet_plan:
    """nnU-Net fingerprint, 2d plan and preprocessing; the train/internal split."""
    input:
        dataset=str(NNUNET.dataset_raw / "dataset.json"),
        cases=str(NNUNET.cases),
    output:
        plans=str(NNUNET.plans(TRAINING)),
        splits=str(NNUNET.splits),
    params:
        profile=str(PROFILE.path),
        network=json.dumps({k: getattr(TRAINING, k) for k in
                            ("configuration", "inplane_spacing_mm", "batch_size", "base_features",
                             "max_features")}),
    threads: PROFILE.threads
    log:
        str(LOGS / "nnunet_plan.log"),
    shell:
        "leukoct nnunet-plan --profile {params.profile} > {log} 2>&1"


rule nnunet_train:
    """Train nnU-Net on the pseudo-labels (resumes an interrupted run)."""
    input:
        plans=str(NNUNET.plans(TRAINING)),
        splits=str(NNUNET.splits),
    output:
        checkpoint=str(FOLD / "checkpoint_final.pth"),
        validation=str(FOLD / "validation" / "summary.json"),
    params:
        profile=str(PROFILE.path),
        schedule=json.dumps(TRAINING.model_dump(exclude={"threads"}), sort_keys=True),
    threads: PROFILE.threads
    log:
        str(LOGS / "nnunet_train.log"),
    shell:
        "leukoct nnunet-train --profile {params.profile} > {log} 2>&1"


rule training:
    """04 — the training chapter: dataset, normalization, plan, curves, validation."""
    input:
        notebook=str(ROOT / "notebooks" / "04_nnunet_training.ipynb"),
        checkpoint=str(FOLD / "checkpoint_final.pth"),
        validation=str(FOLD / "validation" / "summary.json"),
        cases=str(NNUNET.cases),
    output:
        notebook=str(EXECUTED / "04_nnunet_training.ipynb"),
    params:
        parameters=parameters("training"),
    log:
        str(LOGS / "04_nnunet_training.log"),
    shell:
        papermill("training")


rule nnunet_predict:
    """Predict LA on every included CT of one group, with one predictor."""
    input:
        checkpoint=str(FOLD / "checkpoint_final.pth"),
        curated=str(predictions.curated_path(PROFILE)),
        **manifest_input("scans"),
    output:
        predictions=str(PROFILE.step_dir("inference") / "{group}" / "predictions.csv"),
    params:
        profile=str(PROFILE.path),
        settings=json.dumps(PROFILE.steps.get("inference", {}), sort_keys=True),
    wildcard_constraints:
        group="|".join(predictions.GROUPS),
    threads: PROFILE.threads
    log:
        str(LOGS / "predict" / "{group}.log"),
    shell:
        "leukoct nnunet-predict --profile {params.profile} --group {wildcards.group} > {log} 2>&1"


rule volumes:
    """Predicted, registered, FLAIR and (twin) true LA volumes: one table."""
    input:
        predictions=[str(predictions.predictions_path(PROFILE, g)) for g in predictions.GROUPS],
        curated=str(predictions.curated_path(PROFILE)),
        qc=str(pseudolabels.qc_path(PROFILE)),
        # The CT vendor of each subject.
        **manifest_input("scans"),
    output:
        volumes=str(predictions.volumes_path(PROFILE)),
    params:
        profile=str(PROFILE.path),
    log:
        str(LOGS / "volumes.log"),
    shell:
        "leukoct volumes --profile {params.profile} {input.predictions} > {log} 2>&1"


rule inference:
    """05 — the inference chapter: predicted volumes of every cohort, speed."""
    input:
        notebook=str(ROOT / "notebooks" / "05_inference.ipynb"),
        volumes=str(predictions.volumes_path(PROFILE)),
    output:
        notebook=str(EXECUTED / "05_inference.ipynb"),
    params:
        parameters=parameters("inference"),
    log:
        str(LOGS / "05_inference.log"),
    shell:
        papermill("inference")


rule overlaps:
    """Per-subject Dice of prediction vs pseudo-label, manual mask and (twin) truth."""
    input:
        volumes=str(predictions.volumes_path(PROFILE)),
        **manifest_input("scans"),
    output:
        overlaps=str(evaluation.overlaps_path(PROFILE)),
    params:
        profile=str(PROFILE.path),
    log:
        str(LOGS / "overlaps.log"),
    shell:
        "leukoct overlaps --profile {params.profile} > {log} 2>&1"


EVALUATION_INPUTS = dict(
    volumes=str(predictions.volumes_path(PROFILE)),
    overlaps=str(evaluation.overlaps_path(PROFILE)),
    **manifest_input("evaluation"),
    # Figure 2 shows CT slices.
    scans=view("scans"),
)


rule internal_validation:
    """06 — internal validation: Table S2."""
    input:
        notebook=str(ROOT / "notebooks" / "06_internal_validation.ipynb"),
        **EVALUATION_INPUTS,
    output:
        notebook=str(EXECUTED / "06_internal_validation.ipynb"),
        artefacts=artefact_files("tableS2"),
        values=values_dir("06_internal_validation"),
    params:
        parameters=parameters("internal_validation"),
    log:
        str(LOGS / "06_internal_validation.log"),
    shell:
        papermill("internal_validation")


rule external:
    """07 — external test, CT vendors, infarct size: Table 2, Figures 2, 3, S1-S3."""
    input:
        notebook=str(ROOT / "notebooks" / "07_external_and_vendor.ipynb"),
        **EVALUATION_INPUTS,
    output:
        notebook=str(EXECUTED / "07_external_and_vendor.ipynb"),
        artefacts=artefact_files("table2", "figure2", "figure3", "figureS1", "figureS2",
                                 "figureS3"),
        values=values_dir("07_external_and_vendor"),
    params:
        parameters=parameters("external"),
    log:
        str(LOGS / "07_external_and_vendor.log"),
    shell:
        papermill("external")


rule us_population:
    """08 — Fazekas grade in the external and US cohorts: Figure 4."""
    input:
        notebook=str(ROOT / "notebooks" / "08_us_population.ipynb"),
        **EVALUATION_INPUTS,
    output:
        notebook=str(EXECUTED / "08_us_population.ipynb"),
        artefacts=artefact_files("figure4"),
        values=values_dir("08_us_population"),
    params:
        parameters=parameters("us_population"),
    log:
        str(LOGS / "08_us_population.log"),
    shell:
        papermill("us_population")


rule clinical:
    """09 — clinical validation: Table S3, Figure S4, Table S4, Table 3."""
    input:
        notebook=str(ROOT / "notebooks" / "09_clinical.ipynb"),
        volumes=str(predictions.volumes_path(PROFILE)),
        curated=str(predictions.curated_path(PROFILE)),
        **manifest_input("clinical"),
    output:
        notebook=str(EXECUTED / "09_clinical.ipynb"),
        artefacts=artefact_files("tableS3"),
        values=values_dir("09_clinical"),
    params:
        parameters=parameters("clinical"),
    log:
        str(LOGS / "09_clinical.log"),
    shell:
        papermill("clinical")


rule rulegraph:
    """The workflow's rule graph as a picture, for the book."""
    input:
        snakefile=str(ROOT / "Snakefile"),
    output:
        png=str(RUN / "workflow" / "rulegraph.png"),
    params:
        profile=str(PROFILE.path),
    log:
        str(LOGS / "rulegraph.log"),
    shell:
        "leukoct rulegraph --profile {params.profile} --out {output.png} > {log} 2>&1"


rule book:
    """Render the executed notebooks and the paper's artefacts as a Jupyter Book."""
    input:
        notebooks=[str(EXECUTED / f"{stem}.ipynb") for stem in STEPS],
        values=[str(RUN / "values" / stem) for stem in VALUES if stem in STEPS],
        rulegraph=str(RUN / "workflow" / "rulegraph.png"),
        claims=str(ROOT / "src" / "leukoct" / "data" / "claims.csv"),
        sources=sorted(
            str(p) for p in (ROOT / "book").rglob("*")
            if p.is_file() and "_build" not in p.parts and ".ipynb_checkpoints" not in p.parts
        ),
        registry=str(ROOT / "src" / "leukoct" / "data" / "artefacts.yaml"),
        # The demo-vs-paper page reads both profiles and the reasons file.
        deviations=[str(ROOT / "src" / "leukoct" / "data" / "demo_deviations.yaml"),
                    str(ROOT / "profiles" / "demo.yaml"), str(ROOT / "profiles" / "paper.yaml")],
    output:
        index=str(PROFILE.outputs.book / "_build" / "html" / "index.html"),
    params:
        profile=str(PROFILE.path),
    log:
        str(LOGS / "book.log"),
    shell:
        "leukoct book --profile {params.profile} > {log} 2>&1"
