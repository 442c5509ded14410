"""Does a reproduced value support the paper's statement? The ledger's *finding* verdicts.

The exact status of a claim (:data:`leukoct.ledger.STATUSES`) asks whether this
run printed the paper's number.  On the digital twin, scaled down by design and
with its own noise, that is the wrong question for most claims: a reviewer
wants to know whether the *finding* emerged -- agreement the paper calls
excellent, a correlation it calls strong, an odds ratio above 1 and
significant.  :func:`finding_verdict` judges one claim by a rule stated per kind
of claim (:data:`FINDING_RULES`), in the paper's own words where it has them:

* **CCC** -- "excellent agreement": reproduced CCC ≥ 0.80.
* **r²** -- a strong linear relation: r² ≥ 0.64 (r ≥ 0.8).
* **Pearson r** -- of volumes ("high volume correlations", published abstract):
  r ≥ 0.80; with the Fazekas grade ("strong correlation", p < 0.001):
  r ≥ 0.60 and p < 0.001.
* **DSC** -- "relatively low" regional similarity, 0.53-0.56 in the paper: a
  reproduced DSC in the band 0.45-0.70.
* **odds ratio, regression coefficient** -- the printed direction and
  significance: same side of 1 (of 0) and significant at 0.05 exactly when
  the printed interval excludes 1 (0).
* **percentage, count of a baseline level** -- the twin draws its cohorts from
  the paper's: the paper's share lies in this run's 95 % Wilson interval.
  Counts are compared as shares of their cohort ("scaled by design");
  counts of a whole cohort or split (the flowchart, a subgroup's n) have no
  share to compare and are marked so.
* **mean** -- the paper's mean lies in this run's 95 % t interval.
* **median** -- the paper's median lies in this run's interquartile range.
* **significance, direction** -- the exact status already is the finding.
* **setting, formula** -- no finding.

All of it is a pure function of one claim and its reproduced value.
"""

from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd
from scipy import stats

from leukoct.ledger._common import MATCHES, NOT_RESULT_KINDS, SIGNIFICANCE_LEVEL

SUPPORTED = "supports the paper"
NOT_SUPPORTED = "does not support it"
SCALED = "scaled by design"
NO_FINDING = "no finding to test"
UNTESTED = "not tested in this run"
#: Every finding verdict, with its meaning, in the order the page counts them.
FINDINGS: dict[str, str] = {
    SUPPORTED: "the reproduced value supports the paper's statement by the claim's rule",
    NOT_SUPPORTED: "it does not",
    SCALED: "a count the demo scales down by design (a cohort or subgroup size): nothing to "
            "compare but its exact value",
    NO_FINDING: "a setting or a formula: no finding of the data",
    UNTESTED: "no reproduced value (the step did not run, too few subjects, or the data "
              "cannot hold it)",
}
#: The rule of each kind of claim, as the page prints it.
FINDING_RULES: dict[str, str] = {
    "ccc": "excellent agreement: CCC ≥ 0.80",
    "r2": "a strong linear relation: r² ≥ 0.64",
    "pearson_r": "high volume correlation: r ≥ 0.80",
    "pearson_r_fazekas": "strong correlation with the Fazekas grade: r ≥ 0.60 and p < 0.001",
    "dice": "relatively low, as the paper's: 0.45 ≤ DSC ≤ 0.70",
    "or": "the printed direction and significance (interval excludes 1 or not)",
    "coef": "the printed direction and significance (interval excludes 0 or not)",
    "percent": "the paper's share inside this run's 95 % Wilson interval",
    "count": "as a share of the cohort: the paper's share inside this run's 95 % Wilson interval",
    "mean": "the paper's mean inside this run's 95 % t interval",
    "median": "the paper's median inside this run's interquartile range",
    "significance": "the stated significance holds (exact status)",
    "direction": "the stated direction holds (exact status)",
}
CCC_EXCELLENT = 0.80
R2_STRONG = 0.64
R_HIGH = 0.80
R_FAZEKAS_STRONG = 0.60
FAZEKAS_P = 0.001
DICE_BAND = (0.45, 0.70)


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value)) or value == ""


def _wilson(k: float, n: float, confidence: float = 0.95) -> tuple[float, float]:
    from statsmodels.stats.proportion import proportion_confint

    low, high = proportion_confint(int(round(k)), int(round(n)), alpha=1 - confidence,
                                   method="wilson")
    return float(low), float(high)


def _r_p_value(r: float, n: float) -> float:
    """Two-sided p of Pearson's r (t with n - 2 degrees of freedom)."""
    if n < 3 or abs(r) >= 1:
        return 0.0 if abs(r) >= 1 else math.nan
    t = r * math.sqrt((n - 2) / (1 - r * r))
    return float(2 * stats.t.sf(abs(t), n - 2))


_P_TEXT = re.compile(r"p\s*([<=])\s*(0?\.\d+)", re.IGNORECASE)
_PERCENT_TEXT = re.compile(r"(\d+(?:\.\d+)?)\s*%")


def _printed_significance(claim: pd.Series, null: float) -> bool:
    """Significant at 0.05 as printed: an interval that excludes ``null``, or a p value."""
    if not _missing(claim["ci_low"]) and not _missing(claim["ci_high"]):
        return bool(claim["ci_low"] > null or claim["ci_high"] < null)
    match = _P_TEXT.search(str(claim["published"]))
    if match is None:
        return False
    p = float(match[2])
    return p <= SIGNIFICANCE_LEVEL if match[1] == "<" else p < SIGNIFICANCE_LEVEL


