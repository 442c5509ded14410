"""Tests of leukoct.metrics against hand computations and published values."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from leukoct import metrics
from leukoct.metrics import (
    agreement,
    bland_altman,
    dice,
    dice_summary,
    infarct_group,
    lins_ccc,
    pearson,
    r_squared,
)

# Peak expiratory flow rate (L/min), first reading with the Wright and with the
# mini Wright meter on 17 subjects: Bland & Altman, Lancet 1986;1:307-310,
# Table 1.  Transcribed from two independent public sources that agree:
# R epiR, man/epi.ccc.Rd (example "Figure 2 from Bland and Altman 1986") and
# R blandr, unused/bland.altman.PEFR.r (WrightFirst, MiniWrightFirst).
WRIGHT = np.array([494, 395, 516, 434, 476, 557, 413, 442, 650, 433, 417, 656, 267,
                   478, 178, 423, 427], dtype=float)
MINI_WRIGHT = np.array([512, 430, 520, 428, 500, 600, 364, 380, 658, 445, 432, 626, 260,
                        477, 259, 350, 451], dtype=float)


# --------------------------------------------------------------------------
# Dice
# --------------------------------------------------------------------------

def test_dice_hand_computed():
    pred = np.array([[1, 1, 0, 0],
                     [1, 0, 0, 0]], dtype=bool)
    ref = np.array([[1, 0, 0, 0],
                    [1, 1, 1, 0]], dtype=bool)
    # TP = 2, FP = 1, FN = 2 -> 2*2 / (2*2 + 1 + 2) = 4/7
    assert dice(pred, ref) == pytest.approx(4 / 7)
    assert dice(ref, pred) == pytest.approx(4 / 7)  # symmetric


def test_voxel_volumes_hand_computed():
    # pred 4 voxels, ref 3, 2 shared; 0.5 mL voxels -> both 1.0, pred only 1.0, ref only 0.5.
    pred = np.array([1, 1, 1, 1, 0, 0])
    ref = np.array([0, 0, 1, 1, 1, 0])
    v = metrics.voxel_volumes(pred, ref, voxel_ml=0.5)
    assert (v.both_ml, v.pred_only_ml, v.ref_only_ml) == (1.0, 1.0, 0.5)
    # Dice from the three volumes is dice() of the masks.
    assert 2 * v.both_ml / (2 * v.both_ml + v.pred_only_ml + v.ref_only_ml) == \
        pytest.approx(metrics.dice(pred, ref))
    with pytest.raises(ValueError, match="positive"):
        metrics.voxel_volumes(pred, ref, voxel_ml=0)


def test_dice_accepts_0_1_integers_and_is_1_for_identical_masks():
    mask = np.zeros((3, 4, 5), dtype=np.uint8)
    mask[1, 1:3, 2:4] = 1
    assert dice(mask, mask) == 1.0
    assert dice(mask, mask.astype(float)) == 1.0


def test_dice_both_empty_rule_is_explicit():
    empty = np.zeros((4, 4), dtype=bool)
    assert math.isnan(dice(empty, empty))          # default: undefined
    assert dice(empty, empty, empty=1.0) == 1.0    # opt-in: perfect agreement
    one = empty.copy()
    one[0, 0] = True
    # Only one mask empty: DSC is 0 whatever the empty rule.
    assert dice(one, empty) == 0.0
    assert dice(empty, one, empty=1.0) == 0.0


def test_dice_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match=r"same shape.*\(4, 4\).*\(4, 5\)"):
        dice(np.zeros((4, 4), bool), np.zeros((4, 5), bool))


@pytest.mark.parametrize("bad", [np.array([0.0, 0.4, 1.0]), np.array([0, 2, 1]),
                                 np.array([0.0, np.nan, 1.0])])
def test_dice_refuses_non_binary_masks(bad):
    with pytest.raises(ValueError):
        dice(bad, np.array([0, 1, 1], dtype=bool))


def test_dice_summary_counts_undefined_and_uses_t_interval():
    s = dice_summary([0.5, 0.6, np.nan, 0.7])
    assert (s.n, s.n_undefined) == (3, 1)
    assert s.mean == pytest.approx(0.6)
    assert s.sd == pytest.approx(0.1)
    # t(0.975, df=2) = 4.302653 (tables); half-width = 4.302653 * 0.1 / sqrt(3)
    half = 4.302653 * 0.1 / math.sqrt(3)
    assert s.ci_low == pytest.approx(0.6 - half, abs=1e-6)
    assert s.ci_high == pytest.approx(0.6 + half, abs=1e-6)


def test_dice_summary_small_and_invalid():
    one = dice_summary([0.4, np.nan])
    assert one.mean == pytest.approx(0.4) and math.isnan(one.ci_low) and one.n_undefined == 1
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        dice_summary([0.2, 1.3])
    with pytest.raises(ValueError, match="confidence"):
        dice_summary([0.2, 0.3], confidence=95)


# --------------------------------------------------------------------------
# Lin's CCC
# --------------------------------------------------------------------------

def test_ccc_hand_computed_tiny_vector():
    x = [1.0, 2.0, 3.0, 4.0]
    y = [2.0, 3.0, 5.0, 6.0]
    # means 2.5 and 4; population variances
    # s_x^2 = (2.25 + 0.25 + 0.25 + 2.25) / 4 = 1.25
    # s_y^2 = (4 + 1 + 1 + 4) / 4           = 2.5
    # s_xy  = (3 + 0.5 + 0.5 + 3) / 4       = 1.75
    # CCC = 2 * 1.75 / (1.25 + 2.5 + (2.5 - 4)^2) = 3.5 / 6 = 7/12
    res = lins_ccc(x, y)
    assert res.ccc == pytest.approx(7 / 12)
    r = 1.75 / math.sqrt(1.25 * 2.5)
    v = math.sqrt(2.5 / 1.25)                        # sigma_y / sigma_x
    u = (4 - 2.5) / (1.25 * 2.5) ** 0.25             # (mu_y - mu_x) / sqrt(sigma_x sigma_y)
    c_b = 2 / (v + 1 / v + u ** 2)                   # Lin 1989, p. 258
    assert res.pearson_r == pytest.approx(r)
    assert res.scale_shift == pytest.approx(v)
    assert res.location_shift == pytest.approx(u)
    assert res.bias_correction == pytest.approx(c_b)
    assert res.ccc == pytest.approx(res.pearson_r * res.bias_correction)


def test_ccc_population_variances_not_sample_variances():
    # torchmetrics ConcordanceCorrCoef docstring example: target [3, -0.5, 2, 7],
    # preds [2.5, 0, 2, 8] -> tensor(0.9777), computed with n - 1 variances.
    # Lin (1989) and epiR use n denominators: 0.97679.
    target = np.array([3, -0.5, 2, 7])
    preds = np.array([2.5, 0.0, 2, 8])
    res = lins_ccc(preds, target)
    assert res.ccc == pytest.approx(0.97679, abs=5e-6)
    sample = 2 * np.cov(preds, target, ddof=1)[0, 1] / (
        preds.var(ddof=1) + target.var(ddof=1) + (preds.mean() - target.mean()) ** 2)
    assert sample == pytest.approx(0.9777, abs=5e-5)
    assert abs(res.ccc - sample) > 5e-4


def test_ccc_perfect_agreement_is_one():
    x = np.array([1.0, 4.0, 2.5, 9.0, 7.0])
    res = lins_ccc(x, x.copy())
    assert res.ccc == pytest.approx(1.0)
    assert res.bias_correction == pytest.approx(1.0)
    assert res.ci_low == pytest.approx(1.0) and res.ci_high == pytest.approx(1.0)


def test_ccc_location_shift_lowers_ccc_below_r():
    x = np.array([1.0, 2.0, 3.0, 4.0, 5.0])
    res = lins_ccc(x, x + 1.0)
    # r = 1, v = 1, population variance 2, u = 1 / sqrt(2): C_b = 2 / (2 + 1/2) = 0.8
    assert res.pearson_r == pytest.approx(1.0)
    assert res.scale_shift == pytest.approx(1.0)
    assert res.location_shift == pytest.approx(1 / math.sqrt(2))
    assert res.bias_correction == pytest.approx(0.8)
    assert res.ccc == pytest.approx(0.8) and res.ccc < res.pearson_r
    assert res.ci_low < 0.8 < res.ci_high


def _epir_epi_ccc(x, y, conf_level=0.95):
    """Line-by-line transliteration of R epiR::epi.ccc, ci = "z-transform".

    Source: epiR R/epi.ccc.R (as in TypeFox/R-Examples epiR/R/epi.ccc.r):
    sample var()/sd() rescaled by (k - 1)/k, cor(), the Lin 2000 variance
    "sep", t = log((1 + p)/(1 - p))/2, set = sep/(1 - p^2) and the
    exp-form back-transform.  Independent of the module's code path.
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    zv = stats.norm.ppf(1 - (1 - conf_level) / 2)
    k = len(y)
    yb, xb = y.mean(), x.mean()
    sy2 = y.var(ddof=1) * (k - 1) / k
    sx2 = x.var(ddof=1) * (k - 1) / k
    sd1, sd2 = y.std(ddof=1), x.std(ddof=1)
    r = np.corrcoef(x, y)[0, 1]
    sxy = r * math.sqrt(sx2 * sy2)
    p = 2 * sxy / (sx2 + sy2 + (yb - xb) ** 2)
    v = sd1 / sd2
    u = (yb - xb) / ((sx2 * sy2) ** 0.25)
    c_b = p / r
    sep = math.sqrt(((1 - r ** 2) * p ** 2 * (1 - p ** 2) / r ** 2
                     + (2 * p ** 3 * (1 - p) * u ** 2 / r)
                     - 0.5 * p ** 4 * u ** 4 / r ** 2) / (k - 2))
    t = math.log((1 + p) / (1 - p)) / 2
    set_ = sep / (1 - p ** 2)
    llt, ult = t - zv * set_, t + zv * set_
    llt = (math.exp(2 * llt) - 1) / (math.exp(2 * llt) + 1)
    ult = (math.exp(2 * ult) - 1) / (math.exp(2 * ult) + 1)
    return {"est": p, "lower": llt, "upper": ult, "s.shift": v, "l.shift": u, "C.b": c_b}


