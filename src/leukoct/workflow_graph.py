"""The workflow's rule graph as a picture, drawn with matplotlib.

Snakemake prints the rule graph (one node per rule, one edge per "this rule
reads what that rule writes") as Graphviz DOT text, but drawing it with
Graphviz needs the ``dot`` binary, which the book cannot assume.  This
module parses that text and lays the graph out itself, Sugiyama style:
rules in layers (topological generations, the data on top and ``all`` at
the bottom), layers ordered to avoid crossings (barycentre sweeps), edges
that skip layers routed down straight lanes between the boxes, study-step
notebooks coloured.  By default the arrows implied by a longer path are left
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
from itertools import pairwise
from pathlib import Path

import matplotlib.pyplot as plt
import networkx as nx
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import RendererAgg
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Patch
from matplotlib.path import Path as Path_

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
# Drawing sizes in inches: layer pitch, box height, gap between boxes, lane pitch.
_LAYER_IN, _BOX_H_IN, _GAP_IN, _LANE_IN = 0.6, 0.28, 0.3, 0.2
# Spacing of edge ends along a box, and the narrowest figure (the legend's).
_PORT_IN, _MIN_WIDTH_IN = 0.12, 6.0


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


# A layout node is a rule name, or a waypoint (upstream, downstream, layer)
# of an edge that spans several layers: the edge is routed through gaps in
# the layers it crosses instead of behind the boxes there.
_Node = str | tuple[str, str, int]


@dataclass(frozen=True)
class _Layout:
    rows: list[list[_Node]]
    x: dict[_Node, float]
    depth: dict[str, int]


def _crossings(rows: list[list[_Node]], succs: Mapping[_Node, list[_Node]]) -> int:
    total = 0
    for upper, lower in pairwise(rows):
        at = {n: i for i, n in enumerate(lower)}
        ends = [(i, at[m]) for i, n in enumerate(upper) for m in succs[n]]
        total += sum(1 for k, (a, b) in enumerate(ends) for c, d in ends[k + 1:]
                     if (a - c) * (b - d) < 0)
    return total


def _isotonic(values: list[float], weights: list[float]) -> list[float]:
    # Pool-adjacent-violators: the non-decreasing sequence closest to values
    # in weighted least squares.
    blocks: list[list[float]] = []  # [weighted sum, weight, count]
    for v, w in zip(values, weights):
        blocks.append([v * w, w, 1])
        while len(blocks) > 1 and blocks[-2][0] / blocks[-2][1] > blocks[-1][0] / blocks[-1][1]:
            total, weight, count = blocks.pop()
            blocks[-1][0] += total
            blocks[-1][1] += weight
            blocks[-1][2] += count
    return [b[0] / b[1] for b in blocks for _ in range(int(b[2]))]


def _spread(desired: list[float], widths: list[float],
            weights: list[float] | None = None) -> list[float]:
    # Positions closest (weighted least squares) to `desired` that keep the
    # layer's order and make neighbours at least their half-widths apart.
    offsets = [0.0]
    for a, b in pairwise(widths):
        offsets.append(offsets[-1] + (a + b) / 2)
    fitted = _isotonic([d - o for d, o in zip(desired, offsets)],
                       weights or [1.0] * len(desired))
    return [f + o for f, o in zip(fitted, offsets)]


def _layout(graph: RuleGraph, widths: Mapping[str, float] | None = None,
            waypoint_width: float = 0.12) -> _Layout:
    # widths: room each rule takes in its layer (box and gap), in the units
    # of the coordinates; 1 by default.
    digraph = to_digraph(graph)
    rank = {name: i for i, name in enumerate(graph.nodes)}
    try:
        generations = list(nx.topological_generations(digraph))
    except nx.NetworkXUnfeasible as error:
        raise ValueError("the rule graph has a cycle; it cannot be layered") from error
    depth = {name: d for d, generation in enumerate(generations) for name in generation}

    # Every edge becomes a chain between adjacent layers.
    rows: list[list[_Node]] = [sorted(g, key=rank.__getitem__) for g in generations]
    succs: dict[_Node, list[_Node]] = {n: [] for n in graph.nodes}
    preds: dict[_Node, list[_Node]] = {n: [] for n in graph.nodes}
    for u, v in graph.edges:
        chain: list[_Node] = [u, *((u, v, d) for d in range(depth[u] + 1, depth[v])), v]
        for a, b in pairwise(chain):
            succs.setdefault(a, []).append(b)
            preds.setdefault(b, []).append(a)
        for waypoint in chain[1:-1]:
            rows[waypoint[2]].append(waypoint)

    # Order: barycentre sweeps, down then up, keeping the order with the
    # fewest crossings (the first such, so the result is deterministic).
    def centred(row: list[_Node]) -> dict[_Node, float]:
        return {n: (i - (len(row) - 1) / 2) / max(len(row), 1) for i, n in enumerate(row)}

    best, fewest = [r[:] for r in rows], _crossings(rows, succs)
    for sweep in range(8):
        down = sweep % 2 == 0
        for i in (range(1, len(rows)) if down else range(len(rows) - 2, -1, -1)):
            ref = centred(rows[i - 1] if down else rows[i + 1])
            here = centred(rows[i])
            neighbours = preds if down else succs
            barycentre = {n: sum(ref[m] for m in neighbours[n]) / len(neighbours[n])
                          if neighbours[n] else here[n] for n in rows[i]}
            rows[i] = sorted(rows[i], key=barycentre.__getitem__)  # stable: ties keep order
        if (count := _crossings(rows, succs)) < fewest:
            best, fewest = [r[:] for r in rows], count
    rows = best

    # Coordinates: pull each node towards its neighbours' mean position,
    # keeping order and spacing, so chains run straight and parents sit
    # above their children.
    def width(n: _Node) -> float:
        return (widths or {}).get(n, 1.0) if isinstance(n, str) else waypoint_width

    x: dict[_Node, float] = {}
    for row in rows:
        x.update(zip(row, _spread([0.0] * len(row), [width(n) for n in row])))
        mean = sum(x[n] for n in row) / len(row)
        x.update({n: x[n] - mean for n in row})
    # A long edge's waypoints are pulled to their common mean: the edge runs
    # down one straight lane and bends only where it leaves and arrives.
    lanes: dict[tuple[str, str], list[_Node]] = {}
    for row in rows:
        for n in row:
            if not isinstance(n, str):
                lanes.setdefault(n[:2], []).append(n)
    for _ in range(30):
        for row in rows:
            desired = []
            for n in row:
                if isinstance(n, str):
                    around = [x[m] for m in preds[n] + succs[n]]
                else:
                    around = [x[m] for m in lanes[n[:2]]]
                desired.append(sum(around) / len(around) if around else x[n])
            # Lanes are stiff: where a layer is crowded its rules give way.
            x.update(zip(row, _spread(desired, [width(n) for n in row],
                                      [1.0 if isinstance(n, str) else 8.0 for n in row])))
    # Then make each lane exactly straight where the layers it crosses have
    # the room: at its mean position, else where it passes a crowded layer.
    where = {n: (row, i) for row in rows for i, n in enumerate(row)}

    def fits(n: _Node, target: float) -> bool:
        # Clear of the boxes and in order; lanes may come a little closer to
        # each other than their nominal spacing (they are thin lines).
        row, i = where[n]
        return all(abs(target - x[m]) >= (width(n) + width(m)) / 2
                   * (1.0 if isinstance(m, str) else 0.6) - 1e-9
                   and (j < i) == (x[m] < target)
                   for j, m in enumerate(row) if m != n)

    for lane in lanes.values():
        mean = sum(x[n] for n in lane) / len(lane)
        candidates = [mean, *sorted({x[n] for n in lane}, key=lambda v: abs(v - mean))]
        target = next((t for t in candidates if all(fits(n, t) for n in lane)), None)
        if target is not None:
            x.update({n: target for n in lane})
    left = min(x[n] - width(n) / 2 for n in x)
    right = max(x[n] + width(n) / 2 for n in x)
    x = {n: v - (left + right) / 2 for n, v in x.items()}
    return _Layout(rows=rows, x=x, depth=depth)


def layers(graph: RuleGraph) -> list[list[str]]:
    """Rules in layers, sources first: every edge points to a later layer.

    Each rule sits in the first layer after all its inputs (topological
    generations), so the data come first and the final target last.  Inside
    a layer rules are ordered to keep edges from crossing: barycentre sweeps
    (a rule goes under the mean position of its parents, then above that of
    its children), edges that span several layers taking part through
    waypoints in the layers they cross.  The result is deterministic.

    Parameters
    ----------
    graph
        The rule graph.

    Returns
    -------
    list of list of str
        Layers from top (sources) to bottom (sinks), each left to right.

    Raises
    ------
    ValueError
        If the graph has a cycle.
    """
    return [[n for n in row if isinstance(n, str)] for row in _layout(graph).rows]


def notebook_rules(steps: Iterable[Step] = STEPS) -> dict[str, str]:
    """Rule name -> notebook stem of the study-step rules.

    The Snakefile names each notebook's rule after its step (``data`` runs
    ``00_data``), so :data:`leukoct.steps.STEPS` gives the mapping.
    """
    return {step.name: step.stem for step in steps}


def _text_width_in(text: str, bold: bool) -> float:
    # Measured with Agg's text engine (points at 72 dpi), so boxes fit their
    # labels before the figure, whose size depends on them, exists.
    font = FontProperties(size=_FONT_SIZE, weight="bold" if bold else "normal")
    width, _, _ = RendererAgg(1, 1, 72).get_text_width_height_descent(text, font, ismath=False)
    return width / 72


def _label(rule: str, step_rules: Mapping[str, str]) -> str:
    if rule in step_rules:
        # The notebook number ("07" of "07_external_and_vendor") ties the box
        # to the book's chapter.
        return f"{step_rules[rule].split('_', 1)[0]} · {rule}"
    return rule


def _edge_path(points: list[tuple[float, float]], waypoints: int) -> Path_:
    # S-curves (vertical tangents) from the source to the lane and from the
    # lane to the target; straight lines along the lane, through the gaps of
    # the layers it crosses.
    vertices, codes = [points[0]], [Path_.MOVETO]
    last = len(points) - 2
    for k, ((x0, y0), (x1, y1)) in enumerate(pairwise(points)):
        if k in (0, last) or not waypoints:
            mid = (y0 + y1) / 2
            vertices += [(x0, mid), (x1, mid), (x1, y1)]
            codes += [Path_.CURVE4] * 3
        else:
            vertices.append((x1, y1))
            codes.append(Path_.LINETO)
    return Path_(vertices, codes)


def _ports(count: int, box_w: float) -> list[float]:
    # Where `count` edges leave or enter a box, spread along its edge so that
    # arrows into a busy rule do not all meet in one point.
    step = min(_PORT_IN, 0.8 * box_w / max(count - 1, 1))
    return [(k - (count - 1) / 2) * step for k in range(count)]


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
        layers (height) and the widest layer and its labels (width).  Box
        sizes are planned in inches for that figure: in axes of another
        size or aspect the boxes stretch with them, the labels do not.
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
        The figure; the axes hold exactly one text (the label) per rule.
    """
    step_rules = dict(step_rules or {})
    shown = graph if implied_edges else transitive_reduction(graph)
    labels = {rule: _label(rule, step_rules) for rule in graph.nodes}
    # Horizontal unit: one inch.  Boxes fit their labels (bold for steps)
    # and sit at least _GAP_IN apart; a long edge's lane takes _LANE_IN.
    # A rule many edges enter or leave is widened to spread their ends.
    degree = {rule: max(sum(e[1] == rule for e in shown.edges),
                        sum(e[0] == rule for e in shown.edges)) for rule in graph.nodes}
    box_w = {rule: max(0.7, _text_width_in(labels[rule], bold=rule in step_rules) + 0.25,
                       _PORT_IN * (degree[rule] + 1))
             for rule in graph.nodes}
    layout = _layout(shown, {rule: w + _GAP_IN for rule, w in box_w.items()}, _LANE_IN)
    # Vertical unit: one layer, _LAYER_IN inches.
    box_h = _BOX_H_IN / _LAYER_IN
    n_layers = len(layout.rows)
    left = min(layout.x[r] - box_w[r] / 2 for r in graph.nodes)
    right = max(layout.x[r] + box_w[r] / 2 for r in graph.nodes)
    left, right = min(left, *layout.x.values()) - 0.1, max(right, *layout.x.values()) + 0.1
    # At least as wide as the legend.
    pad = max(0.0, _MIN_WIDTH_IN - (right - left)) / 2
    left, right = left - pad, right + pad
    bottom, top = -(n_layers - 1) - 1.2, 0.5  # room for the legend under the last layer
    if ax is None:
        fig, ax = plt.subplots(figsize=(right - left, (top - bottom) * _LAYER_IN))
        # The axes fill the figure, so that the units are the inches planned.
        ax.set_position((0.0, 0.0, 1.0, 1.0))
    else:
        fig = ax.figure

    def xy(n: _Node) -> tuple[float, float]:
        return layout.x[n], -float(layout.depth[n] if isinstance(n, str) else n[2])

    chains = {(u, v): [u, *((u, v, d) for d in range(layout.depth[u] + 1, layout.depth[v])), v]
              for u, v in shown.edges}
    # Ports: order each rule's outgoing (incoming) edges by where they go
    # (come from), left to right, so that they do not cross at the box.
    out_port: dict[tuple[str, str], float] = {}
    in_port: dict[tuple[str, str], float] = {}
    for rule in shown.nodes:
        outgoing = sorted((e for e in chains if e[0] == rule), key=lambda e: xy(chains[e][1])[0])
        incoming = sorted((e for e in chains if e[1] == rule), key=lambda e: xy(chains[e][-2])[0])
        out_port.update(zip(outgoing, _ports(len(outgoing), box_w[rule])))
        in_port.update(zip(incoming, _ports(len(incoming), box_w[rule])))

    for edge, chain in chains.items():
        (xu, yu), (xv, yv) = xy(chain[0]), xy(chain[-1])
        lane = [xy(w) for w in chain[1:-1]]
        points = [(xu + out_port[edge], yu - box_h / 2)]
        if lane:
            points += [(lane[0][0], lane[0][1] + box_h / 2), *lane,
                       (lane[-1][0], lane[-1][1] - box_h / 2)]
        points.append((xv + in_port[edge], yv + box_h / 2))
        ax.add_patch(FancyArrowPatch(path=_edge_path(points, len(lane)), arrowstyle="-|>",
                                     mutation_scale=9, color="#555555", linewidth=0.9,
                                     zorder=1))

    for rule in graph.nodes:
        x, y = xy(rule)
        step = rule in step_rules
        ax.add_patch(FancyBboxPatch(
            (x - box_w[rule] / 2, y - box_h / 2), box_w[rule], box_h,
            boxstyle="round,pad=0,rounding_size=0.06", mutation_aspect=1 / _LAYER_IN,
            facecolor=_STEP_FACE if step else _RULE_FACE,
            edgecolor=_STEP_EDGE if step else _RULE_EDGE, linewidth=1.0, zorder=2))
        ax.text(x, y, labels[rule], ha="center", va="center", fontsize=_FONT_SIZE,
                fontweight="bold" if step else "normal", zorder=3)

    ax.set_xlim(left, right)
    ax.set_ylim(bottom, top)
    ax.axis("off")
    arrow = ("runs after (reads its outputs)" if implied_edges
             else "runs after (arrows implied by a longer path left out)")
    ax.legend(handles=[
        Patch(facecolor=_STEP_FACE, edgecolor=_STEP_EDGE, label="study step: notebook number"),
        Patch(facecolor=_RULE_FACE, edgecolor=_RULE_EDGE, label="other rule"),
        Line2D([], [], color="#555555", linewidth=0.9, marker=">", markersize=4, label=arrow),
    ], loc="lower center", ncol=3, frameon=False, fontsize=_FONT_SIZE - 1)
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
