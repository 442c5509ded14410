"""The workflow's rule graph as a picture, drawn with matplotlib.

Snakemake prints the rule graph (one node per rule, one edge per "this rule
reads what that rule writes") as Graphviz DOT text, but drawing it with
Graphviz needs the ``dot`` binary, which the book cannot assume.  This
module parses that text into networkx and draws it with matplotlib:
rules in layers (networkx's topological generations, the data on top and
``all`` at the bottom), each layer ordered by barycentre sweeps so that few
edges cross, arrows drawn between the label boxes by matplotlib's
annotations (an edge that skips layers bows aside), study-step notebooks
coloured.  By default the arrows implied by a longer path are left
out (every step reads the manifest; drawn, those arrows hide the order).

Only :func:`rulegraph` (runs Snakemake) and :func:`write_rulegraph_figure`
(writes files) touch the outside world; the rest are pure functions.
"""

from __future__ import annotations

import re
import subprocess
import sys
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.axes import Axes
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Patch

from leukoct.steps import STEPS, Step

__all__ = [
    "RuleGraph",
    "draw_rulegraph",
    "layers",
    "notebook_rules",
    "parse_rulegraph",
    "rulegraph",
    "to_digraph",
    "transitive_reduction",
    "write_rulegraph_figure",
]

# Snakemake writes one statement per line: `0[label = "all", color = ...];`
# and `1 -> 0`.  Labels of a rule graph are rule names, so no escaped quotes.
_HEADER = re.compile(r"^\s*digraph\b[^{]*\{", re.MULTILINE)
_NODE = re.compile(r'^\s*(\d+)\s*\[\s*label\s*=\s*"([^"]*)"')
_EDGE = re.compile(r"^\s*(\d+)\s*->\s*(\d+)\s*;?\s*$")

_STEP_FACE, _STEP_EDGE = "#d6e6f5", "#1f5f99"
_RULE_FACE, _RULE_EDGE = "#f2f2f2", "#777777"
_FONT_SIZE = 9
# The narrowest figure in inches (the legend's width).
_MIN_WIDTH_IN = 6.0


@dataclass(frozen=True)
class RuleGraph:
    """A Snakemake rule graph.

    Attributes
    ----------
    nodes
        Rule names, in the order Snakemake numbered them (its DAG order).
    edges
        ``(upstream, downstream)`` rule-name pairs, sorted: the downstream rule
        reads a file the upstream rule writes.  Snakemake prints edges in an
        order that changes between runs; sorting makes equal graphs equal.
    """

    nodes: tuple[str, ...]
    edges: tuple[tuple[str, str], ...]

    def __post_init__(self) -> None:
        if len(set(self.nodes)) != len(self.nodes):
            raise ValueError(f"RuleGraph: duplicate rule names in {self.nodes}")
        known = set(self.nodes)
        unknown = sorted({n for edge in self.edges for n in edge} - known)
        if unknown:
            raise ValueError(f"RuleGraph: edges name rules that are not nodes: {unknown}")


def parse_rulegraph(dot: str) -> RuleGraph:
    """Parse the DOT text of ``snakemake --rulegraph``.

    Parameters
    ----------
    dot
        Snakemake's standard output.  Lines before the ``digraph`` header
        (e.g. a Snakefile's own prints) are ignored, and so are the graph,
        node and edge attribute statements.

    Returns
    -------
    RuleGraph
        Nodes in Snakemake's numbering order, edges as sorted, de-duplicated
        rule-name pairs.

    Raises
    ------
    ValueError
        If the text has no ``digraph``, no node, an edge to an undeclared node,
        or two nodes with one label (a job DAG from ``--dag``, not a rule graph).
    """
    header = _HEADER.search(dot)
    if header is None:
        raise ValueError("not a Snakemake rule graph: no 'digraph ... {' header in the text "
                         f"(starts with {dot[:80]!r})")
    labels: dict[int, str] = {}
    pairs: list[tuple[int, int]] = []
    for line in dot[header.end():].splitlines():
        if node := _NODE.match(line):
            index, label = int(node.group(1)), node.group(2)
            if index in labels:
                raise ValueError(f"not a Snakemake rule graph: node {index} declared twice")
            labels[index] = label
        elif edge := _EDGE.match(line):
            pairs.append((int(edge.group(1)), int(edge.group(2))))
    if not labels:
        raise ValueError("not a Snakemake rule graph: the digraph declares no node "
                         "(expected lines like '0[label = \"all\", ...]')")
    names = [labels[i] for i in sorted(labels)]
    if len(set(names)) != len(names):
        raise ValueError("not a Snakemake rule graph: several nodes share a label; this looks "
                         "like a job DAG (snakemake --dag), run snakemake --rulegraph")
    missing = sorted({i for pair in pairs for i in pair} - labels.keys())
    if missing:
        raise ValueError(f"not a Snakemake rule graph: edges name undeclared nodes {missing}")
    edges = sorted({(labels[a], labels[b]) for a, b in pairs})
    return RuleGraph(nodes=tuple(names), edges=tuple(edges))