@pytest.mark.parametrize("x, y", [(WRIGHT, MINI_WRIGHT),
                                  ([2.5, 0.0, 2, 8], [3, -0.5, 2, 7]),
                                  ([1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 1.9, 3.4, 3.9, 6.0])])
def test_ccc_confidence_interval_matches_epir(x, y):
    ref = _epir_epi_ccc(x, y)
    res = lins_ccc(x, y)
    assert res.ccc == pytest.approx(ref["est"], rel=1e-12)
    assert res.ci_low == pytest.approx(ref["lower"], rel=1e-10)
    assert res.ci_high == pytest.approx(ref["upper"], rel=1e-10)
    assert res.scale_shift == pytest.approx(ref["s.shift"], rel=1e-12)
    assert res.location_shift == pytest.approx(ref["l.shift"], rel=1e-12)
    assert res.bias_correction == pytest.approx(ref["C.b"], rel=1e-12)



# epiR 2.0.57's epi.ccc on R 4.2.2: tests/test_metrics_ccc.R prints these rows
# (data set, ci, conf.level, est, lower, upper).
EPIR_CCC = [
    ("pefr", "z-transform", 0.95, 0.942742431427484, 0.850491873168560, 0.978726279170122),
    ("pefr", "z-transform", 0.90, 0.942742431427484, 0.871430224644912, 0.975028565697134),
    ("pefr", "asymptotic", 0.95, 0.942742431427484, 0.886654656649574, 0.998830206205395),
    ("pefr", "asymptotic", 0.90, 0.942742431427484, 0.895672087023818, 0.989812775831151),
    ("four", "z-transform", 0.95, 0.976789168278530, 0.756556878450768, 0.998012424686312),
    ("four", "z-transform", 0.90, 0.976789168278530, 0.829502410739940, 0.997045639867473),
    ("four", "asymptotic", 0.95, 0.976789168278530, 0.920160866775998, 1.033417469781062),
    ("four", "asymptotic", 0.90, 0.976789168278530, 0.929265199547849, 1.024313137009211),
    ("five", "z-transform", 0.95, 0.938967136150235, 0.628639684076716, 0.991347072172159),
    ("five", "z-transform", 0.90, 0.938967136150235, 0.715490249852235, 0.988122614119277),
    ("five", "asymptotic", 0.95, 0.938967136150235, 0.821799729675674, 1.056134542624796),
    ("five", "asymptotic", 0.90, 0.938967136150235, 0.840637148956411, 1.037297123344058),
]
CCC_SETS = {"pefr": (WRIGHT, MINI_WRIGHT),
            "four": ([2.5, 0.0, 2, 8], [3, -0.5, 2, 7]),
            "five": ([1.0, 2.0, 3.0, 4.0, 5.0], [1.5, 1.9, 3.4, 3.9, 6.0])}


