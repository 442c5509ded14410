"""The clinical study: what predicted LA volume is associated with, and what it predicts.

In 867 patients with ischemic stroke the paper relates the predicted LA volume
to age (Figure S4: 0.436 mL per year), to vascular risk factors (Table S4:
multiple linear regression; hypertension only below age 70) and to the
3-month mRS (Table 3: proportional-odds model on volume quintiles, mRS 5-6
merged).  This module turns the manifest and the volumes table into those
artefacts, adds checks the paper does not show (regression diagnostics, the
proportional-odds check) and, on the digital twin, puts the planted effects
next to their estimates.  Everything is a pure function of DataFrames; the
ordinal models are those of :mod:`leukoct.ordinal`.

The model specification is written once, as the constants below, and every
function defaults to it.  Coding: booleans 0/1 (coefficient = yes vs no),
``sex`` against :data:`SEX_REFERENCE` (term ``sexM`` = men vs women),
numbers as they are.  Analyses are complete-case: every subject left out is
listed with its reason in the result's ``excluded`` table and counted in its
footnotes, never dropped silently.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.diagnostic import het_breuschpagan
from statsmodels.stats.stattools import jarque_bera

from leukoct.brant import brant_merge_comparison, brant_test
from leukoct.messages import id_list, require_columns
from leukoct.ordinal import (
    TABLE3_COVARIATES,
    crude_adjusted_table,
    fit_ordinal_logit,
    merge_top,
    odds_ratio_table,
    quantile_groups,
)

#: Volume analysed (mL); ``true_ml`` is the twin's truth.
VOLUME = "predicted_ml"
#: Ordinal outcome: modified Rankin Scale at 3 months.
MRS = "mrs_3m"
#: mRS levels at and above this are merged (5 severe disability, 6 death).
MRS_MERGE_TOP = 5
#: Number of volume groups of Table 3 (quintiles).
N_GROUPS = 5
#: Age cut (years) of the stratified Table S4 models: ``< 70`` and ``>= 70``.
AGE_CUT = 70.0
#: Reference level of ``sex``.
SEX_REFERENCE = "F"
#: Table S4 covariates.  The supplement is not public: the text names age,
#: prior stroke, atrial fibrillation and hypertension; the other vascular
#: risk factors of Table 3 are our assumption (NIHSS, BMI and
#: revascularization are left out).
TABLE_S4_COVARIATES: tuple[str, ...] = (
    "age", "sex", "hypertension", "diabetes", "hyperlipidemia", "smoking",
    "atrial_fibrillation", "coronary_artery_disease", "prior_stroke")
#: Covariates of the twin's generative mRS model (:func:`leukoct.twin.clinical.mrs_3m`).
TWIN_MRS_COVARIATES: tuple[str, ...] = ("nihss", "age", "sex", "diabetes", "revascularization")
#: Manifest columns the clinical frame must carry.
MODEL_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    (*TABLE_S4_COVARIATES, *TABLE3_COVARIATES, MRS)))
#: Label of the whole-cohort model; name of the volume-group column.
ALL, GROUP = "All", "la_group"
EXCLUDED_COLUMNS = ("subject_id", "analysis", "reason")
_DUMMY = re.compile(r"^C\((\w+), Treatment\(.*\)\)\[T\.(.+)\]$")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _ids(ids: Sequence[Any]) -> str:
    return id_list(ids, limit=8)


def _complete(frame: pd.DataFrame, columns: Sequence[str], analysis: str
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Rows complete for ``columns``, and the others with their reasons."""
    require_columns(frame, columns, analysis)
    missing = frame[list(dict.fromkeys(columns))].isna()
    bad = missing.any(axis=1).to_numpy()
    ids = frame["subject_id"] if "subject_id" in frame else frame.index.to_series()
    reasons = ["missing " + ", ".join(missing.columns[row]) for row in missing.to_numpy()[bad]]
    excluded = pd.DataFrame({"subject_id": ids.to_numpy()[bad], "analysis": analysis,
                             "reason": reasons}, columns=list(EXCLUDED_COLUMNS))
    return frame.loc[~bad], excluded


