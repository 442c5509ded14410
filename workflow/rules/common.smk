# What every rule file shares: the profile, where the run's files live
# (leukoct.run.Run), the manifest views and the papermill command.

import atexit
import functools
import json
import shutil
import tempfile
from pathlib import Path

from leukoct import arms, manifest_views, predictions, pseudolabels
from leukoct.book import artefact_registry
from leukoct.cluster import job_resources
from leukoct.config import load_profile, notebook_parameters
from leukoct.run import Run
from leukoct.settings import job_knobs
from leukoct.steps import study_steps
from leukoct.wmh import step as wmh

# workflow.basedir is the folder of the top-level Snakefile: the project root.
PROFILE = load_profile(config.get("profile", "demo"), root=Path(workflow.basedir))
ROOT = PROFILE.root
RUN = Run(PROFILE)
MANIFEST = RUN.manifest
KERNEL = config.get("kernel", "leukoct")
STEPS = study_steps(PROFILE)
STEMS = [step.stem for step in STEPS]

# What each step reads of the manifest (leukoct.manifest_views): the steps
# depend on these small digest files, not on the manifest itself, so that an
# edit re-runs only the steps that read the edited cells (a clinical field:
# the clinical chapter and the book).  The manifest stays an input of each
# step as ancient(): it orders the steps after the twin's data, and a missing
# manifest is named, but its date alone re-runs nothing.
#
# The views are refreshed here, at parse time, and rewritten only when their
# content changes: the one thing the workflow writes outside a job, and on
# purpose.  A rule cannot do it: Snakemake re-runs every job downstream of a
# job that ran, whether or not its outputs changed, so a "views" rule would
# re-run every chapter after any manifest edit.  A dry run (-n) writes nothing
# into the run folder: the views that changed go to a temporary folder, and
# the steps reading them point there (so the dry run still lists them).
VIEW_NAMES = tuple(manifest_views.profile_views(PROFILE))
DRY_VIEWS = (Path(tempfile.mkdtemp(prefix="leukoct-dry-run-views-"))
             if workflow.output_settings.dryrun else None)
if DRY_VIEWS is not None:
    atexit.register(shutil.rmtree, DRY_VIEWS, True)
CHANGED_VIEWS = set(manifest_views.refresh_views(PROFILE, into=DRY_VIEWS))


def view(name):
    """The digest file of one manifest view."""
    assert name in VIEW_NAMES, name
    if DRY_VIEWS is not None and name in CHANGED_VIEWS:
        return str(DRY_VIEWS / f"{name}.json")
    return str(RUN.view(name))


def manifest_input(name):
    """A step's manifest inputs: the manifest (ancient) and its view."""
    return dict(manifest=ancient(str(MANIFEST)), view=view(name))


def cluster(rule):
    """What a rule's jobs ask of a cluster (leukoct.cluster; a local run ignores it)."""
    return job_resources(PROFILE, rule)


def log(name):
    return str(RUN.logs / f"{name}.log")


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


def settings(step):
    """Every setting a step's notebook runs with, as sorted JSON: the rule's
    params, so that Snakemake re-runs the step exactly when one changed (a knob
    leukoct learned later counts only once set: job_knobs)."""
    return json.dumps(job_knobs(step, notebook_parameters(PROFILE, step)), sort_keys=True)


def injected(step):
    """What papermill injects: the profile's path only (JSON is valid YAML);
    the notebook reads every setting from it (leukoct.config.step_parameters)."""
    return json.dumps({"profile": notebook_parameters(PROFILE, step)["profile"]})


def artefact_files(ids):
    """The files a chapter writes for the paper's artefacts ``ids`` (PNG+PDF or CSV+HTML)."""
    registry = {a.id: a for a in artefact_registry()}
    return [str(RUN.figures / name) for i in ids for name in registry[i].files()]


# The exclusion criteria: the paper's, or a profile's own file.
CRITERIA = str(ROOT / (PROFILE.steps["curation"].get("criteria")
                       or "src/leukoct/data/exclusion_criteria.yaml"))
NNUNET = predictions.folders(PROFILE)
TRAINING = predictions.training_settings(PROFILE)
FOLD = NNUNET.fold_dir(TRAINING)

# The FLAIR WMH segmentation's models and the cohorts it segments.
WMH_SETTINGS = wmh.wmh_settings(PROFILE)
WMH_MODELS = wmh.model_names(WMH_SETTINGS)
WMH_COHORTS = list(wmh.PAIRED_COHORTS)  # a cohort without FLAIRs gets an empty table
WMH_SPLIT = {k: getattr(WMH_SETTINGS, k) for k in ("train_share", "validation_share", "seed")}

#: Inputs a step may read that are not files of the run (leukoct.steps.Step.reads).
WORKFLOW_INPUTS = {
    "criteria": CRITERIA,
    # The registration benchmark's table, shown by chapter 04 when it exists.
    "sweep": [str(p) for p in [ROOT / "benchmarks" / "results" / "registration_sweep.csv"]
              if p.is_file()],
    "checkpoint": str(FOLD / "checkpoint_final.pth"),
    "validation": str(FOLD / "validation" / "summary.json"),
    "cases": str(NNUNET.cases),
    "wmh_models": [str(RUN.wmh_model(m)) for m in WMH_MODELS],
    "wmh_tables": [str(RUN.wmh_predictions(c)) for c in WMH_COHORTS],
    # The design arms' volumes and overlaps (empty unless asked for: ARM_OUTPUTS below).
    "arms": [],
}


# The design arms (leukoct.arms; rules: arms.smk) run only when asked
# (`make book ARMS=1`, i.e. --config arms=true): they are issue 22's extra
# trainings, outside the default build's budget.  The study's own jobs are the
# same either way, so asking for the arms re-runs nothing of the study.  Each
# arm's profile file is written here, at parse time, and only when its settings
# change (arms.write_arm_profile): the jobs are given its path.  A dry run
# writes them to its temporary folder, as it does the views.
# `ARMS=rigid,cv_ensemble` (--config arms=rigid,cv_ensemble) runs only those.
ARMS = {name: load_profile(arms.write_arm_profile(PROFILE, name, into=DRY_VIEWS), root=ROOT)
        for name in arms.selected_arms(PROFILE, config.get("arms", False))}
#: What the arms hand on: each arm's volumes and overlaps.
ARM_OUTPUTS = [str(p) for profile in ARMS.values()
               for p in (Run(profile).volumes, Run(profile).overlaps)]
WORKFLOW_INPUTS["arms"] = ARM_OUTPUTS