@pytest.mark.parametrize(("name", "ci", "level", "est", "lower", "upper"), EPIR_CCC)
def test_ccc_matches_epir_for_both_interval_methods(name, ci, level, est, lower, upper):
    res = lins_ccc(*CCC_SETS[name], confidence=level, ci=ci)
    assert res.ccc == pytest.approx(est, abs=1e-12)
    assert (res.ci_low, res.ci_high) == (pytest.approx(lower, abs=1e-12),
                                         pytest.approx(upper, abs=1e-12))
    assert res.ci == ci


def test_asymptotic_ccc_interval_is_symmetric_and_unclipped():
    res = lins_ccc(*CCC_SETS["four"], ci="asymptotic")
    assert res.ccc - res.ci_low == pytest.approx(res.ci_high - res.ccc)
    assert res.ci_high > 1  # as epiR returns it (the z-transform keeps it inside)
    assert res.ci_high - res.ccc == pytest.approx(stats.norm.ppf(0.975) * res.se)
    with pytest.raises(ValueError, match="z-transform, asymptotic"):
        lins_ccc(*CCC_SETS["four"], ci="bootstrap")

def test_ccc_pefr_values_pinned():
    # Bland & Altman 1986 PEFR data; values of the epiR algorithm (above),
    # pinned so that a change of formula is noticed.
    res = lins_ccc(WRIGHT, MINI_WRIGHT)
    assert res.n == 17
    assert res.ccc == pytest.approx(0.942742, abs=1e-6)
    assert res.ci_low == pytest.approx(0.850492, abs=1e-6)
    assert res.ci_high == pytest.approx(0.978726, abs=1e-6)
    # 90 % interval is narrower
    narrow = lins_ccc(WRIGHT, MINI_WRIGHT, confidence=0.90)
    assert res.ci_low < narrow.ci_low < narrow.ci_high < res.ci_high


