"""The clinical study: what predicted LA volume is associated with, and what it predicts.

In 867 patients with ischemic stroke the paper relates the predicted LA volume
to age (Figure S4: 0.436 mL per year), to vascular risk factors (Table S4:
multiple linear regression, hypertension only below age 70) and to the
3-month mRS (Table 3: proportional-odds model on volume quintiles, mRS 5-6
merged).  This module turns the manifest and the volumes table into those
artefacts, plus checks the paper does not show (regression diagnostics, the
proportional-odds check) and, on the digital twin, the planted effects next
to their estimates.  Everything is a pure function of DataFrames.

The model specification is written once, as the constants below; every
table and number of the chapter comes from them.  The ordinal models are
those of :mod:`leukoct.ordinal`.

Coding: booleans 0/1 (coefficient = yes vs no), ``sex`` with reference
:data:`SEX_REFERENCE` (term ``sexM`` = men vs women), numbers as they are.
Analyses are complete-case; every subject left out is listed with its
reason in the result's ``excluded`` table and counted in its footnotes.
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

from leukoct.ordinal import (
    TABLE3_COVARIATES, brant_merge_comparison, crude_adjusted_table, fit_ordinal_logit,
    merge_top, odds_ratio_table, quantile_groups)

#: Volume analysed (mL); ``true_ml`` on the twin.
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
#: Table S4 covariates.  The supplement is not public: the paper names age,
#: prior stroke, atrial fibrillation and hypertension as tested; the other
#: vascular risk factors of Table 3 are our assumption (NIHSS, BMI and
#: revascularization, measured after or unrelated to the LA, are left out).
TABLE_S4_COVARIATES: tuple[str, ...] = (
    "age", "sex", "hypertension", "diabetes", "hyperlipidemia", "smoking",
    "atrial_fibrillation", "coronary_artery_disease", "prior_stroke")
#: Covariates of the twin's generative mRS model (:func:`leukoct.twin.clinical.mrs_3m`).
TWIN_MRS_COVARIATES: tuple[str, ...] = ("nihss", "age", "sex", "diabetes", "revascularization")
#: Manifest columns the clinical frame must carry.
MODEL_COLUMNS: tuple[str, ...] = tuple(dict.fromkeys(
    (*TABLE_S4_COVARIATES, *TABLE3_COVARIATES, MRS)))
#: Label of the whole-cohort model and of the volume-group column.
ALL, GROUP = "All", "la_group"
EXCLUDED_COLUMNS = ("subject_id", "analysis", "reason")


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------

def _require(frame: pd.DataFrame, columns: Sequence[str], what: str) -> None:
    absent = [c for c in dict.fromkeys(columns) if c not in frame.columns]
    if absent:
        raise ValueError(f"{what}: column(s) {absent} not found; available: {list(frame.columns)}")


def _ids(ids: Sequence[Any], limit: int = 8) -> str:
    ids = [str(i) for i in ids]
    return ", ".join(ids[:limit]) + (f" and {len(ids) - limit} more" if len(ids) > limit else "")


def _complete(frame: pd.DataFrame, columns: Sequence[str], analysis: str
              ) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Complete cases of ``columns`` and the excluded rows with their reasons."""
    _require(frame, columns, analysis)
    missing = frame[list(dict.fromkeys(columns))].isna()
    bad = missing.any(axis=1).to_numpy()
    ids = frame["subject_id"] if "subject_id" in frame else pd.Series(frame.index, frame.index)
    reasons = ["missing " + ", ".join(missing.columns[row]) for row in missing.to_numpy()[bad]]
    excluded = pd.DataFrame({"subject_id": ids[bad].to_numpy(), "analysis": analysis,
                             "reason": reasons}, columns=list(EXCLUDED_COLUMNS))
    return frame.loc[~bad], excluded


def _exclusion_notes(excluded: pd.DataFrame) -> list[str]:
    return [f"{analysis}: {len(rows)} subject(s) excluded ("
            + "; ".join(f"{reason}: {_ids(sub['subject_id'].tolist())}"
                        for reason, sub in rows.groupby("reason", sort=False)) + ")."
            for analysis, rows in excluded.groupby("analysis", sort=False)]