def rulegraph(snakefile: str | Path, profile: str | Path,
              snakemake: str | Path | None = None, timeout: float = 300) -> RuleGraph:
    """Run ``snakemake --rulegraph`` on a Snakefile for one profile.

    Nothing is built and no lock is taken, so this is safe while a workflow
    runs in the same folder.

    Parameters
    ----------
    snakefile
        The workflow's Snakefile; Snakemake runs in its folder.
    profile
        The profile name or YAML path, passed as ``--config profile=...``.
    snakemake
        The Snakemake executable; by default the one beside the running
        interpreter (the project's environment), not whichever is on PATH.
    timeout
        Seconds before giving up.

    Returns
    -------
    RuleGraph

    Raises
    ------
    RuntimeError
        If Snakemake is missing or fails (the message ends with its stderr).
    """
    snakefile = Path(snakefile).resolve()
    executable = Path(snakemake) if snakemake else Path(sys.executable).parent / "snakemake"
    # --config takes several values, so it goes last where it cannot swallow
    # another option's argument.
    command = [str(executable), "--rulegraph", "--nolock", "--snakefile", str(snakefile),
               "--directory", str(snakefile.parent), "--config", f"profile={profile}"]
    try:
        done = subprocess.run(command, check=True, capture_output=True, text=True,
                              timeout=timeout)
    except FileNotFoundError as error:
        raise RuntimeError(f"snakemake not found at {executable}; install the project's "
                           "environment or pass snakemake=") from error
    except subprocess.TimeoutExpired as error:
        raise RuntimeError(f"snakemake --rulegraph took over {timeout} s: "
                           f"{' '.join(command)}") from error
    except subprocess.CalledProcessError as error:
        tail = "\n".join((error.stderr or "").strip().splitlines()[-25:])
        raise RuntimeError(f"snakemake --rulegraph failed (exit {error.returncode}) for "
                           f"profile {profile!s}: {' '.join(command)}\n{tail}") from error
    return parse_rulegraph(done.stdout)


def to_digraph(graph: RuleGraph) -> nx.DiGraph:
    """The rule graph as a :class:`networkx.DiGraph` (nodes added in graph order)."""
    digraph = nx.DiGraph()
    digraph.add_nodes_from(graph.nodes)
    digraph.add_edges_from(graph.edges)
    return digraph


def transitive_reduction(graph: RuleGraph) -> RuleGraph:
    """The rule graph without the edges implied by a longer path.

    A rule reading the manifest *and* the output of a rule that itself read
    the manifest gets two arrows; only the second says something about the
    order of the work.  Dropping the first keeps every "runs after" relation
    (the reachability) and untangles the picture.

    Raises
    ------
    ValueError
        If the graph has a cycle.
    """
    digraph = to_digraph(graph)
    if not nx.is_directed_acyclic_graph(digraph):
        raise ValueError("the rule graph has a cycle")
    kept = set(nx.transitive_reduction(digraph).edges)
    return RuleGraph(graph.nodes, tuple(e for e in graph.edges if e in kept))


def layers(graph: RuleGraph, sweeps: int = 4) -> list[list[str]]:
    """Rules in layers, sources first: every edge points to a later layer.

    Each rule sits in the first layer after all its inputs
    (:func:`networkx.topological_generations`), so the data come first and the
    final target last.  Inside a layer rules are ordered to keep edges from
    crossing by barycentre sweeps: down the layers a rule goes under the mean
    position of its parents, up the layers above that of its children (ties
    keep Snakemake's order, so the result is deterministic).

    Parameters
    ----------
    graph
        The rule graph.
    sweeps
        Down-and-up passes of the barycentre ordering.

    Returns
    -------
    list of list of str
        Layers from top (sources) to bottom (sinks), each left to right.

    Raises
    ------
    ValueError
        If the graph has a cycle.
    """
    digraph = to_digraph(graph)
    if not nx.is_directed_acyclic_graph(digraph):
        raise ValueError("the rule graph has a cycle")
    order = {rule: i for i, rule in enumerate(graph.nodes)}
    rows = [sorted(g, key=order.__getitem__) for g in nx.topological_generations(digraph)]

    def reorder(row: list[str], neighbours: Mapping[str, Iterable[str]]) -> list[str]:
        position = {rule: i for r in rows for i, rule in enumerate(r)}
        def centre(rule: str) -> float:
            near = [position[n] for n in neighbours[rule]]
            return sum(near) / len(near) if near else position[rule]
        return sorted(row, key=lambda rule: (centre(rule), position[rule]))

    for _ in range(sweeps):
        for i in range(1, len(rows)):
            rows[i] = reorder(rows[i], digraph.pred)
        for i in range(len(rows) - 2, -1, -1):
            rows[i] = reorder(rows[i], digraph.succ)
    return rows


def notebook_rules(steps: Iterable[Step] = STEPS) -> dict[str, str]:
    """Rule name -> notebook stem of the study-step rules.

    The Snakefile names each notebook's rule after its step (``data`` runs
    ``00_data``), so :data:`leukoct.steps.STEPS` gives the mapping.
    """
    return {step.name: step.stem for step in steps}