def test_ccc_nan_policy():
    x = [1.0, 2.0, np.nan, 4.0, 5.0, 6.0]
    y = [1.2, 2.1, 3.0, np.nan, 5.5, 5.9]
    with pytest.raises(ValueError, match=r"2 of 6 pair\(s\).*positions \[2, 3\]"):
        lins_ccc(x, y)
    omitted = lins_ccc(x, y, nan_policy="omit")
    clean = lins_ccc([1.0, 2.0, 5.0, 6.0], [1.2, 2.1, 5.5, 5.9])
    assert omitted.ccc == pytest.approx(clean.ccc)
    assert (omitted.n, omitted.n_omitted) == (4, 2)
    propagated = lins_ccc(x, y, nan_policy="propagate")
    assert math.isnan(propagated.ccc) and math.isnan(propagated.ci_low)
    with pytest.raises(ValueError, match="nan_policy"):
        lins_ccc(x, y, nan_policy="drop")


def test_ccc_input_errors_and_degenerate_cases():
    with pytest.raises(ValueError, match="same length"):
        lins_ccc([1, 2, 3], [1, 2])
    with pytest.raises(ValueError, match="infinite"):
        lins_ccc([1, 2, np.inf], [1, 2, 3])
    two = lins_ccc([1.0, 2.0], [1.0, 3.0])
    assert not math.isnan(two.ccc) and math.isnan(two.ci_low)    # CI needs n >= 3
    const = lins_ccc([2.0, 2.0, 2.0], [1.0, 2.0, 3.0])
    assert math.isnan(const.pearson_r) and math.isnan(const.ci_low)
    assert const.ccc == pytest.approx(0.0)


