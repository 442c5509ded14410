"""The demo-vs-paper page: every differing knob explained, values from the profiles."""

from __future__ import annotations

import copy

import pytest

from leukoct.config import load_profile
from leukoct.deviations import (
    deviation_table,
    deviations_markdown,
    differing_knobs,
    profile_knobs,
    read_deviations,
    reading_table,
)


@pytest.fixture(scope="module")
def demo():
    return load_profile("demo")


@pytest.fixture(scope="module")
def paper():
    return load_profile("paper")


def test_every_differing_knob_of_the_shipped_profiles_is_explained(demo, paper):
    reasons = read_deviations()
    table = deviation_table(demo, paper, reasons)
    expected = set(differing_knobs(demo, paper)) - set(reasons["hardware"])
    assert set(table["knob"]) == expected
    assert table["why"].str.len().min() > 20 and table["effect"].str.len().min() > 10


def test_values_are_read_from_the_profiles(demo, paper):
    table = deviation_table(demo, paper).set_index("knob")
    assert table.at["steps.training.epochs", "demo"] == str(demo.steps["training"]["epochs"])
    assert table.at["steps.training.epochs", "paper"] == str(paper.steps["training"]["epochs"])
    assert table.at["twin.development", "demo"] == str(demo.twin.development)
    # A null knob is nnU-Net's default, and said so.
    assert table.at["steps.training.batch_size", "paper"] == "nnU-Net's default"


def test_an_unexplained_difference_is_refused_naming_the_knob(demo, paper):
    steps = copy.deepcopy(demo.steps)
    steps["inference"]["tile_step_size"] = 0.75
    changed = demo.model_copy(update={"steps": steps})
    assert "steps.inference.tile_step_size" in differing_knobs(changed, paper)
    with pytest.raises(ValueError, match=r"steps\.inference\.tile_step_size.*'deviations'"):
        deviation_table(changed, paper)


def test_a_stale_entry_is_refused(demo, paper):
    reasons = copy.deepcopy(read_deviations())
    reasons["deviations"].append({"knob": "steps.inference.tile_step_size", "why": "x" * 30,
                                  "effect": "y" * 30})
    with pytest.raises(ValueError, match="agree on it: remove the entry"):
        deviation_table(demo, paper, reasons)


def test_profile_knobs_leave_out_paths(demo):
    knobs = profile_knobs(demo)
    assert "threads" in knobs and "steps.training.normalization" in knobs
    assert not any(k.startswith(("outputs", "data", "name")) for k in knobs)


def test_the_label_transfer_reading_shows_the_profile_value(demo):
    readings = reading_table(demo).set_index("knob")
    knob = "steps.registration.label_interpolation"
    assert readings.at[knob, "value"] == demo.steps["registration"]["label_interpolation"]
    assert "probability of 0" in readings.at[knob, "methods"]


def test_page_names_the_profile_the_book_was_built_with(demo, paper):
    page = deviations_markdown(demo, paper, built_with="ci")
    assert page.startswith("# The demo against the paper")
    assert "built with the `ci` profile" in page
    assert "`steps.training.normalization`" in page
