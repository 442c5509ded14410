"""Where every file of a study run lives: one property per artefact.

A run is one profile's outputs (``outputs.root``).  The workflow, the
command line and the notebooks all find a run's files here, so a file is
named in one place: ``Run(profile).curated`` is the curated cohort whoever
asks, and renaming it is a one-line change.  The study's folders are named
after its steps (``<root>/<step>/``, :meth:`leukoct.config.Profile.step_dir`);
nnU-Net's own layout below the training folder stays nnU-Net's
(:class:`leukoct.segmentation.NnunetFolders`).

How a setting travels and how to add a step: ``docs/backbone.md``.

Examples
--------
>>> from leukoct.config import load_profile
>>> run = Run(load_profile("ci"))
>>> run.curated.relative_to(run.root).as_posix()
'curation/curated.csv'
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from leukoct.config import Profile


@dataclass(frozen=True)
class Run:
    """The files of one run of ``profile``.

    Parameters
    ----------
    profile
        A loaded profile (:func:`leukoct.config.load_profile`); its paths are
        absolute, so every path here is too.
    """

    profile: Profile

    # -- the run's folders -------------------------------------------------
    @property
    def root(self) -> Path:
        """The run's working folder (the profile's ``outputs.root``)."""
        return self.profile.outputs.root

    def step_dir(self, step: str) -> Path:
        """One study step's output folder."""
        return self.profile.step_dir(step)

    @property
    def figures(self) -> Path:
        """The paper's figures and tables (PNG+PDF, CSV+HTML, provenance)."""
        return self.profile.outputs.figures

    @property
    def executed(self) -> Path:
        """Folder of the executed notebooks (the book's chapters)."""
        return self.root / "notebooks"

    def notebook(self, stem: str) -> Path:
        """One executed notebook."""
        return self.executed / f"{stem}.ipynb"

    @property
    def logs(self) -> Path:
        """Folder of every job's log."""
        return self.root / "logs"

    @property
    def slurm_logs(self) -> Path:
        """Folder of each cluster job's SLURM log (``rule_<rule>/<wildcards>/<jobid>.log``),
        written by snakemake-executor-plugin-slurm (``make book EXECUTOR=slurm``)."""
        return self.logs / "slurm"

    @property
    def values_root(self) -> Path:
        """The folder of every chapter's saved values (the claims ledger reads it whole)."""
        return self.root / "values"

    def values(self, stem: str) -> Path:
        """The folder where chapter ``stem`` saves the values the claims ledger reads."""
        return self.values_root / stem

    @property
    def views(self) -> Path:
        """Folder of the manifest views (:mod:`leukoct.manifest_views`)."""
        from leukoct.manifest_views import views_folder

        return views_folder(self.root)

    def view(self, name: str) -> Path:
        """The digest file of one manifest view."""
        return self.views / f"{name}.json"

    # -- the data ------------------------------------------------------------
    @property
    def manifest(self) -> Path:
        """The manifest CSV (the twin writes it; real data bring it)."""
        return self.profile.manifest

    @property
    def truth_dir(self) -> Path:
        """The twin's truth: per-subject lesion maps and geometry (twin runs only)."""
        return self.manifest.parent / "truth"

    @property
    def truth(self) -> Path:
        """The twin's per-subject truth table (twin runs only)."""
        return self.truth_dir / "subjects.csv"

    # -- what the steps write ------------------------------------------------
    @property
    def counts(self) -> Path:
        """Subjects per cohort and scan (step 00)."""
        return self.step_dir("data") / "cohort_counts.csv"

    @property
    def twin_table1(self) -> Path:
        """The twin's Table 1 beside the paper's (step 01)."""
        return self.step_dir("twin") / "table1_side_by_side.csv"

    @property
    def cascade(self) -> Path:
        """The exclusion cascade before registration QC: who is registered."""
        return self.step_dir("curation") / "cascade.csv"

    @property
    def curated(self) -> Path:
        """The curated cohort: one row per subject, its group or exclusion reason."""
        return self.step_dir("curation") / "curated.csv"

    @property
    def image_checks(self) -> Path:
        """Registry fields compared with the CT (step 02)."""
        return self.step_dir("curation") / "image_checks.csv"

    def registration_subject(self, subject_id: str) -> Path:
        """One subject's registration folder (transforms, maps, pseudo-label, QC)."""
        return self.step_dir("registration") / "subjects" / subject_id

    def registration_qc(self, subject_id: str) -> Path:
        """One subject's registration QC record (the register job's output)."""
        return self.registration_subject(subject_id) / "qc.json"

    @property
    def qc(self) -> Path:
        """The batch registration QC table with the registration-error flags."""
        return self.step_dir("registration") / "qc.csv"

    @property
    def wmh_split(self) -> Path:
        """Reference FLAIR subjects and their train / validation / test split."""
        return self.step_dir("flair_segmentation") / "split.csv"

    def wmh_model(self, name: str) -> Path:
        """One FLAIR WMH model's weights (history ``.csv`` and record ``.json`` beside)."""
        return self.step_dir("flair_segmentation") / "models" / f"{name}.pt"

    def wmh_cohort_dir(self, cohort: str) -> Path:
        """One cohort's FLAIR WMH masks and probabilities (leukoct's ensemble)."""
        return self.step_dir("flair_segmentation") / cohort

    def wmh_predictions(self, cohort: str) -> Path:
        """One cohort's FLAIR WMH table: volumes, uncertainty, overlaps."""
        return self.wmh_cohort_dir(cohort) / "predictions.csv"

    def wmh_lesions(self, cohort: str) -> Path:
        """One cohort's lesion-wise counts (seed 004), per subject, reference and size."""
        return self.wmh_cohort_dir(cohort) / "lesions.csv"

    def wmh_mask(self, cohort: str, subject_id: str) -> Path:
        """One subject's FLAIR WMH mask from leukoct's ensemble."""
        return self.wmh_cohort_dir(cohort) / f"{subject_id}_wmh.nii.gz"

    def predictions_dir(self, group: str) -> Path:
        """One curation group's predicted masks."""
        return self.step_dir("inference") / group

    def predictions(self, group: str) -> Path:
        """One curation group's predictions table."""
        return self.predictions_dir(group) / "predictions.csv"

    @property
    def volumes(self) -> Path:
        """Predicted, registered, FLAIR and (twin) true LA volumes, one table."""
        return self.step_dir("inference") / "volumes.csv"

    @property
    def overlaps(self) -> Path:
        """Per-subject Dice against the pseudo-label, manual mask and (twin) truth."""
        return self.step_dir("evaluation") / "overlaps.csv"

    @property
    def overlaps_flair(self) -> Path:
        """The same on the FLAIR grid, where seed 003 scores its design
        (``steps.registration.direction: ct_to_flair`` only)."""
        return self.step_dir("evaluation") / "overlaps_flair.csv"

    @property
    def rulegraph(self) -> Path:
        """The workflow's rule graph, drawn for the book."""
        return self.root / "workflow" / "rulegraph.png"

    @property
    def book_stage(self) -> Path:
        """Where the book's sources, chapters and figures are assembled before Sphinx runs."""
        return self.root / "book_src"

    @property
    def book_index(self) -> Path:
        """The rendered book's landing page."""
        return self.profile.outputs.book / "_build" / "html" / "index.html"