def test_ccc_result_as_dict_has_the_documented_fields():
    d = lins_ccc(WRIGHT, MINI_WRIGHT).as_dict()
    for key in ("ccc", "ci_low", "ci_high", "n", "pearson_r", "bias_correction",
                "location_shift", "scale_shift"):
        assert key in d


# --------------------------------------------------------------------------
# Pearson and r^2
# --------------------------------------------------------------------------

def test_pearson_pefr_matches_bland_altman_1986():
    # Bland & Altman 1986: "For the data in fig 1, r = 0.94 (p < 0.001)".
    res = pearson(WRIGHT, MINI_WRIGHT)
    assert round(res.r, 2) == 0.94
    assert res.p_value < 0.001
    z = math.atanh(res.r)
    se = 1 / math.sqrt(17 - 3)
    assert res.ci_low == pytest.approx(math.tanh(z - 1.959963985 * se), rel=1e-8)
    assert res.ci_high == pytest.approx(math.tanh(z + 1.959963985 * se), rel=1e-8)


def test_r_squared_fisher_interval_written_out():
    res = r_squared(WRIGHT, MINI_WRIGHT)
    r = np.corrcoef(WRIGHT, MINI_WRIGHT)[0, 1]
    z, se, q = math.atanh(r), 1 / math.sqrt(17 - 3), stats.norm.ppf(0.975)
    lo, hi = math.tanh(z - q * se), math.tanh(z + q * se)
    assert res.r_squared == pytest.approx(r ** 2)
    assert res.ci_low == pytest.approx(lo ** 2, rel=1e-8)
    assert res.ci_high == pytest.approx(hi ** 2, rel=1e-8)
    assert res.p_value == pytest.approx(stats.pearsonr(WRIGHT, MINI_WRIGHT).pvalue)
    assert res.method == "fisher"


def test_r_squared_interval_containing_zero_starts_at_zero():
    x = [1.0, 2.0, 3.0, 4.0, 5.0, 6.0]
    y = [2.0, 1.0, 4.0, 3.0, 1.5, 2.5]
    pr = pearson(x, y)
    assert pr.ci_low < 0 < pr.ci_high
    res = r_squared(x, y)
    assert res.ci_low == 0.0
    assert res.ci_high == pytest.approx(max(pr.ci_low ** 2, pr.ci_high ** 2))
    assert res.ci_low <= res.r_squared <= res.ci_high


def test_r_squared_negative_correlation_orders_squared_bounds():
    x = np.arange(10.0)
    y = -x + np.array([0.3, -0.2, 0.1, 0.5, -0.4, 0.2, -0.1, 0.0, 0.3, -0.3])
    pr = pearson(x, y)
    res = r_squared(x, y)
    assert pr.ci_high < 0
    assert res.ci_low == pytest.approx(pr.ci_high ** 2)
    assert res.ci_high == pytest.approx(pr.ci_low ** 2)


