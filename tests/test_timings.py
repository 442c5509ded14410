"""Step timings from Snakemake's metadata records."""

from __future__ import annotations

import base64
import json
from pathlib import Path

from leukoct.timings import format_timings, job_records, step_timings


def _record(folder: Path, output: Path, rule: str, job: int, start: float, end: float,
            **extra) -> None:
    name = base64.b64encode(str(output).encode()).decode()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(json.dumps({"rule": rule, "job_hash": job, "starttime": start,
                                           "endtime": end, "incomplete": False, **extra}))


def test_one_job_counts_once_and_other_runs_are_left_out(tmp_path: Path) -> None:
    meta, run, other = tmp_path / ".snakemake" / "metadata", tmp_path / "run", tmp_path / "run2"
    # nnunet_train wrote two files in one job of 300 s; register ran twice (10 s, 20 s).
    _record(meta, run / "fold" / "checkpoint_final.pth", "nnunet_train", 7, 1000.0, 1300.0)
    _record(meta, run / "fold" / "summary.json", "nnunet_train", 7, 1000.0, 1300.0)
    _record(meta, run / "reg" / "a" / "warped.nii.gz", "register", 1, 100.0, 110.0)
    _record(meta, run / "reg" / "b" / "warped.nii.gz", "register", 2, 100.0, 120.0)
    # Another profile's run in the same working directory, and an interrupted job.
    _record(meta, other / "book.html", "book", 9, 50.0, 60.0)
    _record(meta, run / "half.csv", "volumes", 3, 2000.0, 2001.0, incomplete=True)
    records = job_records(meta, [run])
    assert set(records["rule"]) == {"nnunet_train", "register"}
    table = step_timings(records).set_index("rule")
    assert table.loc["nnunet_train", "jobs"] == 1 and table.loc["nnunet_train", "seconds"] == 300
    assert table.loc["register", "jobs"] == 2 and table.loc["register", "seconds"] == 30
    assert table.loc["register", "longest_s"] == 20
    assert list(table.index) == ["register", "nnunet_train"]  # by first start
    assert "total (job time)" in format_timings(step_timings(records))


def test_nothing_ran_yet(tmp_path: Path) -> None:
    table = step_timings(job_records(tmp_path / "absent", [tmp_path]))
    assert table.empty and format_timings(table) == "no step has run yet"
