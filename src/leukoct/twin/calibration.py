"""How the digital twin compares with the paper: Table 1 side by side.

These functions read a generated study (its manifest and its
``truth/subjects.csv``) and summarise it in the paper's own layout, so the
twin's chapter can put each published number beside the twin's.  They
describe the *generated data*; the study's own Table 1 (with tests and p
values) is made by the cohort-curation step from the curated cohort.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leukoct.baseline import slice_class
from leukoct.paper import paper_table1
from leukoct.twin import parameters as P

#: Groups of Table 1: manifest cohorts pooled into each column.
TABLE1_GROUPS: dict[str, tuple[str, ...]] = {
    "development": ("train", "internal"),
    "external": ("external",),
}


def read_truth(study_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """The twin's per-subject truth table (``truth/subjects.csv``), indexed by subject.

    Raises ``FileNotFoundError`` with a hint when ``study_dir`` is not a twin
    study (real data have no truth).
    """
    path = Path(study_dir) / "truth" / "subjects.csv"
    if not path.is_file():
        raise FileNotFoundError(
            f"{path} not found: the folder is not a digital-twin study "
            f"(generate one with `leukoct twin --profile demo --out DIR`)")
    truth = pd.read_csv(path, keep_default_na=False, na_values=[""])
    truth["exclusion_reason"] = truth["exclusion_reason"].fillna("")
    return truth.set_index("subject_id")


def summarise(values: pd.Series, statistic: str, level: str | None = None) -> str:
    """One Table 1 cell in the paper's format.

    Parameters
    ----------
    values
        The group's values (missing values count in the denominator of
        ``n_pct``, as in the paper's vendor rows, and are ignored by the
        other statistics).
    statistic
        ``mean_sd`` ("68.1 ± 12.7"), ``median_iqr`` ("3.30 (1.04–8.18)") or
        ``n_pct`` ("160 (33.2%)", counting values equal to ``level``).
    level
        The counted level for ``n_pct``; ``"True"`` counts true booleans.
    """
    if statistic == "mean_sd":
        x = pd.to_numeric(values, errors="raise").dropna()
        return f"{x.mean():.1f} ± {x.std(ddof=1):.1f}"
    if statistic == "median_iqr":
        x = pd.to_numeric(values, errors="raise").dropna()
        q1, med, q3 = np.percentile(x, [25, 50, 75])
        return f"{med:.2f} ({q1:.2f}–{q3:.2f})"
    if statistic == "n_pct":
        if level == "True":
            hits = values.fillna(False).astype(bool)
        else:
            hits = values.astype(object) == level
        n, k = len(values), int(hits.sum())
        return f"{k} ({100.0 * k / n:.1f}%)" if n else "0 (–)"
    raise ValueError(f"unknown statistic {statistic!r}: use mean_sd, median_iqr or n_pct")


def _analysed(manifest: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Kept subjects (truth knows the planted exclusions) with Table 1's columns."""
    frame = manifest.set_index("subject_id").join(
        truth[["exclusion_reason", "wmh_software_ml"]], how="left")
    missing = frame["exclusion_reason"].isna()
    if missing.any():
        raise ValueError(f"{int(missing.sum())} manifest subjects are not in truth/subjects.csv "
                         f"(first: {frame.index[missing][0]}); the manifest and truth "
                         "belong to different twin studies")
    frame = frame[frame["exclusion_reason"] == ""].copy()
    frame["wmh_flair_ml"] = frame["wmh_software_ml"]
    frame["slice_class"] = slice_class(frame["ct_slice_thickness_mm"])
    return frame


