"""Constants and small helpers shared by the evaluation modules."""

from __future__ import annotations

from typing import Any

import pandas as pd

from leukoct.messages import id_list
from leukoct.metrics import MISSING_GROUP

#: Display names of the canonical CT vendors, in the paper's order (Table 2).
VENDOR_LABELS: dict[str, str] = {"SIEMENS": "Siemens", "GE": "GE", "PHILIPS": "Philips",
                                 "CANON": "Toshiba/Canon"}
#: Label of the column of subjects whose group (vendor, infarct group) is unknown:
#: the one :func:`leukoct.metrics.agreement` gives them.
MISSING = MISSING_GROUP
#: Column name of the predicted LA volume in the volumes table.
PREDICTED = "predicted_ml"
#: The paper's two volume comparisons: key -> (reference column, row label of Table 2).
COMPARISONS: dict[str, tuple[str, str]] = {
    "vs_registered": ("registered_ml", "CT prediction vs. CT GT (registered LA)"),
    "vs_flair": ("flair_wmh_ml", "CT prediction vs. FLAIR GT (WMH volume)"),
}
#: Columns of every ``values`` table (and of the published values).
VALUE_COLUMNS: tuple[str, ...] = ("comparison", "statistic", "group", "estimate", "ci_low",
                                  "ci_high", "n")
#: Columns of :func:`subject_overlaps`.
OVERLAP_COLUMNS: tuple[str, ...] = (
    "subject_id", "predicted_mask_ml", "label_mask_ml", "truth_mask_ml", "manual_mask_ml",
    "dice_vs_label", "dice_vs_truth", "dice_label_vs_truth", "dice_vs_manual", "missing")

#: Masks of :func:`subject_overlaps`: kind -> (volume column, words).
_MASKS: dict[str, tuple[str, str]] = {
    "predicted": ("predicted_mask_ml", "prediction mask"),
    "label": ("label_mask_ml", "pseudo-label (registered LA) mask"),
    "truth": ("truth_mask_ml", "true LA mask"),
    "manual": ("manual_mask_ml", "manual mask"),
}
#: Dice columns of :func:`subject_overlaps`: column -> (mask, mask).
_DICE_PAIRS: dict[str, tuple[str, str]] = {
    "dice_vs_label": ("predicted", "label"),
    "dice_vs_truth": ("predicted", "truth"),
    "dice_label_vs_truth": ("label", "truth"),
    "dice_vs_manual": ("predicted", "manual"),
}
#: Volumes-table columns :func:`evaluation_frame` needs.
_VOLUME_COLUMNS = ("subject_id", "group", "split", "ct_vendor", PREDICTED, "registered_ml",
                   "flair_wmh_ml")
#: Interval of every CCC the evaluation prints unless a profile says otherwise:
#: the paper's (its Table 2 intervals are symmetric: :func:`leukoct.evaluation.interval_method`).
PAPER_CCC_INTERVAL = "asymptotic"
_CCC_INTERVAL_WORDS = {"asymptotic": "asymptotic normal interval, as the paper's (epiR)",
                       "z-transform": "Fisher z-transform interval (epiR's default)"}


def ci_note(ccc_interval: str = PAPER_CCC_INTERVAL) -> str:
    """The footnote saying how each interval of a performance table was computed."""
    return ("Data are estimate (95 % CI). r²: Fisher-z interval of r, squared; CCC: Lin's "
            f"concordance correlation coefficient (Lin 1989/2000), "
            f"{_CCC_INTERVAL_WORDS[ccc_interval]}; DSC: "
            "mean of the per-subject Dice with a Student-t interval.")




# --------------------------------------------------------------------------
# small helpers
# --------------------------------------------------------------------------

def is_missing(value: Any) -> bool:
    """``None``, a blank string or a NaN/NA: a value that was not measured."""
    if value is None:
        return True
    if isinstance(value, str):
        return value.strip() == ""
    try:
        return bool(pd.isna(value))
    except (TypeError, ValueError):
        return False



_ids = id_list


def format_estimate(estimate: float, ci_low: float = float("nan"),
                    ci_high: float = float("nan"), digits: int = 3) -> str:
    """Format ``estimate (ci_low–ci_high)`` as the paper prints its cells.

    Parameters
    ----------
    estimate, ci_low, ci_high
        The value and its interval; a NaN interval prints the estimate alone.
    digits
        Decimals.

    Returns
    -------
    str
        ``"–"`` (en dash) when the estimate is NaN (not estimable).
    """
    if is_missing(estimate):
        return "–"
    if is_missing(ci_low) or is_missing(ci_high):
        return f"{estimate:.{digits}f}"
    return f"{estimate:.{digits}f} ({ci_low:.{digits}f}–{ci_high:.{digits}f})"


def value_row(comparison: str, statistic: str, group: Any, estimate: float,
           ci_low: float = float("nan"), ci_high: float = float("nan"),
           n: float = float("nan")) -> dict[str, Any]:
    """One row of a values table (:data:`VALUE_COLUMNS`): what the ledger reads."""
    return {"comparison": comparison, "statistic": statistic, "group": group,
            "estimate": as_number(estimate), "ci_low": as_number(ci_low), "ci_high": as_number(ci_high),
            "n": as_number(n)}


def as_number(value: Any) -> float:
    """``value`` as a float, NaN where it :func:`is_missing`."""
    return float("nan") if is_missing(value) else float(value)


def _values_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    frame = pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    frame["n"] = frame["n"].astype("Int64") if len(frame) else frame["n"]
    return frame


def _excluded_frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["subject_id", "metric", "reason"])


def _exclusion_footnotes(excluded: pd.DataFrame) -> list[str]:
    notes = []
    for metric, rows in excluded.groupby("metric", sort=False):
        parts = [f"{reason}: {_ids(sub['subject_id'])}"
                 for reason, sub in rows.groupby("reason", sort=False)]
        notes.append(f"{metric}: {rows['subject_id'].nunique()} subject(s) excluded "
                     f"({'; '.join(parts)}).")
    return notes


