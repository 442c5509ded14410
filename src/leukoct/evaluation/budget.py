"""The twin's error budget (beyond the paper): registration error vs model error.
"""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from leukoct import metrics
from leukoct.evaluation._common import (
    _DICE_PAIRS,
    _MASKS,
    PREDICTED,
    _ids,
    _require,
    format_estimate,
)

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


def twin_error_budget(frame: pd.DataFrame, *,
                      datasets: Sequence[str] = ("internal", "external"),
                      confidence: float = 0.95) -> pd.DataFrame:
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
    _require(frame, ["dataset", "subject_id", PREDICTED, "registered_ml", "true_ml",
                     "dice_label_vs_truth", "dice_vs_label", "dice_vs_truth",
                     *(v[0] for v in _MASKS.values())],
             "frame (evaluation_frame with overlaps computed with truth_path)")
    if frame["true_ml"].isna().all():
        raise ValueError("no true LA volume in the frame: the error budget needs the digital "
                         "twin's truth (true_ml and truth masks)")
    rows = []
    for dataset in datasets:
        sub = frame.loc[frame["dataset"] == dataset]
        for label, x, y, dice_column in ERROR_BUDGET:
            ok = sub[x].notna() & sub[y].notna()
            a, b = (_MASKS[k][0] for k in _DICE_PAIRS[dice_column])
            masks = sub[a].notna() & sub[b].notna()
            ccc = metrics.lins_ccc(sub.loc[ok, x], sub.loc[ok, y], confidence)
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