def _notes(frame: pd.DataFrame, excluded: pd.DataFrame) -> list[str]:
    """Footnotes: the cohort's subjects without a volume, then complete-case exclusions."""
    notes = []
    if frame.attrs.get("excluded"):
        notes.append(f"{len(frame.attrs['excluded'])} of {frame.attrs['n_identified']} cohort "
                     "subjects have no predicted volume and are not analysed.")
    return notes + [f"{analysis}: {len(rows)} subject(s) excluded ("
                    + "; ".join(f"{reason}: {_ids(sub['subject_id'].tolist())}"
                                for reason, sub in rows.groupby("reason", sort=False)) + ")."
                    for analysis, rows in excluded.groupby("analysis", sort=False)]


def _coded(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Plain dtypes for patsy: booleans 0/1, numbers float, anything else text."""
    out = {}
    for c in columns:
        col = data[c]
        if (pd.api.types.is_bool_dtype(col.dtype) or pd.api.types.is_numeric_dtype(col.dtype)
                or (col.dtype == object and set(col.dropna().unique()) <= {True, False})):
            out[c] = col.astype("float64")
        else:
            out[c] = col.astype(str)
    return pd.DataFrame(out, index=data.index)


def _rhs(coded: pd.DataFrame, covariates: Sequence[str]) -> str:
    terms = []
    for c in covariates:
        if not c.isidentifier():
            raise ValueError(f"column name {c!r} cannot enter a formula; rename it")
        if coded[c].nunique() < 2:
            raise ValueError(f"covariate {c!r} is constant in the rows analysed; leave it out")
        if pd.api.types.is_numeric_dtype(coded[c].dtype):
            terms.append(c)
        else:
            ref = SEX_REFERENCE if c == "sex" else min(coded[c].unique())
            terms.append(f"C({c}, Treatment({ref!r}))")
    return " + ".join(terms) or "1"


def _ols(frame: pd.DataFrame, outcome: str, covariates: Sequence[str], log: bool,
         log_offset: float, analysis: str) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """statsmodels OLS on complete cases: (results, rows used, rows excluded)."""
    covariates = list(covariates)
    data, excluded = _complete(frame, [outcome, *covariates], analysis)
    coded = _coded(data, [outcome, *covariates])
    lhs = outcome
    if log:
        bad = coded[outcome] + log_offset <= 0
        if bad.any():
            raise ValueError(f"{int(bad.sum())} row(s) have {outcome} + log_offset <= 0 (rows "
                             f"{_ids(data.index[bad].tolist())}); the log model needs positive "
                             "volumes: pass log_offset (e.g. 0.1 mL)")
        lhs = f"np.log({outcome} + {log_offset:g})" if log_offset else f"np.log({outcome})"
    result = smf.ols(f"{lhs} ~ {_rhs(coded, covariates)}", coded, missing="raise").fit()
    return result, data, excluded


def _tidy(result: Any, alpha: float) -> pd.DataFrame:
    ci = result.conf_int(alpha=alpha)
    return pd.DataFrame({"term": [_DUMMY.sub(r"\1\2", t) for t in result.params.index],
                         "coef": result.params.to_numpy(), "ci_low": ci[0].to_numpy(),
                         "ci_high": ci[1].to_numpy(), "p": result.pvalues.to_numpy(),
                         "n": int(result.nobs)})


# --------------------------------------------------------------------------
# the analysis frame
# --------------------------------------------------------------------------

def clinical_frame(manifest: pd.DataFrame, volumes: pd.DataFrame, *,
                   curated: pd.DataFrame | None = None, cohort: str = "clinical"
                   ) -> pd.DataFrame:
    """One row per clinical-cohort subject with a predicted volume.

    Parameters
    ----------
    manifest
        The manifest; its rows of ``cohort`` are the cohort.  Needs
        ``subject_id``, ``cohort`` and :data:`MODEL_COLUMNS`.
    volumes
        The volumes table (``subject_id``, ``group``, ``predicted_ml``; also
        ``true_ml`` on the twin); rows with ``group == cohort`` are used.
    curated
        Optional curation table (``subject_id, status, reason``) to name why
        a subject the curation excluded has no volume.
    cohort
        Cohort (manifest) and group (volumes) label.

    Returns
    -------
    pandas.DataFrame
        The manifest's columns plus ``predicted_ml`` (and ``true_ml``);
        ``mrs_3m`` and ``nihss`` as ``Int64``.  ``attrs["excluded"]``: one
        record (``subject_id, analysis, reason``) per cohort subject without a
        predicted volume (:func:`excluded_subjects`); ``attrs["n_identified"]``.

    Raises
    ------
    ValueError
        Missing columns (named); volumes of subjects outside the cohort.
    """
    require_columns(manifest, ("subject_id", "cohort", *MODEL_COLUMNS), "manifest")
    require_columns(volumes, ("subject_id", "group", VOLUME), "volumes")
    people = manifest.loc[manifest["cohort"] == cohort]
    keep = ["subject_id", *[c for c in (VOLUME, "true_ml") if c in volumes.columns]]
    vols = volumes.loc[volumes["group"] == cohort, keep]
    stray = sorted(set(vols["subject_id"]) - set(people["subject_id"]))
    if stray:
        raise ValueError(f"volumes of {len(stray)} subject(s) outside the manifest's {cohort!r} "
                         f"cohort: {_ids(stray)}")
    merged = people.merge(vols, on="subject_id", how="left", validate="one_to_one",
                          indicator=True)
    absent = (merged["_merge"] == "left_only").to_numpy()
    lost = absent | merged[VOLUME].isna().to_numpy()
    why: dict[Any, str] = {}
    if curated is not None:
        out = curated.loc[curated["status"] == "excluded"]
        why = dict(zip(out["subject_id"], "excluded by curation: " + out["reason"].astype(str)))
    default = np.where(absent, "not in the volumes table", "predicted volume missing")
    excluded = [{"subject_id": s, "analysis": "clinical cohort", "reason": why.get(s, d)}
                for s, d in zip(merged["subject_id"][lost], default[lost])]
    frame = merged.loc[~lost].drop(columns="_merge").reset_index(drop=True)
    for column in (MRS, "nihss"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    frame.attrs = {"excluded": excluded, "n_identified": len(people)}
    return frame


def excluded_subjects(frame: pd.DataFrame) -> pd.DataFrame:
    """The subjects :func:`clinical_frame` left out: ``subject_id, analysis, reason``."""
    return pd.DataFrame(frame.attrs.get("excluded", []), columns=list(EXCLUDED_COLUMNS))


# --------------------------------------------------------------------------
# linear models: Table S4, Figure S4, diagnostics
# --------------------------------------------------------------------------

def linear_regression(frame: pd.DataFrame, outcome: str = VOLUME,
                      covariates: Sequence[str] = TABLE_S4_COVARIATES, *, log: bool = False,
                      log_offset: float = 0.0, alpha: float = 0.05) -> pd.DataFrame:
    """Multiple linear regression (``statsmodels.formula.api.ols``) on complete cases.

    Parameters
    ----------
    frame
        One row per subject (:func:`clinical_frame`).
    outcome
        Outcome column (volume, mL).
    covariates
        Booleans enter 0/1, ``sex`` against :data:`SEX_REFERENCE` (``sexM``),
        other text columns against their first level.
    log, log_offset
        Model ``log(outcome + log_offset)`` instead of mL (an offset is needed
        when a volume is 0).
    alpha
        1 - confidence level; intervals and p-values use the t distribution.

    Returns
    -------
    pandas.DataFrame
        ``term, coef, ci_low, ci_high, p, n``, intercept first.  ``attrs``:
        ``n``, ``n_dropped``, ``dropped_by_column``, ``formula``, ``r2``.

    Raises
    ------
    ValueError
        Missing columns (named), a constant covariate, a non-positive volume
        on the log scale.
    """
    result, data, excluded = _ols(frame, outcome, covariates, log, log_offset, "OLS")
    table = _tidy(result, alpha)
    counts = frame[list(dict.fromkeys([outcome, *covariates]))].isna().sum()
    table.attrs = {"n": len(data), "n_dropped": len(excluded),
                   "dropped_by_column": {k: int(v) for k, v in counts[counts > 0].items()},
                   "formula": result.model.formula, "r2": float(result.rsquared)}
    return table


@dataclass(frozen=True)
class RegressionTable:
    """Regression models side by side (Table S4).

    Attributes
    ----------
    table
        Index ``term``; columns ``(model, statistic)``, statistics ``coef,
        ci_low, ci_high, p``; models ``All``, ``age < 70``, ``age ≥ 70``.
    long
        The same, tidy: ``model, term, coef, ci_low, ci_high, p, n``.
    n
        Subjects per model.
    footnotes
        Model, coding, strata and exclusions.
    excluded
        ``subject_id, analysis, reason`` of the complete-case exclusions.
    """

    table: pd.DataFrame
    long: pd.DataFrame
    n: dict[str, int]
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def table_s4(frame: pd.DataFrame, outcome: str = VOLUME,
             covariates: Sequence[str] = TABLE_S4_COVARIATES, *, log: bool = False,
             log_offset: float = 0.0, age_cut: float = AGE_CUT,
             alpha: float = 0.05) -> RegressionTable:
    """Table S4: the linear model in everyone and in the two age strata.

    The three models share covariates (age included, continuous) and complete
    cases, split at ``age_cut``, so the strata's n sum to the overall n.
    Parameters as :func:`linear_regression`.
    """
    analysis = "Table S4" + (" (log volume)" if log else "")
    data, excluded = _complete(frame, [outcome, *covariates, "age"], analysis)
    labels = (f"age < {age_cut:g}", f"age ≥ {age_cut:g}")
    young = data["age"].astype(float) < age_cut
    subsets = {ALL: data, labels[0]: data.loc[young], labels[1]: data.loc[~young]}
    fits = {name: linear_regression(sub, outcome, covariates, log=log, log_offset=log_offset,
                                    alpha=alpha) for name, sub in subsets.items()}
    long = pd.concat([t.assign(model=name) for name, t in fits.items()], ignore_index=True)
    table = pd.concat({name: t.set_index("term")[["coef", "ci_low", "ci_high", "p"]]
                       for name, t in fits.items()}, axis=1)
    scale = f"log({outcome}{f' + {log_offset:g}' if log_offset else ''})" if log else (
        f"{outcome} (mL)")
    footnotes = [
        (f"Linear regression (OLS) of {scale} on {', '.join(covariates)}; coefficient per unit "
         f"with {100 * (1 - alpha):g}% CI (t distribution). Booleans: yes = 1, no = 0; "
         "sexM: men vs women."),
        f"Strata: {labels[0]} (n = {young.sum()}), {labels[1]} (n = {(~young).sum()}).",
        *_notes(frame, excluded)]
    return RegressionTable(table=table, long=long[["model", *fits[ALL].columns]],
                           n={k: len(v) for k, v in subsets.items()},
                           footnotes=tuple(footnotes), excluded=excluded)


def age_slope(frame: pd.DataFrame, outcome: str = VOLUME, *, alpha: float = 0.05) -> pd.Series:
    """Simple regression of volume on age: ``term, coef, ci_low, ci_high, p, n``.

    The paper reports 0.436 mL per year (p < 0.001).
    """
    table = linear_regression(frame, outcome, ("age",), alpha=alpha)
    return table.loc[table["term"] == "age"].iloc[0].rename("age")


@dataclass(frozen=True)
class FigureS4Data:
    """Figure S4: volume against age with the regression line.

    Attributes
    ----------
    points
        ``subject_id, age, volume``.
    line
        ``age, fit, ci_low, ci_high``: fitted mean and its pointwise CI.
    slope
        :func:`age_slope`.
    excluded
        Subjects without age or volume.
    """

    points: pd.DataFrame
    line: pd.DataFrame
    slope: pd.Series
    excluded: pd.DataFrame


def figure_s4_data(frame: pd.DataFrame, outcome: str = VOLUME, *, alpha: float = 0.05,
                   n_points: int = 50) -> FigureS4Data:
    """Scatter data and simple-regression fit of the volume on age (Figure S4)."""
    result, data, excluded = _ols(frame, outcome, ("age",), False, 0.0, "Figure S4")
    grid = pd.DataFrame({"age": np.linspace(data["age"].min(), data["age"].max(), n_points)})
    band = result.get_prediction(grid).summary_frame(alpha=alpha)
    line = grid.assign(fit=band["mean"].to_numpy(), ci_low=band["mean_ci_lower"].to_numpy(),
                       ci_high=band["mean_ci_upper"].to_numpy())
    ids = data["subject_id"] if "subject_id" in data else data.index.to_series()
    points = pd.DataFrame({"subject_id": ids.to_numpy(), "age": data["age"].astype(float),
                           "volume": data[outcome].astype(float)}).reset_index(drop=True)
    return FigureS4Data(points=points, line=line, slope=age_slope(data, outcome, alpha=alpha),
                        excluded=excluded)


def _raw_and_log(frame: pd.DataFrame, outcome: str, covariates: Sequence[str],
                 log_offset: float) -> tuple[dict[str, Any], pd.DataFrame]:
    data, _ = _complete(frame, [outcome, *covariates], "diagnostics")
    return {"mL": _ols(data, outcome, covariates, False, 0.0, "mL")[0],
            "log mL": _ols(data, outcome, covariates, True, log_offset, "log mL")[0]}, data


def regression_diagnostics(frame: pd.DataFrame, outcome: str = VOLUME,
                           covariates: Sequence[str] = TABLE_S4_COVARIATES, *,
                           log_offset: float = 0.0) -> pd.DataFrame:
    """Compare the volume (mL) and log-volume models, fitted on the same rows.

    R² and AIC are not comparable across an outcome transform, so the models
    are compared on what OLS inference assumes: normal residuals (Jarque-Bera,
    statsmodels; Shapiro-Wilk, scipy) and constant variance (Breusch-Pagan,
    ``statsmodels.stats.diagnostic.het_breuschpagan``, studentized).  ``r2_ml``
    is R² on the mL scale for both (the log model back-transformed with Duan's
    smearing factor), which is comparable (in sample it favours the mL model,
    which maximises it by construction); ``r2`` is each model's own scale.

    Returns
    -------
    pandas.DataFrame
        One row per ``scale`` (``mL``, ``log mL``): ``n, r2, r2_ml, skewness,
        kurtosis, jarque_bera, jarque_bera_p, shapiro_w, shapiro_p,
        breusch_pagan, breusch_pagan_p``.
    """
    rows = []
    for scale, result in _raw_and_log(frame, outcome, covariates, log_offset)[0].items():
        resid, fitted = np.asarray(result.resid), np.asarray(result.fittedvalues)
        volume = np.asarray(result.model.data.frame[outcome], dtype=float)
        pred = fitted if scale == "mL" else np.exp(fitted) * np.mean(np.exp(resid)) - log_offset
        jb, jb_p, skew, kurtosis = jarque_bera(resid)
        shapiro = stats.shapiro(resid)
        bp, bp_p, _, _ = het_breuschpagan(resid, result.model.exog)
        r2_ml = 1 - np.sum((volume - pred) ** 2) / np.sum((volume - volume.mean()) ** 2)
        rows.append({"scale": scale, "n": int(result.nobs), "r2": float(result.rsquared),
                     "r2_ml": float(r2_ml), "skewness": float(skew), "kurtosis": float(kurtosis),
                     "jarque_bera": float(jb), "jarque_bera_p": float(jb_p),
                     "shapiro_w": float(shapiro.statistic), "shapiro_p": float(shapiro.pvalue),
                     "breusch_pagan": float(bp), "breusch_pagan_p": float(bp_p)})
    return pd.DataFrame(rows)


def residual_data(frame: pd.DataFrame, outcome: str = VOLUME,
                  covariates: Sequence[str] = TABLE_S4_COVARIATES, *,
                  log_offset: float = 0.0) -> pd.DataFrame:
    """Residuals against fitted values of both models: ``scale, subject_id, fitted, residual``."""
    fits, data = _raw_and_log(frame, outcome, covariates, log_offset)
    ids = data["subject_id"] if "subject_id" in data else data.index.to_series()
    return pd.concat([pd.DataFrame({"scale": scale, "subject_id": ids.to_numpy(),
                                    "fitted": r.fittedvalues.to_numpy(),
                                    "residual": r.resid.to_numpy()})
                      for scale, r in fits.items()], ignore_index=True)


# --------------------------------------------------------------------------
# ordinal models: Table 3, proportional odds
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class Table3Result:
    """Table 3 and what the chapter shows beside it.

    Attributes
    ----------
    table
        :func:`leukoct.ordinal.crude_adjusted_table`: index Q1..Q5, columns
        ``(crude | adjusted, odds_ratio | ci_low | ci_high | p_value)``.
    cut_points
        Volume quantiles (mL) bounding the groups, lowest first.
    counts
        Subjects per volume group (rows) and merged mRS level (columns).
    n, footnotes, excluded
        Subjects analysed; as in :class:`RegressionTable`.
    """

    table: pd.DataFrame
    cut_points: tuple[float, ...]
    counts: pd.DataFrame
    n: int
    footnotes: tuple[str, ...]
    excluded: pd.DataFrame


def _grouped(frame: pd.DataFrame, volume: str, covariates: Sequence[str], q: int,
             top: int | None, analysis: str
             ) -> tuple[pd.DataFrame, pd.DataFrame, tuple[float, ...]]:
    """Complete cases with volume groups (``la_group``) and the (merged) mRS; the cuts."""
    data, excluded = _complete(frame, [volume, MRS, *covariates], analysis)
    mrs = pd.to_numeric(data[MRS]).astype("Int64")
    constant = [c for c in covariates if data[c].nunique() < 2]
    if constant:
        # statsmodels would only say "There should not be a constant in the model".
        raise ValueError(f"{analysis}: covariate(s) {constant} constant in the {len(data)} rows "
                         "analysed; leave them out or analyse a larger cohort")
    groups = quantile_groups(data[volume].astype(float), q)
    data = data.assign(**{GROUP: groups, MRS: mrs if top is None else merge_top(mrs, top)})
    return data, excluded, tuple(float(c) for c in groups.attrs["edges"])


def table3(frame: pd.DataFrame, volume: str = VOLUME,
           covariates: Sequence[str] = TABLE3_COVARIATES, *, q: int = N_GROUPS,
           top: int = MRS_MERGE_TOP, alpha: float = 0.05) -> Table3Result:
    """Table 3: crude and adjusted ORs of a worse 3-month mRS by volume quintile.

    Quintiles (:func:`leukoct.ordinal.quantile_groups`) are cut among the
    analysed rows (complete for volume, mRS and ``covariates``); mRS levels
    ``>= top`` are merged (:func:`leukoct.ordinal.merge_top`).
    """
    data, excluded, cuts = _grouped(frame, volume, covariates, q, top, "Table 3")
    table = crude_adjusted_table(data, MRS, GROUP, covariates, alpha=alpha)
    counts = pd.crosstab(data[GROUP], data[MRS].astype(int))
    groups = "; ".join(f"{g} {lo:.2f}–{hi:.2f}"
                       for g, lo, hi in zip(table.index, cuts[:-1], cuts[1:]))
    footnotes = [
        (f"Proportional-odds model of the 3-month mRS, levels {top}-6 merged; odds ratio > 1: "
         f"worse outcome; Wald {100 * (1 - alpha):g}% CI. Adjusted for {', '.join(covariates)}."),
        f"Volume groups ({volume}, mL): {groups}.", *_notes(frame, excluded)]
    return Table3Result(table=table, cut_points=cuts, counts=counts, n=len(data),
                        footnotes=tuple(footnotes), excluded=excluded)


def proportional_odds_check(frame: pd.DataFrame, volume: str = VOLUME,
                            covariates: Sequence[str] = TABLE3_COVARIATES, *,
                            q: int = N_GROUPS, top: int = MRS_MERGE_TOP) -> pd.DataFrame:
    """Brant test of the Table 3 model on mRS 0-6 and with levels ``>= top`` merged.

    :func:`leukoct.brant.brant_merge_comparison` with one joint test per
    input column (rows ``omnibus``, ``la_group``, covariates).  Raises
    ValueError when a binary logit is separated (sparse mRS levels).
    """
    data = _grouped(frame, volume, covariates, q, None, "Brant")[0]
    return brant_merge_comparison(data, MRS, [GROUP, *covariates], top=top, by_variable=True)


def brant_check(frame: pd.DataFrame, volume: str = VOLUME,
                covariates: Sequence[str] = TABLE3_COVARIATES, *, q: int = N_GROUPS,
                top: int | None = None) -> pd.DataFrame:
    """Brant test of the Table 3 model for one coding of the mRS.

    ``top=None`` tests the mRS as recorded (0-6); ``top=5`` after merging 5
    and 6.  One coding at a time, so that a chapter can show the merged test
    even when the original one cannot be estimated (a sparse mRS 6 separates
    a binary logit, raising ValueError) — which is itself a reason to merge.
    """
    data = _grouped(frame, volume, covariates, q, top, "Brant")[0]
    return brant_test(data, MRS, [GROUP, *covariates], by_variable=True)


# --------------------------------------------------------------------------
# digital twin: planted effects and their recovery
# --------------------------------------------------------------------------

def recovery_table(frame: pd.DataFrame, volume: str = "true_ml",
                   parameters: Mapping[str, Any] | None = None, *,
                   alpha: float = 0.05) -> pd.DataFrame:
    """The twin's planted effects next to their estimates, like with like.

    * ``log volume``: OLS of ``log(volume)`` on :data:`TABLE_S4_COVARIATES`
      with hypertension split at the twin's age cut (``hypertension_below_70``,
      ``hypertension_70_plus``, plus an ``age_below_70`` indicator: the
      hypertension × age-group interaction model, reparameterised);
    * ``mRS``: proportional-odds model of mRS (5-6 merged) on quintiles of
      ``volume``, adjusted for :data:`TWIN_MRS_COVARIATES`, the generative set
      (Table 3's crude ORs are confounded by age, its adjusted ones use more
      covariates).

    ``true_ml`` estimates what the twin planted (up to voxelisation);
    ``predicted_ml`` shows what segmentation error does to it.  The twin cuts
    its quintiles among all identified subjects; here among those analysed.

    Returns
    -------
    pandas.DataFrame
        ``model, term, truth, estimate, ci_low, ci_high, n, covered, volume``.
    """
    from leukoct.twin.calibration import planted_model_effects
    from leukoct.twin.parameters import all_parameters

    parameters = parameters or all_parameters()
    cut = float(parameters["la_model"]["hypertension_age_cut"])
    data = _complete(frame, ["age", "hypertension"], "recovery")[0]
    young = (data["age"].astype(float) < cut).astype(float)
    htn = _coded(data, ["hypertension"])["hypertension"]
    split = {f"age_below_{cut:g}": young, f"hypertension_below_{cut:g}": htn * young,
             f"hypertension_{cut:g}_plus": htn * (1 - young)}
    covariates = [c for c in TABLE_S4_COVARIATES if c != "hypertension"] + list(split)
    ols = linear_regression(data.assign(**split), volume, covariates, log=True, alpha=alpha)
    ols = ols.rename(columns={"coef": "estimate"}).assign(model="log volume")
    grouped = _grouped(frame, volume, TWIN_MRS_COVARIATES, N_GROUPS, MRS_MERGE_TOP,
                       "recovery")[0]
    ors = odds_ratio_table(fit_ordinal_logit(grouped, MRS, GROUP, TWIN_MRS_COVARIATES),
                           alpha=alpha)
    ors = ors.rename(columns={"odds_ratio": "estimate"}).assign(
        term=ors["term"].str.replace(f"^{GROUP}", "", regex=True), model="mRS", n=len(grouped))
    estimates = pd.concat([ols, ors])[["model", "term", "estimate", "ci_low", "ci_high", "n"]]
    out = planted_model_effects(parameters).merge(estimates, on=["model", "term"], how="left",
                                            validate="one_to_one")
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out.assign(volume=volume)
