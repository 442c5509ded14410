"""Wall time of each design arm (issue 22), from Snakemake's own job records.

An arm's rules are named ``arm_<arm>_<rule>`` (workflow/rules/arms.smk) and
write under ``<run>/arms/<arm>/``; :mod:`leukoct.timings` reads the records
Snakemake keeps for every output.  For the study and for each arm that has
run, this prints the jobs, the summed job time (what the arm costs a
machine: CPU-time-like when jobs ran in parallel), the elapsed span from its
first job's start to its last job's end (its wall time when it ran alone),
and the time of its slowest rule.  Run after ``make book ARMS=1``::

    .venv/bin/python benchmarks/arm_cost.py --profile demo [--directory .]

``--directory``: the Snakemake working directory (the project root for
``make``; a test's folder for the suite's runs).  Reads only.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from leukoct.config import load_profile
from leukoct.timings import job_records, step_timings


def arm_costs(records: pd.DataFrame, arm_names: list[str]) -> pd.DataFrame:
    """One row per design (``study`` and each arm with records): jobs, job
    seconds, elapsed seconds, slowest rule."""
    rows = []
    arm_of = {f"arm_{name}_": name for name in arm_names}
    design = records["rule"].map(lambda r: next((a for p, a in arm_of.items()
                                                 if r.startswith(p)), "study"))
    for name, part in records.groupby(design, sort=False):
        per_rule = step_timings(part)
        slowest = per_rule.loc[per_rule["seconds"].idxmax()]
        rows.append({"design": name, "jobs": int(per_rule["jobs"].sum()),
                     "job_seconds": round(float(per_rule["seconds"].sum()), 1),
                     "elapsed_seconds": round(float(part["end"].max() - part["start"].min()), 1),
                     "slowest_rule": slowest["rule"],
                     "slowest_seconds": round(float(slowest["seconds"]), 1)})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--directory", type=Path, default=Path("."),
                        help="Snakemake's working directory (default: here)")
    args = parser.parse_args()
    profile = load_profile(args.profile)
    outputs = profile.outputs
    records = job_records(args.directory / ".snakemake" / "metadata",
                          [outputs.root, outputs.figures, outputs.book])
    if records.empty:
        print("no job records: run the workflow first (make book ARMS=1)")
        return
    table = arm_costs(records, list(profile.arms))
    print(f"profile {profile.name}: {len(table) - 1} of {len(profile.arms)} arms have run")
    print(table.to_string(index=False))


if __name__ == "__main__":
    main()
