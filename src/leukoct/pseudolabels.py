"""The registration step's jobs: one subject's pseudo-label, and the batch QC.

The workflow runs :func:`run_subject` once per subject (``leukoct register``,
one Snakemake job each, so a cluster spreads them) and :func:`collect_qc`
once over all of them (``leukoct registration-qc``).  Every knob comes from
the profile's ``steps.registration``; the pure work is in
:mod:`leukoct.registration`.
"""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pandas as pd

from leukoct.config import Profile
from leukoct.curation import REGISTRATION_INPUTS
from leukoct.manifest import load_manifest
from leukoct.messages import LeukoctError
from leukoct.registration import (
    RegistrationSettings,
    flag_registration_errors,
    register_pair,
)
from leukoct.run import Run

#: Profile knobs of the step that are not registration settings.
_STEP_ONLY = {"examples", "missing_flair"}


def registration_settings(profile: Profile) -> RegistrationSettings:
    """The profile's ``steps.registration`` as :class:`RegistrationSettings`
    (the seed is the profile's)."""
    knobs = {k: v for k, v in profile.steps.get("registration", {}).items()
             if k not in _STEP_ONLY}
    return RegistrationSettings(**{"seed": profile.seed, **knobs})


def wmh_source(profile: Profile) -> str:
    """Whose FLAIR WMH masks registration carries onto CT: ``"manifest"``
    (``wmh_mask_path``, the paper's software) or ``"leukoct"`` (the FLAIR
    segmentation step's ensemble, :mod:`leukoct.wmh`)."""
    return str(profile.steps.get("flair_segmentation", {}).get("wmh_source", "manifest"))


def registration_inputs(profile: Profile) -> tuple[str, ...]:
    """The manifest columns a subject needs to be registered, besides its CT."""
    return ("flair_path",) if wmh_source(profile) == "leukoct" else REGISTRATION_INPUTS


def wmh_mask_of(profile: Profile, subject_id: str, row: pd.Series) -> str | None:
    """The WMH mask registration carries for one subject (see :func:`wmh_source`)."""
    if wmh_source(profile) == "leukoct":
        return str(Run(profile).wmh_mask(str(row["cohort"]), subject_id))
    return row["wmh_mask_path"] if isinstance(row["wmh_mask_path"], str) else None


def missing_flair_policy(profile: Profile) -> str:
    """The profile's ``steps.registration.missing_flair``: what the cascade does
    with a subject to register that has no FLAIR or WMH mask.

    Returns
    -------
    str
        ``"error"`` (the default: stop, naming the subjects) or ``"exclude"``
        (exclude them as :data:`leukoct.curation.MISSING_FLAIR`).

    Raises
    ------
    ValueError
        For any other value, naming the profile file and the key.
    """
    from leukoct.curation import MISSING_FLAIR_POLICIES

    value = profile.steps.get("registration", {}).get("missing_flair", "error")
    if value not in MISSING_FLAIR_POLICIES:
        raise ValueError(f"{profile.path}: steps.registration.missing_flair must be one of "
                         f"{', '.join(MISSING_FLAIR_POLICIES)}, not {value!r}")
    return str(value)


def step_dir(profile: Profile) -> Path:
    """The registration step's output folder."""
    return profile.step_dir("registration")


def subject_dir(profile: Profile, subject_id: str) -> Path:
    """One subject's folder (transforms, probability map, pseudo-label, QC)."""
    return Run(profile).registration_subject(subject_id)


def cascade_path(profile: Profile) -> Path:
    """The pre-QC exclusion cascade that lists who is registered."""
    return Run(profile).cascade


def qc_path(profile: Profile) -> Path:
    """The batch QC table with the registration-error flags."""
    return Run(profile).qc


class RegistrationInputError(LeukoctError, LookupError):
    """A subject to register is not in the manifest, or lacks an image."""


