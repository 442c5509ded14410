"""The twin's error budget (beyond the paper): registration error vs model error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from leukoct import metrics
from leukoct.evaluation._common import (
    _DICE_PAIRS,
    _MASKS,
    PAPER_CCC_INTERVAL,
    PREDICTED,
    _ids,
    format_estimate,
)
from leukoct.messages import require_columns
from leukoct.metrics import CCCInterval

# --------------------------------------------------------------------------
# error budget (twin only)
# --------------------------------------------------------------------------

#: The error budget's comparisons: (label, x volume, y volume, Dice column).
ERROR_BUDGET: tuple[tuple[str, str, str, str], ...] = (
    ("pseudo-label vs truth (registration + FLAIR software)", "registered_ml", "true_ml",
     "dice_label_vs_truth"),
    ("prediction vs pseudo-label (the paper's DSC and CCC)", PREDICTED, "registered_ml",
     "dice_vs_label"),
    ("prediction vs truth (what the model gets right)", PREDICTED, "true_ml", "dice_vs_truth"),
)


def _require_twin(frame: pd.DataFrame, columns: list[str], what: str, purpose: str,
                  needs: str) -> None:
    """The columns a twin-only analysis reads, and a true volume to read in them."""
    require_columns(frame, columns, what)
    if frame["true_ml"].isna().all():
        raise ValueError(f"no true LA volume in the frame: {purpose} needs the digital "
                         f"twin's truth ({needs})")


def twin_error_budget(frame: pd.DataFrame, *,
                      datasets: Sequence[str] = ("internal", "external"),
                      confidence: float = 0.95,
                      ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> pd.DataFrame:
    """Error budget on the digital twin: how much of the weak DSC is registration.

    For each dataset, Dice (mean, 95 % CI) and CCC (95 % CI) of the
    registered pseudo-label vs the true LA, the prediction vs the
    pseudo-label (the paper's comparison) and the prediction vs the true LA.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with overlaps computed with ``truth_path``.
    datasets
        Rows, one block each.
    confidence
        Confidence level.
    ccc_interval
        Interval of the CCCs (:func:`leukoct.metrics.lins_ccc`'s ``ci``).

    Returns
    -------
    pandas.DataFrame
        ``dataset``, ``comparison``, ``n_volume``, ``ccc``, ``ccc_ci_low``,
        ``ccc_ci_high``, ``n_dice``, ``n_dice_undefined``, ``dice``,
        ``dice_ci_low``, ``dice_ci_high``, ``excluded`` (ids left out of
        either statistic for a missing value), ``ccc_text``, ``dice_text``.

    Raises
    ------
    ValueError
        If the frame has no true volume (not a twin study).
    """
    _require_twin(frame, ["dataset", "subject_id", PREDICTED, "registered_ml", "true_ml",
                          "dice_label_vs_truth", "dice_vs_label", "dice_vs_truth",
                          *(v[0] for v in _MASKS.values())],
                  "frame (evaluation_frame with overlaps computed with truth_path)",
                  "the error budget", "true_ml and truth masks")
    rows = []
    for dataset in datasets:
        sub = frame.loc[frame["dataset"] == dataset]
        for label, x, y, dice_column in ERROR_BUDGET:
            ok = sub[x].notna() & sub[y].notna()
            a, b = (_MASKS[k][0] for k in _DICE_PAIRS[dice_column])
            masks = sub[a].notna() & sub[b].notna()
            ccc = metrics.lins_ccc(sub.loc[ok, x], sub.loc[ok, y], confidence, ci=ccc_interval)
            dice = metrics.dice_summary(sub.loc[masks, dice_column], confidence)
            rows.append({
                "dataset": dataset, "comparison": label, "n_volume": ccc.n, "ccc": ccc.ccc,
                "ccc_ci_low": ccc.ci_low, "ccc_ci_high": ccc.ci_high, "n_dice": dice.n,
                "n_dice_undefined": dice.n_undefined, "dice": dice.mean,
                "dice_ci_low": dice.ci_low, "dice_ci_high": dice.ci_high,
                "excluded": _ids(sub.loc[~(ok & masks), "subject_id"]),
                "ccc_text": format_estimate(ccc.ccc, ccc.ci_low, ccc.ci_high),
                "dice_text": format_estimate(dice.mean, dice.ci_low, dice.ci_high)})
    return pd.DataFrame(rows)



#: The references a prediction's volume is calibrated against: (label, column).
CALIBRATION_REFERENCES: tuple[tuple[str, str], ...] = (
    ("pseudo-label", "registered_ml"),
    ("truth", "true_ml"),
)


def volume_calibration(frame: pd.DataFrame, *,
                       datasets: Sequence[str] = ("train", "internal", "external"),
                       confidence: float = 0.95,
                       ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> pd.DataFrame:
    """Why a volume CCC is what it is: precision against calibration, per dataset.

    Lin's coefficient is the product of a precision and an accuracy,
    :math:`\\rho_c = r\\,C_b` (Lin 1989; :func:`leukoct.metrics.lins_ccc`).  A
    low CCC with a high ``pearson_r`` is a model whose volumes are *ordered*
    right but *scaled* wrong; its least-squares slope of predicted on
    reference, :math:`r\\,\\sigma_{pred}/\\sigma_{ref}`, says by how much (1 on
    the identity line, below 1 when large loads are under-predicted).  The
    ``train`` rows are the cases the model was fitted on: a slope well below 1
    there is under-fitting, not a failure to generalise.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` of a twin study (``true_ml`` present).
    datasets
        Rows, in order; a dataset without subjects is left out.
    confidence
        Confidence level of the CCC interval.
    ccc_interval
        Its method (:func:`leukoct.metrics.lins_ccc`'s ``ci``).

    Returns
    -------
    pandas.DataFrame
        ``dataset``, ``reference`` (:data:`CALIBRATION_REFERENCES`), ``n``,
        ``ccc``, ``ccc_ci_low``, ``ccc_ci_high``, ``pearson_r``,
        ``bias_correction`` (:math:`C_b`), ``scale_shift``
        (:math:`\\sigma_{pred}/\\sigma_{ref}`), ``slope`` (:math:`r` times the
        scale shift), ``median_ratio`` (median of predicted / reference over
        subjects with a positive reference), ``reference_max_ml``.

    Raises
    ------
    ValueError
        If the frame has no true volume (not a twin study).
    """
    _require_twin(frame, ["dataset", PREDICTED, "registered_ml", "true_ml"],
                  "frame (evaluation_frame of a twin study)", "the calibration against the truth",
                  "true_ml")
    rows = []
    for dataset in datasets:
        sub = frame.loc[frame["dataset"] == dataset]
        for reference, column in CALIBRATION_REFERENCES:
            pair = sub[[PREDICTED, column]].dropna()
            if pair.empty:
                continue
            # x = reference, y = prediction: the scale shift is sd(pred) / sd(ref).
            c = metrics.lins_ccc(pair[column], pair[PREDICTED], confidence, ci=ccc_interval)
            positive = pair[pair[column] > 0]
            rows.append({
                "dataset": dataset, "reference": reference, "n": c.n, "ccc": c.ccc,
                "ccc_ci_low": c.ci_low, "ccc_ci_high": c.ci_high, "pearson_r": c.pearson_r,
                "bias_correction": c.bias_correction, "scale_shift": c.scale_shift,
                "slope": c.pearson_r * c.scale_shift,
                "median_ratio": float((positive[PREDICTED] / positive[column]).median())
                if len(positive) else float("nan"),
                "reference_max_ml": float(pair[column].max())})
    return pd.DataFrame(rows)


def calibration_reading(calibration: pd.DataFrame, budget: pd.DataFrame | None = None,
                        *, dataset: str = "external", fitted: str = "train") -> str:
    """The error budget in words: what bounds this run's volume CCC and DSC.

    Written from :func:`volume_calibration` (and :func:`twin_error_budget` for
    the Dice ceiling) so that the chapter's explanation is the data's, never a
    sentence that outlives the numbers it was written for.

    Parameters
    ----------
    calibration
        :func:`volume_calibration`.
    budget
        :func:`twin_error_budget`, optional: adds the labels' own Dice against
        the truth, the ceiling of the paper's DSC.
    dataset
        The evaluated dataset described.
    fitted
        The dataset the model was trained on (its rows say whether the scale is
        lost in training or in generalisation).

    Returns
    -------
    str
        Markdown, one bullet per finding; empty when ``dataset`` has no rows.
    """
    rows = calibration.set_index(["dataset", "reference"])
    if (dataset, "pseudo-label") not in rows.index:
        return ""
    ext = rows.loc[(dataset, "pseudo-label")]
    lines = [f"* **Volume, {dataset}:** CCC against the pseudo-labels {ext['ccc']:.3f} = "
             f"precision r {ext['pearson_r']:.3f} × accuracy C_b {ext['bias_correction']:.3f} "
             f"(n = {int(ext['n'])}). The least-squares slope of predicted on registered "
             f"volume is {ext['slope']:.2f} (1 on the identity line) and the median ratio "
             f"{ext['median_ratio']:.2f}: "
             + ("the volumes are ordered better than they are scaled."
                if ext["bias_correction"] < ext["pearson_r"] else
                "the scatter, not the scale, limits the agreement.")]
    if (dataset, "truth") in rows.index:
        truth = rows.loc[(dataset, "truth")]
        lines.append(f"* **Against the twin's true LA:** CCC {truth['ccc']:.3f} (r "
                     f"{truth['pearson_r']:.3f}, C_b {truth['bias_correction']:.3f}, slope "
                     f"{truth['slope']:.2f}).")
    if (fitted, "pseudo-label") in rows.index:
        fit = rows.loc[(fitted, "pseudo-label")]
        lines.append(
            f"* **On the {int(fit['n'])} cases the model was trained on:** slope "
            f"{fit['slope']:.2f}, CCC {fit['ccc']:.3f}. "
            + ("A slope this far below 1 on its own training labels means the model "
               "under-fits: the scale is lost in training, not in generalisation."
               if fit["slope"] < 0.9 else
               "The model reproduces its training labels' scale; what is lost on "
               f"the {dataset} cases is generalisation."))
        above = ext["reference_max_ml"] > fit["reference_max_ml"]
        if above:
            lines.append(f"* The largest {dataset} pseudo-label ({ext['reference_max_ml']:.0f} mL) "
                         f"lies above the largest training label ({fit['reference_max_ml']:.0f} "
                         "mL): cases above that are extrapolation.")
    if budget is not None:
        hit = budget[(budget["dataset"] == dataset)
                     & (budget["comparison"] == ERROR_BUDGET[0][0])]
        if len(hit) and pd.notna(hit["dice"].iloc[0]):
            ceiling = hit["dice"].iloc[0]
            lines.append(
                f"* **Dice ceiling:** the pseudo-labels' own Dice against the true LA is "
                f"{ceiling:.3f}, so a model that found the true lesion exactly would score "
                f"about {ceiling:.2f} against the pseudo-labels (Dice is symmetric); the "
                "paper's DSC (0.556) is measured against the same kind of labels.")
    return "\n".join(lines)
