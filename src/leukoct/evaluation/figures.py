"""Data behind the evaluation figures: Figures 2, 3, 4, S1 and S2.

Each function returns what a notebook draws, plus the numbers in the long
``values`` layout; drawing itself stays in the notebooks.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from scipy import stats

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
    _values_frame,
    is_missing,
    value_row,
)
from leukoct.evaluation.tables import table2
from leukoct.messages import require_columns
from leukoct.metrics import CCCInterval
from leukoct.schema import VENDORS

# --------------------------------------------------------------------------
# Figure 2
# --------------------------------------------------------------------------

#: Figure 2's panels: (panel, Dice class, volume class), the paper's order.
FIGURE2_PANELS: tuple[tuple[str, str, str], ...] = (
    ("A", "high", "high"), ("B", "high", "low"), ("C", "low", "high"), ("D", "low", "low"))


def figure2_cases(frame: pd.DataFrame, *, dice_column: str = "dice_vs_label",
                  volume_column: str = "registered_ml", dataset: str | None = "external"
                  ) -> pd.DataFrame:
    """Figure 2: four representative cases, high/low Dice × high/low volume.

    The rule (deterministic, no randomness):

    1. eligible: subjects of ``dataset`` with a defined Dice and a volume
       (undefined Dice - both masks empty - and missing values are left out);
    2. *high* Dice means Dice > the median Dice of the eligible subjects, *low*
       Dice ≤ the median; the same for the volume;
    3. within each of the four quadrants, the case is the subject nearest
       (Euclidean distance of percentile ranks) to the quadrant's typical
       point, the 75th percentile of a *high* and the 25th of a *low*
       variable - a representative case, not the most extreme one; ties go to
       the smallest subject id.

    Percentile ranks are ``(rank - 0.5) / n`` with average ranks for ties.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the overlaps (or any frame with
        ``subject_id``, ``dice_column``, ``volume_column`` and - when
        ``dataset`` is given - ``dataset``).
    dice_column, volume_column
        Dice and volume used (the paper: Dice vs registered LA, "WMH /
        leukoaraiosis volume").
    dataset
        Rows used, or ``None`` for all rows.

    Returns
    -------
    pandas.DataFrame
        Four rows in panel order A-D (:data:`FIGURE2_PANELS`): ``panel``,
        ``dice_class``, ``volume_class``, ``subject_id`` (``None`` when the
        quadrant is empty), ``dice``, ``volume_ml``, ``dice_rank``,
        ``volume_rank``, ``note``.  ``attrs``: ``dice_median``,
        ``volume_median``, ``n_eligible``, ``excluded`` (subject ids left out
        in step 1) and ``rule``.
    """
    require_columns(frame, ["subject_id", dice_column, volume_column], "frame")
    rows = frame if dataset is None else frame.loc[frame["dataset"] == dataset]
    ok = rows[dice_column].notna() & rows[volume_column].notna()
    eligible = rows.loc[ok, ["subject_id", dice_column, volume_column]].rename(
        columns={dice_column: "dice", volume_column: "volume_ml"}).reset_index(drop=True)
    n = len(eligible)
    out = []
    dice_median = float(eligible["dice"].median()) if n else float("nan")
    volume_median = float(eligible["volume_ml"].median()) if n else float("nan")
    if n:
        eligible["dice_rank"] = (eligible["dice"].rank(method="average") - 0.5) / n
        eligible["volume_rank"] = (eligible["volume_ml"].rank(method="average") - 0.5) / n
        eligible["dice_class"] = np.where(eligible["dice"] > dice_median, "high", "low")
        eligible["volume_class"] = np.where(eligible["volume_ml"] > volume_median, "high", "low")
    for panel, dice_class, volume_class in FIGURE2_PANELS:
        record: dict[str, Any] = {"panel": panel, "dice_class": dice_class,
                                  "volume_class": volume_class, "subject_id": None,
                                  "dice": np.nan, "volume_ml": np.nan, "dice_rank": np.nan,
                                  "volume_rank": np.nan, "note": ""}
        quadrant = (eligible.loc[(eligible["dice_class"] == dice_class)
                                 & (eligible["volume_class"] == volume_class)]
                    if n else eligible)
        if quadrant.empty:
            record["note"] = "no subject in this quadrant"
        else:
            target_d = 0.75 if dice_class == "high" else 0.25
            target_v = 0.75 if volume_class == "high" else 0.25
            distance = np.hypot(quadrant["dice_rank"] - target_d,
                                quadrant["volume_rank"] - target_v)
            best = (quadrant.assign(distance=distance.round(12))
                    .sort_values(["distance", "subject_id"], kind="stable").iloc[0])
            record.update({k: best[k] for k in ("subject_id", "dice", "volume_ml", "dice_rank",
                                                "volume_rank")})
        out.append(record)
    result = pd.DataFrame(out)
    result["subject_id"] = pd.Series([r["subject_id"] for r in out], dtype=object)
    result.attrs.update({
        "dice_median": dice_median, "volume_median": volume_median, "n_eligible": n,
        "excluded": rows.loc[~ok, "subject_id"].tolist(),
        "rule": (f"high = above the median of the {n} eligible subjects (Dice "
                 f"{dice_median:.3f}, {volume_column} {volume_median:.2f} mL); per quadrant the "
                 "subject nearest the 75th (high) / 25th (low) percentile ranks"),
    })
    return result


# --------------------------------------------------------------------------
# Figure 3
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Figure3Data:
    """Figure 3's points and panel statistics.

    Attributes
    ----------
    points
        ``panel`` (``"A"``: vs registered LA, ``"B"``: vs FLAIR WMH),
        ``comparison``, ``subject_id``, ``ct_vendor`` (code or ``"missing"``),
        ``vendor`` (display name), ``reference_ml`` (x axis),
        ``predicted_ml`` (y axis).  Only subjects with both volumes.
    stats
        Per panel and vendor (``All`` first): ``panel``, ``comparison``,
        ``group``, ``vendor``, ``n``, ``ccc``, ``ccc_ci_low``, ``ccc_ci_high``,
        ``r2`` - the numbers of :func:`table2`.
    values, footnotes, excluded
        As in :class:`PerformanceTable`.
    """

    points: pd.DataFrame
    stats: pd.DataFrame
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def figure3_data(frame: pd.DataFrame, *, dataset: str = "external",
                 order: Sequence[str] = VENDORS, confidence: float = 0.95,
                 min_n: int = 3, ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> Figure3Data:
    """Figure 3: predicted vs registered LA (A) and vs FLAIR WMH volume (B), by vendor.

    Parameters
    ----------
    frame
        :func:`evaluation_frame`.
    dataset
        Rows used.
    order
        Vendor order (legend order).
    confidence, min_n, ccc_interval
        As in :func:`leukoct.evaluation.table2`.

    Returns
    -------
    Figure3Data
        The notebook draws ``points`` (one colour per ``vendor``, identity
        line) and writes ``stats``' CCC (``group == "All"``) into each panel.

    References
    ----------
    .. [1] Ryu WS et al., Figure 3.
    """
    performance = table2(frame, dataset=dataset, order=order, dice_column=None,
                         confidence=confidence, min_n=min_n, ccc_interval=ccc_interval)
    chosen = frame.loc[frame["dataset"] == dataset]
    points, stats_rows = [], []
    vals = performance.values
    for panel, (key, (ref, _)) in zip("AB", COMPARISONS.items()):
        both = chosen.loc[chosen[PREDICTED].notna() & chosen[ref].notna()]
        vendor = both["ct_vendor"].astype(object).where(both["ct_vendor"].notna(), MISSING)
        points.append(pd.DataFrame({
            "panel": panel, "comparison": key, "subject_id": both["subject_id"].to_numpy(),
            "ct_vendor": vendor.to_numpy(),
            "vendor": [VENDOR_LABELS.get(v, v) for v in vendor],
            "reference_ml": both[ref].to_numpy(dtype=float),
            "predicted_ml": both[PREDICTED].to_numpy(dtype=float)}))
        mine = vals.loc[vals["comparison"] == key].set_index(["statistic", "group"])
        for group in dict.fromkeys(vals.loc[vals["comparison"] == key, "group"]):
            ccc = mine.loc[("ccc", group)]
            stats_rows.append({
                "panel": panel, "comparison": key, "group": group,
                "vendor": "All" if group == metrics.ALL else VENDOR_LABELS.get(group, group),
                "n": int(mine.loc[("n", group), "estimate"]), "ccc": ccc["estimate"],
                "ccc_ci_low": ccc["ci_low"], "ccc_ci_high": ccc["ci_high"],
                "r2": mine.loc[("r2", group), "estimate"]})
    values = performance.values.loc[performance.values["comparison"] != "subjects"]
    return Figure3Data(points=pd.concat(points, ignore_index=True),
                       stats=pd.DataFrame(stats_rows), values=values.reset_index(drop=True),
                       footnotes=performance.footnotes, excluded=performance.excluded)


# --------------------------------------------------------------------------
# Figure 4
# --------------------------------------------------------------------------

def fazekas_summary(frame: pd.DataFrame, *, volume: str = PREDICTED, grade: str = "fazekas",
                    grades: Sequence[int] = (0, 1, 2, 3)) -> pd.DataFrame:
    """Median (IQR) of a volume per Fazekas grade (Figure 4's bars and numbers).

    Parameters
    ----------
    frame
        Rows to summarise (one cohort), with ``volume`` and ``grade``.
        Rows missing either are left out (:func:`figure4_data` lists them).
    volume, grade
        Columns.
    grades
        Grades shown, in order; a grade without subjects gets ``n = 0`` and
        NaN statistics.  Grades present but not listed are an error.

    Returns
    -------
    pandas.DataFrame
        ``grade``, ``n``, ``median``, ``q1``, ``q3`` (25th / 75th percentiles,
        linear interpolation as :meth:`pandas.Series.quantile`) and ``label``
        (``"median (q1–q3)"``, 1 decimal, as printed in the figure).
    """
    require_columns(frame, [volume, grade], "frame")
    ok = frame[volume].notna() & frame[grade].notna()
    data = pd.DataFrame({"v": pd.to_numeric(frame.loc[ok, volume]).astype(float),
                         "g": pd.to_numeric(frame.loc[ok, grade]).astype(int)})
    unknown = sorted(set(data["g"]) - set(grades))
    if unknown:
        raise ValueError(f"Fazekas grade(s) {unknown} not in grades={list(grades)}")
    rows = []
    for g in grades:
        v = data.loc[data["g"] == g, "v"]
        if v.empty:
            rows.append({"grade": g, "n": 0, "median": np.nan, "q1": np.nan, "q3": np.nan,
                         "label": "–"})
            continue
        q1, median, q3 = (float(x) for x in v.quantile([0.25, 0.5, 0.75]))
        rows.append({"grade": g, "n": int(v.size), "median": median, "q1": q1, "q3": q3,
                     "label": f"{median:.1f} ({q1:.1f}–{q3:.1f})"})
    return pd.DataFrame(rows)


def fazekas_correlation(frame: pd.DataFrame, *, volume: str = PREDICTED,
                        grade: str = "fazekas", confidence: float = 0.95) -> pd.DataFrame:
    """Pearson correlation of a volume with the Fazekas grade (Figure 4's r).

    Parameters
    ----------
    frame
        Rows of one cohort; rows missing the volume or the grade are left out.
    volume, grade
        Columns.
    confidence
        Confidence level of the interval.

    Returns
    -------
    pandas.DataFrame
        Two rows, ``scale`` ``"volume"`` (the paper's: r of the volume in mL
        with the grade) and ``"log1p volume"`` (r of ln(1 + volume/mL): the
        twin plants the grade on the log volume, see docs/decisions.md), with
        ``n``, ``r``, ``ci_low``, ``ci_high``, ``p_value``
        (:func:`leukoct.metrics.pearson`).
    """
    require_columns(frame, [volume, grade], "frame")
    ok = frame[volume].notna() & frame[grade].notna()
    v = pd.to_numeric(frame.loc[ok, volume]).to_numpy(dtype=float)
    g = pd.to_numeric(frame.loc[ok, grade]).to_numpy(dtype=float)
    rows = []
    for scale, x in (("volume", v), ("log1p volume", np.log1p(v))):
        pr = metrics.pearson(x, g, confidence=confidence)
        rows.append({"scale": scale, "n": pr.n, "r": pr.r, "ci_low": pr.ci_low,
                     "ci_high": pr.ci_high, "p_value": pr.p_value})
    return pd.DataFrame(rows)


@dataclass(frozen=True)
class Figure4Data:
    """Figure 4's data, per cohort (external: panel A, US: panel B).

    Attributes
    ----------
    points
        ``panel``, ``dataset``, ``subject_id``, ``fazekas``, ``predicted_ml``.
    summary
        :func:`fazekas_summary` per cohort, with ``panel`` and ``dataset``.
    correlation
        :func:`fazekas_correlation` per cohort, with ``panel`` and ``dataset``.
    values, footnotes, excluded
        As in :class:`PerformanceTable` (``values``: ``vs_fazekas`` /
        ``pearson_r`` and ``pearson_p`` on the volume scale).
    """

    points: pd.DataFrame
    summary: pd.DataFrame
    correlation: pd.DataFrame
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def figure4_data(frame: pd.DataFrame, *, datasets: Sequence[str] = ("external", "us"),
                 grades: Sequence[int] = (0, 1, 2, 3), confidence: float = 0.95
                 ) -> Figure4Data:
    """Figure 4: predicted LA volume by Fazekas grade, external (A) and US (B).

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the manifest (``fazekas``).
    datasets
        Cohorts, one panel each (A, B, ...).
    grades
        Grades on the x axis.
    confidence
        Confidence level of Pearson's r.

    Returns
    -------
    Figure4Data
        Subjects without a grade or a predicted volume are excluded and listed.

    References
    ----------
    .. [1] Ryu WS et al., Figure 4 and Results (Pearson r 0.832 external,
       0.891 US).
    """
    require_columns(frame, ["dataset", "subject_id", PREDICTED, "fazekas"],
                    "frame (build it with evaluation_frame(..., manifest=...))")
    points, summaries, correlations, values, excluded = [], [], [], [], []
    for panel, dataset in zip("ABCDEFGH", datasets):
        rows = frame.loc[frame["dataset"] == dataset]
        for subject, has_v, has_g in zip(rows["subject_id"], rows[PREDICTED].notna(),
                                         rows["fazekas"].notna()):
            if not has_v:
                excluded.append({"subject_id": subject, "metric": f"Figure 4 ({dataset})",
                                 "reason": f"no {PREDICTED}"})
            elif not has_g:
                excluded.append({"subject_id": subject, "metric": f"Figure 4 ({dataset})",
                                 "reason": "no Fazekas grade"})
        ok = rows[PREDICTED].notna() & rows["fazekas"].notna()
        points.append(pd.DataFrame({
            "panel": panel, "dataset": dataset, "subject_id": rows.loc[ok, "subject_id"],
            "fazekas": pd.to_numeric(rows.loc[ok, "fazekas"]).astype(int),
            "predicted_ml": rows.loc[ok, PREDICTED].astype(float)}))
        summary = fazekas_summary(rows, grades=grades)
        summaries.append(summary.assign(panel=panel, dataset=dataset))
        correlation = fazekas_correlation(rows, confidence=confidence)
        correlations.append(correlation.assign(panel=panel, dataset=dataset))
        raw = correlation.iloc[0]
        values += [value_row("vs_fazekas", "pearson_r", dataset, raw["r"], raw["ci_low"],
                          raw["ci_high"], raw["n"]),
                   value_row("vs_fazekas", "pearson_p", dataset, raw["p_value"], n=raw["n"])]
    excluded_frame = _excluded_frame(excluded)
    footnotes = ("Bars: median (IQR) of the predicted LA volume per Fazekas grade; r: Pearson "
                 "correlation of the volume (mL) with the grade, Fisher-z 95 % CI.",
                 *_exclusion_footnotes(excluded_frame))
    return Figure4Data(points=pd.concat(points, ignore_index=True),
                       summary=pd.concat(summaries, ignore_index=True),
                       correlation=pd.concat(correlations, ignore_index=True),
                       values=_values_frame(values), footnotes=tuple(footnotes),
                       excluded=excluded_frame)


# --------------------------------------------------------------------------
# Figure S1
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class FigureS1Data:
    """Figure S1's points and trend statistics.

    Attributes
    ----------
    points
        ``dataset``, ``subject_id``, ``dice``, ``registered_ml``,
        ``flair_wmh_ml``: subjects with a defined Dice.
    trend
        Per dataset and reference volume: ``dataset``, ``reference``, ``n``,
        ``spearman_rho``, ``p_value`` (:func:`scipy.stats.spearmanr` of Dice
        with the volume: the paper's "DSC increased with the volume").
    footnotes, excluded
        As in :class:`PerformanceTable`.
    """

    points: pd.DataFrame
    trend: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def figure_s1_data(frame: pd.DataFrame, *, datasets: Sequence[str] = ("internal", "external"),
                   dice_column: str = "dice_vs_label") -> FigureS1Data:
    """Figure S1: Dice vs registered LA and FLAIR WMH volume, internal and external.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the overlaps.
    datasets
        Sets shown.
    dice_column
        Dice plotted.

    Returns
    -------
    FigureS1Data
        Subjects without a Dice (missing mask) or with an undefined one (both
        masks empty) are excluded and listed; a subject missing one volume is
        left out of that volume's trend only.

    References
    ----------
    .. [1] Ryu WS et al., Results and Figure S1.
    """
    require_columns(frame, ["dataset", "subject_id", dice_column, "registered_ml", "flair_wmh_ml"],
                    "frame (build it with evaluation_frame(..., overlaps=...))")
    pair = _DICE_PAIRS.get(dice_column)
    points, trend, excluded = [], [], []
    for dataset in datasets:
        rows = frame.loc[frame["dataset"] == dataset]
        defined = rows[dice_column].notna()
        for subject, i in zip(rows.loc[~defined, "subject_id"], np.flatnonzero(~defined)):
            masks_read = pair is not None and all(
                _MASKS[k][0] in rows and not is_missing(rows[_MASKS[k][0]].iloc[i])
                for k in pair)
            excluded.append({"subject_id": subject, "metric": f"Figure S1 ({dataset})",
                             "reason": "Dice undefined (both masks empty)" if masks_read
                             else "no Dice (mask missing)"})
        chosen = rows.loc[defined]
        points.append(pd.DataFrame({
            "dataset": dataset, "subject_id": chosen["subject_id"],
            "dice": chosen[dice_column].astype(float),
            "registered_ml": chosen["registered_ml"].astype(float),
            "flair_wmh_ml": chosen["flair_wmh_ml"].astype(float)}))
        for reference in ("registered_ml", "flair_wmh_ml"):
            ok = chosen[reference].notna()
            n = int(ok.sum())
            if n >= 3 and chosen.loc[ok, reference].nunique() > 1 \
                    and chosen.loc[ok, dice_column].nunique() > 1:
                res = stats.spearmanr(chosen.loc[ok, dice_column], chosen.loc[ok, reference])
                rho, p = float(res.statistic), float(res.pvalue)
            else:
                rho = p = float("nan")
            trend.append({"dataset": dataset, "reference": reference, "n": n,
                          "spearman_rho": rho, "p_value": p})
    excluded_frame = _excluded_frame(excluded)
    return FigureS1Data(points=pd.concat(points, ignore_index=True), trend=pd.DataFrame(trend),
                        footnotes=tuple(_exclusion_footnotes(excluded_frame)),
                        excluded=excluded_frame)


# --------------------------------------------------------------------------
# Figure S2
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class ManualAgreement:
    """Figure S2: agreement with the expert's manual CT masks.

    Attributes
    ----------
    points
        ``subject_id``, ``manual_ml`` (x), ``predicted_ml`` (y),
        ``registered_ml``, ``dice_vs_manual``.
    ccc
        :class:`leukoct.metrics.CCCResult` of predicted vs manual volume (the
        paper's 0.858).
    ccc_registered
        The same for the registered pseudo-label vs manual volume (how close
        the training labels are to the expert; beyond the paper).
    dice
        :class:`leukoct.metrics.DiceSummary` of prediction vs manual mask.
    values, footnotes, excluded
        As in :class:`PerformanceTable` (``comparison`` ``vs_manual`` and
        ``registered_vs_manual``).
    """

    points: pd.DataFrame
    ccc: metrics.CCCResult
    ccc_registered: metrics.CCCResult
    dice: metrics.DiceSummary
    values: pd.DataFrame
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def manual_agreement(frame: pd.DataFrame, *, dataset: str | None = "external",
                     confidence: float = 0.95,
                     ccc_interval: CCCInterval = PAPER_CCC_INTERVAL) -> ManualAgreement:
    """Figure S2: predicted LA volume vs the expert's manual CT masks.

    Parameters
    ----------
    frame
        :func:`evaluation_frame` with the overlaps computed with
        ``manual_path`` (``manual_mask_ml``, ``dice_vs_manual``).
    dataset
        Rows used (``None``: all); only subjects with a manual mask count.
    confidence
        Confidence level.
    ccc_interval
        Interval of the CCCs (:func:`leukoct.metrics.lins_ccc`'s ``ci``).

    Returns
    -------
    ManualAgreement

    References
    ----------
    .. [1] Ryu WS et al., Results ("40 randomly selected cases ... ρ=0.858")
       and Figure S2.
    """
    require_columns(frame, ["subject_id", PREDICTED, "registered_ml", "manual_mask_ml",
                            "dice_vs_manual"], "frame (evaluation_frame with the overlaps)")
    rows = frame if dataset is None else frame.loc[frame["dataset"] == dataset]
    rows = rows.loc[rows["manual_mask_ml"].notna()]
    excluded = []
    for metric, column in (("Figure S2: predicted vs manual", PREDICTED),
                           ("Figure S2: registered vs manual", "registered_ml")):
        for subject in rows.loc[rows[column].isna(), "subject_id"]:
            excluded.append({"subject_id": subject, "metric": metric,
                             "reason": f"no {column}"})
    has_pred = rows[PREDICTED].notna()
    has_reg = rows["registered_ml"].notna()
    ccc = metrics.lins_ccc(rows.loc[has_pred, PREDICTED], rows.loc[has_pred, "manual_mask_ml"],
                           confidence, ci=ccc_interval)
    ccc_reg = metrics.lins_ccc(rows.loc[has_reg, "registered_ml"],
                               rows.loc[has_reg, "manual_mask_ml"], confidence, ci=ccc_interval)
    dice = metrics.dice_summary(rows["dice_vs_manual"], confidence)
    if dice.n_undefined:
        undefined = rows.loc[rows["dice_vs_manual"].isna(), "subject_id"]
        excluded += [{"subject_id": s, "metric": "Figure S2: DSC vs manual",
                      "reason": "Dice undefined (both masks empty)"} for s in undefined]
    values = [value_row("vs_manual", "n", "All", ccc.n, n=ccc.n),
              value_row("vs_manual", "ccc", "All", ccc.ccc, ccc.ci_low, ccc.ci_high, ccc.n),
              value_row("vs_manual", "dice", "All", dice.mean, dice.ci_low, dice.ci_high, dice.n),
              value_row("registered_vs_manual", "ccc", "All", ccc_reg.ccc, ccc_reg.ci_low,
                     ccc_reg.ci_high, ccc_reg.n)]
    points = pd.DataFrame({"subject_id": rows["subject_id"],
                           "manual_ml": rows["manual_mask_ml"].astype(float),
                           "predicted_ml": rows[PREDICTED].astype(float),
                           "registered_ml": rows["registered_ml"].astype(float),
                           "dice_vs_manual": rows["dice_vs_manual"].astype(float)}
                          ).reset_index(drop=True)
    excluded_frame = _excluded_frame(excluded)
    footnotes = (f"{len(rows)} subject(s) with a manual CT mask; CCC: Lin's concordance "
                 "correlation coefficient of the volumes (95 % CI).",
                 *_exclusion_footnotes(excluded_frame))
    return ManualAgreement(points=points, ccc=ccc, ccc_registered=ccc_reg, dice=dice,
                           values=_values_frame(values), footnotes=footnotes,
                           excluded=excluded_frame)


