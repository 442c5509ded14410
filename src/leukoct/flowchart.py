"""The study flowchart (Figure 1), CONSORT style, drawn with matplotlib.

One row per analysed dataset: *identified* on the left, *analysed* on the
right, and between them the excluded subjects, one line per reason in the
order the criteria were applied.  Every number comes from
:func:`leukoct.curation.flow_counts`; nothing is typed in.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import pandas as pd
from matplotlib.figure import Figure

_BOX = {"boxstyle": "round,pad=0.5", "facecolor": "white", "edgecolor": "#333333",
        "linewidth": 0.9}
_EXCLUDED_BOX = {**_BOX, "facecolor": "#f6f6f6", "edgecolor": "#777777"}
_ARROW = {"arrowstyle": "-|>", "color": "#333333", "linewidth": 0.9, "shrinkA": 0,
          "shrinkB": 0}


def _n(value: float) -> str:
    return "pending" if pd.isna(value) else f"{int(value):,}"


def exclusion_lines(rows: pd.DataFrame) -> list[str]:
    """Text lines of one group's exclusion box (rules with no subject are listed
    too, with n = 0, so the reader sees every criterion applied)."""
    excluded = rows[~rows["step"].isin(["identified", "analysed"])]
    total = int(excluded["n"].fillna(0).sum())
    lines = [f"Excluded (n = {total:,})"]
    for _, row in excluded.iterrows():
        if pd.isna(row["n"]):
            lines.append(f"• {row['text'].removesuffix(': pending')}: awaiting the "
                         "registration step's QC")
        else:
            lines.append(f"• {row['text']} (n = {int(row['n']):,})")
    return lines if len(excluded) else []


def draw_flowchart(flow: pd.DataFrame, split: Mapping[str, Mapping[str, int]] | None = None,
                   title: str | None = None) -> Figure:
    """Draw the CONSORT-style flowchart of every dataset.

    Parameters
    ----------
    flow
        :func:`leukoct.curation.flow_counts` (columns ``group``, ``label``,
        ``step``, ``text``, ``n``), groups in the order to draw.
    split
        Optional sub-division of a group's analysed subjects, e.g.
        ``{"development": {"Training": 419, "Internal validation": 63}}``.
    title
        Figure title.

    Returns
    -------
    matplotlib.figure.Figure
    """
    groups = list(dict.fromkeys(flow["group"]))
    if not groups:
        raise ValueError("the flow table is empty: nothing to draw")
    split = split or {}
    heights = []
    for group in groups:
        lines = exclusion_lines(flow[flow["group"] == group])
        heights.append(max(1.3, 0.75 + 0.2 * len(lines)))
    total = float(sum(heights))
    fig, ax = plt.subplots(figsize=(11.5, 1.05 * total + 0.4))
    ax.set_xlim(0, 1)
    ax.set_ylim(0, total)
    ax.set_axis_off()
    top = total
    for group, height in zip(groups, heights):
        rows = flow[flow["group"] == group]
        get = rows.set_index("step")
        label = str(rows["label"].iloc[0])
        y = top - 0.45
        ax.text(0.13, y, f"{label}\nIdentified (n = {_n(get.at['identified', 'n'])})",
                ha="center", va="center", fontsize=9, bbox=_BOX, fontweight="bold")
        analysed = f"Analysed (n = {_n(get.at['analysed', 'n'])})"
        if "before registration QC" in str(get.at["analysed", "text"]):
            analysed += "\nbefore registration QC"
        for part, n in split.get(group, {}).items():
            analysed += f"\n{part}: n = {n:,}"
        ax.text(0.87, y, analysed, ha="center", va="center", fontsize=9, bbox=_BOX)
        ax.annotate("", xy=(0.77, y), xytext=(0.25, y), arrowprops=_ARROW)
        lines = exclusion_lines(rows)
        if lines:
            box_top = y - 0.28
            ax.annotate("", xy=(0.42, box_top + 0.02), xytext=(0.42, y), arrowprops=_ARROW)
            ax.text(0.30, box_top, "\n".join(lines), ha="left", va="top", fontsize=8,
                    bbox=_EXCLUDED_BOX, linespacing=1.35)
        top -= height
        if top > 0.05:
            ax.plot([0.02, 0.98], [top + 0.04] * 2, color="#dddddd", linewidth=0.6)
    if title:
        ax.set_title(title, fontsize=11)
    fig.tight_layout()
    return fig


def split_counts(split: pd.Series) -> dict[str, dict[str, int]]:
    """``{"development": {"Training": n, "Internal validation": n}}`` from
    :func:`leukoct.curation.split_development`."""
    counts = split.value_counts()
    return {"development": {"Training": int(counts.get("train", 0)),
                            "Internal validation": int(counts.get("internal", 0))}}