def run_subject(profile: Profile, subject_id: str) -> dict:
    """Register one subject's FLAIR onto its CT and write its files and ``qc.json``.

    The files are written into a staging folder that becomes the subject's
    folder only once everything is written: a registration that fails (or is
    killed) leaves no partial folder for a later run to trust.

    Raises
    ------
    RegistrationInputError
        If the subject is not in the manifest or has no FLAIR/WMH mask.
    """
    table = load_manifest(profile.manifest).set_index("subject_id")
    if subject_id not in table.index:
        raise RegistrationInputError(f"{profile.manifest}: no subject {subject_id!r}; fix: "
                                     "give a subject_id of the manifest")
    row = table.loc[subject_id]
    mask = wmh_mask_of(profile, subject_id, row)
    missing = [c for c in ("ct_path", "flair_path") if not isinstance(row[c], str)]
    missing += [] if mask is not None else ["wmh_mask_path"]
    if missing:
        raise RegistrationInputError(
            f"{profile.manifest}: subject {subject_id} has no {', '.join(missing)}; "
            "only paired subjects are registered (the cascade, `leukoct curate`, "
            "excludes or refuses them: steps.registration.missing_flair)")
    out = subject_dir(profile, subject_id)
    staging = out.with_name(f".{out.name}.partial")
    shutil.rmtree(staging, ignore_errors=True)
    try:
        result = register_pair(row["ct_path"], row["flair_path"], mask,
                               settings=registration_settings(profile), out_dir=staging,
                               subject_id=subject_id)
        qc = {**result.qc, "cohort": row["cohort"]}
        (staging / "qc.json").write_text(json.dumps(qc, indent=2, sort_keys=True, default=float),
                                         encoding="utf-8")
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(out, ignore_errors=True)
    staging.rename(out)
    return qc


def collect_qc(paths: list[str | os.PathLike[str]]) -> pd.DataFrame:
    """Gather per-subject ``qc.json`` files and flag registration errors.

    The outlier rule runs per cohort (development and external scanners and
    protocols differ), so each subject is compared with its own batch.
    """
    rows = [json.loads(Path(p).read_text(encoding="utf-8")) for p in paths]
    if not rows:
        return pd.DataFrame(columns=["subject_id", "cohort", "registration_error"])
    qc = pd.DataFrame(rows).sort_values("subject_id", kind="stable").reset_index(drop=True)
    batch = qc["cohort"].replace({"internal": "train"})
    qc["registration_error"] = False
    for _, rows_ in qc.groupby(batch):
        qc.loc[rows_.index, "registration_error"] = flag_registration_errors(rows_).to_numpy()
    return qc


def registration_decisions(qc: pd.DataFrame, cascade: pd.DataFrame) -> dict[str, list[str]]:
    """The ``decided`` argument of :func:`leukoct.curation.apply_criteria`.

    Raises
    ------
    ValueError
        If a subject the cascade marks for registration has no QC row (its
        job did not run): the flowchart would otherwise count it silently.
    """
    needed = set(cascade.loc[cascade["register"].astype(bool), "subject_id"])
    missing = sorted(needed - set(qc["subject_id"]))
    if missing:
        raise ValueError(f"{len(missing)} subjects to register have no registration QC "
                         f"(first: {missing[0]}); run the registration step for them")
    return {"registration_error": sorted(qc.loc[qc["registration_error"].astype(bool),
                                                "subject_id"])}


def subject_files(profile_or_dir: Profile | Path, subject_id: str | None = None) -> dict:
    """A registered subject's files: ``probability``, ``pseudolabel`` and
    ``transforms`` (in the order :func:`leukoct.registration.warp_image` takes)."""
    from leukoct.registration import (
        PROBABILITY_FILE,
        PSEUDOLABEL_FILE,
        saved_transforms,
    )

    folder = (subject_dir(profile_or_dir, subject_id) if isinstance(profile_or_dir, Profile)
              else Path(profile_or_dir))
    if not (folder / PSEUDOLABEL_FILE).is_file():
        raise FileNotFoundError(f"{folder}: no pseudo-label; run `leukoct register` for it")
    return {"probability": folder / PROBABILITY_FILE, "pseudolabel": folder / PSEUDOLABEL_FILE,
            "transforms": saved_transforms(folder)}


#: Where ``benchmarks/registration_sweep.py`` writes its per-configuration means.
SWEEP_RESULTS = Path("benchmarks") / "results" / "registration_sweep.csv"


def sweep_results(root: str | os.PathLike[str]) -> tuple[pd.DataFrame, list[str]] | None:
    """The registration sweep as the benchmark measured it, for the chapter.

    The book shows this table; it never re-runs the sweep (minutes per
    configuration), so the numbers are those of the machine and date named in
    the file's ``#`` lines.

    Parameters
    ----------
    root
        The project root (holding ``benchmarks/``).

    Returns
    -------
    tuple or None
        ``(table, notes)``: the means per configuration (index ``config``) and
        the file's ``#`` lines without the ``#``; ``None`` when the benchmark
        has not been run (no file).
    """
    path = Path(root) / SWEEP_RESULTS
    if not path.is_file():
        return None
    text = path.read_text(encoding="utf-8")
    notes = [line[1:].strip() for line in text.splitlines() if line.startswith("#")]
    table = pd.read_csv(path, comment="#", index_col="config")
    return table, notes
