"""Tests of leukoct.ledger.findings: each kind's rule on hand-made claims."""

from __future__ import annotations

import math

import pandas as pd
import pytest

from leukoct.ledger import findings as F
from leukoct.ledger._common import DIFFERS, MATCHES

SIZES = {"development": 482.0, "external": 390.0}


def _claim(kind: str, estimate: float, published: str = "", comparison: str = "x",
           group: str = "All", ci: tuple[float, float] = (math.nan, math.nan)) -> pd.Series:
    return pd.Series({"kind": kind, "estimate": estimate, "published": published,
                      "comparison": comparison, "group": group, "ci_low": ci[0],
                      "ci_high": ci[1]})


def _value(estimate: float, ci: tuple[float, float] = (math.nan, math.nan),
           n: float = math.nan) -> pd.Series:
    return pd.Series({"estimate": estimate, "ci_low": ci[0], "ci_high": ci[1], "n": n})


def _verdict(claim, value, status=DIFFERS, sd=math.nan):
    return F.finding_verdict(claim, value, status, sd, SIZES)[0]


@pytest.mark.parametrize(("reproduced", "expected"), [(0.81, F.SUPPORTED), (0.79, F.NOT_SUPPORTED)])
def test_ccc_is_judged_as_excellent_agreement(reproduced, expected):
    assert _verdict(_claim("ccc", 0.925), _value(reproduced)) == expected


def test_fazekas_correlation_needs_strength_and_p_below_0_001():
    claim = _claim("pearson_r", 0.832, "0.832; p<0.001", comparison="vs_fazekas")
    # r = 0.65: t = 0.65 sqrt(28 / (1 - 0.4225)) = 4.53 with 28 df -> p = 1e-4
    assert _verdict(claim, _value(0.65, n=30)) == F.SUPPORTED
    # the same r on 10 CTs: t = 2.42, 8 df -> p = 0.042, not < 0.001
    assert _verdict(claim, _value(0.65, n=10)) == F.NOT_SUPPORTED
    assert _verdict(claim, _value(0.55, n=300)) == F.NOT_SUPPORTED


def test_odds_ratios_keep_the_printed_direction_and_significance():
    significant = _claim("or", 1.64, "1.64 (1.10 – 2.46); P = 0.016", ci=(1.10, 2.46))
    assert _verdict(significant, _value(1.5, (1.1, 2.0))) == F.SUPPORTED
    assert _verdict(significant, _value(1.3, (0.6, 2.8))) == F.NOT_SUPPORTED
    assert _verdict(significant, _value(0.6, (0.4, 0.9))) == F.NOT_SUPPORTED   # wrong side
    null = _claim("or", 1.16, "1.16 (0.78 – 1.71); P = 0.46", ci=(0.78, 1.71))
    assert _verdict(null, _value(0.9, (0.5, 1.6))) == F.SUPPORTED            # not significant
    assert _verdict(null, _value(1.9, (1.2, 3.0))) == F.NOT_SUPPORTED


def test_a_coefficient_printed_with_a_p_value_only_is_read_as_significant():
    claim = _claim("coef", 0.436, "0.436; p<0.001", comparison="la_volume_ols", group="age")
    assert _verdict(claim, _value(0.44, (0.29, 0.58))) == F.SUPPORTED
    assert _verdict(claim, _value(0.10, (-0.05, 0.25))) == F.NOT_SUPPORTED


def test_wilson_interval_is_the_textbook_one():
    # Wilson (1927) by hand: k = 15, n = 55, z = 1.959964
    k, n, z = 15, 55, 1.959963985
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z / (1 + z * z / n) * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    low, high = F._wilson(k, n)
    assert (low, high) == (pytest.approx(centre - half, abs=1e-9),
                           pytest.approx(centre + half, abs=1e-9))


def test_shares_are_compared_with_the_runs_wilson_interval():
    women = _claim("percent", 33.2, "33.2%", comparison="sex:F", group="development")
    assert _verdict(women, _value(100 * 15 / 55, n=55)) == F.SUPPORTED     # Wilson 17.3-40.2 %
    assert _verdict(women, _value(10.0, n=100)) == F.NOT_SUPPORTED
    # a count is read as the share printed beside it, else count / the paper's cohort
    philips = _claim("count", 273, "n=273, 56.6%", comparison="mri_vendor:PHILIPS",
                     group="development")
    assert _verdict(philips, _value(34, n=55)) == F.SUPPORTED
    plain = _claim("count", 241, "241", comparison="mri_vendor:PHILIPS", group="development")
    assert F.finding_verdict(plain, _value(5, n=55), DIFFERS, math.nan, SIZES)[1].endswith(
        "paper 50.0 %, this run 9.1 % (3.9-19.6)")


def test_cohort_sizes_are_scaled_by_design():
    flow = _claim("count", 482, "482", comparison="flow", group="development")
    assert _verdict(flow, _value(55, n=55)) == F.SCALED
    assert _verdict(_claim("count", 91, "91 (22.1%)", comparison="subjects", group="GE"),
                    _value(9, n=9)) == F.SCALED


def test_means_and_medians():
    age = _claim("mean", 68.1, "68.1 (SD 12.7)", comparison="age", group="development")
    assert _verdict(age, _value(69.6, n=55), sd=13.2) == F.SUPPORTED  # 69.6 ± 3.57
    assert _verdict(age, _value(80.0, n=100), sd=5.0) == F.NOT_SUPPORTED
    assert _verdict(age, _value(69.6, n=55)) == F.UNTESTED             # no SD saved
    median = _claim("median", 11.2, "11.2 mL (IQR: 6.2–20.5 mL)")
    assert _verdict(median, _value(14.0, (6.8, 23.0))) == F.SUPPORTED
    assert _verdict(median, _value(40.0, (30.0, 60.0))) == F.NOT_SUPPORTED


def test_statements_follow_their_exact_status_and_settings_have_none():
    stated = _claim("significance", math.nan, "p < 0.05")
    assert _verdict(stated, _value(0.01), MATCHES) == F.SUPPORTED
    assert _verdict(stated, _value(0.30), DIFFERS) == F.NOT_SUPPORTED
    assert _verdict(_claim("setting", 1e-4, "1e-4"), None) == F.NO_FINDING
    assert _verdict(_claim("ccc", 0.9), None) == F.UNTESTED
