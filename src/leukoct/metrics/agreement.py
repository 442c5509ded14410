"""Table 2's agreement per group (DSC, r², CCC by CT vendor or infarct size) and the
infarct-volume groups."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import pandas as pd

from leukoct.metrics._common import (
    ArrayLike,
    NanPolicy,
    _as_float_vector,
    _check_confidence,
    _paired,
)
from leukoct.metrics.concordance import CCCInterval, lins_ccc
from leukoct.metrics.correlation import pearson, r_squared
from leukoct.metrics.overlap import dice_summary

#: Column label of the whole sample in :func:`agreement`.
ALL = "All"
#: Column label of the rows whose group is missing in :func:`agreement`.
MISSING_GROUP = "missing"


# --------------------------------------------------------------------------
# Table 2: agreement per group
# --------------------------------------------------------------------------

#: Rows of the table returned by :func:`agreement`.
AGREEMENT_ROWS: tuple[str, ...] = (
    "n", "n_omitted", "pearson_r", "pearson_ci_low", "pearson_ci_high", "r2", "r2_ci_low",
    "r2_ci_high",
    "ccc", "ccc_ci_low", "ccc_ci_high",
    "dice", "dice_ci_low", "dice_ci_high", "dice_n", "dice_n_undefined",
)


def _group_order(keys: pd.Series, order: Sequence[Any] | None) -> list[Any]:
    present = list(pd.unique(keys.dropna()))
    if order is None:
        if isinstance(keys.dtype, pd.CategoricalDtype):
            return list(keys.cat.categories)
        return present
    order = list(order)
    if len(set(order)) != len(order):
        raise ValueError(f"order has duplicates: {order}")
    return order + [g for g in present if g not in order]


def _agreement_column(pred: np.ndarray, ref: np.ndarray, dsc: np.ndarray | None,
                      confidence: float, min_n: int, nan_policy: NanPolicy,
                      r2_method: Literal["fisher", "olkin-finn"],
                      names: tuple[str, str], group: Any,
                      ccc_interval: CCCInterval) -> dict[str, float]:
    out: dict[str, float] = dict.fromkeys(AGREEMENT_ROWS, float("nan"))
    try:
        xa, ya, n_omitted, _ = _paired(pred, ref, nan_policy, names=names)
    except ValueError as exc:
        raise ValueError(f"group {group!r}: {exc}") from exc
    out["n"], out["n_omitted"] = xa.size, n_omitted
    if dsc is not None:
        summary = dice_summary(dsc, confidence)
        out["dice_n"], out["dice_n_undefined"] = summary.n, summary.n_undefined
    if xa.size < min_n:
        return out
    r2 = r_squared(xa, ya, confidence, nan_policy="propagate", method=r2_method)
    ccc = lins_ccc(xa, ya, confidence, nan_policy="propagate", ci=ccc_interval)
    # The published article reports Pearson r of the volumes where the preprint
    # reports CCC: r with its Fisher-z interval, beside r².
    r = pearson(xa, ya, confidence, nan_policy="propagate")
    out.update(pearson_r=r2.pearson_r, pearson_ci_low=r.ci_low, pearson_ci_high=r.ci_high,
               r2=r2.r_squared, r2_ci_low=r2.ci_low,
               r2_ci_high=r2.ci_high, ccc=ccc.ccc, ccc_ci_low=ccc.ci_low,
               ccc_ci_high=ccc.ci_high)
    if dsc is not None:
        out.update(dice=summary.mean, dice_ci_low=summary.ci_low, dice_ci_high=summary.ci_high)
    return out


def agreement(frame: pd.DataFrame, pred: str, ref: str, by: str | None = None,
              dice: str | None = None, order: Sequence[Any] | None = None,
              confidence: float = 0.95, min_n: int = 3, nan_policy: NanPolicy = "raise",
              r2_method: Literal["fisher", "olkin-finn"] = "fisher",
              wide: bool = True, ccc_interval: CCCInterval = "z-transform") -> pd.DataFrame:
    """Volume agreement overall and per group, in the layout of Table 2.

    Parameters
    ----------
    frame
        One row per subject.
    pred, ref
        Columns of predicted and reference volumes (e.g. predicted LA volume
        and registered LA volume on CT, or WMH volume on FLAIR).
    by
        Grouping column (e.g. ``"ct_vendor"``, or the output of
        :func:`infarct_group`), or ``None`` for the whole sample only.
    dice
        Optional column of per-subject Dice values; adds mean DSC with a
        t-based CI (:func:`dice_summary`; NaN = undefined, counted).
    order
        Order of the group columns (e.g. :data:`leukoct.schema.VENDORS`).
        Groups listed but absent get a column with n = 0; groups present but
        not listed follow in order of appearance.  Without ``order`` the
        categories of a categorical column, else the order of appearance.
    confidence
        Confidence level of every interval.
    min_n
        Groups with fewer usable pairs get NaN metrics (not an exception);
        ``n`` is still recorded.  Default 3, the least n for which a
        correlation has a residual degree of freedom.
    nan_policy
        For the ``pred``/``ref`` pairs: ``"raise"`` (default), ``"omit"``
        (dropped pairs are counted in the ``n_omitted`` row) or
        ``"propagate"``.
    r2_method
        Interval of :math:`r^2`, see :func:`r_squared`.
    ccc_interval
        Interval of the CCC, ``"z-transform"`` or ``"asymptotic"``
        (:func:`lins_ccc`'s ``ci``).
    wide
        ``True`` (default): one column per group, ``"All"`` first, one row
        per statistic (Table 2's layout), all values float (counts too).
        ``False``: one row per group, counts as nullable integers.

    Returns
    -------
    pandas.DataFrame
        Rows (or columns when ``wide=False``) are :data:`AGREEMENT_ROWS`.
        Subjects whose group is missing count in ``"All"`` and get their own
        column ``"missing"``, so that none disappears from the table.

    References
    ----------
    .. [1] Ryu WS et al., Table 2 (per CT vendor) and Figure S3 (per
       infarct-volume group).
    """
    confidence = _check_confidence(confidence)
    if min_n < 2:
        raise ValueError(f"min_n must be at least 2, got {min_n}")
    columns = [pred, ref] + ([by] if by else []) + ([dice] if dice else [])
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise KeyError(f"columns not in frame: {missing}; available: {list(frame.columns)}")

    def values(sub: pd.DataFrame, column: str) -> np.ndarray:
        return _as_float_vector(sub[column], column)

    def column(sub: pd.DataFrame, group: Any) -> dict[str, float]:
        return _agreement_column(values(sub, pred), values(sub, ref),
                                 values(sub, dice) if dice else None,
                                 confidence, min_n, nan_policy, r2_method, (pred, ref), group,
                                 ccc_interval)

    results: dict[Any, dict[str, float]] = {ALL: column(frame, ALL)}
    if by is not None:
        keys = frame[by]
        for group in _group_order(keys, order):
            in_group = (keys == group).fillna(False).to_numpy(dtype=bool)
            results[group] = column(frame.loc[in_group], group)
        if keys.isna().any():
            results[MISSING_GROUP] = column(frame.loc[keys.isna().to_numpy()], MISSING_GROUP)
    table = pd.DataFrame.from_dict(results, orient="index", columns=list(AGREEMENT_ROWS))
    count_rows = ["n", "n_omitted", "dice_n", "dice_n_undefined"]
    if not dice:
        table = table.drop(columns=[c for c in AGREEMENT_ROWS if c.startswith("dice")])
        count_rows = ["n", "n_omitted"]
    table.index.name = by or "group"
    if wide:
        return table.astype(float).T.rename_axis("statistic")
    table[count_rows] = table[count_rows].astype("Int64")
    return table


# --------------------------------------------------------------------------
# infarct-volume groups
# --------------------------------------------------------------------------

def infarct_group(volume_ml: ArrayLike, threshold: float = 10.0) -> pd.Series:
    """Label infarct core volumes as ``"≤10 mL"`` or ``">10 mL"``.

    The paper stratifies the external test set by DWI infarct core volume
    (> 10 mL, n = 99, versus ≤ 10 mL, n = 312; Figure S3).  A volume equal to
    the threshold belongs to the lower group.

    Parameters
    ----------
    volume_ml
        Infarct core volumes in mL (a Series keeps its index).
    threshold
        Cut-off in mL; the labels follow it (``f"≤{threshold:g} mL"``).

    Returns
    -------
    pandas.Series
        Categorical with categories ``["≤10 mL", ">10 mL"]`` in that order.
        Missing volumes stay missing (NaN), never silently put in a group: the
        caller reports them (:func:`agreement` in a ``"missing"`` column,
        :func:`leukoct.evaluation.infarct_agreement` in its footnotes).

    Raises
    ------
    ValueError
        A volume is negative or infinite, or the threshold is negative.

    References
    ----------
    .. [1] Ryu WS et al., Results ("stratification by infarct core volume")
       and Figure S3.
    """
    threshold = float(threshold)
    if not math.isfinite(threshold) or threshold < 0:
        raise ValueError(f"threshold must be a finite volume >= 0 mL, got {threshold}")
    index = volume_ml.index if isinstance(volume_ml, pd.Series) else None
    name = volume_ml.name if isinstance(volume_ml, pd.Series) else "infarct_group"
    vol = _as_float_vector(volume_ml, "volume_ml")
    negative = vol < 0
    if negative.any():
        where = np.flatnonzero(negative)[:10].tolist()
        raise ValueError(f"{int(negative.sum())} negative infarct volume(s) at positions "
                         f"{where}; volumes are in mL and cannot be negative")
    low, high = f"≤{threshold:g} mL", f">{threshold:g} mL"
    labels = np.where(np.isnan(vol), None, np.where(vol > threshold, high, low))
    return pd.Series(pd.Categorical(labels, categories=[low, high]), index=index, name=name)
