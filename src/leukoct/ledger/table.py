"""The ledger: each claim beside its reproduced value, with a status."""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from leukoct.evaluation import VALUE_COLUMNS, format_estimate
from leukoct.evaluation import is_missing as _missing
from leukoct.ledger._common import (
    _NUMBER,
    CI_KINDS,
    DIFFERS,
    INSIDE_CI,
    JOIN,
    LEDGER_COLUMNS,
    MATCHES,
    NOT_A_RESULT,
    NOT_ESTIMABLE,
    NOT_PRODUCED,
    NOT_REPRODUCIBLE,
    NOT_RESULT_KINDS,
    SIGNIFICANCE_LEVEL,
    UNREPRODUCIBLE,
)
from leukoct.ledger.findings import finding_verdict
from leukoct.ledger.values import derived_values
from leukoct.messages import require_columns

# --------------------------------------------------------------------------
# the ledger
# --------------------------------------------------------------------------

def _decimals(published: str) -> int | None:
    """Decimals of the first number printed (``None`` when it is a word: "five")."""
    match = _NUMBER.search(published)
    if match is None:
        return None
    return len(match.group(1) or "")


def _expected_sign(published: str, claim_id: str) -> int:
    text = published.lower()
    if any(w in text for w in ("decreas", "lower", "fell", "fall", "smaller", "negative")):
        return -1
    if any(w in text for w in ("increas", "higher", "rose", "rise", "greater", "positive")):
        return 1
    raise ValueError(f"claim {claim_id}: no direction in {published!r} (increased / lower ...)")


def _expects_significance(published: str, claim_id: str) -> bool:
    text = published.lower().replace(" ", "")
    if "notsignificant" in text or "n.s" in text or "p>" in text or "p≥" in text:
        return False
    if "p<" in text or "significant" in text:
        return True
    printed = re.search(r"p=(0?\.\d+)", text)
    if printed:
        return float(printed[1]) < SIGNIFICANCE_LEVEL
    raise ValueError(f"claim {claim_id}: no significance statement in {published!r}")


def _p_text(p: float) -> str:
    return "p < 0.001" if p < 0.001 else f"p = {p:.3f}"


def _formatted(kind: str, digits: int, value: pd.Series, sd: float) -> str:
    estimate, low, high = value["estimate"], value["ci_low"], value["ci_high"]
    if kind == "count":
        return f"{estimate:,.0f}" if float(estimate).is_integer() else f"{estimate:,.2f}"
    if kind == "percent":
        return f"{estimate:.{digits}f}%"
    if kind == "mean":
        return f"{estimate:.{digits}f}" + ("" if _missing(sd) else f" (SD {sd:.{digits}f})")
    if kind == "median":
        return f"{estimate:.{digits}f}" + (
            "" if _missing(low) or _missing(high) else f" (IQR {low:.{digits}f}–{high:.{digits}f})")
    return format_estimate(estimate, low, high, digits)


def _judge(claim: pd.Series, value: pd.Series | None, sd: float, has_artefact: bool
           ) -> tuple[str, float, str, str]:
    """(reproduced, difference, status, note) of one claim."""
    kind, published = claim["kind"], claim["published"]
    if kind in NOT_RESULT_KINDS:
        return "", math.nan, NOT_A_RESULT, f"a {kind}: nothing to reproduce from data"
    variable = claim["comparison"].split(":", 1)[0]
    if variable in UNREPRODUCIBLE:
        return "", math.nan, NOT_REPRODUCIBLE, UNREPRODUCIBLE[variable]
    key = "/".join(claim[c] for c in ("comparison", "statistic", "group"))
    if value is None:
        note = (f"{claim['artefact']}'s values have no {key}" if has_artefact
                else f"no values saved for {claim['artefact']}")
        return "–", math.nan, NOT_PRODUCED, note
    n = value["n"]
    size = "" if _missing(n) else f"n = {n:.0f}"
    estimate = value["estimate"]
    if _missing(estimate):
        return "–", math.nan, NOT_ESTIMABLE, size or "no estimate"
    if kind == "significance":
        significant = estimate < SIGNIFICANCE_LEVEL
        holds = significant == _expects_significance(published, claim["claim_id"])
        note = (f"{'significant' if significant else 'not significant'} at "
                f"{SIGNIFICANCE_LEVEL:g}" + (f"; {size}" if size else ""))
        return _p_text(estimate), math.nan, MATCHES if holds else DIFFERS, note
    if kind == "direction":
        expected = _expected_sign(published, claim["claim_id"])
        sign = int(np.sign(estimate))
        words = {1: "positive", -1: "negative", 0: "zero"}
        note = f"expected {words[expected]}, reproduced {words[sign]}" + (
            f"; {size}" if size else "")
        return f"{estimate:+.3f}", math.nan, MATCHES if sign == expected else DIFFERS, note
    digits = _decimals(published)
    target = claim["estimate"]
    difference = estimate - target
    reproduced = _formatted(kind, 3 if digits is None else digits, value, sd)
    if kind == "count":
        close = float(estimate) == float(target)
    else:
        # Agreement at the printed precision: within half a unit of its last digit.
        close = abs(difference) <= 0.5 * 10.0 ** -(digits or 0) + 1e-9
    if close:
        status = MATCHES
    elif (kind in CI_KINDS and not _missing(value["ci_low"]) and not _missing(value["ci_high"])
          and value["ci_low"] <= target <= value["ci_high"]):
        status = INSIDE_CI
    else:
        status = DIFFERS
    # Shown one decimal finer than the paper printed: enough to read, no false precision.
    shown = round(float(difference), (3 if digits is None else digits) + 1)
    return reproduced, shown, status, size