def _coded(data: pd.DataFrame, columns: Sequence[str]) -> pd.DataFrame:
    """Plain numpy dtypes for patsy: booleans 0/1, numbers float, categories str."""
    out = {}
    for c in columns:
        col = data[c]
        is_bool = pd.api.types.is_bool_dtype(col.dtype) or (
            col.dtype == object and set(col.dropna().unique()) <= {True, False})
        if is_bool or pd.api.types.is_numeric_dtype(col.dtype):
            out[c] = col.astype("float64")
        else:
            out[c] = col.astype(str)
    return pd.DataFrame(out, index=data.index)


def _rhs(data: pd.DataFrame, covariates: Sequence[str]) -> str:
    terms = []
    for c in covariates:
        if not c.isidentifier():
            raise ValueError(f"column name {c!r} cannot enter a formula; rename it")
        if data[c].dtype == object or pd.api.types.is_string_dtype(data[c].dtype):
            levels = sorted(data[c].unique())
            ref = SEX_REFERENCE if c == "sex" else levels[0]
            terms.append(f"C({c}, Treatment({ref!r}))")
        else:
            terms.append(c)
        if data[c].nunique() < 2:
            raise ValueError(f"covariate {c!r} is constant in the rows analysed; leave it out")
    return " + ".join(terms) or "1"


_DUMMY = re.compile(r"^C\((\w+), Treatment\(.*\)\)\[T\.(.+)\]$")


def _ols(frame: pd.DataFrame, outcome: str, covariates: Sequence[str], log: bool,
         log_offset: float, analysis: str) -> tuple[Any, pd.DataFrame, pd.DataFrame]:
    """Fit OLS on complete cases; returns (results, rows used, excluded)."""
    covariates = list(covariates)
    data, excluded = _complete(frame, [outcome, *covariates], analysis)
    coded = _coded(data, [outcome, *covariates])
    lhs = outcome
    if log:
        bad = coded[outcome] + log_offset <= 0
        if bad.any():
            raise ValueError(
                f"{int(bad.sum())} subject(s) have {outcome} + log_offset <= 0 (rows "
                f"{_ids(data.index[bad].tolist())}); the log-volume model needs positive "
                "volumes: pass log_offset (e.g. 0.1 mL)")
        lhs = f"np.log({outcome} + {log_offset:g})" if log_offset else f"np.log({outcome})"
    result = smf.ols(f"{lhs} ~ {_rhs(coded, covariates)}", coded, missing="raise").fit()
    return result, data, excluded


def _tidy(result: Any, alpha: float) -> pd.DataFrame:
    ci = result.conf_int(alpha=alpha)
    terms = [_DUMMY.sub(r"\1\2", t) for t in result.params.index]
    return pd.DataFrame({"term": terms, "coef": result.params.to_numpy(),
                         "ci_low": ci[0].to_numpy(), "ci_high": ci[1].to_numpy(),
                         "p": result.pvalues.to_numpy(), "n": int(result.nobs)})


