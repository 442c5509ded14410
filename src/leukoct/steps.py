"""The study's steps, in study order: one notebook each.

One table serves the workflow (which notebook rules exist, what each reads
and writes: ``workflow/rules/chapters.smk`` generates them from it), the book
(which chapters a run renders, in this order: ``leukoct.book`` writes them
into ``_toc.yml``) and the tests.  Adding a step means adding its row here
and its notebook in ``notebooks/``; ``docs/backbone.md`` walks through it.
"""

from __future__ import annotations

from dataclasses import dataclass

from leukoct.config import Profile


@dataclass(frozen=True)
class Step:
    """One study step.

    Attributes
    ----------
    stem
        Notebook file stem in ``notebooks/`` (numbered in study order).
    name
        Step name: the profile's ``steps:`` key and the step's output folder.
    title
        What the step does, in a few words.
    twin_only
        The step describes the digital twin, so runs on real data skip it.
    reads
        What the notebook reads besides itself, by name: a file of the run
        (an attribute of :class:`leukoct.run.Run`: ``curated``, ``qc``,
        ``volumes``, ...), ``view:<name>`` for a manifest view (the steps
        read digests of the manifest cells they use, so editing a clinical
        field re-runs only the clinical chapter), or one of the workflow's
        other inputs (``criteria``, ``sweep``, ``checkpoint``, ``validation``,
        ``cases``; ``workflow/rules/common.smk``).
    writes
        Files of the run the notebook writes besides its executed copy
        (:class:`leukoct.run.Run` attributes), which later steps read.
    artefacts
        The paper's tables and figures the notebook always writes (ids of
        ``leukoct/data/artefacts.yaml``).  Those it writes only when estimable
        (Table 3 on a handful of patients) are not declared, so that a small
        run does not fail for their absence.
    values
        The notebook saves values for the claims ledger (``<run>/values/<stem>``).
    """

    stem: str
    name: str
    title: str
    twin_only: bool = False
    reads: tuple[str, ...] = ()
    writes: tuple[str, ...] = ()
    artefacts: tuple[str, ...] = ()
    values: bool = False


#: What the three evaluation chapters read: volumes, overlaps, the
#: evaluation view, and the scans view (Figure 2 shows CT slices).
_EVALUATION = ("volumes", "overlaps", "view:evaluation", "view:scans")

#: Every step of the study, in order.
STEPS: tuple[Step, ...] = (
    Step("00_data", "data", "The data: what the study holds",
         reads=("view:scans",), writes=("counts",)),
    Step("01_twin", "twin", "The digital twin: synthetic data with known truth", twin_only=True,
         reads=("manifest", "truth"), writes=("twin_table1",)),
    Step("02_cohort_curation", "curation", "Cohort curation: exclusions, Figure 1, Tables 1/S1/S3",
         reads=("view:curation", "qc", "criteria"), writes=("curated",),
         artefacts=("figure1", "table1", "tableS1"), values=True),
    Step("03_flair_segmentation", "flair_segmentation",
         "FLAIR WMH segmentation: the deep ensemble, its uncertainty, lesion-wise scores",
         reads=("wmh_split", "wmh_models", "wmh_tables", "view:evaluation")),
    Step("04_registration", "registration", "FLAIR-to-CT registration: pseudo-labels and QC",
         # The chapter shows the registration benchmark's table when it exists.
         reads=("view:scans", "qc", "curated", "sweep")),
    Step("05_nnunet_training", "training", "nnU-Net on CT: export, planning, training",
         reads=("checkpoint", "validation", "cases")),
    Step("06_inference", "inference", "Inference on every cohort: predicted LA volumes",
         reads=("volumes",)),
    Step("07_internal_validation", "internal_validation", "Internal validation: Table S2",
         reads=_EVALUATION, artefacts=("tableS2",), values=True),
    Step("08_external_and_vendor", "external",
         "External test, CT vendors and infarct size: Table 2, Figures 2, 3, S1-S3",
         reads=_EVALUATION,
         artefacts=("table2", "figure2", "figure3", "figureS1", "figureS2", "figureS3"),
         values=True),
    Step("09_us_population", "us_population",
         "Fazekas grade in the external and US cohorts: Figure 4",
         reads=_EVALUATION, artefacts=("figure4",), values=True),
    Step("10_clinical", "clinical",
         "Clinical validation: age, risk factors, 3-month mRS (Tables 3, S4, Figure S4)",
         reads=("volumes", "curated", "view:clinical"), artefacts=("tableS3",), values=True),
    Step("11_design_arms", "design_arms",
         "Design arms: the paper's choices tested on known truth (beyond the paper)",
         # Each arm's volumes and overlaps, when the arms are asked for (make book ARMS=1).
         reads=("volumes", "overlaps", "view:evaluation", "arms")),
)


def flair_segmentation_runs(profile: Profile) -> bool:
    """Whether the FLAIR segmentation step runs (``steps.flair_segmentation.enabled``).

    Auto (``null``): on the twin, whose development cohort has reference masks,
    and wherever registration needs its masks (``wmh_source: leukoct``).
    """
    knobs = profile.steps.get("flair_segmentation", {})
    if knobs.get("wmh_source", "manifest") == "leukoct":
        return True
    enabled = knobs.get("enabled")
    return profile.data.source == "twin" if enabled is None else bool(enabled)


def study_steps(profile: Profile) -> list[Step]:
    """The steps a run of ``profile`` executes, in study order."""
    return [s for s in STEPS if not (s.twin_only and profile.data.source != "twin")
            and not (s.name == "flair_segmentation" and not flair_segmentation_runs(profile))]
