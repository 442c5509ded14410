"""The design arms side by side (issue 22; beyond the paper).

Each design arm (:mod:`leukoct.arms`) is the study with one choice changed.
A paper can only score a design against its own labels; the digital twin can
also score it against the true LA, which is what a user of the volumes
needs.  :func:`design_table` gives, per design and on one evaluation set,
the agreement of the pseudo-labels and of the predictions with the truth and
of the predictions with the pseudo-labels (:func:`twin_error_budget`'s three
comparisons), Pearson's r, the Bland-Altman bias against the truth and the
Fazekas correlation.  :func:`design_differences` compares every arm with the
study's own design on the same subjects: the CCC against the truth by a
paired percentile bootstrap (:func:`scipy.stats.bootstrap`), the Dice
against the truth by a paired t interval.  :func:`design_reading` says which
change matters most, from those numbers.  :func:`design_grading` scores each
design the way Pitkänen et al. 2020 (seed 003) score theirs: the Fazekas
group (0-1, 2, 3) estimated from the predicted volume by cross-validated
volume thresholds (:mod:`leukoct.volume_grading`), its share correct, and
the Dice against the truth by Fazekas group; :func:`design_voxel_volumes`
splits each prediction into the volumes it gets right, adds and misses
against the truth, by lesion load (seed 003's Fig. 2b).
:func:`learning_curve` orders the designs that differ only in the size of
their training set.

Pure functions of analysis frames (:func:`leukoct.evaluation.study_frame` of
each design's profile).
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd
from scipy import stats

from leukoct import cv_ensemble, metrics, volume_grading
from leukoct.evaluation._common import PREDICTED
from leukoct.evaluation.budget import ERROR_BUDGET, twin_error_budget
from leukoct.evaluation.figures import fazekas_correlation
from leukoct.messages import require_columns
from leukoct.metrics import CCCInterval

#: The label of the profile's own design among the arms.
STUDY = "study"
#: Short names of the error budget's three comparisons (in its order).
COMPARISONS = ("label_vs_truth", "prediction_vs_label", "prediction_vs_truth")


def design_table(frames: Mapping[str, pd.DataFrame], *, dataset: str = "external",
                 confidence: float = 0.95,
                 ccc_interval: CCCInterval = "asymptotic") -> pd.DataFrame:
    """One row per design: its agreement with the pseudo-labels and the truth.

    Parameters
    ----------
    frames
        Design name -> analysis frame of a twin run (``true_ml`` and the
        truth overlaps present); :data:`STUDY` first by convention.
    dataset
        The evaluation set (default the external test set).

    Returns
    -------
    pandas.DataFrame
        ``design``, ``n``, for each of :data:`COMPARISONS` the CCC and Dice
        with their intervals (``<comparison>_ccc``, ``_ccc_ci_low``,
        ``_ccc_ci_high``, ``_dice``, ``_dice_ci_low``, ``_dice_ci_high``),
        ``r_vs_truth``, ``bias_vs_truth_ml`` with its interval, and
        ``fazekas_r`` (Pearson r of the predicted volume with the grade).
    """
    rows = []
    for design, frame in frames.items():
        budget = twin_error_budget(frame, datasets=(dataset,), confidence=confidence,
                                   ccc_interval=ccc_interval)
        row: dict[str, object] = {"design": design}
        for short, (label, *_rest) in zip(COMPARISONS, ERROR_BUDGET):
            b = budget.loc[budget["comparison"] == label].iloc[0]
            for key in ("ccc", "ccc_ci_low", "ccc_ci_high", "dice", "dice_ci_low",
                        "dice_ci_high"):
                row[f"{short}_{key}"] = float(b[key])
            if short == "prediction_vs_truth":
                row["n"] = int(b["n_volume"])
        sub = frame[(frame["dataset"] == dataset)].dropna(subset=[PREDICTED, "true_ml"])
        if len(sub) >= 3:
            row["r_vs_truth"] = metrics.pearson(sub[PREDICTED], sub["true_ml"],
                                                confidence=confidence).r
            ba = metrics.bland_altman(sub[PREDICTED], sub["true_ml"], confidence=confidence)
            row.update(bias_vs_truth_ml=ba.bias, bias_ci_low=ba.bias_ci_low,
                       bias_ci_high=ba.bias_ci_high)
        fazekas = fazekas_correlation(frame[frame["dataset"] == dataset], confidence=confidence)
        volume = fazekas[fazekas["scale"] == "volume"] if "scale" in fazekas else fazekas.iloc[0:0]
        row["fazekas_r"] = float(volume["r"].iloc[0]) if len(volume) else np.nan
        rows.append(row)
    return pd.DataFrame(rows)


def _paired(study: pd.DataFrame, arm: pd.DataFrame, dataset: str,
            columns: list[str]) -> pd.DataFrame:
    keep = ["subject_id", *columns]
    a = study.loc[study["dataset"] == dataset, keep]
    b = arm.loc[arm["dataset"] == dataset, keep]
    return a.merge(b, on="subject_id", suffixes=("_study", "_arm")).dropna()


def design_differences(frames: Mapping[str, pd.DataFrame], *, reference: str = STUDY,
                       dataset: str = "external", confidence: float = 0.95,
                       n_resamples: int = 2000, seed: int = 0) -> pd.DataFrame:
    """Every other design against ``reference`` on their common subjects.

    ``ccc_difference``: CCC of the prediction against the true LA, arm minus
    reference, with a paired percentile bootstrap interval (subjects
    resampled with their two predictions and their truth together; seeded,
    so the table is the same on every run).  ``dice_difference``: mean
    paired difference of the per-subject Dice against the truth, with a t
    interval.  Positive: the arm is closer to the truth.
    """
    if reference not in frames:
        raise ValueError(f"no design {reference!r} among {list(frames)}")
    study = frames[reference]
    for name, frame in frames.items():
        require_columns(frame, ["subject_id", "dataset", PREDICTED, "true_ml", "dice_vs_truth"],
                        f"the frame of design {name!r}")
    rows = []
    for design, frame in frames.items():
        if design == reference:
            continue
        volumes = _paired(study, frame, dataset, [PREDICTED, "true_ml"])
        row: dict[str, object] = {"design": design, "n": len(volumes)}
        if len(volumes) >= 3:
            truth = volumes["true_ml_study"].to_numpy()

            def difference(arm: np.ndarray, ref: np.ndarray, true: np.ndarray) -> float:
                return metrics.lins_ccc(arm, true).ccc - metrics.lins_ccc(ref, true).ccc

            arm_ml, ref_ml = (volumes[f"{PREDICTED}_arm"].to_numpy(),
                              volumes[f"{PREDICTED}_study"].to_numpy())
            boot = stats.bootstrap((arm_ml, ref_ml, truth), difference, paired=True,
                                   vectorized=False, n_resamples=n_resamples,
                                   confidence_level=confidence, method="percentile",
                                   random_state=np.random.default_rng(seed))
            row.update(ccc_difference=difference(arm_ml, ref_ml, truth),
                       ccc_difference_ci_low=float(boot.confidence_interval.low),
                       ccc_difference_ci_high=float(boot.confidence_interval.high))
        dice = _paired(study, frame, dataset, ["dice_vs_truth"])
        row["n_dice"] = len(dice)
        if len(dice) >= 2:
            diff = dice["dice_vs_truth_arm"] - dice["dice_vs_truth_study"]
            t = stats.ttest_rel(dice["dice_vs_truth_arm"], dice["dice_vs_truth_study"])
            interval = t.confidence_interval(confidence)
            row.update(dice_difference=float(diff.mean()), dice_difference_ci_low=interval.low,
                       dice_difference_ci_high=interval.high, dice_p_value=float(t.pvalue))
        rows.append(row)
    return pd.DataFrame(rows)


def design_reading(differences: pd.DataFrame, descriptions: Mapping[str, str]) -> str:
    """The chapter's reading of :func:`design_differences`, written from the numbers.

    Names the arm whose change moves the CCC against the truth most (either
    way), says whether its interval excludes 0, and counts the arms whose
    interval lies wholly above or below 0.
    """
    scored = differences.dropna(subset=["ccc_difference"]) if len(differences) else differences
    if not len(scored):
        return "No arm has enough subjects in common with the study to compare."
    top = scored.loc[scored["ccc_difference"].abs().idxmax()]
    better = scored[scored["ccc_difference_ci_low"] > 0]["design"].tolist()
    worse = scored[scored["ccc_difference_ci_high"] < 0]["design"].tolist()
    direction = "raises" if top["ccc_difference"] > 0 else "lowers"
    clear = (top["ccc_difference_ci_low"] > 0) or (top["ccc_difference_ci_high"] < 0)
    arms = f"{len(scored)} arm" + ("s" if len(scored) != 1 else "")
    text = (f"Of the {arms}, the change that moves the agreement with the true LA "
            f"most is **{top['design']}** ({descriptions.get(top['design'], '')}): it "
            f"{direction} the CCC of the predicted volume against the truth by "
            f"{abs(top['ccc_difference']):.3f} (95 % CI {top['ccc_difference_ci_low']:+.3f} to "
            f"{top['ccc_difference_ci_high']:+.3f}), "
            + ("an interval that excludes 0." if clear else
               "an interval that includes 0: at this size the twin cannot tell it from none."))
    text += (f" Arms with an interval above 0: {', '.join(better) or 'none'}; below 0: "
             f"{', '.join(worse) or 'none'}.")
    return text


def _graded(frame: pd.DataFrame, volume: str, folds: int, seed: int) -> pd.DataFrame:
    """Subjects with a volume and a Fazekas grade, with their visual and
    cross-validated estimated groups."""
    rows = frame.dropna(subset=[volume, "fazekas"]).sort_values("subject_id", kind="stable")
    visual = volume_grading.fazekas_group(rows["fazekas"].astype(int).to_numpy())
    visual.index = rows.index
    counts = visual.value_counts()
    if len(rows) < 2 or (counts > 0).sum() < 2:
        return rows.iloc[0:0].assign(visual=pd.Series(dtype=object),
                                     estimated=pd.Series(dtype=object))
    # StratifiedKFold needs every fold to be drawable: no more folds than the
    # smallest present group has subjects.
    k = int(min(folds, counts[counts > 0].min(), len(rows)))
    if k < 2:
        return rows.iloc[0:0].assign(visual=pd.Series(dtype=object),
                                     estimated=pd.Series(dtype=object))
    estimated = volume_grading.cross_validated_groups(rows[volume], visual, folds=k, seed=seed)
    return rows.assign(visual=visual.astype(str), estimated=estimated.astype(str), folds=k)


def design_grading(frames: Mapping[str, pd.DataFrame], *, dataset: str = "external",
                   folds: int = cv_ensemble.SEED003_FOLDS, seed: int = 0,
                   ) -> tuple[pd.DataFrame, dict[str, pd.DataFrame]]:
    """Seed 003's Fazekas estimation and Dice by Fazekas group, per design.

    For each design, the Fazekas group of every subject of ``dataset`` is
    estimated from its predicted volume by volume thresholds fitted in
    ``folds``-fold cross-validation (fewer folds when the smallest Fazekas
    group has fewer subjects), and compared with the visual grade.  The
    twin's true LA volume, graded the same way, is the row ``truth``: the
    share correct that a perfect volume would reach on these grades.

    Returns
    -------
    summary : pandas.DataFrame
        ``design``, ``n``, ``folds``, ``share_correct``, and the mean Dice
        against the truth overall and per group (``dice_all``,
        ``dice_0-1``, ``dice_2``, ``dice_3``; seed 003: 0.43 overall, 0.68 in
        Fazekas 3, against its FLAIR labels).
    confusion : dict
        Design -> confusion matrix (rows visual, columns estimated; seed 003's
        Table 2 layout).
    """
    rows, confusion = [], {}
    study = next(iter(frames.values()), None)
    sources = [(name, frame, PREDICTED) for name, frame in frames.items()]
    if study is not None and "true_ml" in study and study["true_ml"].notna().any():
        sources.append(("truth", study, "true_ml"))
    for design, frame, volume in sources:
        require_columns(frame, ["subject_id", "dataset", volume, "fazekas"],
                        f"the frame of design {design!r}")
        graded = _graded(frame[frame["dataset"] == dataset], volume, folds, seed)
        row: dict[str, object] = {"design": design, "n": len(graded)}
        if len(graded):
            summary = volume_grading.grading_summary(graded["visual"], graded["estimated"])
            confusion[design] = summary.confusion
            row.update(folds=int(graded["folds"].iloc[0]), share_correct=summary.share_correct)
            if volume == PREDICTED and "dice_vs_truth" in graded:
                row["dice_all"] = float(graded["dice_vs_truth"].mean())
                for group in volume_grading.GROUPS:
                    dice = graded.loc[graded["visual"] == group, "dice_vs_truth"]
                    row[f"dice_{group}"] = float(dice.mean()) if len(dice) else np.nan
        rows.append(row)
    return pd.DataFrame(rows), confusion


def learning_curve(table: pd.DataFrame, n_train: Mapping[str, int]) -> pd.DataFrame:
    """The designs of ``n_train`` (design -> number of training CTs), by training size.

    ``table``: :func:`design_table`.  Only designs that differ from the study
    in their training set's size belong in ``n_train`` (with the study
    itself), so that the curve varies one thing.
    """
    keep = [d for d in n_train if d in set(table["design"])]
    curve = table[table["design"].isin(keep)].copy()
    curve.insert(1, "n_train", curve["design"].map(n_train).astype(int))
    return curve.sort_values(["n_train", "design"], kind="stable").reset_index(drop=True)


def design_age_slopes(frames: Mapping[str, pd.DataFrame], *, alpha: float = 0.05,
                      parameters: Mapping[str, object] | None = None) -> pd.DataFrame:
    """The clinical cohort's age effect on LA volume as each design recovers it.

    The twin plants an age effect on log LA volume
    (:func:`leukoct.twin.calibration.planted_model_effects`); each design's
    predicted volumes are put through the clinical chapter's recovery model
    (:func:`leukoct.clinical.recovery_table`, the log-volume OLS), and the
    twin's true volumes of the first design's frame through the same model
    (row ``truth``).  A design that shrinks every volume by one factor keeps
    the slope; one that compresses their spread attenuates it.

    Parameters
    ----------
    frames
        Design -> :func:`leukoct.clinical.clinical_frame` of its volumes.

    Returns
    -------
    pandas.DataFrame
        ``design, volume, estimate, ci_low, ci_high, planted, covered, n`` and,
        where the model cannot be fitted at this size, ``note``.
    """
    from leukoct import clinical

    rows = []
    sources = [(name, frame, clinical.VOLUME) for name, frame in frames.items()]
    first = next(iter(frames.values()), None)
    if first is not None and "true_ml" in first and first["true_ml"].notna().any():
        sources.append(("truth", first, "true_ml"))
    for design, frame, volume in sources:
        row: dict[str, object] = {"design": design, "volume": volume}
        try:
            table = clinical.recovery_table(frame, volume=volume, parameters=parameters,
                                            alpha=alpha)
        except (ValueError, np.linalg.LinAlgError) as exc:
            row["note"] = f"not fitted: {exc}"
        else:
            age = table[(table["model"] == "log volume") & (table["term"] == "age")].iloc[0]
            row.update(estimate=float(age["estimate"]), ci_low=float(age["ci_low"]),
                       ci_high=float(age["ci_high"]), planted=float(age["truth"]),
                       covered=bool(age["covered"]), n=int(age["n"]))
        rows.append(row)
    columns = ["design", "volume", "estimate", "ci_low", "ci_high", "planted", "covered", "n"]
    out = pd.DataFrame(rows)
    return out.reindex(columns=columns + (["note"] if "note" in out else []))


#: Lesion-load strata of :func:`design_voxel_volumes`: true LA volume (mL).
VOLUME_STRATA: tuple[float, ...] = (0.0, 5.0, 15.0, np.inf)


def subject_voxel_volumes(frame: pd.DataFrame) -> pd.DataFrame:
    """Each subject's correct, false-positive and missed LA volume against the truth.

    Derived from the overlaps without reading a mask again: for two masks on
    one grid, Dice = 2 |P ∩ T| / (|P| + |T|), so the shared volume is
    Dice x (P + T) / 2, the false positive P minus it and the missed T minus
    it (the same numbers :func:`leukoct.metrics.voxel_volumes` counts from
    the masks).  Two empty masks (Dice undefined) share nothing and miss
    nothing.

    Returns
    -------
    pandas.DataFrame
        ``subject_id, dataset, truth_mask_ml, correct_ml, false_positive_ml, missed_ml``.
    """
    require_columns(frame, ["subject_id", "dataset", "predicted_mask_ml", "truth_mask_ml",
                            "dice_vs_truth"], "the analysis frame")
    rows = frame.dropna(subset=["predicted_mask_ml", "truth_mask_ml"])
    pred, true = rows["predicted_mask_ml"], rows["truth_mask_ml"]
    both = (rows["dice_vs_truth"].fillna(0.0) * (pred + true) / 2.0).clip(lower=0.0)
    # Rounding of the Dice must not turn a volume negative.
    both = np.minimum(both, np.minimum(pred, true))
    return pd.DataFrame({"subject_id": rows["subject_id"], "dataset": rows["dataset"],
                         "truth_mask_ml": true, "correct_ml": both,
                         "false_positive_ml": pred - both, "missed_ml": true - both}
                        ).reset_index(drop=True)


def design_voxel_volumes(frames: Mapping[str, pd.DataFrame], *, dataset: str = "external",
                         strata: tuple[float, ...] = VOLUME_STRATA) -> pd.DataFrame:
    """Seed 003's correct / incorrect voxel volumes, per design and lesion load.

    Pitkänen et al. plot the volume of correctly segmented, falsely
    segmented and missed voxels against the lesion volume (their Fig. 2b):
    CT misses small lesions and over-grows large ones.  Here the same three
    volumes against the twin's true LA, averaged per design within strata of
    the true volume, and overall.

    Returns
    -------
    pandas.DataFrame
        ``design, true volume (mL), n, correct_ml, false_positive_ml,
        missed_ml, share_found`` (the correct share of the true volume,
        pooled over the stratum's subjects).
    """
    labels = [f"{lo:g}-{hi:g}" if np.isfinite(hi) else f">= {lo:g}"
              for lo, hi in zip(strata[:-1], strata[1:])]
    out = []
    for design, frame in frames.items():
        volumes = subject_voxel_volumes(frame[frame["dataset"] == dataset])
        volumes["stratum"] = pd.cut(volumes["truth_mask_ml"], list(strata), labels=labels,
                                    right=False)
        groups = [(label, volumes[volumes["stratum"] == label]) for label in labels]
        for label, rows in [*groups, ("all", volumes)]:
            truth = float(rows["truth_mask_ml"].sum())
            out.append({"design": design, "true volume (mL)": label, "n": len(rows),
                        **{c: float(rows[c].mean()) if len(rows) else np.nan
                           for c in ("correct_ml", "false_positive_ml", "missed_ml")},
                        "share_found": float(rows["correct_ml"].sum()) / truth if truth > 0
                        else np.nan})
    return pd.DataFrame(out)


#: The two grids a ct_to_flair design is scored on (seed 003's, and the paper's).
GRIDS = ("FLAIR", "CT")


def design_grids(ct: Mapping[str, pd.DataFrame], flair: Mapping[str, pd.DataFrame],
                 subjects: pd.Series | list[str], *, confidence: float = 0.95) -> pd.DataFrame:
    """Seed 003's evaluation grid beside the paper's, per ct_to_flair design.

    A design that learns on the FLAIR grid (``steps.registration.direction:
    ct_to_flair``) is scored there by Pitkänen et al., against the WMH mask
    as drawn, and here also on the CT grid, its masks carried back: the same
    predictions, two grids.  The difference is what the choice of grid adds
    to (or hides from) the reported Dice.

    Parameters
    ----------
    ct, flair
        Design name -> its overlap table (:func:`leukoct.evaluation.frame.subject_overlaps`)
        on the CT grid and on the FLAIR grid; designs absent from ``flair``
        are left out.
    subjects
        The evaluation set's subjects (e.g. the external test set).

    Returns
    -------
    pandas.DataFrame
        ``design, grid, n, dice_vs_label`` (against the pseudo-label on the CT
        grid, the WMH mask on the FLAIR grid), ``dice_vs_truth`` (the true LA
        on that grid), each with its t interval (``_ci_low``, ``_ci_high``);
        one row per design and grid, FLAIR first.
    """
    wanted = set(subjects)
    rows = []
    for design in (d for d in ct if d in flair):
        for grid, table in zip(GRIDS, (flair[design], ct[design])):
            require_columns(table, ["subject_id", "dice_vs_label", "dice_vs_truth"],
                            f"{design} overlaps ({grid} grid)")
            chosen = table[table["subject_id"].isin(wanted)]
            row: dict[str, object] = {"design": design, "grid": grid, "n": len(chosen)}
            for column in ("dice_vs_label", "dice_vs_truth"):
                summary = metrics.dice_summary(chosen[column], confidence=confidence)
                row.update({column: summary.mean, f"{column}_ci_low": summary.ci_low,
                            f"{column}_ci_high": summary.ci_high})
            rows.append(row)
    return pd.DataFrame(rows, columns=["design", "grid", "n", "dice_vs_label",
                                       "dice_vs_label_ci_low", "dice_vs_label_ci_high",
                                       "dice_vs_truth", "dice_vs_truth_ci_low",
                                       "dice_vs_truth_ci_high"])
