"""Tests of leukoct.clinical: the clinical study's tables and the twin's recovery.

Independent references: OLS by numpy least squares with t intervals by hand,
scipy's simple linear regression, a Breusch-Pagan statistic computed as n R²
of the auxiliary regression, numpy quantiles, and data simulated here with
planted effects (numpy, fixed seeds).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats
from scipy.special import expit
from statsmodels.stats.stattools import jarque_bera

from leukoct import clinical as C
from leukoct.ordinal import (
    TABLE3_COVARIATES,
    crude_adjusted_table,
    merge_top,
    quantile_groups,
)
from leukoct.twin import parameters as P
from leukoct.twin.calibration import planted_model_effects

# --------------------------------------------------------------------------
# simulated clinical cohort
# --------------------------------------------------------------------------

#: Planted effects of the simulation below, in the layout of
#: leukoct.twin.parameters.all_parameters() (our own values, not the twin's).
SIM_PARAMETERS = {
    "la_model": {"age_log_per_year": 0.04, "prior_stroke_log": 0.35,
                 "atrial_fibrillation_log": 0.2, "hypertension_below_70_log": 0.45,
                 "hypertension_age_cut": 70.0},
    "mrs_model": {"quintile_log_or": [0.0, 0.2, 0.5, 0.7, 1.0], "nihss_log_or": 0.15,
                  "age_log_or_per_year": 0.03, "female_log_or": 0.25, "diabetes_log_or": 0.3,
                  "revascularization_log_or": -0.4},
}


def simulate_cohort(n: int = 2000, seed: int = 42, params=SIM_PARAMETERS) -> pd.DataFrame:
    """Clinical cohort with the manifest's columns, LA volume and mRS 0-6."""
    rng = np.random.default_rng(seed)
    la, mrs = params["la_model"], params["mrs_model"]
    f = pd.DataFrame({"subject_id": [f"S{i:05d}" for i in range(n)],
                      "age": np.round(rng.normal(69, 13, n).clip(25, 98)),
                      "sex": np.where(rng.random(n) < 0.4, "F", "M"),
                      "bmi": rng.normal(24, 3, n).round(1),
                      "nihss": rng.poisson(4, n)})
    for column, p in (("hypertension", .65), ("diabetes", .3), ("hyperlipidemia", .4),
                      ("smoking", .25), ("atrial_fibrillation", .2),
                      ("coronary_artery_disease", .1), ("prior_stroke", .2),
                      ("revascularization", .15)):
        f[column] = rng.random(n) < p
    young = f["age"] < la["hypertension_age_cut"]
    log_v = (-0.4 + la["age_log_per_year"] * f["age"] + la["prior_stroke_log"] * f["prior_stroke"]
             + la["atrial_fibrillation_log"] * f["atrial_fibrillation"]
             + la["hypertension_below_70_log"] * (f["hypertension"] & young)
             + 0.8 * rng.standard_normal(n))
    f["volume_ml"] = np.exp(log_v)
    edges = np.quantile(f["volume_ml"], np.linspace(0, 1, 6))
    quintile = np.clip(np.searchsorted(edges, f["volume_ml"], side="left") - 1, 0, 4)
    eta = (np.asarray(mrs["quintile_log_or"])[quintile] + mrs["nihss_log_or"] * f["nihss"]
           + mrs["age_log_or_per_year"] * (f["age"] - 69)
           + mrs["female_log_or"] * (f["sex"] == "F")
           + mrs["diabetes_log_or"] * f["diabetes"]
           + mrs["revascularization_log_or"] * f["revascularization"])
    score = np.digitize(eta + rng.logistic(size=n), [-0.5, 0.8, 1.5, 2.2, 3.1])
    # death among mRS 5 depends on age only: proportional odds fails for 0-6
    dies = rng.random(n) < expit(-1 + 0.12 * (f["age"] - 75))
    f["mrs_3m"] = np.where((score == 5) & dies, 6, score)
    return f


@pytest.fixture(scope="module")
def cohort() -> pd.DataFrame:
    return simulate_cohort()