def test_r_squared_olkin_finn_interval():
    res = r_squared(WRIGHT, MINI_WRIGHT, method="olkin-finn")
    r2, n = res.r_squared, 17
    # Cohen et al. 2003 section 3.6.2 (psychometric::CI.Rsq, k = 1)
    se = math.sqrt(4 * r2 * (1 - r2) ** 2 * (n - 1 - 1) ** 2 / ((n ** 2 - 1) * (n + 3)))
    assert res.ci_low == pytest.approx(r2 - stats.norm.ppf(0.975) * se)
    assert res.ci_high == pytest.approx(r2 + stats.norm.ppf(0.975) * se)
    with pytest.raises(ValueError, match="method"):
        r_squared(WRIGHT, MINI_WRIGHT, method="bootstrap")


def test_pearson_degenerate_inputs_give_nan():
    assert math.isnan(pearson([1.0, 2.0], [1.0, 2.0]).r)
    assert math.isnan(pearson([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]).r)
    assert math.isnan(r_squared([1.0, 1.0, 1.0], [1.0, 2.0, 3.0]).ci_low)


# --------------------------------------------------------------------------
# Bland-Altman
# --------------------------------------------------------------------------

def test_bland_altman_hand_computed():
    x = [10.0, 12.0, 14.0, 16.0]
    y = [9.0, 12.0, 15.0, 14.0]
    # d = x - y = [1, 0, -1, 2]; mean 0.5; SS = 0.25 + 0.25 + 2.25 + 2.25 = 5
    sd = math.sqrt(5 / 3)
    res = bland_altman(x, y)
    assert res.bias == pytest.approx(0.5)
    assert res.sd == pytest.approx(sd)
    assert res.loa_low == pytest.approx(0.5 - 1.96 * sd)
    assert res.loa_high == pytest.approx(0.5 + 1.96 * sd)
    t = 3.182446  # t(0.975, df=3)
    assert res.bias_ci_low == pytest.approx(0.5 - t * sd / 2, abs=1e-6)
    se_1999 = sd * math.sqrt(1 / 4 + 1.96 ** 2 / (2 * 3))   # Bland & Altman 1999
    assert res.loa_se == pytest.approx(se_1999)
    assert res.loa_high_ci_high == pytest.approx(res.loa_high + t * se_1999, abs=1e-6)
    assert res.loa_low_ci_low == pytest.approx(res.loa_low - t * se_1999, abs=1e-6)


def test_bland_altman_1986_lancet_pefr_example():
    # Published in Bland & Altman, Lancet 1986 (also asserted in R blandr,
    # tests/testthat/test-pefr.r): d = -2.1, s = 38.8 L/min, limits d -/+ 2s =
    # -79.7 and 75.5; SE(d) = 9.4, 95 % CI of d -22.0 to 17.8; SE of a limit
    # sqrt(3 s^2 / n) = 16.3, t = 2.12; CIs -114.3 to -45.1 and 40.9 to 110.1.
    res = bland_altman(WRIGHT, MINI_WRIGHT, limits=2.0, ci_method="1986")
    d, s = round(res.bias, 1), round(res.sd, 1)
    assert (d, s) == (-2.1, 38.8)
    assert (round(d - 2 * s, 1), round(d + 2 * s, 1)) == (-79.7, 75.5)
    assert round(res.sd / math.sqrt(res.n), 1) == 9.4
    assert (round(res.bias_ci_low, 1), round(res.bias_ci_high, 1)) == (-22.0, 17.8)
    assert round(res.loa_se, 1) == 16.3
    assert res.loa_se == pytest.approx(math.sqrt(3 * res.sd ** 2 / 17))
    t = round(stats.t.ppf(0.975, 16), 2)
    assert t == 2.12
    # The paper's arithmetic on its rounded numbers:
    lo, hi, se = d - 2 * s, d + 2 * s, round(res.loa_se, 1)
    assert round(lo - t * se, 1) == -114.3 and round(lo + t * se, 1) == -45.1
    assert round(hi - t * se, 1) == 40.9 and round(hi + t * se, 1) == 110.1
    # Unrounded results stay within rounding distance of the published limits.
    published = (-114.3, -45.1, 40.9, 110.1)
    ours = (res.loa_low_ci_low, res.loa_low_ci_high, res.loa_high_ci_low, res.loa_high_ci_high)
    assert np.allclose(ours, published, atol=0.2)


