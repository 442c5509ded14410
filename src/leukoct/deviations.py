"""Where the laptop ``demo`` profile departs from the paper, and why.

The ``paper`` profile runs the study with the paper's sizes and settings; the
``demo`` profile (the default of ``make book``) scales it to a 2-core laptop.
Every knob in which the two profiles differ is a deviation from the paper, and
the book lists each one beside the reason and its measured effect
(``data/demo_deviations.yaml``).  The values themselves are read from the two
profiles, never written into the table, so a changed profile changes the page.

A second list holds the *readings*: sentences of the Methods that can be read two
ways, one of which the paper's own numbers exclude (how the WMH mask is carried
before it is "thresholded at a probability of 0").
"""

from __future__ import annotations

from importlib import resources
from typing import Any

import pandas as pd
import yaml

from leukoct.config import Profile

#: The package data file with the reasons and measured effects.
DEVIATIONS_FILE = "demo_deviations.yaml"
#: Columns of :func:`deviation_table`.
DEVIATION_COLUMNS: tuple[str, ...] = ("knob", "paper", "demo", "why", "effect")
#: Columns of :func:`reading_table`.
READING_COLUMNS: tuple[str, ...] = ("knob", "methods", "value", "why", "effect")


def read_deviations() -> dict[str, Any]:
    """The reasons file: ``deviations``, ``hardware`` and ``readings`` lists."""
    text = resources.files("leukoct.data").joinpath(DEVIATIONS_FILE).read_text(encoding="utf-8")
    data = yaml.safe_load(text)
    for key in ("deviations", "hardware", "readings"):
        if key not in data:
            raise ValueError(f"leukoct/data/{DEVIATIONS_FILE} has no '{key}:' list")
    return data


def profile_knobs(profile: Profile) -> dict[str, Any]:
    """Every method knob of a profile as ``dotted.key -> value``.

    Paths, names and descriptions are left out (they differ between any two
    profiles and change no result); the twin's sizes and grids, the top-level
    ``threads`` and every per-step knob are in.
    """
    knobs: dict[str, Any] = {"threads": profile.threads}
    if profile.twin is not None:
        knobs.update({f"twin.{k}": v for k, v in profile.twin.model_dump().items()})
    for step, settings in profile.steps.items():
        knobs.update({f"steps.{step}.{k}": v for k, v in (settings or {}).items()})
    return knobs


def differing_knobs(a: Profile, b: Profile) -> list[str]:
    """Knobs whose values differ between two profiles (or exist in one only)."""
    ka, kb = profile_knobs(a), profile_knobs(b)
    missing = object()
    return sorted(k for k in set(ka) | set(kb) if ka.get(k, missing) != kb.get(k, missing))


def _shown(value: Any) -> str:
    if value is None:
        return "nnU-Net's default"
    if isinstance(value, float) and value.is_integer():
        return f"{value:g}"
    return str(value)


def deviation_table(demo: Profile, paper: Profile,
                    reasons: dict[str, Any] | None = None) -> pd.DataFrame:
    """One row per method knob in which ``demo`` differs from ``paper``.

    Parameters
    ----------
    demo, paper
        The two profiles.
    reasons
        :func:`read_deviations` (the default) or an equivalent dict.

    Returns
    -------
    pandas.DataFrame
        :data:`DEVIATION_COLUMNS`, in the order of the reasons file.

    Raises
    ------
    ValueError
        If a differing knob has no reason (add it to the reasons file, under
        ``deviations`` or, for speed-only knobs, ``hardware``), or a listed
        deviation no longer differs (remove it).
    """
    reasons = read_deviations() if reasons is None else reasons
    listed = [d["knob"] for d in reasons["deviations"]]
    differ = set(differing_knobs(demo, paper))
    unexplained = sorted(differ - set(listed) - set(reasons["hardware"]))
    if unexplained:
        raise ValueError(f"the {demo.name} and {paper.name} profiles differ in "
                         f"{', '.join(unexplained)}, which leukoct/data/{DEVIATIONS_FILE} does "
                         "not explain: add each under 'deviations' (why, measured effect) or, "
                         "if it changes only speed, under 'hardware'")
    stale = [k for k in listed if k not in differ]
    if stale:
        raise ValueError(f"leukoct/data/{DEVIATIONS_FILE} lists {', '.join(stale)} as a "
                         f"deviation, but the {demo.name} and {paper.name} profiles agree on "
                         "it: remove the entry")
    kd, kp = profile_knobs(demo), profile_knobs(paper)
    rows = [{"knob": d["knob"], "paper": _shown(kp.get(d["knob"])),
             "demo": _shown(kd.get(d["knob"])), "why": d["why"].strip(),
             "effect": d["effect"].strip()} for d in reasons["deviations"]]
    return pd.DataFrame(rows, columns=list(DEVIATION_COLUMNS))