def _ols_by_hand(y: np.ndarray, x: np.ndarray, alpha: float = 0.05):
    beta, *_ = np.linalg.lstsq(x, y, rcond=None)
    df = len(y) - x.shape[1]
    resid = y - x @ beta
    se = np.sqrt(np.sum(resid ** 2) / df * np.diag(np.linalg.inv(x.T @ x)))
    t = stats.t.ppf(1 - alpha / 2, df)
    return beta, beta - t * se, beta + t * se, 2 * stats.t.sf(np.abs(beta / se), df), resid


# --------------------------------------------------------------------------
# linear models
# --------------------------------------------------------------------------

SMALL = pd.DataFrame({
    "subject_id": [f"P{i}" for i in range(12)],
    "age": [55, 61, 72, 80, 66, 49, 77, 85, 70, 58, 63, 90],
    "sex": list("FMFMMFFMFMMF"),
    "hypertension": [True, False, True, True, False, False, True, True, False, True, False, True],
    "volume_ml": [4.1, 3.0, 12.5, 20.2, 6.3, 2.2, 15.0, 30.1, 8.8, 5.5, 5.0, 41.0],
})


def _small_design(frame: pd.DataFrame) -> np.ndarray:
    return np.column_stack([np.ones(len(frame)), (frame["sex"] == "M").astype(float),
                            frame["age"], frame["hypertension"].astype(float)])


@pytest.mark.parametrize("log", [False, True])
def test_ols_matches_least_squares_with_t_intervals(log):
    table = C.linear_regression(SMALL, "volume_ml", ("age", "sex", "hypertension"), log=log)
    y = np.log(SMALL["volume_ml"]) if log else SMALL["volume_ml"]
    beta, low, high, p, _ = _ols_by_hand(y.to_numpy(), _small_design(SMALL))
    got = table.set_index("term").loc[["Intercept", "sexM", "age", "hypertension"]]
    np.testing.assert_allclose(got["coef"], beta, rtol=1e-10)
    np.testing.assert_allclose(got["ci_low"], low, rtol=1e-8)
    np.testing.assert_allclose(got["ci_high"], high, rtol=1e-8)
    np.testing.assert_allclose(got["p"], p, rtol=1e-8)
    assert (table["n"] == 12).all() and table.attrs["n_dropped"] == 0
    assert table.attrs["formula"].startswith("np.log(volume_ml)" if log else "volume_ml ~")


def test_nullable_dtypes_complete_cases_and_dropped_counts():
    frame = SMALL.copy()
    frame["hypertension"] = pd.array(frame["hypertension"].tolist(), dtype="boolean")
    frame["age"] = pd.array(frame["age"].tolist(), dtype="Int64")
    frame.loc[[1, 4], "hypertension"] = pd.NA
    frame.loc[[4, 7], "age"] = pd.NA
    table = C.linear_regression(frame, "volume_ml", ("age", "sex", "hypertension"))
    assert table.attrs["n"] == 9 and table.attrs["n_dropped"] == 3
    assert table.attrs["dropped_by_column"] == {"age": 2, "hypertension": 2}
    kept = SMALL.drop(index=[1, 4, 7])
    beta = _ols_by_hand(kept["volume_ml"].to_numpy(), _small_design(kept))[0]
    np.testing.assert_allclose(table.set_index("term").loc["hypertension", "coef"], beta[3])


def test_missing_column_and_nonpositive_volume_errors():
    with pytest.raises(ValueError, match="smoking"):
        C.linear_regression(SMALL, "volume_ml", ("age", "smoking"))
    zero = SMALL.assign(volume_ml=SMALL["volume_ml"].where(SMALL.index != 3, 0.0))
    with pytest.raises(ValueError, match="log_offset"):
        C.linear_regression(zero, "volume_ml", ("age",), log=True)
    offset = C.linear_regression(zero, "volume_ml", ("age",), log=True, log_offset=0.5)
    beta = _ols_by_hand(np.log(zero["volume_ml"] + 0.5).to_numpy(),
                        np.column_stack([np.ones(12), zero["age"]]))[0]
    np.testing.assert_allclose(offset["coef"], beta)


