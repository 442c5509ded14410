"""How long each step of a run took, from Snakemake's own records.

Snakemake keeps, for every output file, a JSON record of the job that last
wrote it (``.snakemake/metadata/<base64 of the path>``: rule, start and end
time, job hash).  :func:`job_records` reads the records of one run's files,
:func:`step_timings` sums them per rule, so that ``make book`` can end with
the time each step took — including steps that did not run this time, with
the date they last ran.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

__all__ = ["RECORD_COLUMNS", "job_records", "step_timings", "format_timings"]

#: Columns of :func:`job_records`.
RECORD_COLUMNS: tuple[str, ...] = ("output", "rule", "job", "start", "end")


def _decode(name: str) -> str | None:
    try:
        return base64.b64decode(name).decode()
    except (binascii.Error, UnicodeDecodeError):
        return None


def job_records(metadata_dir: str | os.PathLike[str],
                under: Iterable[str | os.PathLike[str]]) -> pd.DataFrame:
    """Snakemake's records of the output files below the folders ``under`` (reads files).

    Parameters
    ----------
    metadata_dir
        ``<snakemake working directory>/.snakemake/metadata``.
    under
        Folders of one run (the profile's outputs root, figures and book):
        records of other runs' files in the same working directory are left out.

    Returns
    -------
    pandas.DataFrame
        :data:`RECORD_COLUMNS`; ``job`` is Snakemake's job hash (one job writes
        several outputs), ``start``/``end`` are seconds since the epoch.  Empty
        when the folder does not exist (nothing ran yet).  Records without
        times (interrupted jobs) are skipped.
    """
    folder = Path(metadata_dir)
    roots = [str(Path(u).resolve()) + os.sep for u in under]
    rows = []
    if folder.is_dir():
        for entry in sorted(folder.iterdir()):
            path = _decode(entry.name)
            if path is None or not any((path + os.sep).startswith(r) for r in roots):
                continue
            try:
                record = json.loads(entry.read_text())
            except (OSError, json.JSONDecodeError):
                continue
            start, end = record.get("starttime"), record.get("endtime")
            if start is None or end is None or record.get("incomplete"):
                continue
            rows.append({"output": path, "rule": record.get("rule", "?"),
                         "job": record.get("job_hash"), "start": float(start),
                         "end": float(end)})
    return pd.DataFrame(rows, columns=list(RECORD_COLUMNS))


def step_timings(records: pd.DataFrame) -> pd.DataFrame:
    """Seconds per rule: one job counted once, however many files it wrote.

    Parameters
    ----------
    records
        :func:`job_records`.

    Returns
    -------
    pandas.DataFrame
        ``rule, jobs, seconds`` (sum of job durations: CPU-time-like when jobs
        ran in parallel), ``longest_s``, ``last_finished`` (UTC, ISO 8601);
        rules in the order they first started (the study's order on a cold run).
    """
    if records.empty:
        return pd.DataFrame(columns=["rule", "jobs", "seconds", "longest_s", "last_finished"])
    jobs = (records.groupby(["rule", "job"], dropna=False)
            .agg(start=("start", "min"), end=("end", "max")).reset_index())
    jobs["seconds"] = jobs["end"] - jobs["start"]
    table = jobs.groupby("rule").agg(jobs=("job", "size"), seconds=("seconds", "sum"),
                                     longest_s=("seconds", "max"), first=("start", "min"),
                                     last=("end", "max")).reset_index()
    table = table.sort_values("first").reset_index(drop=True)
    table["last_finished"] = [datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
                              for t in table["last"]]
    return table[["rule", "jobs", "seconds", "longest_s", "last_finished"]]


def format_timings(table: pd.DataFrame) -> str:
    """The table as aligned text for a terminal, with a total line."""
    if table.empty:
        return "no step has run yet"
    lines = [f"{'step (rule)':<22} {'jobs':>5} {'seconds':>9} {'longest':>9}  last finished"]
    for row in table.itertuples():
        lines.append(f"{row.rule:<22} {row.jobs:>5} {row.seconds:>9.1f} {row.longest_s:>9.1f}"
                     f"  {row.last_finished}")
    lines.append(f"{'total (job time)':<22} {int(table['jobs'].sum()):>5} "
                 f"{table['seconds'].sum():>9.1f}")
    return "\n".join(lines)
