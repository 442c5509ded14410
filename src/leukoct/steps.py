"""The study's steps, in study order: one notebook each.

One list serves the workflow (which rules exist), the book (which chapters
a run renders) and the tests, so adding a step means adding it here, to the
Snakefile's rules and to ``book/_toc.yml``.
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
    """

    stem: str
    name: str
    title: str
    twin_only: bool = False


#: Every step of the study, in order.
STEPS: tuple[Step, ...] = (
    Step("00_data", "data", "The data: what the study holds"),
    Step("01_twin", "twin", "The digital twin: synthetic data with known truth", twin_only=True),
    Step("02_cohort_curation", "curation", "Cohort curation: exclusions, Figure 1, Tables 1/S1/S3"),
    Step("03_registration", "registration", "FLAIR-to-CT registration: pseudo-labels and QC"),
    Step("04_nnunet_training", "training", "nnU-Net on CT: export, planning, training"),
    Step("05_inference", "inference", "Inference on every cohort: predicted LA volumes"),
    Step("06_internal_validation", "internal_validation", "Internal validation: Table S2"),
    Step("07_external_and_vendor", "external",
         "External test, CT vendors and infarct size: Table 2, Figures 2, 3, S1-S3"),
    Step("08_us_population", "us_population",
         "Fazekas grade in the external and US cohorts: Figure 4"),
    Step("09_clinical", "clinical",
         "Clinical validation: age, risk factors, 3-month mRS (Tables 3, S4, Figure S4)"),
)


def study_steps(profile: Profile) -> list[Step]:
    """The steps a run of ``profile`` executes, in study order."""
    return [s for s in STEPS if not (s.twin_only and profile.data.source != "twin")]