def test_table_s4_strata_partition_the_complete_cases(cohort):
    frame = cohort.assign(smoking=cohort["smoking"].astype(object))
    frame.loc[frame.index[:7], "smoking"] = None
    frame.loc[frame.index[5:10], "age"] = np.nan
    s4 = C.table_s4(frame, "volume_ml")
    complete = frame.dropna(subset=["volume_ml", *C.TABLE_S4_COVARIATES])
    assert s4.n == {"All": len(complete), "age < 70": int((complete["age"] < 70).sum()),
                    "age ≥ 70": int((complete["age"] >= 70).sum())}
    assert s4.n["age < 70"] + s4.n["age ≥ 70"] == s4.n["All"] == len(frame) - 10
    assert sorted(s4.excluded["subject_id"]) == sorted(frame["subject_id"][:10])
    assert any("10 subject(s) excluded" in note for note in s4.footnotes)
    old = complete[complete["age"] >= 70]
    expected = C.linear_regression(old, "volume_ml").set_index("term")["coef"]
    pd.testing.assert_series_equal(s4.table[("age ≥ 70", "coef")], expected, check_names=False)
    assert set(s4.long["model"]) == set(s4.n)
    log = C.table_s4(frame, "volume_ml", log=True)
    # hypertension acts below 70 only (planted 0.45 on the log scale)
    assert log.table.loc["hypertension", ("age < 70", "p")] < 0.001
    assert log.table.loc["hypertension", ("age ≥ 70", "p")] > 0.01


def test_age_slope_and_figure_s4_match_scipy(cohort):
    frame = cohort.copy()
    frame.loc[frame.index[:3], "age"] = np.nan
    ref = stats.linregress(frame["age"][3:], frame["volume_ml"][3:])
    t = stats.t.ppf(0.975, len(frame) - 5)
    slope = C.age_slope(frame, "volume_ml")
    assert slope["n"] == len(frame) - 3
    np.testing.assert_allclose([slope["coef"], slope["p"]], [ref.slope, ref.pvalue], rtol=1e-9,
                               atol=1e-300)
    np.testing.assert_allclose([slope["ci_low"], slope["ci_high"]],
                               [ref.slope - t * ref.stderr, ref.slope + t * ref.stderr])
    fig = C.figure_s4_data(frame, "volume_ml")
    np.testing.assert_allclose(fig.line["fit"], ref.intercept + ref.slope * fig.line["age"])
    assert (fig.line["ci_low"] < fig.line["fit"]).all()
    assert (fig.line["fit"] < fig.line["ci_high"]).all()
    assert len(fig.points) == len(frame) - 3
    assert list(fig.excluded["reason"]) == ["missing age"] * 3


def test_regression_diagnostics_against_hand_computations(cohort):
    covariates = ("age", "sex", "hypertension")
    diag = C.regression_diagnostics(cohort, "volume_ml", covariates).set_index("scale")
    x = np.column_stack([np.ones(len(cohort)), (cohort["sex"] == "M"), cohort["age"],
                         cohort["hypertension"]]).astype(float)
    for scale, y in (("mL", cohort["volume_ml"]), ("log mL", np.log(cohort["volume_ml"]))):
        resid = _ols_by_hand(y.to_numpy(), x)[4]
        aux = _ols_by_hand(resid ** 2, x)[4]
        r2_aux = 1 - np.sum(aux ** 2) / np.sum((resid ** 2 - np.mean(resid ** 2)) ** 2)
        np.testing.assert_allclose(diag.loc[scale, "breusch_pagan"], len(y) * r2_aux, rtol=1e-8)
        np.testing.assert_allclose(diag.loc[scale, "jarque_bera"], jarque_bera(resid)[0],
                                   rtol=1e-8)
        np.testing.assert_allclose(diag.loc[scale, "shapiro_w"], stats.shapiro(resid).statistic)
    # log-normal volumes: the log model has normal, homoscedastic residuals
    assert diag.loc["mL", "shapiro_p"] < 1e-6 < diag.loc["log mL", "shapiro_p"]
    assert diag.loc["mL", "breusch_pagan_p"] < 1e-6 < diag.loc["log mL", "breusch_pagan_p"]
    assert diag.loc["mL", "r2_ml"] == pytest.approx(diag.loc["mL", "r2"])
    # log model back on the mL scale with Duan's smearing factor
    resid = _ols_by_hand(np.log(cohort["volume_ml"]).to_numpy(), x)[4]
    v = cohort["volume_ml"].to_numpy()
    pred = v / np.exp(resid) * np.mean(np.exp(resid))
    r2_ml = 1 - np.sum((v - pred) ** 2) / np.sum((v - v.mean()) ** 2)
    assert diag.loc["log mL", "r2_ml"] == pytest.approx(r2_ml, rel=1e-9)
    resid = C.residual_data(cohort, "volume_ml", covariates)
    assert len(resid) == 2 * len(cohort) and set(resid["scale"]) == {"mL", "log mL"}
    np.testing.assert_allclose(resid.groupby("scale")["residual"].mean(), 0, atol=1e-8)