def _label(rule: str, step_rules: Mapping[str, str]) -> str:
    if rule in step_rules:
        # The notebook number ("07" of "08_external_and_vendor") ties the box
        # to the book's chapter.
        return f"{step_rules[rule].split('_', 1)[0]} · {rule}"
    return rule


def draw_rulegraph(graph: RuleGraph, ax: Axes | None = None, *,
                   step_rules: Mapping[str, str] | None = None,
                   implied_edges: bool = False) -> Figure:
    """Draw the rule graph top to bottom: boxes for rules, arrows for data.

    Parameters
    ----------
    graph
        The rule graph.
    ax
        Axes to draw in; by default a new figure sized from the number of
        layers (height) and the widest layer (width).
    step_rules
        Rule name -> notebook stem of the rules that run a study-step
        notebook (:func:`notebook_rules`); these are coloured and numbered.
    implied_edges
        Also draw the edges implied by a longer path (see
        :func:`transitive_reduction`).  Off by default: in a study whose every
        step reads the data manifest they bury the order of the steps; the
        legend says they are left out.

    Returns
    -------
    matplotlib.figure.Figure
        The figure; the axes hold exactly one labelled text per rule (arrows
        are unlabelled annotations).
    """
    step_rules = dict(step_rules or {})
    shown = graph if implied_edges else transitive_reduction(graph)
    rows = layers(graph)
    depth = {rule: i for i, row in enumerate(rows) for rule in row}
    widest = max(len(row) for row in rows)
    if ax is None:
        _, ax = plt.subplots(figsize=(max(_MIN_WIDTH_IN, 1.7 * widest), 0.75 * len(rows) + 0.8))
    fig = ax.get_figure()
    assert isinstance(fig, Figure)
    boxes = {}
    for i, row in enumerate(rows):
        for j, rule in enumerate(row):
            step = rule in step_rules
            boxes[rule] = ax.text(
                j - (len(row) - 1) / 2, -i, _label(rule, step_rules), ha="center", va="center",
                fontsize=_FONT_SIZE, fontweight="bold" if step else "normal", zorder=3,
                bbox={"boxstyle": "round,pad=0.35", "linewidth": 1.2,
                      "facecolor": _STEP_FACE if step else _RULE_FACE,
                      "edgecolor": _STEP_EDGE if step else _RULE_EDGE})
    for upstream, downstream in shown.edges:
        # From the bottom of one box to the top of the other, in the boxes' own
        # coordinates; an edge that skips layers bows aside from the boxes between.
        span = depth[downstream] - depth[upstream]
        ax.annotate("", xy=(0.5, 1.0), xycoords=boxes[downstream], xytext=(0.5, 0.0),
                    textcoords=boxes[upstream], zorder=2, arrowprops={
                        "arrowstyle": "-|>", "color": "#555555", "linewidth": 0.9,
                        "shrinkA": 4, "shrinkB": 4,  # points: the box pad
                        "connectionstyle": f"arc3,rad={0.12 * (span > 1):.2f}"})
    ax.set_xlim(-widest / 2, widest / 2)
    ax.set_ylim(-len(rows) + 0.4, 0.6)
    ax.axis("off")
    arrow = ("runs after (reads its outputs)" if implied_edges
             else "runs after (arrows implied by a longer path left out)")
    ax.legend(handles=[
        Patch(facecolor=_STEP_FACE, edgecolor=_STEP_EDGE, label="study step: notebook number"),
        Patch(facecolor=_RULE_FACE, edgecolor=_RULE_EDGE, label="other rule"),
        Line2D([], [], color="#555555", linewidth=0.9, marker=">", markersize=4, label=arrow),
    ], loc="upper center", bbox_to_anchor=(0.5, 0.0), ncol=3, frameon=False,
        fontsize=_FONT_SIZE - 1)
    return fig


def write_rulegraph_figure(graph: RuleGraph, png_path: str | Path,
                           other_path: str | Path | None = None, *,
                           step_rules: Mapping[str, str] | None = None,
                           dpi: int = 150) -> list[Path]:
    """Draw the rule graph and save it as PNG (and optionally SVG or PDF).

    Parameters
    ----------
    graph
        The rule graph.
    png_path
        Where to write the PNG.
    other_path
        Optional second file; its suffix (``.svg``, ``.pdf``) picks the format.
    step_rules
        As in :func:`draw_rulegraph`; by default :func:`notebook_rules`.
    dpi
        Resolution of the PNG.

    Returns
    -------
    list of pathlib.Path
        The files written.
    """
    fig = draw_rulegraph(graph, step_rules=notebook_rules() if step_rules is None
                         else step_rules)
    written = []
    try:
        for path in (png_path, other_path):
            if path is None:
                continue
            path = Path(path)
            path.parent.mkdir(parents=True, exist_ok=True)
            fig.savefig(path, dpi=dpi, bbox_inches="tight", facecolor="white")
            written.append(path)
    finally:
        # Called from scripts and the workflow: leave no figure open in pyplot.
        plt.close(fig)
    return written