def test_bland_altman_196_limits_analyse_it_pefr():
    # Analyse-it tutorial on the same data (mini Wright - Wright), 1.96 SD:
    # mean difference 2.1 L/min, limits of agreement -73.9 to 78.1.
    res = bland_altman(MINI_WRIGHT, WRIGHT)
    assert round(res.bias, 1) == 2.1
    assert (round(res.loa_low, 1), round(res.loa_high, 1)) == (-73.9, 78.1)
    # 1999 SE is larger than the 1986 one for the same k
    res86 = bland_altman(MINI_WRIGHT, WRIGHT, ci_method="1986")
    assert res.loa_se > res86.loa_se


def test_bland_altman_nan_and_argument_errors():
    with pytest.raises(ValueError, match="1 of 3"):
        bland_altman([1.0, 2.0, np.nan], [1.0, 2.0, 3.0])
    res = bland_altman([1.0, 2.0, np.nan, 4.0], [1.5, 2.0, 3.0, 3.0], nan_policy="omit")
    assert (res.n, res.n_omitted) == (3, 1)
    with pytest.raises(ValueError, match="ci_method"):
        bland_altman([1.0, 2.0], [1.0, 2.0], ci_method="2011")
    assert math.isnan(bland_altman([1.0], [2.0]).sd)


# --------------------------------------------------------------------------
# agreement (Table 2 layout)
# --------------------------------------------------------------------------

def _cohort() -> pd.DataFrame:
    rng = np.random.default_rng(7)
    vendors = ["GE"] * 8 + ["SIEMENS"] * 10 + ["PHILIPS"] * 6 + ["CANON"] * 2 + [None]
    ref = rng.gamma(2.0, 6.0, size=len(vendors))
    pred = 0.9 * ref + rng.normal(0, 1.5, size=len(vendors))
    dsc = rng.uniform(0.3, 0.8, size=len(vendors))
    dsc[3] = np.nan
    return pd.DataFrame({"ct_vendor": vendors, "la_pred_ml": pred, "la_ct_ml": ref,
                         "dice": dsc})


def test_agreement_table2_layout_and_order():
    frame = _cohort()
    table = agreement(frame, "la_pred_ml", "la_ct_ml", by="ct_vendor", dice="dice",
                      order=["SIEMENS", "GE", "PHILIPS", "CANON"])
    assert list(table.columns) == ["All", "SIEMENS", "GE", "PHILIPS", "CANON", "missing"]
    assert list(table.index) == list(metrics.AGREEMENT_ROWS)
    assert table.loc["n"].tolist() == [27, 10, 8, 6, 2, 1]
    # n < 3: NaN metrics, not an exception; n recorded
    assert np.isnan(table.loc[["r2", "ccc", "dice"], "CANON"].astype(float)).all()
    assert np.isnan(table.loc["ccc", "missing"])
    # Each column equals the direct computation on its rows.
    ge = frame[frame.ct_vendor == "GE"]
    ccc = lins_ccc(ge.la_pred_ml, ge.la_ct_ml)
    r2 = r_squared(ge.la_pred_ml, ge.la_ct_ml)
    ds = dice_summary(ge.dice)
    assert table.loc["ccc", "GE"] == pytest.approx(ccc.ccc)
    assert table.loc["ccc_ci_low", "GE"] == pytest.approx(ccc.ci_low)
    assert table.loc["r2_ci_high", "GE"] == pytest.approx(r2.ci_high)
    assert table.loc["dice", "GE"] == pytest.approx(ds.mean)
    assert table.loc["dice_n_undefined", "GE"] == 1
    every = lins_ccc(frame.la_pred_ml, frame.la_ct_ml)
    assert table.loc["ccc", "All"] == pytest.approx(every.ccc)