# --------------------------------------------------------------------------
# ordinal models
# --------------------------------------------------------------------------

def test_table3_merges_mrs_5_6_and_reports_quintile_cut_points(cohort):
    frame = cohort.copy()
    frame.loc[frame.index[:4], "bmi"] = np.nan
    t3 = C.table3(frame, "volume_ml")
    used = frame.dropna(subset=["bmi"])
    assert t3.n == len(used) == len(frame) - 4 and len(t3.excluded) == 4
    np.testing.assert_allclose(t3.cut_points, np.quantile(used["volume_ml"], np.linspace(0, 1, 6)))
    original = pd.crosstab(quantile_groups(used["volume_ml"]), used["mrs_3m"])
    assert list(t3.counts.columns) == [0, 1, 2, 3, 4, 5]
    assert (original[6] > 0).all()  # the simulation has deaths in every quintile
    pd.testing.assert_frame_equal(t3.counts[[0, 1, 2, 3, 4]], original[[0, 1, 2, 3, 4]],
                                  check_names=False)
    assert (t3.counts[5] == original[5] + original[6]).all()
    assert (frame["mrs_3m"] == 6).any()  # the input is left as it was
    manual = used.assign(q=quantile_groups(used["volume_ml"]), y=merge_top(used["mrs_3m"], 5))
    expected = crude_adjusted_table(manual, "y", "q", TABLE3_COVARIATES)
    np.testing.assert_allclose(t3.table.to_numpy(), expected.to_numpy(), rtol=1e-6)
    assert list(t3.table.index) == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert any("5-6 merged" in note for note in t3.footnotes)


def test_proportional_odds_check_before_and_after_merging(cohort):
    check = C.proportional_odds_check(cohort, "volume_ml", ("age", "nihss"))
    assert list(dict.fromkeys(check.columns.get_level_values(0))) == ["original", "merged"]
    # death depends on age only: age violates proportional odds until 5-6 merge
    assert check.loc["age", ("original", "p_value")] < 1e-4
    assert check.loc["age", ("merged", "p_value")] > 0.01
    assert check.loc["la_group", ("original", "df")] == 4 * 5
    assert check.loc["la_group", ("merged", "df")] == 4 * 4


# --------------------------------------------------------------------------
# recovery of planted effects
# --------------------------------------------------------------------------

def test_planted_effects_are_the_twin_parameters():
    truth = planted_model_effects().set_index(["model", "term"])["truth"]
    assert truth[("log volume", "age")] == P.LA_MODEL["age_log_per_year"]
    assert (truth[("log volume", "hypertension_below_70")]
            == P.LA_MODEL["hypertension_below_70_log"])
    assert truth[("log volume", "hypertension_70_plus")] == 0.0
    np.testing.assert_allclose([truth[("mRS", f"Q{k}")] for k in range(2, 6)],
                               np.exp(P.MRS_MODEL["quintile_log_or"][1:]))
    assert truth[("mRS", "sexM")] == pytest.approx(np.exp(-P.MRS_MODEL["female_log_or"]))


def test_recovery_of_effects_planted_in_a_simulation(cohort):
    # 14 effects: 99.9% intervals keep the family-wise miss rate near 1.4%
    table = C.recovery_table(cohort, "volume_ml", SIM_PARAMETERS, alpha=0.001)
    assert table["covered"].all(), table
    assert (table["n"] == len(cohort)).all()
    la = table.set_index("term")[table["model"].to_numpy() == "log volume"]
    assert (la["ci_high"] - la["ci_low"]).max() < 0.4  # informative, not trivially wide
    # a wrong truth is detected
    shifted = {**SIM_PARAMETERS, "la_model": {**SIM_PARAMETERS["la_model"],
                                              "prior_stroke_log": 0.6}}
    moved = C.recovery_table(cohort, "volume_ml", shifted, alpha=0.001).set_index("term")
    assert not moved.loc["prior_stroke", "covered"]


