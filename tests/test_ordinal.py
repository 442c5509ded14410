"""Tests of leukoct.ordinal: quantile groups, proportional-odds fits, Brant test.

Independent references: a published Brant test and proportional-odds Wald
test (Fagerland, Lydersen & Laake 2017, ch. 6; tests/fixtures/ordinal),
simulated data with planted parameters, a sandwich covariance built here from
the stacked score equations of statsmodels GLM fits, and a Monte-Carlo
estimate of the sampling covariance of the binary-logit slopes.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm
from scipy.special import expit

from leukoct.brant import brant_fit, brant_merge_comparison, brant_test
from leukoct.ordinal import (
    TABLE3_COVARIATES,
    crude_adjusted_table,
    fit_ordinal_logit,
    merge_top,
    odds_ratio_table,
    quantile_groups,
)

FIXTURES = Path(__file__).parent / "fixtures" / "ordinal"


# --------------------------------------------------------------------------
# simulated data
# --------------------------------------------------------------------------

#: Planted log odds ratios of the proportional-odds simulation.
TRUE_BETA = {"catB": 0.5, "catC": 1.0, "x_cont": 0.6, "x_bin": -0.8}


@pytest.fixture(scope="module")
def po_frame() -> pd.DataFrame:
    """n = 3000 from a proportional-odds model with 5 outcome levels."""
    rng = np.random.default_rng(2024)
    n = 3000
    frame = pd.DataFrame({"x_cont": rng.normal(size=n), "x_bin": rng.random(n) < 0.4,
                          "cat": rng.choice(list("ABC"), n)})
    eta = (TRUE_BETA["x_cont"] * frame.x_cont + TRUE_BETA["x_bin"] * frame.x_bin
           + TRUE_BETA["catB"] * (frame.cat == "B") + TRUE_BETA["catC"] * (frame.cat == "C"))
    # latent logistic variable cut at fixed thresholds = cumulative logit model
    frame["y"] = np.digitize(eta + rng.logistic(size=n), [-1, 0, 1, 2])
    return frame


@pytest.fixture(scope="module")
def non_po_frame() -> pd.DataFrame:
    """n = 3000, 3 levels; x1 acts on the upper cut only, x2 on both alike."""
    rng = np.random.default_rng(7)
    n = 3000
    x1 = rng.random(n) < 0.5
    x2 = rng.normal(size=n)
    above_0 = expit(1.0 + 0.0 * x1 + 0.5 * x2)    # P(y > 0)
    above_1 = expit(-1.0 + 1.5 * x1 + 0.5 * x2)   # P(y > 1) <= P(y > 0) for x1 in {0, 1}
    u = rng.random(n)
    y = (u < above_0).astype(int) + (u < above_1).astype(int)
    return pd.DataFrame({"y": y, "x1": x1, "x2": x2})


def _nausea_frame() -> pd.DataFrame:
    table = pd.read_csv(FIXTURES / "postoperative_nausea_2x4.csv")
    rows = table.loc[table.index.repeat(table["count"]), ["row", "column"]]
    return pd.DataFrame({"group": (rows["row"] == 2).astype(int).to_numpy(),
                         "y": rows["column"].to_numpy()})


# --------------------------------------------------------------------------
# quantile_groups
# --------------------------------------------------------------------------

def test_quantile_groups_ten_values_two_per_group():
    values = pd.Series([7, 1, 9, 3, 5, 2, 10, 4, 8, 6], name="la_ml", index=list("abcdefghij"))
    groups = quantile_groups(values)
    expected = {1: "Q1", 2: "Q1", 3: "Q2", 4: "Q2", 5: "Q3", 6: "Q3",
                7: "Q4", 8: "Q4", 9: "Q5", 10: "Q5"}
    assert groups.tolist() == [expected[v] for v in values]
    assert groups.cat.ordered and list(groups.cat.categories) == ["Q1", "Q2", "Q3", "Q4", "Q5"]
    assert groups.name == "la_ml" and list(groups.index) == list(values.index)
    assert groups.attrs["edges"] == pytest.approx([1.0, 2.8, 4.6, 6.4, 8.2, 10.0])


def test_quantile_groups_ties_stay_together_and_go_down_at_cut_points():
    # type-7 cut-points by hand: positions 1.8, 3.6, 5.4, 7.2 of the sorted values
    # -> 2.0, 3.6, 5.4, 7.2; the tied 2s equal the first cut and both fall in Q1
    values = [1, 2, 2, 3, 4, 5, 6, 7, 8, 9]
    groups = quantile_groups(values, labels=list("abcde"))
    assert groups.tolist() == ["a", "a", "a", "b", "c", "c", "d", "d", "e", "e"]
    assert groups.attrs["edges"] == pytest.approx([1, 2, 3.6, 5.4, 7.2, 9])
    shuffled = pd.Series(values).sample(frac=1, random_state=3)
    again = quantile_groups(shuffled, labels=list("abcde"))
    assert again.sort_index().tolist() == groups.tolist()   # row order does not matter


def test_quantile_groups_missing_stay_missing_and_q4():
    groups = quantile_groups([4.0, np.nan, 1.0, 3.0, 2.0], q=4)
    assert groups.isna().tolist() == [False, True, False, False, False]
    assert groups.dropna().tolist() == ["Q4", "Q1", "Q3", "Q2"]


@pytest.mark.parametrize("values, q, message", [
    ([1, 1, 2, 2, 3, 3], 5, "at least 5 distinct"),
    ([0] * 6 + [1, 2, 3, 4, 5], 5, "coincide"),
    ([1, 2, 3], 3, None),
])
def test_quantile_groups_too_few_distinct_values(values, q, message):
    if message is None:
        assert quantile_groups(values, q=q).tolist() == ["Q1", "Q2", "Q3"]
    else:
        with pytest.raises(ValueError, match=message):
            quantile_groups(values, q=q)


def test_quantile_groups_rejects_bad_labels_and_text():
    with pytest.raises(ValueError, match="labels"):
        quantile_groups(range(10), labels=["lo", "hi"])
    with pytest.raises(ValueError, match="numeric"):
        quantile_groups(["a", "b", "c", "d", "e"])


# --------------------------------------------------------------------------
# merge_top
# --------------------------------------------------------------------------

def test_merge_top_merges_mrs_5_and_6():
    mrs = pd.Series([0, 1, 2, 3, 4, 5, 6, None], name="mrs_3m")
    merged = merge_top(mrs, 5)
    assert str(merged.dtype) == "Int64" and merged.name == "mrs_3m"
    assert merged.iloc[:7].tolist() == [0, 1, 2, 3, 4, 5, 5]
    assert merged.isna().tolist() == [False] * 7 + [True]
    with pytest.raises(ValueError, match="integer"):
        merge_top([0, 2.5, 6], 5)


# --------------------------------------------------------------------------
# fit_ordinal_logit and odds_ratio_table
# --------------------------------------------------------------------------

def test_fit_recovers_planted_log_odds_ratios(po_frame):
    result = fit_ordinal_logit(po_frame, "y", "cat", ["x_cont", "x_bin"])
    assert list(result.params.index[:4]) == ["catB", "catC", "x_cont", "x_bin"]
    assert result.terms == {"cat": ["catB", "catC"], "x_cont": ["x_cont"], "x_bin": ["x_bin"]}
    for term, truth in TRUE_BETA.items():
        assert abs(result.params[term] - truth) < 3 * result.bse[term], term
    # thresholds: statsmodels stores the first cut, then log increments
    first = result.params["0/1"]
    cuts = np.cumsum([first, *np.exp(result.params.iloc[5:])])
    np.testing.assert_allclose(cuts, [-1, 0, 1, 2], atol=0.15)
    assert result.n_dropped == 0


def test_fit_reproduces_published_wald_z():
    # Fagerland et al. (2017) ch. 6, proportional-odds model: Z = -1.472, P = 0.14097
    # (opposite sign convention; see tests/fixtures/ordinal/README.md)
    result = fit_ordinal_logit(_nausea_frame(), "y", "group")
    assert result.tvalues["group"] == pytest.approx(1.472, abs=1e-3)
    assert result.pvalues["group"] == pytest.approx(0.14097, abs=2e-4)


def test_odds_ratio_table_is_exp_params_with_wald_ci(po_frame):
    result = fit_ordinal_logit(po_frame, "y", "cat", ["x_cont", "x_bin"])
    table = odds_ratio_table(result)
    assert list(table.columns) == ["term", "odds_ratio", "ci_low", "ci_high", "p_value"]
    assert table["term"].tolist() == ["catB", "catC", "x_cont", "x_bin"]   # no thresholds
    beta = result.params.iloc[:4].to_numpy()
    se = result.bse.iloc[:4].to_numpy()
    np.testing.assert_allclose(table["odds_ratio"], np.exp(beta), rtol=1e-12)
    np.testing.assert_allclose(table["ci_low"], np.exp(beta - 1.959964 * se), rtol=1e-6)
    np.testing.assert_allclose(table["ci_high"], np.exp(beta + 1.959964 * se), rtol=1e-6)
    np.testing.assert_allclose(table["p_value"], result.pvalues.iloc[:4], rtol=1e-12)

    ninety = odds_ratio_table(result, terms=["x_bin", "catC"], alpha=0.10)
    assert ninety["term"].tolist() == ["x_bin", "catC"]
    b, s = result.params["x_bin"], result.bse["x_bin"]
    assert ninety["ci_low"].iloc[0] == pytest.approx(np.exp(b - 1.644854 * s), rel=1e-6)
    with pytest.raises(KeyError, match="0/1"):
        odds_ratio_table(result, terms=["0/1"])


def test_dummy_coding_names_and_reference():
    rng = np.random.default_rng(1)
    n = 400
    frame = pd.DataFrame({"sex": rng.choice(["F", "M"], n), "y": rng.integers(0, 3, n),
                          "q": pd.Categorical(rng.choice(["Q1", "Q2", "Q3"], n),
                                              categories=["Q1", "Q2", "Q3"], ordered=True)})
    default = fit_ordinal_logit(frame, "y", "q", ["sex"])
    assert list(default.params.index[:3]) == ["qQ2", "qQ3", "sexM"]
    switched = fit_ordinal_logit(frame, "y", "q", ["sex"], reference="Q3")
    assert list(switched.params.index[:3]) == ["qQ1", "qQ2", "sexM"]
    # reparametrisation: log OR(Q2 vs Q3) = log OR(Q2 vs Q1) - log OR(Q3 vs Q1)
    assert switched.params["qQ2"] == pytest.approx(
        default.params["qQ2"] - default.params["qQ3"], abs=1e-4)
    with pytest.raises(ValueError, match="Q9"):
        fit_ordinal_logit(frame, "y", "q", ["sex"], reference="Q9")


def test_missing_values_raise_with_counts_or_are_dropped_and_recorded(po_frame):
    frame = po_frame.copy()
    frame["x_cont"] = frame["x_cont"].astype(float)
    frame.loc[frame.index[:7], "x_cont"] = np.nan
    frame["cat"] = frame["cat"].astype(object)
    frame.loc[frame.index[5:12], "cat"] = np.nan       # rows 5, 6 incomplete twice
    with pytest.raises(ValueError, match=r"12 of 3000 rows.*cat \(7\), x_cont \(7\)"):
        fit_ordinal_logit(frame, "y", "cat", ["x_cont", "x_bin"])
    dropped = fit_ordinal_logit(frame, "y", "cat", ["x_cont", "x_bin"], missing="drop")
    assert dropped.n_dropped == 12
    assert dropped.dropped_by_column == {"cat": 7, "x_cont": 7}
    assert dropped.nobs == 3000 - 12
    complete = fit_ordinal_logit(frame.dropna(), "y", "cat", ["x_cont", "x_bin"])
    np.testing.assert_allclose(dropped.params, complete.params, rtol=1e-8)
    # a column not in the model does not count
    frame["unused"] = np.nan
    assert fit_ordinal_logit(frame, "y", "cat", missing="drop").n_dropped == 7
    with pytest.raises(ValueError, match="missing"):
        brant_test(frame, "y", ["cat"])
    assert brant_test(frame, "y", ["cat"], missing="drop").attrs["n_dropped"] == 7


def test_crude_adjusted_table_uses_the_same_rows(po_frame):
    frame = po_frame.copy()
    frame["x_cont"] = frame["x_cont"].astype(float)
    frame.loc[frame.index[:20], "x_cont"] = np.nan
    table = crude_adjusted_table(frame, "y", "cat", ["x_cont", "x_bin"], missing="drop")
    assert table.attrs == {"n": 2980, "n_dropped": 20}
    assert table.index.tolist() == ["A", "B", "C"]
    assert table.loc["A", ("crude", "odds_ratio")] == 1.0
    assert np.isnan(table.loc["A", ("adjusted", "ci_low")])
    crude = odds_ratio_table(fit_ordinal_logit(frame.dropna(), "y", "cat"))
    np.testing.assert_allclose(table.loc[["B", "C"], ("crude", "odds_ratio")],
                               crude["odds_ratio"], rtol=1e-8)
    adjusted = odds_ratio_table(fit_ordinal_logit(frame.dropna(), "y", "cat",
                                                  ["x_cont", "x_bin"]), ["catB", "catC"])
    np.testing.assert_allclose(table.loc[["B", "C"], ("adjusted", "ci_high")],
                               adjusted["ci_high"], rtol=1e-8)
    assert len(TABLE3_COVARIATES) == 11


# --------------------------------------------------------------------------
# Brant test
# --------------------------------------------------------------------------

def test_brant_reproduces_published_2x4_result():
    # Fagerland, Lydersen & Laake (2017), ch. 6: T = 1.668, df = 2, P = 0.43422
    table = brant_test(_nausea_frame(), "y", ["group"])
    assert table.loc["group", "chi2"] == pytest.approx(1.668, abs=5e-4)
    assert table.loc["group", "df"] == 2
    assert table.loc["group", "p_value"] == pytest.approx(0.43422, abs=5e-5)
    assert table.loc["omnibus", "chi2"] == pytest.approx(table.loc["group", "chi2"])


def test_brant_does_not_reject_proportional_odds(po_frame):
    table = brant_test(po_frame, "y", ["cat", "x_cont", "x_bin"])
    assert table.index.tolist() == ["omnibus", "catB", "catC", "x_cont", "x_bin"]
    assert list(table.columns) == ["chi2", "df", "p_value"]
    assert table["df"].tolist() == [12, 3, 3, 3, 3]      # J = 5, p = 4 design columns
    assert (table["p_value"] > 0.05).all(), table
    by_var = brant_test(po_frame, "y", ["cat", "x_cont", "x_bin"], by_variable=True)
    assert by_var.index.tolist() == ["omnibus", "cat", "x_cont", "x_bin"]
    assert by_var["df"].tolist() == [12, 6, 3, 3]
    assert by_var.loc["x_cont", "chi2"] == pytest.approx(table.loc["x_cont", "chi2"])
    assert by_var.loc["omnibus", "chi2"] == pytest.approx(table.loc["omnibus", "chi2"])
    assert (by_var["p_value"] > 0.05).all(), by_var


def test_brant_rejects_the_non_proportional_predictor_only(non_po_frame):
    table = brant_test(non_po_frame, "y", ["x1", "x2"])
    assert table["df"].tolist() == [2, 1, 1]              # J = 3: omnibus df = p
    assert table.loc["x1", "p_value"] < 1e-3
    assert table.loc["omnibus", "p_value"] < 1e-3
    assert table.loc["x2", "p_value"] > 0.05
    fit = brant_fit(non_po_frame, "y", ["x1", "x2"])
    np.testing.assert_allclose(fit.coefficients["x1"], [0.0, 1.5], atol=0.25)
    np.testing.assert_allclose(fit.intercepts, [1.0, -1.0], atol=0.2)


def test_brant_wald_statistic_by_hand_for_one_predictor(non_po_frame):
    # J = 3, one predictor: chi2 = (b1 - b2)^2 / (v11 + v22 - 2 v12)
    fit = brant_fit(non_po_frame, "y", ["x2"])
    b = fit.coefficients["x2"].to_numpy()
    v = fit.covariance.to_numpy()
    by_hand = (b[0] - b[1]) ** 2 / (v[0, 0] + v[1, 1] - 2 * v[0, 1])
    assert brant_test(non_po_frame, "y", ["x2"]).loc["x2", "chi2"] == pytest.approx(by_hand)


def test_brant_is_invariant_to_predictor_coding(po_frame):
    # rescaling a covariate or swapping a binary's reference leaves every test unchanged
    base = brant_test(po_frame, "y", ["x_cont", "x_bin"])
    recoded = po_frame.assign(x_cont=10 * po_frame.x_cont - 3, x_bin=~po_frame.x_bin)
    other = brant_test(recoded, "y", ["x_cont", "x_bin"])
    np.testing.assert_allclose(other["chi2"], base["chi2"], rtol=1e-6)


def test_brant_covariance_diagonal_blocks_are_the_logit_covariances(po_frame):
    fit = brant_fit(po_frame, "y", ["x_cont", "x_bin"])
    design = sm.add_constant(np.column_stack([po_frame.x_cont, po_frame.x_bin.astype(float)]))
    for j, split in enumerate(fit.coefficients.index):
        z = (po_frame["y"].to_numpy() > j).astype(float)
        glm = sm.GLM(z, design, family=sm.families.Binomial()).fit()
        np.testing.assert_allclose(fit.coefficients.loc[split], glm.params[1:], rtol=1e-6)
        block = fit.covariance.loc[split, split].to_numpy()
        np.testing.assert_allclose(block, np.asarray(glm.cov_params())[1:, 1:], rtol=1e-5)
        np.testing.assert_allclose(
            block, np.asarray(fit.results[j].cov_params())[1:, 1:], rtol=1e-10)
    assert fit.coefficients.index.tolist() == ["y>0", "y>1", "y>2", "y>3"]


def test_brant_covariance_matches_stacked_score_sandwich():
    # Empirical sandwich A^-1 (sum_i U_i U_i') A^-1 of the stacked binary-logit
    # score equations, fitted here with GLM: the same asymptotic covariance
    # reached without Brant's model-based cross terms.
    rng = np.random.default_rng(11)
    n = 2000
    x1 = rng.normal(size=n)
    x2 = rng.random(n) < 0.4
    y = np.digitize(0.6 * x1 - 0.8 * x2 + rng.logistic(size=n), [-1, 0, 1])
    frame = pd.DataFrame({"y": y, "x1": x1, "x2": x2})
    fit = brant_fit(frame, "y", ["x1", "x2"])

    design = sm.add_constant(np.column_stack([x1, x2.astype(float)]))
    k, splits = design.shape[1], 3
    bread = np.zeros((splits * k, splits * k))
    scores = np.zeros((n, splits * k))
    for j in range(splits):
        z = (y > j).astype(float)
        pi = sm.GLM(z, design, family=sm.families.Binomial()).fit().fittedvalues
        bread[j * k:(j + 1) * k, j * k:(j + 1) * k] = design.T @ (design * (pi * (1 - pi))[:, None])
        scores[:, j * k:(j + 1) * k] = design * (z - pi)[:, None]
    inverse = np.linalg.inv(bread)
    sandwich = inverse @ (scores.T @ scores) @ inverse
    slopes = [j * k + i for j in range(splits) for i in range(1, k)]
    sandwich = sandwich[np.ix_(slopes, slopes)]

    brant = fit.covariance.to_numpy()
    np.testing.assert_allclose(np.diag(brant), np.diag(sandwich), rtol=0.1)

    def corr(m):
        sd = np.sqrt(np.diag(m))
        return m / np.outer(sd, sd)

    # cross-logit correlations of the same slope are about 0.6: a covariance
    # without (or with wrong) cross blocks is far outside this tolerance
    assert corr(brant)[0, 2] > 0.4
    np.testing.assert_allclose(corr(brant), corr(sandwich), atol=0.08)


def test_brant_covariance_matches_monte_carlo_and_statistic_is_calibrated():
    # 200 datasets from a proportional-odds model: the sampling variance of the
    # slope difference between the two binary logits matches Brant's formula,
    # and the Wald statistic has mean about df = 1.
    diffs, variances = [], []
    for seed in range(200):
        rng = np.random.default_rng(5000 + seed)
        x = rng.normal(size=300)
        y = np.digitize(0.5 * x + rng.logistic(size=300), [-0.5, 0.8])
        fit = brant_fit(pd.DataFrame({"y": y, "x": x}), "y", ["x"])
        b = fit.coefficients["x"].to_numpy()
        v = fit.covariance.to_numpy()
        diffs.append(b[0] - b[1])
        variances.append(v[0, 0] + v[1, 1] - 2 * v[0, 1])
    diffs, variances = np.array(diffs), np.array(variances)
    ratio = diffs.var(ddof=1) / variances.mean()
    assert 0.75 < ratio < 1.3, ratio
    assert 0.75 < np.mean(diffs ** 2 / variances) < 1.3


def test_brant_needs_three_outcome_levels(non_po_frame):
    two = non_po_frame.assign(y=(non_po_frame.y > 0).astype(int))
    with pytest.raises(ValueError, match="at least 3 outcome levels"):
        brant_test(two, "y", ["x1"])


def test_brant_raises_on_perfect_separation():
    rng = np.random.default_rng(3)
    n = 300
    frame = pd.DataFrame({"y": rng.integers(0, 3, n), "x": rng.normal(size=n),
                          "flag": False})
    frame.loc[frame.y == 2, "flag"] = rng.random((frame.y == 2).sum()) < 0.3
    frame.loc[frame.index[frame.y == 2][0], "flag"] = True   # every flagged row has y = 2
    with pytest.raises(ValueError, match="perfect separation.*flag"):
        brant_test(frame, "y", ["x", "flag"])
    # a continuous predictor that orders the outcome exactly
    ordered = pd.DataFrame({"y": np.repeat([0, 1, 2], 50),
                            "x": np.arange(150) + rng.random(150)})
    with pytest.raises(ValueError, match="separation|converge"):
        brant_test(ordered, "y", ["x"])


def test_brant_merge_comparison(po_frame):
    frame = po_frame.assign(y=po_frame.y + 2)             # levels 2..6, like mRS
    both = brant_merge_comparison(frame, "y", ["x_cont", "x_bin"], top=5)
    original = brant_test(frame, "y", ["x_cont", "x_bin"])
    merged = brant_test(frame.assign(y=merge_top(frame.y, 5)), "y", ["x_cont", "x_bin"])
    pd.testing.assert_frame_equal(both["original"], original, check_names=False)
    pd.testing.assert_frame_equal(both["merged"], merged, check_names=False)
    assert both[("original", "df")].tolist() == [6, 3, 3]
    assert both[("merged", "df")].tolist() == [4, 2, 2]


# --------------------------------------------------------------------------
# R MASS::polr on the UCLA graduate-school data shipped with statsmodels
# --------------------------------------------------------------------------

def _ucla_path() -> Path:
    import statsmodels
    return (Path(statsmodels.__file__).parent / "miscmodels" / "tests" / "results"
            / "ologit_ucla.csv")


def test_fit_reproduces_r_polr_on_ucla_ologit_data():
    """``polr(apply ~ pared + public + gpa, method = "logistic")`` (UCLA IDRE example).

    R's estimates, standard errors and cut-points as recorded in statsmodels'
    test results (``results_ordinal_model.res_ord_logit``).  statsmodels
    parameterises the cut-points as the first one then log-increments.
    """
    path = _ucla_path()
    if not path.exists():
        pytest.skip(f"statsmodels does not ship its test data here: {path}")
    frame = pd.read_csv(path)
    frame["apply"] = pd.Categorical(
        frame["apply"], categories=["unlikely", "somewhat likely", "very likely"], ordered=True)
    result = fit_ordinal_logit(frame, "apply", "pared", ["public", "gpa"])
    params = pd.Series(np.asarray(result.params), index=result.model.exog_names)
    np.testing.assert_allclose(params[["pared", "public", "gpa"]],
                               [1.04769, -0.05879, 0.61594], atol=2e-4)
    np.testing.assert_allclose(np.asarray(result.bse)[:3], [0.2658, 0.2979, 0.2606], rtol=3e-3)
    k = result.model.k_vars
    raw = np.asarray(result.params)[k:]
    thresholds = np.cumsum([raw[0], *np.exp(raw[1:])])
    # polr's optim stops on a flat top: its cut-points differ by ~5e-4 from the
    # exact MLE, yet its log-likelihood is no higher than ours
    np.testing.assert_allclose(thresholds, [2.2039, 4.2994], atol=1e-3)
    polr = np.array([1.04769, -0.05879, 0.61594, 2.2039, np.log(4.2994 - 2.2039)])
    assert result.llf >= result.model.loglike(polr) - 1e-6
    # statsmodels' own back-transformation agrees (with -inf, +inf at the ends)
    np.testing.assert_allclose(
        result.model.transform_threshold_params(np.asarray(result.params))[1:-1], thresholds)
    table = odds_ratio_table(result)
    np.testing.assert_allclose(table["odds_ratio"], np.exp([1.04769, -0.05879, 0.61594]),
                               rtol=5e-4)


# MASS 7.3-58.2 polr on R 4.2.2 with optim's reltol at 1e-14: tests/test_ordinal_polr.R.
POLR_UCLA = {"odds_ratio": {"pared": 2.8509825251, "public": 0.9430058618, "gpa": 1.8510366226},
             "zeta": (2.2033232317, 4.2987673931), "loglik": -358.5124356780}


def test_odds_ratios_equal_polr_to_1e6():
    path = _ucla_path()
    if not path.exists():
        pytest.skip(f"statsmodels does not ship its test data here: {path}")
    frame = pd.read_csv(path)
    frame["apply"] = pd.Categorical(
        frame["apply"], categories=["unlikely", "somewhat likely", "very likely"], ordered=True)
    result = fit_ordinal_logit(frame, "apply", "pared", ["public", "gpa"])
    table = odds_ratio_table(result)
    got = pd.Series(np.asarray(table["odds_ratio"]), index=["pared", "public", "gpa"])
    for term, expected in POLR_UCLA["odds_ratio"].items():
        assert got[term] == pytest.approx(expected, abs=1e-6)
    raw = np.asarray(result.params)[result.model.k_vars:]
    np.testing.assert_allclose(np.cumsum([raw[0], *np.exp(raw[1:])]), POLR_UCLA["zeta"],
                               atol=1e-6)
    assert result.llf == pytest.approx(POLR_UCLA["loglik"], abs=1e-7)
