"""The paper's published values, as data, for side-by-side comparisons."""

from __future__ import annotations

from importlib.resources import files
from io import StringIO

import pandas as pd


def paper_table1() -> pd.DataFrame:
    """Table 1 of the paper as printed (``leukoct/data/paper_table1.csv``)."""
    text = files("leukoct").joinpath("data/paper_table1.csv").read_text("utf-8")
    return pd.read_csv(StringIO(text), comment="#", dtype=str, keep_default_na=False)