def test_recovery_of_the_twins_planted_effects():
    from leukoct.twin.clinical import draw_cohort_tables
    from leukoct.twin.settings import TwinSettings
    table = draw_cohort_tables(TwinSettings(development=1, external=1, us=0, clinical=4000), 3)
    kept = table[(table["cohort"] == "clinical") & (table["exclusion_reason"] == "")]
    recovered = C.recovery_table(kept, "la_volume_ml", alpha=0.001)
    assert recovered["covered"].all(), recovered
    age = recovered.set_index(["model", "term"]).loc[("log volume", "age")]
    assert age["ci_high"] - age["ci_low"] < 0.02


# --------------------------------------------------------------------------
# the analysis frame
# --------------------------------------------------------------------------

def _manifest_and_volumes() -> tuple[pd.DataFrame, pd.DataFrame]:
    manifest = simulate_cohort(6, seed=1).drop(columns="volume_ml")
    manifest["cohort"] = ["clinical"] * 5 + ["train"]
    manifest["mrs_3m"] = manifest["mrs_3m"].astype(object)
    volumes = pd.DataFrame({"subject_id": ["S00000", "S00001", "S00003", "S00005"],
                            "group": ["clinical", "clinical", "clinical", "development"],
                            "predicted_ml": [5.0, np.nan, 7.5, 3.3],
                            "true_ml": [5.2, 6.0, 7.0, 3.0]})
    return manifest, volumes


def test_clinical_frame_records_subjects_without_a_predicted_volume():
    manifest, volumes = _manifest_and_volumes()
    frame = C.clinical_frame(manifest, volumes)
    assert list(frame["subject_id"]) == ["S00000", "S00003"]
    assert list(frame["predicted_ml"]) == [5.0, 7.5] and list(frame["true_ml"]) == [5.2, 7.0]
    assert str(frame["mrs_3m"].dtype) == "Int64"
    excluded = C.excluded_subjects(frame).set_index("subject_id")["reason"]
    assert excluded.to_dict() == {"S00001": "predicted volume missing",
                                  "S00002": "not in the volumes table",
                                  "S00004": "not in the volumes table"}
    assert frame.attrs["n_identified"] == 5
    curated = pd.DataFrame({"subject_id": ["S00002"], "status": ["excluded"],
                            "reason": ["Motion artifact"]})
    reasons = C.excluded_subjects(C.clinical_frame(manifest, volumes, curated=curated))
    assert "excluded by curation: Motion artifact" in set(reasons["reason"])


def test_clinical_frame_names_missing_columns_and_stray_volumes():
    manifest, volumes = _manifest_and_volumes()
    with pytest.raises(ValueError, match="prior_stroke"):
        C.clinical_frame(manifest.drop(columns="prior_stroke"), volumes)
    with pytest.raises(ValueError, match="predicted_ml"):
        C.clinical_frame(manifest, volumes.drop(columns="predicted_ml"))
    stray = pd.concat([volumes, pd.DataFrame({"subject_id": ["X9"], "group": ["clinical"],
                                              "predicted_ml": [1.0], "true_ml": [1.0]})])
    with pytest.raises(ValueError, match="X9"):
        C.clinical_frame(manifest, stray)


def test_table3_names_a_constant_covariate_instead_of_statsmodels_error(cohort):
    # A small cohort where every patient is a smoker: statsmodels' own message
    # ("There should not be a constant in the model") would not say which column.
    small = cohort.head(60).assign(smoking=True)
    with pytest.raises(ValueError, match=r"Table 3: covariate\(s\) \['smoking'\] constant in the 60"):
        C.table3(small, volume="volume_ml")


def test_brant_check_codings_match_the_merge_comparison(cohort):
    both = C.proportional_odds_check(cohort, volume="volume_ml")
    original = C.brant_check(cohort, volume="volume_ml", top=None)
    merged = C.brant_check(cohort, volume="volume_ml", top=5)
    pd.testing.assert_frame_equal(original, both["original"], check_names=False)
    pd.testing.assert_frame_equal(merged, both["merged"], check_names=False)
