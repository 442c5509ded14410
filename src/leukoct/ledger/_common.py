"""Constants and small helpers of the claims ledger."""

from __future__ import annotations

import re
from typing import Any

import pandas as pd

from leukoct.baseline import VENDOR_NAMES
from leukoct.evaluation import VALUE_COLUMNS, value_row

#: Columns of ``leukoct/data/claims.csv`` (its header comment describes them).
CLAIM_COLUMNS: tuple[str, ...] = (
    "claim_id", "section", "location", "quote", "quantity", "published", "estimate", "ci_low",
    "ci_high", "artefact", "step", "comparison", "statistic", "group", "kind", "consistency",
    "version")
#: Versions of the paper a claim can come from (``version`` of ``claims.csv``).
VERSIONS: dict[str, str] = {
    "preprint": "the full text (preprint)",
    "published": "the published article's abstract (Brain Behav 2025)",
}
#: Columns of :func:`ledger_table`.
LEDGER_COLUMNS: tuple[str, ...] = ("claim_id", "version", "location", "quantity", "published",
                                   "reproduced", "difference", "status", "note", "finding",
                                   "finding_rule")
#: The key a claim and a reproduced value are joined on.
JOIN: tuple[str, ...] = ("artefact", "comparison", "statistic", "group")

# The status vocabulary, from the strongest agreement to no comparison at all.
MATCHES = "matches"
INSIDE_CI = "published value inside reproduced CI"
DIFFERS = "differs"
NOT_ESTIMABLE = "not estimable in this run"
NOT_PRODUCED = "not produced in this run"
NOT_REPRODUCIBLE = "not reproducible from these data"
NOT_A_RESULT = "not a result"
#: Every status of :func:`ledger_table`, in this order, with its meaning.
STATUSES: dict[str, str] = {
    MATCHES: "the reproduced value equals the published one at the printed precision, a "
             "count exactly; a statement of significance or direction holds",
    INSIDE_CI: "it does not, but the published value lies inside the reproduced 95 % CI",
    DIFFERS: "the reproduced value differs, or the statement does not hold",
    NOT_ESTIMABLE: "the step ran, but the value could not be estimated: too few subjects",
    NOT_PRODUCED: "this run saved no such value: the step did not run, or gave up",
    NOT_REPRODUCIBLE: "no run can reproduce it: the data do not record what it is about",
    NOT_A_RESULT: "a setting or a formula, not a result of the data",
}
#: Claim kinds that are no result of the data (a training setting, a formula).
NOT_RESULT_KINDS: tuple[str, ...] = ("setting", "formula")
#: Claim kinds whose ``ci_low``/``ci_high`` are a confidence interval (for a median
#: they are the IQR, for the US mean age the range: never compared as a CI).
CI_KINDS: tuple[str, ...] = ("dice", "ccc", "r2", "pearson_r", "or", "coef")
#: The paper's significance level (Methods, Statistical analysis).
SIGNIFICANCE_LEVEL = 0.05
#: Variables of claim keys (``comparison`` up to its ``:``) that these data can
#: never hold, with the reason the ledger prints.
UNREPRODUCIBLE: dict[str, str] = {
    "mri_slice_thickness_mm": "the manifest records no MRI slice thickness "
                              "(leukoct.schema has no such column)",
}
#: Suffix of the files of :func:`write_values`.
VALUES_SUFFIX = ".values.csv"

#: Datasets of the baseline tables, in the paper's order.
BASELINE_GROUPS: tuple[str, ...] = ("development", "external", "us", "clinical")
#: Variables summarised as mean (statistics ``mean``, ``sd``, ``min``, ``max``).
BASELINE_MEANS: tuple[str, ...] = ("age", "bmi")
#: Variables summarised as median with the IQR in ``ci_low``/``ci_high``.
BASELINE_MEDIANS: tuple[str, ...] = ("ct_mri_interval_h", "wmh_flair_ml", "infarct_volume_ml",
                                     "nihss")
#: Categorical variables: one key ``variable:level`` per level (statistics ``n``, ``pct``).
BASELINE_LEVELS: tuple[str, ...] = (
    "sex", "slice_class", "ct_vendor", "mri_vendor", "ct_kvp", "ct_slice_thickness_mm",
    "mri_field_strength_t", "prior_stroke", "hypertension", "diabetes", "hyperlipidemia",
    "smoking", "atrial_fibrillation", "coronary_artery_disease", "revascularization", "mrs_3m")
# Levels are keyed as paper_table1.csv and claims.csv spell them: vendor codes,
# booleans as True/False, slice classes without the unit, numbers with :g except
# the field strength, which Table S1 prints with one decimal (3.0 T).
_BINARY = ("prior_stroke", "hypertension", "diabetes", "hyperlipidemia", "smoking",
           "atrial_fibrillation", "coronary_artery_disease", "revascularization")
_LEVEL_DECIMALS = {"mri_field_strength_t": 1}
_VENDOR_CODES = {name: code for code, name in VENDOR_NAMES.items()}
_NUMBER = re.compile(r"\d[\d,]*(?:\.(\d+))?")
_NAME = re.compile(r"^[A-Za-z0-9_-]+$")
_ALL = "All"


# --------------------------------------------------------------------------
# helpers
# --------------------------------------------------------------------------


def _row(comparison: str, statistic: str, group: Any, estimate: Any, ci_low: Any = None,
         ci_high: Any = None, n: Any = None) -> dict[str, Any]:
    # The ledger joins on text keys: a numeric group becomes text.
    return value_row(comparison, statistic, str(group), estimate, ci_low, ci_high, n)


def _frame(rows: list[dict[str, Any]]) -> pd.DataFrame:
    """A values table: key columns as text, numbers as float (``n`` too: it may be NaN)."""
    frame = pd.DataFrame(rows, columns=list(VALUE_COLUMNS))
    for column in ("comparison", "statistic", "group"):
        frame[column] = frame[column].astype(object).astype(str)
    for column in ("estimate", "ci_low", "ci_high", "n"):
        frame[column] = pd.to_numeric(frame[column]).astype(float)
    return frame
