"""The paper's performance tables: Table 2, Table S2 and the infarct subgroups of Figure S3.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
import pandas as pd

from leukoct import metrics
from leukoct.evaluation._common import (
    _DICE_PAIRS,
    _MASKS,
    COMPARISONS,
    MISSING,
    PAPER_CCC_INTERVAL,
    PREDICTED,
    VENDOR_LABELS,
    _excluded_frame,
    _exclusion_footnotes,
    _ids,
    _values_frame,
    ci_note,
    format_estimate,
    value_row,
)
from leukoct.messages import require_columns
from leukoct.metrics import CCCInterval
from leukoct.schema import VENDORS

# --------------------------------------------------------------------------
# Table 2, Table S2, Figure S3
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class PerformanceTable:
    """A performance table in the paper's layout, with its numbers and footnotes.

    Attributes
    ----------
    table
        For :func:`leukoct.artefacts.save_table` (``index=False``): columns
        ``comparison``, ``statistic`` and one per group (``All`` first, the
        groups in order, ``missing`` last when some subject's group is
        unknown); every cell is text - ``"0.925 (0.906–0.942)"``, ``"–"`` for
        not estimable, counts as integers, the first row ``n (%)`` of
        subjects.
    values
        The same numbers in the long layout :data:`VALUE_COLUMNS`, with the
        group keys (vendor codes, ``"All"``, ``"missing"``).
    footnotes
        The table's footnotes: how the intervals are computed, missing and
        empty groups, every exclusion and undefined Dice (abbreviated).
    excluded
        Every exclusion: ``subject_id``, ``metric``, ``reason``.
    """

    table: pd.DataFrame
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame

    @property
    def footnote(self) -> str:
        """The footnotes as one paragraph (for a caption)."""
        return " ".join(self.footnotes)


def _group_keys(frame: pd.DataFrame, by: str | None, order: Sequence[Any]) -> list[Any]:
    if by is None:
        return []
    keys = frame[by]
    present = list(pd.unique(keys.dropna()))
    groups = list(order) + [g for g in present if g not in order]
    if keys.isna().any():
        groups.append(MISSING)
    return groups


def _in_group(frame: pd.DataFrame, by: str | None, group: Any) -> np.ndarray:
    if group == metrics.ALL:
        return np.ones(len(frame), dtype=bool)
    keys = frame[by]
    if group == MISSING:
        return keys.isna().to_numpy()
    return (keys == group).fillna(False).to_numpy(dtype=bool)


def _performance(frame: pd.DataFrame, *, by: str | None, order: Sequence[Any],
                 labels: Mapping[Any, str], all_label: str, group_words: str,
                 dice_column: str | None, confidence: float, min_n: int,
                 r2_method: Literal["fisher", "olkin-finn"],
                 ccc_interval: CCCInterval) -> PerformanceTable:
    refs = [ref for ref, _ in COMPARISONS.values()]
    require_columns(frame, ["subject_id", PREDICTED, *refs, *([by] if by else [])], "frame")
    frame = frame.reset_index(drop=True)
    groups = _group_keys(frame, by, order)
    columns = [metrics.ALL, *groups]
    values: list[dict[str, Any]] = []
    excluded: list[dict[str, Any]] = []
    footnotes: list[str] = [ci_note(ccc_interval)]

    total = len(frame)
    size = {g: int(_in_group(frame, by, g).sum()) for g in columns}
    values += [value_row("subjects", "n", g, size[g], n=size[g]) for g in columns]

    display: list[tuple[str, str, dict[Any, str]]] = [(
        "", "n (%)", {g: str(size[g]) if g == metrics.ALL or not total
                      else f"{size[g]} ({100 * size[g] / total:.1f}%)" for g in columns})]
    not_estimable = False
    for key, (ref, label) in COMPARISONS.items():
        has_pred, has_ref = frame[PREDICTED].notna(), frame[ref].notna()
        for subject, pred_ok in zip(frame.loc[~(has_pred & has_ref), "subject_id"],
                                    has_pred[~(has_pred & has_ref)]):
            excluded.append({"subject_id": subject, "metric": f"{label}: r², CCC",
                             "reason": f"no {ref}" if pred_ok else f"no {PREDICTED}"})
        usable = frame.loc[has_pred & has_ref]
        result = metrics.agreement(usable, PREDICTED, ref, by=by,
                                   order=[g for g in groups if g != MISSING],
                                   confidence=confidence, min_n=min_n, nan_policy="raise",
                                   r2_method=r2_method, wide=False, ccc_interval=ccc_interval)
        result = result.reindex(columns)
        n = result["n"].fillna(0).astype(int)
        cells: dict[str, dict[Any, str]] = {"n": {}, "r²": {}, "CCC": {}}
        for g in columns:
            row = result.loc[g]
            values += [value_row(key, "n", g, n[g], n=n[g]),
                       value_row(key, "pearson_r", g, row["pearson_r"], row["pearson_ci_low"],
                                 row["pearson_ci_high"], n[g]),
                       value_row(key, "r2", g, row["r2"], row["r2_ci_low"], row["r2_ci_high"], n[g]),
                       value_row(key, "ccc", g, row["ccc"], row["ccc_ci_low"], row["ccc_ci_high"],
                              n[g])]
            cells["n"][g] = str(n[g])
            cells["r²"][g] = format_estimate(row["r2"], row["r2_ci_low"], row["r2_ci_high"])
            cells["CCC"][g] = format_estimate(row["ccc"], row["ccc_ci_low"], row["ccc_ci_high"])
            not_estimable |= bool(n[g] < min_n)
        rows = [(label, stat, cells[stat]) for stat in ("n", "r²", "CCC")]
        if key == "vs_registered" and dice_column is not None:
            rows += _dice_rows(frame, by, columns, dice_column, confidence, label, values,
                               excluded, footnotes)
        display += rows
    if not_estimable:
        footnotes.append(f"–: not estimable (fewer than {min_n} subjects).")
    if by is not None:
        unknown = frame.loc[_in_group(frame, by, MISSING), "subject_id"].tolist()
        if unknown:
            footnotes.append(f"{group_words} missing for {len(unknown)} subject(s) "
                             f"({_ids(unknown)}): counted under All and in the column "
                             f"'{MISSING}'.")
        empty_groups = [labels.get(g, str(g)) for g in groups if size[g] == 0]
        if empty_groups:
            footnotes.append(f"No subject in {', '.join(empty_groups)}: "
                             f"{'its column is' if len(empty_groups) == 1 else 'their columns are'}"
                             " empty.")
    excluded_frame = _excluded_frame(excluded)
    footnotes += _exclusion_footnotes(excluded_frame)

    names = {g: all_label if g == metrics.ALL else labels.get(g, str(g)) for g in columns}
    table = pd.DataFrame([{"comparison": comparison, "statistic": statistic,
                           **{names[g]: cells[g] for g in columns}}
                          for comparison, statistic, cells in display])
    return PerformanceTable(table=table, values=_values_frame(values),
                            footnotes=tuple(footnotes), excluded=excluded_frame)


def _dice_rows(frame: pd.DataFrame, by: str | None, columns: list[Any], dice_column: str,
               confidence: float, label: str, values: list[dict[str, Any]],
               excluded: list[dict[str, Any]], footnotes: list[str]
               ) -> list[tuple[str, str, dict[Any, str]]]:
    if dice_column not in _DICE_PAIRS:
        raise ValueError(f"dice_column must be one of {list(_DICE_PAIRS)}, not {dice_column!r}")
    a, b = (_MASKS[k][0] for k in _DICE_PAIRS[dice_column])
    require_columns(frame, [dice_column, a, b], "frame (pass the overlaps to evaluation_frame)")
    has_a, has_b = frame[a].notna(), frame[b].notna()
    computed = (frame["overlap_computed"].to_numpy(dtype=bool)
                if "overlap_computed" in frame else np.ones(len(frame), dtype=bool))
    for i in np.flatnonzero(~(has_a & has_b).to_numpy()):
        reason = ("overlap not computed" if not computed[i]
                  else f"no {_MASKS[_DICE_PAIRS[dice_column][0]][1]}" if not has_a.iloc[i]
                  else f"no {_MASKS[_DICE_PAIRS[dice_column][1]][1]}")
        excluded.append({"subject_id": frame.at[i, "subject_id"], "metric": f"{label}: DSC",
                         "reason": reason})
    usable = (has_a & has_b).to_numpy()
    undefined = usable & frame[dice_column].isna().to_numpy()
    if undefined.any():
        footnotes.append(f"DSC undefined (both masks empty) for {int(undefined.sum())} "
                         f"subject(s), left out of the mean: "
                         f"{_ids(frame.loc[undefined, 'subject_id'])}.")
    cells: dict[str, dict[Any, str]] = {"DSC": {}, "n (DSC)": {}}
    single = False
    for g in columns:
        chosen = usable & _in_group(frame, by, g)
        summary = metrics.dice_summary(frame.loc[chosen, dice_column], confidence)
        single |= summary.n == 1
        values.append(value_row("vs_registered", "dice", g, summary.mean, summary.ci_low,
                             summary.ci_high, summary.n))
        values.append(value_row("vs_registered", "dice_n_undefined", g, summary.n_undefined,
                             n=summary.n_undefined))
        cells["DSC"][g] = format_estimate(summary.mean, summary.ci_low, summary.ci_high)
        cells["n (DSC)"][g] = str(summary.n)
    if single:
        footnotes.append("A DSC printed without an interval rests on one subject.")
    return [(label, stat, cells[stat]) for stat in ("DSC", "n (DSC)")]


def table2(frame: pd.DataFrame, *, dataset: str = "external", by: str = "ct_vendor",
           order: Sequence[str] = VENDORS, dice_column: str | None = "dice_vs_label",
           confidence: float = 0.95, min_n: int = 3,
           r2_method: Literal["fisher", "olkin-finn"] = "fisher",
           ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> PerformanceTable:
    """Table 2: performance on the external test data, all and per CT vendor.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` (with the overlaps for the DSC rows).
    dataset
        Rows used: ``frame["dataset"] == dataset``.
    by, order
        Grouping column and the order of its columns: the paper's Siemens,
        GE, Philips, Toshiba/Canon (:data:`leukoct.schema.VENDORS`).  A vendor
        of ``order`` without subjects keeps its (empty) column and a footnote;
        subjects without a vendor form the column ``"missing"`` with a
        footnote naming them; other vendors follow in order of appearance.
    dice_column
        Per-subject DSC vs the pseudo-label (``"dice_vs_label"``), or ``None``
        to leave the DSC rows out.
    confidence, min_n, r2_method, ccc_interval
        As in :func:`leukoct.metrics.agreement`; the CCC interval defaults to
        the paper's (asymptotic; the profile knob ``ccc_interval``).

    Returns
    -------
    PerformanceTable
        Rows: ``n (%)`` of subjects; for each comparison (predicted vs
        registered LA volume, predicted vs FLAIR WMH volume) the pairs used
        ``n``, ``r²`` and ``CCC``; for the registered LA also ``DSC`` and
        ``n (DSC)``.  A subject without a predicted or reference volume (or a
        mask, for the DSC) is excluded from that metric and footnoted.

    References
    ----------
    .. [1] Ryu WS et al., Table 2.
    """
    require_columns(frame, ["dataset"], "frame (build it with evaluation_frame)")
    chosen = frame.loc[frame["dataset"] == dataset]
    if chosen.empty:
        raise ValueError(f"no subject of dataset {dataset!r} in the frame; datasets present: "
                         f"{sorted(frame['dataset'].dropna().unique())}")
    return _performance(chosen, by=by, order=order, labels=VENDOR_LABELS, all_label="All",
                        group_words="CT vendor", dice_column=dice_column,
                        confidence=confidence, min_n=min_n, r2_method=r2_method,
                        ccc_interval=ccc_interval)


def table_s2(frame: pd.DataFrame, *, dataset: str = "internal",
             dice_column: str | None = "dice_vs_label", confidence: float = 0.95,
             min_n: int = 3, r2_method: Literal["fisher", "olkin-finn"] = "fisher",
             column: str = "Internal validation",
             ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> PerformanceTable:
    """Table S2: performance on the internal validation data (``split == "internal"``).

    The same rows as :func:`table2` in one column (the paper's text cites
    from Table S2 the DSC vs registered LA with its CI and the CCCs vs
    registered LA and vs FLAIR WMH; r² is added as in Table 2).

    Parameters
    ----------
    frame
        :func:`evaluation_frame`.
    dataset
        Rows used (``"internal"``: the development subjects of the internal
        split).
    dice_column, confidence, min_n, r2_method, ccc_interval
        As in :func:`table2`.
    column
        Header of the value column of ``table`` (``values`` keeps ``"All"``).

    Returns
    -------
    PerformanceTable

    References
    ----------
    .. [1] Ryu WS et al., Results ("internal validation dataset (n=63)") and
       Table S2.
    """
    require_columns(frame, ["dataset"], "frame (build it with evaluation_frame)")
    chosen = frame.loc[frame["dataset"] == dataset]
    if chosen.empty:
        raise ValueError(f"no subject of dataset {dataset!r} in the frame")
    return _performance(chosen, by=None, order=(), labels={}, all_label=column,
                        group_words="", dice_column=dice_column, confidence=confidence,
                        min_n=min_n, r2_method=r2_method, ccc_interval=ccc_interval)


def infarct_agreement(frame: pd.DataFrame, *, dataset: str = "external",
                      threshold: float = 10.0, confidence: float = 0.95, min_n: int = 3,
                      dice_column: str | None = None,
                      ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> PerformanceTable:
    """Figure S3: agreement by infarct core volume (≤ 10 mL vs > 10 mL).

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the manifest (``infarct_volume_ml``).
    dataset
        Rows used.
    threshold
        Cut-off in mL (:func:`leukoct.metrics.infarct_group`; a volume equal
        to it is in the lower group).
    confidence, min_n, ccc_interval
        As in :func:`table2`.
    dice_column
        ``None`` (the paper's Figure S3 shows CCCs) or ``"dice_vs_label"``.

    Returns
    -------
    PerformanceTable
        Columns ``All``, ``≤10 mL``, ``>10 mL`` (and ``missing`` for subjects
        without an infarct volume, footnoted).

    References
    ----------
    .. [1] Ryu WS et al., Results (stratification by infarct core volume) and
       Figure S3.
    """
    require_columns(frame, ["dataset", "infarct_volume_ml"],
                    "frame (build it with evaluation_frame(..., manifest=...))")
    chosen = frame.loc[frame["dataset"] == dataset].copy()
    if chosen.empty:
        raise ValueError(f"no subject of dataset {dataset!r} in the frame")
    # Missing volumes stay NaN here; _performance footnotes them.
    chosen["infarct_group"] = metrics.infarct_group(chosen["infarct_volume_ml"], threshold)
    order = list(chosen["infarct_group"].cat.categories)
    return _performance(chosen, by="infarct_group", order=order, labels={}, all_label="All",
                        group_words="Infarct volume", dice_column=dice_column,
                        confidence=confidence, min_n=min_n, r2_method="fisher",
                        ccc_interval=ccc_interval)


