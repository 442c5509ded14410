"""The claims-ledger page of the book (MyST Markdown)."""

from __future__ import annotations

import html
import re

import pandas as pd

from leukoct.evaluation import is_missing as _missing
from leukoct.ledger._common import (
    LEDGER_COLUMNS,
    SIGNIFICANCE_LEVEL,
    STATUSES,
)
from leukoct.ledger.checks import CHECK_COLUMNS
from leukoct.ledger.findings import FINDINGS
from leukoct.messages import require_columns

# --------------------------------------------------------------------------
# the page
# --------------------------------------------------------------------------

# Markdown (MyST, with dollarmath) would read these as markup, roles or math.
_MARKUP = re.compile(r"([\\`*_{}\[\]<>#|$~])")


def _text(text: str) -> str:
    return _MARKUP.sub(r"\\\1", str(text))


def _signed(difference: float) -> str:
    if _missing(difference):
        return ""
    if float(difference).is_integer():
        return f"{difference:+.0f}" if difference else "0"
    return f"{difference:+.4f}".rstrip("0").rstrip(".")


def _claims_html(rows: pd.DataFrame) -> str:
    """Claims as a compact HTML table: the quantity carries its location and note
    in small type, so a laptop screen shows the numbers side by side."""

    def cell(value: object) -> str:
        return "" if _missing(value) else html.escape(str(value))

    body = []
    for row in rows.itertuples(index=False):
        where = " · ".join(v for v in (cell(row.location), cell(row.note)) if v)
        if row.version != "preprint":
            # The published article's claims are tagged; the preprint's are the default.
            where = f"<b>{cell(row.version)}</b> · {where}"
        claim = cell(row.quantity) + (f"<br><small>{where}</small>" if where else "")
        finding = cell(row.finding) + (f"<br><small>{cell(row.finding_rule)}</small>"
                                       if cell(row.finding_rule) else "")
        cells = [cell(row.claim_id), claim, cell(row.published), cell(row.reproduced),
                 cell(_signed(row.difference)), finding]
        body.append("<tr>" + "".join(f"<td>{c}</td>" for c in cells) + "</tr>")
    head = "".join(f"<th>{h}</th>" for h in ("claim", "quantity", "published", "reproduced",
                                              "difference", "finding"))
    return ('<table class="leukoct-table leukoct-ledger">\n<thead><tr>' + head
            + "</tr></thead>\n<tbody>\n" + "\n".join(body) + "\n</tbody>\n</table>")


def ledger_markdown(table: pd.DataFrame, inconsistencies: pd.DataFrame,
                    recomputed: pd.DataFrame | None = None) -> str:
    """The book's "Claims ledger" page (MyST Markdown).

    Parameters
    ----------
    table
        :func:`ledger_table`.
    inconsistencies
        :func:`inconsistencies` of the same claims.
    recomputed
        :func:`leukoct.ledger.recomputed_inconsistencies` (optional): printed
        numbers the paper's other printed numbers rule out.

    Returns
    -------
    str
        ``# Claims ledger``: an introduction, the count of claims per status,
        ``## Claims`` with one compact HTML table per status (``{raw} html``,
        as the artefacts page embeds tables) and ``## The paper's internal
        inconsistencies``, each stated once with the claims it concerns, then
        ``### Recomputed from the paper's own numbers`` when ``recomputed`` is given.
    """
    require_columns(table, LEDGER_COLUMNS, "table (ledger_table)")
    require_columns(inconsistencies, ["claim_id", "consistency"], "inconsistencies")
    counts = table["status"].value_counts()
    unknown = sorted(set(counts.index) - set(STATUSES))
    if unknown:
        raise ValueError(f"table: statuses {unknown} are not in STATUSES")
    lines = [
        "# Claims ledger",
        "",
        ("Every number the paper states in its abstract, text and key table cells "
          f"({len(table)} claims), beside the value this run reproduced. Reproduced values "
         "are those the study steps saved; nothing is recomputed here. A claim matches when "
         "the reproduced value agrees at the printed precision (counts exactly); a statement "
         f"of significance is checked against p < {SIGNIFICANCE_LEVEL:g}, a statement of "
         "direction against the sign of the reproduced estimate. The difference is "
         "reproduced minus published."),
        "",
        ("Whether a value is the paper's, digit for digit, is the wrong question for a "
         "scaled-down twin; whether the paper's *finding* emerged is the right one. Each "
         "claim therefore also gets a finding verdict by a rule stated for its kind, in the "
         "paper's words where it has them (\"excellent agreement\": CCC ≥ 0.80; a strong "
         "Fazekas correlation with p < 0.001; an odds ratio on the printed side of 1 and "
         "significant as printed; a baseline share inside this run's 95 % interval; "
         "`leukoct.ledger.findings`). Counts the demo scales down by design are marked so."),
        "",
        "## Summary",
        "",
        "Findings:",
        "",
    ]
    findings = table["finding"].value_counts()
    for verdict, meaning in FINDINGS.items():
        lines.append(f"- **{_text(verdict)}**: {int(findings.get(verdict, 0))}. "
                     f"{_text(meaning[:1].upper() + meaning[1:])}.")
    lines += ["", "Exact values:", ""]
    for status, meaning in STATUSES.items():
        lines.append(f"- **{_text(status)}**: {int(counts.get(status, 0))}. "
                     f"{_text(meaning[:1].upper() + meaning[1:])}.")
    lines += ["", "## Claims", "",
              "One table per status, strongest agreement first (the page's contents, on "
              "the right, jump to each). Under each quantity, in small type: where the "
              "paper states it, and the run's note.", ""]
    for status in STATUSES:
        rows = table[table["status"] == status]
        if rows.empty:
            continue
        block = _claims_html(rows)
        fence = "````" if "```" in block else "```"
        lines += [f"### {_text(status[:1].upper() + status[1:])} ({len(rows)})", "",
                  f"{fence}{{raw}} html", block, fence, ""]
    lines += ["## The paper's internal inconsistencies", ""]
    if len(inconsistencies):
        lines.append("Numbers the paper prints differently in different places, or that do "
                     "not add up; each is kept as printed in the claims above.")
        lines.append("")
        grouped = inconsistencies.groupby("consistency", sort=False)["claim_id"]
        for text, ids in grouped:
            lines.append(f"- {_text(text)} (claims {', '.join(map(str, ids))})")
    else:
        lines.append("None recorded.")
    if recomputed is not None:
        require_columns(recomputed, CHECK_COLUMNS, "recomputed (recomputed_inconsistencies)")
        lines += ["", "### Recomputed from the paper's own numbers", "",
                  "Each printed number below was recomputed from other numbers the paper prints "
                  "(`leukoct.ledger.checks`), over every value that rounds to what is printed; "
                  "no subject data are involved, so these hold whatever this run gives.", ""]
        if recomputed.empty:
            lines.append("Every check passed.")
        for row in recomputed.itertuples(index=False):
            lines.append(f"- **{_text(row.location)}** ({_text(row.check)}): printed "
                         f"{_text(row.printed)}; recomputed {_text(row.recomputed)}. "
                         f"{_text(row.finding[:1].upper() + row.finding[1:])}.")
    return "\n".join(lines) + "\n"