def _age_strata(age: pd.Series, cut: float) -> tuple[pd.Series, tuple[str, str]]:
    labels = (f"age < {cut:g}", f"age ≥ {cut:g}")
    return pd.Series(np.where(age.astype(float) < cut, *labels), index=age.index), labels


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
        The manifest (:func:`leukoct.manifest.load_manifest`); its rows of
        ``cohort`` are the cohort.  Needs ``subject_id``, ``cohort`` and
        :data:`MODEL_COLUMNS`.
    volumes
        The volumes table; rows with ``group == cohort`` are used.  Needs
        ``subject_id``, ``group`` and ``predicted_ml``.
    curated
        Optional curation table (``subject_id, status, reason``): names the
        reason of a subject the curation excluded.
    cohort
        Cohort (manifest) and group (volumes) label.

    Returns
    -------
    pandas.DataFrame
        The manifest columns plus ``predicted_ml`` (and ``true_ml`` when the
        volumes table has it); ``mrs_3m`` and ``nihss`` as ``Int64``.  Every
        cohort subject left out (no predicted volume) is in
        ``attrs["excluded"]`` (records ``subject_id, analysis, reason``; see
        :func:`excluded_subjects`); ``attrs["n_identified"]`` counts the cohort.

    Raises
    ------
    ValueError
        Missing columns (named), or volume rows of subjects outside the cohort.
    """
    _require(manifest, ("subject_id", "cohort", *MODEL_COLUMNS), "manifest")
    _require(volumes, ("subject_id", "group", VOLUME), "volumes")
    people = manifest.loc[manifest["cohort"] == cohort]
    keep = ["subject_id", *[c for c in (VOLUME, "true_ml") if c in volumes.columns]]
    vols = volumes.loc[volumes["group"] == cohort, keep]
    stray = sorted(set(vols["subject_id"]) - set(people["subject_id"]))
    if stray:
        raise ValueError(f"volumes of {len(stray)} subject(s) not in the manifest's {cohort!r} "
                         f"cohort: {_ids(stray)}")
    merged = people.merge(vols, on="subject_id", how="left", validate="one_to_one",
                          indicator=True)
    absent = (merged["_merge"] == "left_only").to_numpy()
    no_volume = absent | merged[VOLUME].isna().to_numpy()
    why = {}
    if curated is not None:
        out = curated.loc[curated["status"] == "excluded"]
        why = dict(zip(out["subject_id"], "excluded by curation: " + out["reason"].astype(str)))
    excluded = [{"subject_id": s, "analysis": "clinical cohort",
                 "reason": why.get(s, "not in the volumes table" if a else "predicted volume missing")}
                for s, a in zip(merged["subject_id"][no_volume], absent[no_volume])]
    frame = merged.loc[~no_volume].drop(columns="_merge").reset_index(drop=True)
    for column in (MRS, "nihss"):
        frame[column] = pd.to_numeric(frame[column]).astype("Int64")
    frame.attrs = {"excluded": excluded, "n_identified": len(people)}
    return frame


def excluded_subjects(frame: pd.DataFrame) -> pd.DataFrame:
    """The subjects :func:`clinical_frame` left out (``subject_id, analysis, reason``)."""
    return pd.DataFrame(frame.attrs.get("excluded", []), columns=list(EXCLUDED_COLUMNS))


# --------------------------------------------------------------------------
# linear models: Table S4, Figure S4, diagnostics
# --------------------------------------------------------------------------

def linear_regression(frame: pd.DataFrame, outcome: str = VOLUME,
                      covariates: Sequence[str] = TABLE_S4_COVARIATES, *, log: bool = False,
                      log_offset: float = 0.0, alpha: float = 0.05) -> pd.DataFrame:
    """Multiple linear regression (statsmodels OLS) on complete cases.

    Parameters
    ----------
    frame
        One row per subject (:func:`clinical_frame`).
    outcome
        Outcome column (volume in mL).
    covariates
        Columns: booleans enter 0/1, ``sex`` against :data:`SEX_REFERENCE`
        (term ``sexM``), other text columns against their first level.
    log
        Model ``log(outcome + log_offset)`` instead of the volume in mL.
    log_offset
        Added before the log (needed when a volume is 0).
    alpha
        1 - confidence level; intervals use the t distribution.

    Returns
    -------
    pandas.DataFrame
        ``term, coef, ci_low, ci_high, p, n``, the intercept first.  ``attrs``:
        ``n``, ``n_dropped``, ``dropped_by_column`` (dict), ``formula``, ``r2``.

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
    """Regression models side by side (Table S4 layout).

    Attributes
    ----------
    table
        Index ``term``; columns ``(model, statistic)`` with statistics
        ``coef, ci_low, ci_high, p``.
    long
        The same numbers tidy: ``model, term, coef, ci_low, ci_high, p, n``.
    n
        Subjects per model (column).
    footnotes
        Model, coding, strata and every exclusion.
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

    All three models use the same covariates (age included, continuous) and
    the same complete cases, split at ``age_cut``, so the strata's n sum to
    the overall n.  Parameters as :func:`linear_regression`.
    """
    analysis = "Table S4" + (" (log volume)" if log else "")
    data, excluded = _complete(frame, [outcome, *covariates, "age"], analysis)
    strata, labels = _age_strata(data["age"], age_cut)
    subsets = {ALL: data, **{label: data.loc[strata == label] for label in labels}}
    fits = {name: linear_regression(sub, outcome, covariates, log=log, log_offset=log_offset,
                                    alpha=alpha) for name, sub in subsets.items()}
    long = pd.concat([t.assign(model=name) for name, t in fits.items()], ignore_index=True)
    long = long[["model", "term", "coef", "ci_low", "ci_high", "p", "n"]]
    table = pd.concat({name: t.set_index("term")[["coef", "ci_low", "ci_high", "p"]]
                       for name, t in fits.items()}, axis=1)
    scale = f"log({outcome} + {log_offset:g})" if log and log_offset else (
        f"log({outcome})" if log else f"{outcome} (mL)")
    footnotes = [
        f"Multiple linear regression (OLS) of {scale}; coefficient per unit of each covariate "
        f"with {100 * (1 - alpha):g}% CI (t distribution).",
        "Booleans coded yes = 1 vs no = 0; sexM: men vs women.",
        f"Strata: {labels[0]} (n = {len(subsets[labels[0]])}) and {labels[1]} "
        f"(n = {len(subsets[labels[1]])}); all models adjust for "
        f"{', '.join(covariates)}.",
        *_exclusion_notes(excluded)]
    return RegressionTable(table=table, long=long, n={k: len(v) for k, v in subsets.items()},
                           footnotes=tuple(footnotes), excluded=excluded)


