"""Display helpers: windows, checkerboards, Grotta bars."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

from leukoct.display import checkerboard, grotta_bars, window


def test_window_maps_the_window_onto_0_1() -> None:
    assert list(window(np.array([0.0, 40.0, 80.0, 200.0]), 40.0, 80.0)) == [0.0, 0.5, 1.0, 1.0]


def test_checkerboard_alternates_blocks() -> None:
    a, b = np.zeros((4, 4, 2)), np.ones((4, 4, 2))
    board = checkerboard(a, b, block=2)
    assert board[0, 0, 0] == 1 and board[0, 2, 0] == 0 and board[2, 0, 1] == 0
    assert board.sum() == 16, "half of the 32 voxels come from each image"
    with pytest.raises(ValueError, match="one shape"):
        checkerboard(a, b[:2])


def test_grotta_bars_return_the_shares_drawn() -> None:
    fig, ax = plt.subplots()
    outcome = pd.Series([0, 1, 1, 6, 3, 3])
    group = pd.Series(["Q1", "Q1", "Q1", "Q2", "Q2", "Q2"])
    shares = grotta_bars(ax, outcome, group)
    plt.close(fig)
    assert shares.loc["Q1", 1] == pytest.approx(2 / 3) and shares.loc["Q2", 6] == pytest.approx(1 / 3)
    assert np.allclose(shares.sum(axis=1), 1.0)
