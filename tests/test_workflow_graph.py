"""The workflow's rule graph: parsed from Snakemake's DOT, layered, drawn."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest

from leukoct.steps import STEPS
from leukoct.workflow_graph import (
    RuleGraph,
    draw_rulegraph,
    layers,
    notebook_rules,
    parse_rulegraph,
    rulegraph,
    transitive_reduction,
    write_rulegraph_figure,
)

ROOT = Path(__file__).resolve().parents[1]

# Part of `snakemake --rulegraph --config profile=ci` (Snakemake 9.27), as
# printed; the first line is Snakemake's log when stderr joins stdout.
DOT = """Building DAG of jobs...
digraph snakemake_dag {
    graph[bgcolor=white, margin=0];
    node[shape=box, style=rounded, fontname=sans,                 fontsize=10, penwidth=2];
    edge[penwidth=2, color=grey];
	0[label = "all", color = "0.00 0.6 0.85", style="rounded"];
	1[label = "book", color = "0.03 0.6 0.85", style="rounded"];
	2[label = "data", color = "0.15 0.6 0.85", style="rounded"];
	3[label = "twin_data", color = "0.58 0.6 0.85", style="rounded"];
	4[label = "twin", color = "0.55 0.6 0.85", style="rounded"];
	5[label = "curation", color = "0.12 0.6 0.85", style="rounded"];
	1 -> 0
	2 -> 1
	5 -> 1
	4 -> 1
	3 -> 2
	3 -> 4
	3 -> 5
}
"""


def test_parse_gives_rule_names_and_sorted_edges() -> None:
    graph = parse_rulegraph(DOT)
    assert graph.nodes == ("all", "book", "data", "twin_data", "twin", "curation")
    assert graph.edges == (("book", "all"), ("curation", "book"), ("data", "book"),
                           ("twin", "book"), ("twin_data", "curation"), ("twin_data", "data"),
                           ("twin_data", "twin"))


def test_edge_order_of_the_text_does_not_matter() -> None:
    # Snakemake prints the edges in a different order from run to run.
    lines = DOT.splitlines()
    edges = [i for i, line in enumerate(lines) if "->" in line]
    shuffled = lines[:edges[0]] + [lines[i] for i in reversed(edges)] + lines[edges[-1] + 1:]
    assert parse_rulegraph("\n".join(shuffled)) == parse_rulegraph(DOT)


@pytest.mark.parametrize(("text", "reason"), [
    ("Building DAG of jobs...\nNothing to be done.", "no 'digraph"),
    ("", "no 'digraph"),
    ("digraph snakemake_dag {\n}", "declares no node"),
    ('digraph snakemake_dag {\n\t0[label = "all"];\n\t1 -> 0\n}', "undeclared nodes"),
    # `--dag` draws jobs: one rule may label several nodes.
    (('digraph snakemake_dag {\n\t0[label = "all"];\n\t1[label = "data"];\n'
      '\t2[label = "data"];\n\t1 -> 0\n\t2 -> 0\n}'), "job DAG"),
])
def test_text_that_is_not_a_rule_graph_is_refused(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_rulegraph(text)


def test_a_rule_graph_refuses_edges_between_unknown_rules() -> None:
    with pytest.raises(ValueError, match="not nodes"):
        RuleGraph(nodes=("all",), edges=(("data", "all"),))


def test_layers_put_sources_first_and_the_target_last() -> None:
    graph = RuleGraph(nodes=("all", "d", "b", "c", "a"),
                      edges=(("a", "b"), ("a", "c"), ("b", "d"), ("c", "d"), ("d", "all")))
    assert layers(graph) == [["a"], ["b", "c"], ["d"], ["all"]]


def test_layers_order_children_under_their_parents() -> None:
    # Snakemake's node order would cross the edges; the barycentre order does not.
    graph = RuleGraph(nodes=("p1", "p2", "c2", "c1"),
                      edges=(("p1", "c1"), ("p2", "c2")))
    assert layers(graph) == [["p1", "p2"], ["c1", "c2"]]


def test_layers_refuse_a_cycle() -> None:
    with pytest.raises(ValueError, match="cycle"):
        layers(RuleGraph(nodes=("a", "b"), edges=(("a", "b"), ("b", "a"))))


def test_transitive_reduction_keeps_only_the_order_of_the_work() -> None:
    graph = parse_rulegraph(DOT)
    chain = RuleGraph(graph.nodes, graph.edges + (("twin_data", "book"),))
    assert transitive_reduction(chain) == graph


def test_notebook_rules_are_the_study_steps() -> None:
    rules = notebook_rules()
    assert rules["data"] == "00_data"
    assert rules["clinical"] == "10_clinical"
    assert len(rules) == len(STEPS)


def test_drawing_labels_every_rule_once() -> None:
    graph = parse_rulegraph(DOT)
    fig = draw_rulegraph(graph, step_rules=notebook_rules())
    texts = sorted(t.get_text() for t in fig.axes[0].texts if t.get_text())
    arrows = [t for t in fig.axes[0].texts if not t.get_text()]
    plt.close(fig)
    assert len(arrows) == len(transitive_reduction(graph).edges)
    assert texts == sorted(["all", "book", "00 · data", "twin_data", "01 · twin",
                            "02 · curation"])


def test_drawing_into_given_axes_and_with_every_edge() -> None:
    graph = parse_rulegraph(DOT)
    fig, ax = plt.subplots()
    assert draw_rulegraph(graph, ax, implied_edges=True) is fig
    assert len([t for t in ax.texts if t.get_text()]) == len(graph.nodes)
    assert len([t for t in ax.texts if not t.get_text()]) == len(graph.edges)
    plt.close(fig)


def test_write_rulegraph_figure_writes_png_and_svg(tmp_path: Path) -> None:
    written = write_rulegraph_figure(parse_rulegraph(DOT), tmp_path / "dag.png",
                                     tmp_path / "sub" / "dag.svg")
    assert written == [tmp_path / "dag.png", tmp_path / "sub" / "dag.svg"]
    assert (tmp_path / "dag.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "<svg" in (tmp_path / "sub" / "dag.svg").read_text()
    assert not plt.get_fignums(), "the figure is closed"


def test_rulegraph_of_the_project_workflow() -> None:
    # Twin profiles need no data: twin_data makes the manifest, so Snakemake
    # can plan every rule before anything exists.
    graph = rulegraph(ROOT / "Snakefile", "ci")
    assert {"all", "book", "clinical", "registration", "curation"} <= set(graph.nodes)
    assert ("book", "all") in graph.edges
    assert set(notebook_rules()) <= set(graph.nodes)


def test_rulegraph_failure_shows_snakemake_error() -> None:
    with pytest.raises(RuntimeError, match="no_such_profile"):
        rulegraph(ROOT / "Snakefile", "no_such_profile")