def age_slope(frame: pd.DataFrame, outcome: str = VOLUME, *, alpha: float = 0.05) -> pd.Series:
    """Simple regression of the volume on age: ``term, coef, ci_low, ci_high, p, n``.

    The paper reports 0.436 mL per year (p < 0.001).
    """
    table = linear_regression(frame, outcome, ("age",), alpha=alpha)
    return table.loc[table["term"] == "age"].iloc[0].rename("age")


@dataclass(frozen=True)
class FigureS4Data:
    """Scatter of volume against age with its regression line.

    Attributes
    ----------
    points
        ``subject_id, age, volume``.
    line
        ``age, fit, ci_low, ci_high``: fitted mean with its pointwise CI.
    slope
        As :func:`age_slope`.
    excluded
        Subjects without age or volume.
    """

    points: pd.DataFrame
    line: pd.DataFrame
    slope: pd.Series
    excluded: pd.DataFrame


def figure_s4_data(frame: pd.DataFrame, outcome: str = VOLUME, *, alpha: float = 0.05,
                   n_points: int = 50) -> FigureS4Data:
    """Figure S4: predicted LA volume against age, with the simple-regression fit."""
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
    """Compare the volume-in-mL and the log-volume models on the same rows.

    R² and AIC are not comparable across an outcome transform, so the models
    are compared on what OLS inference assumes: normal residuals
    (Jarque-Bera, statsmodels; Shapiro-Wilk, scipy) and constant variance
    (Breusch-Pagan, :func:`statsmodels.stats.diagnostic.het_breuschpagan`).
    ``r2_ml`` is the R² of both models' predictions on the mL scale (the log
    model back-transformed with Duan's smearing factor), which is comparable.

    Returns
    -------
    pandas.DataFrame
        One row per scale (``mL``, ``log mL``): ``n, r2, r2_ml, skewness,
        kurtosis, jarque_bera, jarque_bera_p, shapiro_w, shapiro_p,
        breusch_pagan, breusch_pagan_p``.
    """
    rows = []
    for scale, result in _raw_and_log(frame, outcome, covariates, log_offset)[0].items():
        resid = np.asarray(result.resid)
        volume = np.asarray(result.model.data.frame[outcome], dtype=float)
        fitted = np.asarray(result.fittedvalues)
        pred = fitted if scale == "mL" else np.exp(fitted) * np.mean(np.exp(resid)) - log_offset
        jb, jb_p, skew, kurt = jarque_bera(resid)
        sw = stats.shapiro(resid)
        bp, bp_p, _, _ = het_breuschpagan(resid, result.model.exog)
        r2_ml = 1 - np.sum((volume - pred) ** 2) / np.sum((volume - volume.mean()) ** 2)
        rows.append({"scale": scale, "n": int(result.nobs), "r2": float(result.rsquared),
                     "r2_ml": float(r2_ml), "skewness": float(skew), "kurtosis": float(kurt),
                     "jarque_bera": float(jb), "jarque_bera_p": float(jb_p),
                     "shapiro_w": float(sw.statistic), "shapiro_p": float(sw.pvalue),
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
    """Table 3 with what the chapter shows beside it.

    Attributes
    ----------
    table
        :func:`leukoct.ordinal.crude_adjusted_table`: index Q1..Q5, columns
        ``(crude | adjusted, odds_ratio | ci_low | ci_high | p_value)``.
    cut_points
        Volume quantiles (mL) bounding the groups, lowest first.
    counts
        Subjects per volume group (rows) and merged mRS (columns).
    n
        Subjects analysed.
    footnotes, excluded
        As in :class:`RegressionTable`.
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
    """Complete cases with the volume group (``la_group``), the (merged) mRS, the cuts."""
    data, excluded = _complete(frame, [volume, MRS, *covariates], analysis)
    mrs = pd.to_numeric(data[MRS]).astype("Int64")
    groups = quantile_groups(data[volume].astype(float), q)
    data = data.assign(**{GROUP: groups, MRS: mrs if top is None else merge_top(mrs, top)})
    return data, excluded, tuple(float(c) for c in groups.attrs["edges"])


def table3(frame: pd.DataFrame, volume: str = VOLUME,
           covariates: Sequence[str] = TABLE3_COVARIATES, *, q: int = N_GROUPS,
           top: int = MRS_MERGE_TOP, alpha: float = 0.05) -> Table3Result:
    """Table 3: crude and adjusted ORs of a worse 3-month mRS by volume quintile.

    Volume quintiles (:func:`leukoct.ordinal.quantile_groups`) are cut in
    the analysed rows — complete for volume, mRS and ``covariates`` — and
    mRS levels ``>= top`` merged (:func:`leukoct.ordinal.merge_top`).
    """
    data, excluded, cuts = _grouped(frame, volume, covariates, q, top, "Table 3")
    table = crude_adjusted_table(data, MRS, GROUP, covariates, alpha=alpha)
    counts = pd.crosstab(data[GROUP], data[MRS].astype(int))
    footnotes = [
        f"Proportional-odds model of the 3-month mRS with levels {top}-6 merged; odds ratio > 1: "
        f"worse outcome. Wald {100 * (1 - alpha):g}% CI.",
        f"Volume groups ({volume}, mL): " + "; ".join(
            f"{g} {lo:.2f}–{hi:.2f}" for g, lo, hi in zip(table.index, cuts[:-1], cuts[1:])) + ".",
        f"Adjusted for {', '.join(covariates)}.", *_exclusion_notes(excluded)]
    return Table3Result(table=table, cut_points=cuts, counts=counts, n=len(data),
                        footnotes=tuple(footnotes), excluded=excluded)


def proportional_odds_check(frame: pd.DataFrame, volume: str = VOLUME,
                            covariates: Sequence[str] = TABLE3_COVARIATES, *,
                            q: int = N_GROUPS, top: int = MRS_MERGE_TOP) -> pd.DataFrame:
    """Brant test of the Table 3 model with mRS 0-6 and with levels ``>= top`` merged.

    :func:`leukoct.ordinal.brant_merge_comparison` with one joint test per
    input column (``by_variable=True``); rows ``omnibus``, ``la_group``,
    then the covariates.  Raises ValueError when a binary logit is separated.
    """
    data = _grouped(frame, volume, covariates, q, None, "Brant")[0]
    return brant_merge_comparison(data, MRS, [GROUP, *covariates], top=top, by_variable=True)


# --------------------------------------------------------------------------
# digital twin: planted effects and their recovery
# --------------------------------------------------------------------------

def _twin_parameters(parameters: Mapping[str, Any] | None) -> Mapping[str, Any]:
    if parameters is None:
        from leukoct.twin.parameters import all_parameters
        return all_parameters()
    return parameters


def planted_effects(parameters: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """The twin's planted effects, on the scale of the models that estimate them.

    Parameters
    ----------
    parameters
        :func:`leukoct.twin.parameters.all_parameters` (or the study's
        ``truth/parameters.yaml``); default the installed twin's.

    Returns
    -------
    pandas.DataFrame
        ``model, term, truth``.  ``log volume``: coefficients of log LA volume
        (age per year, prior stroke, atrial fibrillation, hypertension below
        and at/above the age cut — the latter planted as 0).  ``mRS``: odds
        ratios of the generative cumulative-logit model (volume quintiles
        Q2-Q5 vs Q1, NIHSS, age, ``sexM``, diabetes, revascularization); it
        holds for mRS with 5-6 merged (death is drawn separately).
    """
    parameters = _twin_parameters(parameters)
    la, mrs = parameters["la_model"], parameters["mrs_model"]
    cut = float(la["hypertension_age_cut"])
    rows = [("age", la["age_log_per_year"]), ("prior_stroke", la["prior_stroke_log"]),
            ("atrial_fibrillation", la["atrial_fibrillation_log"]),
            (f"hypertension_below_{cut:g}", la["hypertension_below_70_log"]),
            (f"hypertension_{cut:g}_plus", 0.0)]
    log_or = [*((f"Q{k + 1}", b) for k, b in enumerate(mrs["quintile_log_or"]) if k),
              ("nihss", mrs["nihss_log_or"]), ("age", mrs["age_log_or_per_year"]),
              ("sexM", -mrs["female_log_or"]), ("diabetes", mrs["diabetes_log_or"]),
              ("revascularization", mrs["revascularization_log_or"])]
    return pd.DataFrame([*(("log volume", t, float(b)) for t, b in rows),
                         *(("mRS", t, float(np.exp(b))) for t, b in log_or)],
                        columns=["model", "term", "truth"])


def recovery_table(frame: pd.DataFrame, volume: str = "true_ml",
                   parameters: Mapping[str, Any] | None = None, *,
                   alpha: float = 0.05) -> pd.DataFrame:
    """The twin's planted effects next to their estimates (like with like).

    * log volume: OLS of ``log(volume)`` on :data:`TABLE_S4_COVARIATES` with
      hypertension split at the twin's age cut (terms ``hypertension_below_70``
      and ``hypertension_70_plus``, plus an ``age_below_70`` indicator: the
      usual hypertension × age-group interaction model, reparameterised);
    * mRS: proportional-odds model of mRS (5-6 merged) on quintiles of
      ``volume`` adjusted for :data:`TWIN_MRS_COVARIATES`, the generative set.

    ``volume="true_ml"`` estimates what the twin planted; ``"predicted_ml"``
    shows what segmentation error does to it.  The twin cuts its quintiles
    among all identified subjects, by the volume it drew.

    Returns
    -------
    pandas.DataFrame
        ``model, term, truth, estimate, ci_low, ci_high, covered, n, volume``.
    """
    parameters = _twin_parameters(parameters)
    truth = planted_effects(parameters)
    cut = float(parameters["la_model"]["hypertension_age_cut"])
    data, _ = _complete(frame, ["age", "hypertension"], "recovery")
    young = (data["age"].astype(float) < cut).astype(float)
    htn = _coded(data, ["hypertension"])["hypertension"]
    split = {f"age_below_{cut:g}": young, f"hypertension_below_{cut:g}": htn * young,
             f"hypertension_{cut:g}_plus": htn * (1 - young)}
    covariates = [c for c in TABLE_S4_COVARIATES if c != "hypertension"] + list(split)
    ols = linear_regression(data.assign(**split), volume, covariates, log=True, alpha=alpha)
    ols = ols.rename(columns={"coef": "estimate"}).assign(model="log volume").set_index("term")
    grouped = _grouped(frame, volume, TWIN_MRS_COVARIATES, N_GROUPS, MRS_MERGE_TOP, "recovery")[0]
    fit = fit_ordinal_logit(grouped, MRS, GROUP, TWIN_MRS_COVARIATES)
    ors = odds_ratio_table(fit, alpha=alpha).assign(
        term=lambda t: t["term"].str.replace(f"^{GROUP}", "", regex=True), model="mRS",
        n=len(grouped)).rename(columns={"odds_ratio": "estimate"}).set_index("term")
    estimates = pd.concat([ols, ors]).reset_index().rename(columns={"index": "term"})
    out = truth.merge(estimates[["model", "term", "estimate", "ci_low", "ci_high", "n"]],
                      on=["model", "term"], how="left", validate="one_to_one")
    out["covered"] = (out["ci_low"] <= out["truth"]) & (out["truth"] <= out["ci_high"])
    return out.assign(volume=volume)
