"""Figure 1: the flowchart shows the numbers of the curation cascade."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pandas as pd
import pytest

from leukoct.flowchart import draw_flowchart, exclusion_lines, split_counts


def _flow() -> pd.DataFrame:
    rows = [("development", "Development", "identified", "Identified", 876),
            ("development", "Development", "large_infarct", "Large (> 5 mL) infarct", 231),
            ("development", "Development", "registration_error", "Registration error: pending",
             float("nan")),
            ("development", "Development", "analysed", "Analysed (before registration QC)", 645),
            ("us", "US population", "identified", "Identified", 100),
            ("us", "US population", "analysed", "Analysed", 100)]
    return pd.DataFrame(rows, columns=["group", "label", "step", "text", "n"])


def test_every_number_and_reason_is_drawn() -> None:
    flow = _flow()
    fig = draw_flowchart(flow, {"development": {"Training": 560, "Internal validation": 85}})
    text = "\n".join(t.get_text() for t in fig.axes[0].texts)
    plt.close(fig)
    for expected in ("Identified (n = 876)", "Large (> 5 mL) infarct (n = 231)",
                     "Analysed (n = 645)", "before registration QC", "Training: n = 560",
                     "Internal validation: n = 85", "Identified (n = 100)",
                     "Registration error: awaiting"):
        assert expected in text, expected
    assert "Excluded (n = 231)" in text, "pending rules count no one yet"


def test_a_group_without_exclusions_has_no_exclusion_box() -> None:
    assert exclusion_lines(_flow()[lambda f: f["group"] == "us"]) == []
    with pytest.raises(ValueError, match="empty"):
        draw_flowchart(_flow().iloc[0:0])


def test_split_counts() -> None:
    split = pd.Series(["train", "internal", "train", ""])
    assert split_counts(split) == {"development": {"Training": 2, "Internal validation": 1}}