def _same_direction_and_significance(claim: pd.Series, value: pd.Series, null: float
                                     ) -> tuple[bool, str]:
    printed_significant = _printed_significance(claim, null)
    estimate, low, high = value["estimate"], value["ci_low"], value["ci_high"]
    if _missing(low) or _missing(high):
        return False, "no interval reproduced"
    significant = low > null or high < null
    same_side = (estimate - null) * (claim["estimate"] - null) > 0
    words = "significant" if significant else "not significant"
    printed = "significant" if printed_significant else "not significant"
    side = "same side of" if same_side else "other side of"
    holds = (same_side and significant == printed_significant) or (
        not printed_significant and not significant)
    return holds, f"{side} {null:g}; {words} (paper: {printed})"


def finding_verdict(claim: pd.Series, value: pd.Series | None, status: str,
                    sd: float = math.nan, sizes: dict[str, float] | None = None
                    ) -> tuple[str, str]:
    """The finding verdict of one claim, and the rule it was judged by.

    Parameters
    ----------
    claim
        One row of :func:`leukoct.ledger.read_claims`.
    value
        Its reproduced value row (``estimate, ci_low, ci_high, n``), or
        ``None``.
    status
        Its exact status (:func:`leukoct.ledger.ledger_table`).
    sd
        The reproduced SD for a mean claim (NaN if none).
    sizes
        The paper's cohort sizes (``group`` -> n, from the flowchart claims),
        to turn a published count into a share.

    Returns
    -------
    tuple
        ``(verdict, rule)``: one of :data:`FINDINGS` and the rule's words
        (with what this run gave, where it is not plain from the value).
    """
    kind = claim["kind"]
    if kind in NOT_RESULT_KINDS:
        return NO_FINDING, ""
    if kind == "count" and not (sizes and claim["group"] in sizes
                                and claim["comparison"] not in ("flow", "subjects", "sites")):
        return SCALED, "compared exactly (status)"
    rule = FINDING_RULES.get(kind, "")
    if kind == "pearson_r" and claim["comparison"] == "vs_fazekas":
        rule = FINDING_RULES["pearson_r_fazekas"]
    if value is None or _missing(value["estimate"]):
        return UNTESTED, rule
    if kind in ("significance", "direction"):
        return (SUPPORTED if status == MATCHES else NOT_SUPPORTED), rule
    estimate, n = float(value["estimate"]), value["n"]
    if kind == "ccc":
        return (SUPPORTED if estimate >= CCC_EXCELLENT else NOT_SUPPORTED), rule
    if kind == "r2":
        return (SUPPORTED if estimate >= R2_STRONG else NOT_SUPPORTED), rule
    if kind == "pearson_r":
        if claim["comparison"] == "vs_fazekas":
            p = _r_p_value(estimate, float(n)) if not _missing(n) else math.nan
            holds = estimate >= R_FAZEKAS_STRONG and p < FAZEKAS_P
            return (SUPPORTED if holds else NOT_SUPPORTED), f"{rule} (p = {p:.2g})"
        return (SUPPORTED if estimate >= R_HIGH else NOT_SUPPORTED), rule
    if kind == "dice":
        low, high = DICE_BAND
        return (SUPPORTED if low <= estimate <= high else NOT_SUPPORTED), rule
    if kind in ("or", "coef"):
        holds, how = _same_direction_and_significance(claim, value, 1.0 if kind == "or" else 0.0)
        return (SUPPORTED if holds else NOT_SUPPORTED), f"{rule}: {how}"
    if kind in ("percent", "count"):
        if _missing(n) or float(n) <= 0:
            return UNTESTED, rule
        k = estimate * float(n) / 100 if kind == "percent" else estimate
        # A count's share is the percentage the paper prints beside it, else the
        # count over its cohort (the printed share need not use the cohort's size).
        printed = _PERCENT_TEXT.search(str(claim["published"]))
        if kind == "percent":
            target = claim["estimate"] / 100
        elif printed is not None:
            target = float(printed[1]) / 100
        else:
            target = claim["estimate"] / float(sizes[claim["group"]])
        low, high = _wilson(k, float(n))
        how = (f"{rule}: paper {100 * target:.1f} %, this run {100 * k / float(n):.1f} % "
               f"({100 * low:.1f}-{100 * high:.1f})")
        return (SUPPORTED if low <= target <= high else NOT_SUPPORTED), how
    if kind == "mean":
        if _missing(n) or float(n) < 2 or _missing(sd):
            return UNTESTED, rule
        half = stats.t.ppf(0.975, float(n) - 1) * float(sd) / math.sqrt(float(n))
        how = f"{rule}: {estimate - half:.1f}-{estimate + half:.1f}"
        return (SUPPORTED if abs(claim["estimate"] - estimate) <= half else NOT_SUPPORTED), how
    if kind == "median":
        low, high = value["ci_low"], value["ci_high"]
        if _missing(low) or _missing(high):
            return UNTESTED, rule
        return (SUPPORTED if low <= claim["estimate"] <= high else NOT_SUPPORTED), rule
    return UNTESTED, rule


def finding_counts(table: pd.DataFrame) -> dict[str, int]:
    """How many claims got each finding verdict, in :data:`FINDINGS`' order."""
    counts = table["finding"].value_counts()
    return {verdict: int(counts.get(verdict, 0)) for verdict in FINDINGS}