def table1_side_by_side(manifest: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """The paper's Table 1 beside the same rows computed on the twin.

    Parameters
    ----------
    manifest
        The twin's manifest as returned by :func:`leukoct.manifest.load_manifest`.
    truth
        :func:`read_truth` of the same study (it says who is excluded).

    Returns
    -------
    pandas.DataFrame
        One row per Table 1 line (index: the paper's label), columns
        ``paper, development``, ``twin, development``, ``paper, external``,
        ``twin, external``; the twin's group sizes are in the column names'
        ``attrs["n"]``.
    """
    analysed = _analysed(manifest, truth)
    paper = paper_table1()
    groups = {g: analysed[analysed["cohort"].isin(c)] for g, c in TABLE1_GROUPS.items()}
    rows = []
    for _, spec in paper.iterrows():
        row = {"characteristic": spec["label"]}
        for group, frame in groups.items():
            row[f"paper, {group}"] = spec[group]
            level = spec["level"] or None
            row[f"twin, {group}"] = (summarise(frame[spec["variable"]], spec["statistic"], level)
                                     if len(frame) else "–")
        rows.append(row)
    table = pd.DataFrame(rows).set_index("characteristic")
    table.attrs["n"] = {g: len(f) for g, f in groups.items()}
    return table


#: What the paper says about the cohorts outside Table 1 (Results, Methods).
OTHER_COHORTS: dict[str, dict[str, str]] = {
    "us": {"n": "100", "Age, years": "64.6 ± 15.2", "Sex, women": "42 (42.0%)",
           "CT vendor, Siemens": "54 (54.0%)", "CT vendor, GE": "40 (40.0%)"},
    "clinical": {"n": "867", "Age, years": "69.3 ± 13.0", "Sex, women": "340 (39.2%)",
                 "Predicted LA volume, mL": "11.2 (6.2–20.5)"},
}


def other_cohorts_side_by_side(manifest: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """US and clinical cohorts: the paper's text beside the twin (true LA volume).

    The clinical cohort's published LA volume is the *predicted* one; the
    twin's column shows its *true* volume, which the prediction should track.
    """
    analysed = _analysed(manifest, truth).join(truth[["la_volume_ml"]])
    specs = {"Age, years": ("age", "mean_sd", None), "Sex, women": ("sex", "n_pct", "F"),
             "CT vendor, Siemens": ("ct_vendor", "n_pct", "SIEMENS"),
             "CT vendor, GE": ("ct_vendor", "n_pct", "GE"),
             "Predicted LA volume, mL": ("la_volume_ml", "median_iqr", None)}
    rows = []
    for cohort, published in OTHER_COHORTS.items():
        frame = analysed[analysed["cohort"] == cohort]
        for label, value in published.items():
            if label == "n":
                twin = str(len(frame))
            else:
                column, statistic, level = specs[label]
                twin = summarise(frame[column], statistic, level) if len(frame) else "–"
            rows.append({"cohort": cohort, "characteristic": label, "paper": value,
                         "twin": twin})
    return pd.DataFrame(rows).set_index(["cohort", "characteristic"])


def flowchart_side_by_side(truth: pd.DataFrame) -> pd.DataFrame:
    """Identified, excluded (per reason) and kept subjects: paper vs twin.

    The twin's counts are the paper's scaled to the profile's cohort sizes;
    ``scaled paper`` shows the paper's count times the twin/paper size ratio
    so the two can be read against each other.
    """
    rows = []
    for name, flow in P.FLOWCHART.items():
        cohort = P.COHORTS[name]["cohort"]
        own = truth[truth["cohort"].isin(TABLE1_GROUPS.get(name, (cohort,)))]
        ratio = len(own) / flow["identified"]
        items = [("identified", flow["identified"], len(own))]
        counts = own["exclusion_reason"].value_counts()
        items += [(f"excluded: {reason.replace('_', ' ')}", k, int(counts.get(reason, 0)))
                  for reason, k in flow["excluded"].items()]
        items.append(("analysed", flow["kept"], int((own["exclusion_reason"] == "").sum())))
        for label, paper, twin in items:
            rows.append({"cohort": name, "step": label, "paper": paper,
                         "scaled paper": round(paper * ratio, 1), "twin": twin})
    return pd.DataFrame(rows).set_index(["cohort", "step"])


def pick_examples(manifest: pd.DataFrame, truth: pd.DataFrame, n: int = 4) -> list[str]:
    """Paired, analysed subjects spanning lesion loads and CT vendors.

    Targets ``n`` evenly spaced quantiles of the true LA volume (from the
    10th to the 95th percentile) and, for each, takes the nearest subject
    whose CT vendor is not yet shown (any vendor once all are used).
    Deterministic: ties go to the subject listed first.
    """
    analysed = _analysed(manifest, truth).join(truth[["la_volume_ml"]])
    paired = analysed[analysed["cohort"].isin(("train", "internal", "external"))
                      & analysed["flair_path"].notna()]
    if paired.empty:
        raise ValueError("no analysed paired subject (CT + FLAIR) in the study")
    volumes = paired["la_volume_ml"].astype(float)
    chosen: list[str] = []
    vendors_used: set[str] = set()
    for q in np.linspace(0.10, 0.95, min(n, len(paired))):
        target = float(np.quantile(volumes, q))
        order = (volumes - target).abs().sort_values(kind="stable").index
        candidates = [s for s in order if s not in chosen]
        fresh = [s for s in candidates if paired.at[s, "ct_vendor"] not in vendors_used]
        pick = (fresh or candidates)[0]
        chosen.append(pick)
        vendors_used.add(paired.at[pick, "ct_vendor"])
    return chosen


def planted_effects() -> pd.DataFrame:
    """The effects the twin plants and the later steps must recover.

    Returns
    -------
    pandas.DataFrame
        One row per effect: the model, the planted value, what the paper
        reports for the same quantity and where the study recovers it.
    """
    la, mrs, fz = P.LA_MODEL, P.MRS_MODEL, P.FAZEKAS
    median = P.COHORTS["clinical"]["wmh_ml_median"]
    rows = [
        ("LA volume", "age (log-volume per year)", f"{la['age_log_per_year']:.3f} "
         f"(≈ {la['age_log_per_year'] * median:.2f} mL/year at the median {median} mL)",
         "0.436 mL/year (Figure S4)", "clinical step: Figure S4, Table S4"),
        ("LA volume", "prior stroke (log-volume)", f"{la['prior_stroke_log']:.2f}",
         "independent predictor (Table S4)", "Table S4"),
        ("LA volume", "atrial fibrillation (log-volume)", f"{la['atrial_fibrillation_log']:.2f}",
         "independent predictor (Table S4)", "Table S4"),
        ("LA volume", f"hypertension, age < {la['hypertension_age_cut']:.0f} only (log-volume)",
         f"{la['hypertension_below_70_log']:.2f}",
         "associated below 70 years, not above (Table S4)", "Table S4, age-stratified"),
    ]
    published = ["1.16", "1.49", "1.59", "1.64"]
    for q, (beta, paper) in enumerate(zip(mrs["quintile_log_or"][1:], published), start=2):
        rows.append(("3-month mRS (ordinal logit)", f"LA quintile {q} vs 1 (odds ratio)",
                     f"{np.exp(beta):.2f}", f"{paper} adjusted (Table 3)", "Table 3"))
    rows += [
        ("3-month mRS (ordinal logit)", "NIHSS (odds ratio per point)",
         f"{np.exp(mrs['nihss_log_or']):.2f}", "adjusted for (Table 3 footnote)", "Table 3"),
        ("3-month mRS (ordinal logit)", "mRS 6 vs 5: separate death model (age, NIHSS; no LA)",
         "breaks proportional odds", "PO violated; mRS 5-6 merged (Methods)",
         "Brant test in the clinical step"),
        ("Fazekas grade", "log-volume cut points (mL) and rater noise (log SD)",
         f"{fz['cuts_ml']}, {fz['rater_noise_log']}", "Pearson r 0.832 / 0.891 (Figure 4)",
         "Figure 4"),
    ]
    return pd.DataFrame(rows, columns=["model", "effect", "planted", "paper", "recovered in"])


def vendor_contrast(manifest: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Per CT vendor: normal white matter HU, LA contrast and noise (truth).

    The contrast-to-noise ratio (LA contrast / noise SD) is what makes LA
    hard to see on CT; the twin knows it exactly for every subject.
    """
    frame = truth.join(manifest.set_index("subject_id")[["ct_vendor"]], how="inner")
    has_ct = frame[frame["has_ct"].astype(bool) & frame["ct_noise_sd"].notna()].copy()
    if has_ct.empty:
        raise ValueError("no subject with a simulated CT in the truth table")
    has_ct["ct_vendor"] = has_ct["ct_vendor"].fillna("unknown").replace("", "unknown")
    has_ct["cnr"] = has_ct["ct_la_contrast_hu"] / has_ct["ct_noise_sd"]
    table = has_ct.groupby("ct_vendor", sort=True).agg(
        subjects=("cnr", "size"), white_matter_hu=("ct_wm_hu", "mean"),
        la_contrast_hu=("ct_la_contrast_hu", "mean"), noise_sd_hu=("ct_noise_sd", "mean"),
        contrast_to_noise=("cnr", "mean"))
    return table.round(2)


#: Truth masks a twin study writes: kind -> (file stem, grids it exists on, what it is).
TRUTH_MASKS: dict[str, tuple[str, tuple[str, ...], str]] = {
    "lesion": ("lesion", ("ct", "flair"), "true leukoaraiosis"),
    "brain": ("brain", ("ct",), "true brain (parenchyma and ventricles, no CSF rim or skull)"),
    "wmh": ("wmh", ("ct",), "ideal pseudo-label: the WMH-software mask carried onto the CT "
            "by the true geometry (paired cohorts only)"),
}


def truth_mask_path(study_dir: str | os.PathLike[str], subject_id: str, space: str,
                    kind: str = "lesion") -> Path:
    """Path of one of a subject's truth masks.

    Parameters
    ----------
    study_dir
        The twin study's folder (holding ``truth/``).
    subject_id
        The subject.
    space
        The grid: ``"ct"`` or ``"flair"``.
    kind
        ``"lesion"`` (the true LA, both grids), ``"brain"`` (the true brain,
        CT grid; every subject with a CT) or ``"wmh"`` (the ideal pseudo-label:
        the simulated WMH-software mask put on the CT grid by the twin's true
        geometry, i.e. what a perfect registration would make of it; paired
        subjects only).

    Returns
    -------
    pathlib.Path
        ``truth/<id>_<kind>_<space>.nii.gz``.

    Raises
    ------
    ValueError
        For an unknown ``kind`` or a grid that kind does not exist on.
    FileNotFoundError
        If the file is absent (no such subject, no CT or FLAIR, or a study
        generated before that kind of truth was written).
    """
    if kind not in TRUTH_MASKS:
        raise ValueError(f"kind must be one of {', '.join(TRUTH_MASKS)}, not {kind!r}")
    stem, spaces, what = TRUTH_MASKS[kind]
    if space not in spaces:
        raise ValueError(f"the {kind} truth exists on the {' and '.join(spaces)} grid only, "
                         f"not {space!r}")
    path = Path(study_dir) / "truth" / f"{subject_id}_{stem}_{space}.nii.gz"
    if not path.is_file():
        raise FileNotFoundError(f"{path} not found: {subject_id} has no {what} on the {space} "
                                "grid in this twin study (regenerate studies older than that "
                                "truth file with `leukoct twin`)")
    return path


def pseudolabel_accuracy(study_dir: str | os.PathLike[str],
                         probabilities: Mapping[str, str | os.PathLike[str]],
                         threshold: float = 0.0,
                         labels: Mapping[str, str | os.PathLike[str]] | None = None
                         ) -> pd.DataFrame:
    """The pseudo-labels' error budget on the twin: FLAIR segmentation vs registration.

    A pseudo-label differs from the true lesion for two reasons the twin can
    separate: the WMH software's errors on FLAIR (its mask vs the true
    lesion) and the registration's errors (where the mask lands on the CT).
    The ideal pseudo-label (``truth/<id>_wmh_ct.nii.gz``) is the software
    mask moved by the *true* geometry, so

    * ``dice_ideal_vs_truth`` (ideal vs true lesion, CT grid) is the FLAIR
      segmentation error alone, the ceiling of any registration;
    * ``dice_vs_ideal_*`` (pseudo-label vs ideal) is the registration error
      alone (registration truth);
    * ``dice_vs_truth_*`` (pseudo-label vs true lesion) is both together.

    Parameters
    ----------
    study_dir
        The twin study's folder (``truth/subjects.csv`` and the truth masks).
    probabilities
        Subject id -> the registration's warped WMH probability map on the
        subject's CT grid (``wmh_probability_ct.nii.gz``).
    threshold
        The pseudo-label rule on the probability map, probability > ``threshold``
        (the Methods' literal reading: 0); every subject is also scored at p > 0.5.
    labels
        Subject id -> the run's own pseudo-label (``wmh_pseudolabel_ct.nii.gz``),
        scored instead of probability > ``threshold`` in the ``*_t`` columns: with
        nearest-neighbour label transfer the label is not a cut of the map.

    Returns
    -------
    pandas.DataFrame
        One row per subject (in the mapping's order): ``subject_id``,
        ``cohort``, volumes in mL (``true_ml``, ``ideal_ml``, ``pseudo_ml_t``
        at the threshold, ``pseudo_ml_05`` at 0.5), ``software_dice_flair``
        (``wmh_software_dice`` of the truth table), ``dice_ideal_vs_truth``,
        ``dice_vs_ideal_t`` / ``dice_vs_ideal_05`` and ``dice_vs_truth_t`` /
        ``dice_vs_truth_05``.  ``attrs["threshold"]`` holds ``threshold``.
        A Dice of two empty masks is NaN (undefined), as in
        :func:`leukoct.metrics.dice`.

    Raises
    ------
    ValueError
        If a probability map is not on its CT's grid (shape or affine differ).
    FileNotFoundError
        If a truth mask is missing (see :func:`truth_mask_path`).
    """
    from leukoct.images import load_volume, mask_volume_ml
    from leukoct.metrics import dice

    truth = read_truth(study_dir)
    rows = []
    for subject, path in probabilities.items():
        lesion = load_volume(truth_mask_path(study_dir, subject, "ct", "lesion"))
        ideal = load_volume(truth_mask_path(study_dir, subject, "ct", "wmh")).data > 0
        probability = load_volume(path)
        if not probability.same_grid(lesion):
            raise ValueError(f"{path}: not on the CT grid of {subject} (shape "
                             f"{probability.data.shape} vs {lesion.data.shape}, or the affine "
                             "differs); pass the registration's probability map on the CT")
        true = lesion.data > 0
        at_05 = probability.data > 0.5
        if labels is None:
            at_t = probability.data > threshold
        else:
            label = load_volume(labels[subject])
            if not label.same_grid(lesion):
                raise ValueError(f"{labels[subject]}: not on the CT grid of {subject}")
            at_t = label.data > 0
        rows.append({
            "subject_id": subject, "cohort": truth.at[subject, "cohort"],
            **{name: mask_volume_ml(mask, lesion.spacing) for name, mask in (
                ("true_ml", true), ("ideal_ml", ideal), ("pseudo_ml_t", at_t),
                ("pseudo_ml_05", at_05))},
            "software_dice_flair": float(truth.at[subject, "wmh_software_dice"]),
            "dice_ideal_vs_truth": dice(ideal, true),
            "dice_vs_ideal_t": dice(at_t, ideal), "dice_vs_ideal_05": dice(at_05, ideal),
            "dice_vs_truth_t": dice(at_t, true), "dice_vs_truth_05": dice(at_05, true),
        })
    columns = ["subject_id", "cohort", "true_ml", "ideal_ml", "pseudo_ml_t", "pseudo_ml_05",
               "software_dice_flair", "dice_ideal_vs_truth", "dice_vs_ideal_t",
               "dice_vs_ideal_05", "dice_vs_truth_t", "dice_vs_truth_05"]
    table = pd.DataFrame(rows, columns=columns)
    table.attrs["threshold"] = float(threshold)
    table.attrs["rule"] = "this run's" if labels is not None else f"p > {threshold:g}"
    return table


def error_budget(accuracy: pd.DataFrame) -> pd.DataFrame:
    """Mean and median of each Dice of :func:`pseudolabel_accuracy`, in words.

    Returns
    -------
    pandas.DataFrame
        Index: the comparison (what error it measures); columns ``mean``,
        ``median``, ``min``, ``n`` (subjects with a defined Dice).
    """
    rule = accuracy.attrs.get("rule", f"p > {accuracy.attrs.get('threshold', 0.0):g}")
    labels = {
        "software_dice_flair": "FLAIR segmentation: software mask vs true lesion (FLAIR grid)",
        "dice_ideal_vs_truth": "FLAIR segmentation on CT: ideal pseudo-label vs true lesion",
        "dice_vs_ideal_t": f"registration: pseudo-label ({rule}) vs ideal pseudo-label",
        "dice_vs_ideal_05": "registration: pseudo-label (p > 0.5) vs ideal pseudo-label",
        "dice_vs_truth_t": f"both: pseudo-label ({rule}) vs true lesion",
        "dice_vs_truth_05": "both: pseudo-label (p > 0.5) vs true lesion",
    }
    rows = {label: {"mean": accuracy[c].mean(), "median": accuracy[c].median(),
                    "min": accuracy[c].min(), "n": int(accuracy[c].notna().sum())}
            for c, label in labels.items()}
    return pd.DataFrame.from_dict(rows, orient="index").rename_axis("Dice")


#: Groups of ``truth/subjects.csv`` columns (by prefix) and what they hold.
TRUTH_GROUPS: tuple[tuple[str, str], ...] = (
    ("la_", "true leukoaraiosis: target and realised volumes (mL) per grid, shape parameters"),
    ("infarct_", "true acute infarct: target and realised volumes (mL)"),
    ("hemorrhage_", "haemorrhage/tumour volume planted for that exclusion (mL)"),
    ("ct_", "CT simulation: tissue HU, LA contrast, noise, offset, missing slices, pose"),
    ("flair_", "FLAIR simulation: noise, bias field, pose, non-linear difference, "
               "transform from CT"),
    ("wmh_", "simulated WMH software mask: its volume and Dice against the truth"),
    ("manual_", "simulated expert CT mask: presence and Dice against the truth"),
    ("", "subject: cohort, planted exclusion reason, registration-error flag, anatomy donor, "
         "head scale, deformation, ageing"),
)


def truth_columns(truth: pd.DataFrame) -> pd.DataFrame:
    """The truth table's columns grouped by what they describe."""
    rows, seen = [], set()
    for prefix, meaning in TRUTH_GROUPS:
        columns = [c for c in truth.columns if c.startswith(prefix) and c not in seen]
        seen.update(columns)
        if columns:
            rows.append({"group": prefix.rstrip("_") or "subject", "meaning": meaning,
                         "columns": ", ".join(columns)})
    return pd.DataFrame(rows).set_index("group")


def planted_model_effects(parameters: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The twin's planted effects, on the scale of the models that estimate them.

    Parameters
    ----------
    parameters
        :func:`leukoct.twin.parameters.all_parameters` layout (or a study's
        ``truth/parameters.yaml``); default the installed twin's.

    Returns
    -------
    pandas.DataFrame
        ``model, term, truth``.  ``log volume``: coefficients on log LA volume
        (age per year, prior stroke, atrial fibrillation, hypertension below
        the age cut, and at/above it, planted as 0).  ``mRS``: odds ratios of
        the generative cumulative logit (quintiles Q2-Q5 vs Q1, NIHSS, age,
        ``sexM``, diabetes, revascularization), valid for mRS 5-6 merged.
    """
    parameters = parameters or P.all_parameters()
    la, mrs = parameters["la_model"], parameters["mrs_model"]
    cut = float(la["hypertension_age_cut"])
    log_volume = [("age", la["age_log_per_year"]), ("prior_stroke", la["prior_stroke_log"]),
                  ("atrial_fibrillation", la["atrial_fibrillation_log"]),
                  (f"hypertension_below_{cut:g}", la["hypertension_below_70_log"]),
                  (f"hypertension_{cut:g}_plus", 0.0)]
    log_or = [*((f"Q{k + 1}", b) for k, b in enumerate(mrs["quintile_log_or"]) if k),
              ("nihss", mrs["nihss_log_or"]), ("age", mrs["age_log_or_per_year"]),
              ("sexM", -mrs["female_log_or"]), ("diabetes", mrs["diabetes_log_or"]),
              ("revascularization", mrs["revascularization_log_or"])]
    return pd.DataFrame([*(("log volume", t, float(b)) for t, b in log_volume),
                         *(("mRS", t, float(np.exp(b))) for t, b in log_or)],
                        columns=["model", "term", "truth"])