def reading_table(profile: Profile, reasons: dict[str, Any] | None = None) -> pd.DataFrame:
    """Knobs where the profile reads the Methods' text otherwise than literally."""
    reasons = read_deviations() if reasons is None else reasons
    knobs = profile_knobs(profile)
    rows = [{"knob": r["knob"], "methods": r["methods"].strip(),
             "value": _shown(knobs.get(r["knob"], "(not set)")), "why": r["why"].strip(),
             "effect": r["effect"].strip()} for r in reasons["readings"]]
    return pd.DataFrame(rows, columns=list(READING_COLUMNS))


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def _markdown_table(table: pd.DataFrame, headers: list[str]) -> list[str]:
    """The short columns as a table, then each row's why and effect as a list.

    A five-column table with two prose columns overflows the book's page; the
    values stay scannable in the table and the reasons read as sentences.
    """
    lines = ["| " + " | ".join(headers[:-2]) + " |", "|" + "---|" * (len(headers) - 2)]
    for _, row in table.iterrows():
        cells = [f"`{row.iloc[0]}`"] + [_cell(v) for v in row.iloc[1:-2]]
        lines.append("| " + " | ".join(cells) + " |")
    lines.append("")
    for _, row in table.iterrows():
        lines.append(f"- `{row.iloc[0]}`: {_cell(row.iloc[-2])} "
                     f"**Measured:** {_cell(row.iloc[-1])}")
    return lines


def deviations_markdown(demo: Profile, paper: Profile, built_with: str | None = None) -> str:
    """The book page "The demo against the paper" (MyST Markdown).

    ``built_with`` names the profile the book was built with, when it is not ``demo``.
    """
    reasons = read_deviations()
    table = deviation_table(demo, paper, reasons)
    built = ("" if built_with in (None, demo.name) else
             f" (This book itself was built with the `{built_with}` profile.)")
    lines = [
        "# The demo against the paper",
        "",
        f"`make book` runs the `{demo.name}` profile: the paper's study scaled to a "
        f"2-core laptop CPU.{built} Every knob in which it differs from the `paper` profile (the "
        "paper's cohort sizes and nnU-Net settings) is listed here with the reason and the "
        "effect measured when it was chosen; the values are read from the two profiles. "
        "The demo's model settings were chosen on the development data (nnU-Net's internal "
        "validation fold), never on the external, US or clinical cohorts.",
        "",
    ]
    lines += _markdown_table(table, ["knob", "paper", "demo", "why", "measured effect"])
    lines += ["", "Knobs that change only speed, not results: "
              + ", ".join(f"`{k}`" for k in reasons["hardware"]) + ".", ""]
    readings = reading_table(demo, reasons)
    if len(readings):
        lines += [
            "## Where the Methods leave a choice",
            "",
            "These sentences of the Methods can be read two ways, and the paper's own numbers "
            "exclude one of them; both profiles follow the numbers, and the other reading stays "
            "one knob away.",
            "",
        ]
        lines += [f"- `{r.knob}`, here `{r.value}`. The Methods: *{_cell(r.methods)}* "
                  f"{_cell(r.why)} **Measured:** {_cell(r.effect)}" for r in readings.itertuples()]
        lines.append("")
    return "\n".join(lines)
