"""Artefacts are written as PNG+PDF / CSV+HTML with a provenance sidecar,
deterministically."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import pandas as pd  # noqa: E402

from leukoct.artefacts import save_figure, save_table  # noqa: E402
from leukoct.manifest import sha256_file  # noqa: E402
from leukoct.provenance import read_sidecar  # noqa: E402


def test_save_table_writes_csv_html_and_provenance(tmp_path: Path) -> None:
    source = tmp_path / "input.csv"
    source.write_text("a\n1\n")
    table = pd.DataFrame({"n": [1, 2]}, index=["x", "y"])
    paths = save_table(table, "table9", tmp_path / "out", "notebooks/99.ipynb",
                       {"seed": 3}, inputs=[source], caption="A caption", index=True)
    assert [p.name for p in paths] == ["table9.csv", "table9.html", "table9.provenance.json"]
    assert pd.read_csv(paths[0], index_col=0)["n"].tolist() == [1, 2]
    assert "<caption>A caption</caption>" in paths[1].read_text()
    record = read_sidecar(tmp_path / "out", "table9")
    assert record["notebook"] == "notebooks/99.ipynb"
    assert record["parameters"] == {"seed": 3}
    # A file outside the project is named without its folders (they may carry a name).
    assert record["inputs"] == {"<outside the project>/input.csv": sha256_file(source)}
    assert record["files"] == ["table9.csv", "table9.html"]
    assert "pandas" in record["packages"] and record["commit"]


def test_figures_are_byte_identical_when_redrawn(tmp_path: Path) -> None:
    digests = []
    for attempt in range(2):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        paths = save_figure(fig, "figure9", tmp_path / f"run{attempt}", "nb", {})
        plt.close(fig)
        digests.append([sha256_file(p) for p in paths[:2]])
        assert json.loads(paths[2].read_text())["files"] == ["figure9.pdf", "figure9.png"]
    assert digests[0] == digests[1]
