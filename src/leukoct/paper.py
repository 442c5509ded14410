"""The paper's published values, as data, for side-by-side comparisons."""

from __future__ import annotations

from importlib.resources import files
from io import StringIO

import pandas as pd


def paper_table(name: str) -> pd.DataFrame:
    """A published table as printed (``leukoct/data/paper_<name>.csv``), every cell as text."""
    text = files("leukoct").joinpath(f"data/paper_{name}.csv").read_text("utf-8")
    return pd.read_csv(StringIO(text), comment="#", dtype=str, keep_default_na=False)


def paper_table1() -> pd.DataFrame:
    """Table 1 of the paper as printed (``leukoct/data/paper_table1.csv``)."""
    return paper_table("table1")