def test_agreement_default_order_and_absent_groups():
    frame = _cohort()
    table = agreement(frame, "la_pred_ml", "la_ct_ml", by="ct_vendor")
    assert list(table.columns) == ["All", "GE", "SIEMENS", "PHILIPS", "CANON", "missing"]
    assert not any(row.startswith("dice") for row in table.index)
    listed = agreement(frame.dropna(subset=["ct_vendor"]), "la_pred_ml", "la_ct_ml",
                       by="ct_vendor", order=["TOSHIBA", "GE"])
    assert list(listed.columns) == ["All", "TOSHIBA", "GE", "SIEMENS", "PHILIPS", "CANON"]
    assert listed.loc["n", "TOSHIBA"] == 0
    cat = frame.assign(ct_vendor=pd.Categorical(frame.ct_vendor,
                                                categories=["PHILIPS", "CANON", "GE", "SIEMENS"]))
    assert list(agreement(cat, "la_pred_ml", "la_ct_ml", by="ct_vendor").columns)[1:5] == [
        "PHILIPS", "CANON", "GE", "SIEMENS"]


def test_agreement_nan_policy_and_long_format():
    frame = _cohort()
    frame.loc[0, "la_ct_ml"] = np.nan          # a GE subject
    with pytest.raises(ValueError, match=r"group 'All'.*1 of 27"):
        agreement(frame, "la_pred_ml", "la_ct_ml", by="ct_vendor")
    long = agreement(frame, "la_pred_ml", "la_ct_ml", by="ct_vendor",
                     nan_policy="omit", wide=False)
    assert long.loc["All", "n"] == 26 and long.loc["All", "n_omitted"] == 1
    assert long.loc["GE", "n"] == 7 and long.loc["GE", "n_omitted"] == 1
    assert long.loc["SIEMENS", "n_omitted"] == 0
    assert str(long["n"].dtype) == "Int64"
    with pytest.raises(KeyError, match="nope"):
        agreement(frame, "la_pred_ml", "nope")


def test_agreement_without_groups():
    frame = _cohort()
    table = agreement(frame, "la_pred_ml", "la_ct_ml")
    assert list(table.columns) == ["All"]


# --------------------------------------------------------------------------
# infarct groups
# --------------------------------------------------------------------------

def test_infarct_group_labels_and_boundary():
    groups = infarct_group([0.0, 4.2, 10.0, 10.01, 55.0])
    assert groups.tolist() == ["≤10 mL", "≤10 mL", "≤10 mL", ">10 mL", ">10 mL"]
    assert list(groups.cat.categories) == ["≤10 mL", ">10 mL"]
    assert infarct_group([5.0, 6.0], threshold=5).tolist() == ["≤5 mL", ">5 mL"]


def test_infarct_group_missing_stays_missing_and_is_counted():
    volumes = pd.Series([3.0, np.nan, 12.0], index=["S-1", "S-2", "S-3"])
    groups = infarct_group(volumes)
    assert list(groups.index) == ["S-1", "S-2", "S-3"]
    assert groups.isna().tolist() == [False, True, False]
    assert groups.value_counts(dropna=False).sum() == 3


def test_infarct_group_rejects_negative_volumes():
    with pytest.raises(ValueError, match=r"1 negative.*\[1\]"):
        infarct_group([2.0, -0.5, 3.0])
    with pytest.raises(ValueError, match="threshold"):
        infarct_group([2.0], threshold=-1)


def test_infarct_group_feeds_agreement():
    frame = _cohort().dropna(subset=["ct_vendor"])
    frame["infarct_ml"] = np.linspace(0, 30, len(frame))
    frame["infarct_group"] = infarct_group(frame["infarct_ml"])
    table = agreement(frame, "la_pred_ml", "la_ct_ml", by="infarct_group")
    assert list(table.columns) == ["All", "≤10 mL", ">10 mL"]
    assert table.loc["n", "≤10 mL"] + table.loc["n", ">10 mL"] == table.loc["n", "All"]