def ledger_table(claims: pd.DataFrame, values: pd.DataFrame) -> pd.DataFrame:
    """Every claim beside the value this run reproduced.

    Claims join values on ``(artefact, comparison, statistic, group)``.  The
    values are completed with :func:`derived_values` (Table 2's vendor ranges,
    Figure S3's subgroup difference) where they lack them.  A key may occur
    more than once (a notebook saving the values of several results for one
    artefact, or a derived value it saved itself); the first occurrence, in
    file order, is used, as :func:`leukoct.evaluation.compare_with_paper` does,
    so that a value saved explicitly wins over one derived here.

    Parameters
    ----------
    claims
        :func:`read_claims`.
    values
        :func:`read_values` (``artefact`` and :data:`VALUE_COLUMNS`); may be
        empty.

    Returns
    -------
    pandas.DataFrame
        One row per claim, in the claims' order, :data:`LEDGER_COLUMNS`:
        ``version`` of the paper that prints it (:data:`VERSIONS`;
        ``preprint`` when the claims file has no such column); ``published``
        as printed; ``reproduced`` formatted like the claim (a count as an
        integer, a percentage, a mean with its SD, a median with its IQR,
        other estimates with their 95 % CI at the printed number of decimals,
        a p value for a significance claim, the signed estimate for a
        direction claim, ``–`` when there is none); ``difference`` the
        reproduced minus the published estimate (NaN when either is missing);
        ``status`` one of :data:`STATUSES`; ``note`` why (``n``, the reason a
        value is missing); ``finding`` whether the value supports the paper's
        statement (:data:`leukoct.ledger.findings.FINDINGS`) and
        ``finding_rule`` the rule it was judged by
        (:func:`leukoct.ledger.findings.finding_verdict`).

        Tolerances: a count must be equal; any other number must agree to
        half a unit of the last printed digit (0.531 within ±0.0005); a
        claim of significance holds when the reproduced p is below
        :data:`SIGNIFICANCE_LEVEL` (and "not significant" when it is not); a
        direction claim when the reproduced estimate has the stated sign.

    Raises
    ------
    ValueError
        Missing columns; a direction or significance claim whose published
        text states none.
    """
    require_columns(claims, ["claim_id", "location", "quantity", "published", "estimate", "kind",
                             *JOIN], "claims (read_claims)")
    require_columns(values, ["artefact", *VALUE_COLUMNS], "values (read_values)")
    values = pd.concat([values[["artefact", *VALUE_COLUMNS]], derived_values(values)],
                       ignore_index=True)
    values[list(JOIN)] = values[list(JOIN)].astype(str)
    values = values.drop_duplicates(list(JOIN), keep="first")
    lookup = {key: row for key, (_, row) in zip(
        zip(*(values[c] for c in JOIN)), values.iterrows())}
    produced = set(values["artefact"])
    # The paper's cohort sizes (flowchart: analysed), to read a count as a share.
    flow = claims[(claims["comparison"] == "flow") & (claims["statistic"] == "analysed")]
    sizes = dict(zip(flow["group"], flow["estimate"].astype(float)))
    rows = []
    for _, claim in claims.iterrows():
        claim = claim.copy()
        for column in ("published", "kind", *JOIN):
            claim[column] = "" if _missing(claim[column]) else str(claim[column])
        key = tuple(claim[c] for c in JOIN)
        sd_row = lookup.get((key[0], key[1], "sd", key[3]))
        sd = math.nan if sd_row is None else sd_row["estimate"]
        reproduced, difference, status, note = _judge(claim, lookup.get(key), sd,
                                                      claim["artefact"] in produced)
        finding, rule = finding_verdict(claim, lookup.get(key), status, sd, sizes)
        rows.append({"claim_id": claim["claim_id"],
                     "version": claim.get("version", "preprint") or "preprint",
                     "location": claim["location"],
                     "quantity": claim["quantity"], "published": claim["published"],
                     "reproduced": reproduced, "difference": difference, "status": status,
                     "note": note, "finding": finding, "finding_rule": rule})
    table = pd.DataFrame(rows, columns=list(LEDGER_COLUMNS))
    table["difference"] = table["difference"].astype(float)
    return table
