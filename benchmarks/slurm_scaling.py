"""The registration fan-out on a local SLURM with 1 and 2 CPUs, and the
``paper`` profile's wall time projected for N registration workers.

Run: ``python benchmarks/slurm_scaling.py [--cpus 1 2] [--project-only]``
(as root, with Debian's slurm-wlm, slurmdbd, munge and mariadb-server; see
tests/local_slurm.py).

For each CPU count a fresh one-node cluster (tests/local_slurm.py) runs the
``ci`` profile's cascade -> one ``register`` job per subject -> QC through
``workflow/profiles/slurm``, on a copy of one ci twin generated first
(untimed).  Printed per count: Snakemake's wall time, the span of the
register jobs in SLURM's accounting (first start to last end: what the
cluster did, without the plugin's status polling, 40 s before its first
check), the mean job time in ``sacct`` and the mean registration time the
jobs measured themselves (``runtime_s`` of qc.csv); their difference is what
a job costs beyond its registration (Snakemake re-reading the workflow in the
job).  The speed-up is the ratio of the spans.

The projection is ``T(N) = T_twin + ceil(P / N) * (t_reg + t_job) + T_train +
T_predict`` along the workflow's critical path: ``P`` = 1,739 CT-FLAIR pairs,
``t_reg`` the paper-grid registration time and ``T_twin`` the twin's time at
the paper's size (both measured, ``leukoct.cluster.MEASURED``), ``t_job`` the
per-job cost measured here, ``T_train`` the paper's 1000 epochs at 60 s (RTX
A6000), ``T_predict`` 2,567 CTs at 12 s each plus 25 s per group (measured on
a CPU: an upper bound for the one GPU, which runs the four groups in turn).
Chapters, nnU-Net planning and the book (minutes) are left out.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import pandas as pd

from leukoct.cluster import MEASURED, NNUNET

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from local_slurm import LocalSlurm, missing_packages  # noqa: E402
from profile_edit import profile_in  # noqa: E402

PAIRS = 1739            # CT-FLAIR pairs the paper registers
SUBJECTS = 2567         # identified subjects: the twin's size, and the CTs predicted
TWIN_WORKERS = 8        # profiles/paper.yaml


def _snakemake(folder: Path, *args: str, env: dict[str, str] | None = None) -> str:
    command = [str(Path(sys.executable).parent / "snakemake"), "--snakefile",
               str(ROOT / "Snakefile"), "--directory", str(folder), "--config",
               f"profile={folder / 'ci_here.yaml'}", *args]
    env = {**(env or os.environ), "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1",
           "PATH": f"{Path(sys.executable).parent}{os.pathsep}{(env or os.environ)['PATH']}"}
    # timeout -k: Snakemake ignores SIGTERM while cluster jobs run.
    result = subprocess.run(["timeout", "-k", "10", "1800", *command], capture_output=True,
                            text=True, env=env, cwd=folder)
    if result.returncode != 0:
        sys.exit(f"snakemake failed in {folder}:\n{(result.stdout + result.stderr)[-3000:]}")
    return result.stdout + result.stderr


def _seconds(stamp: str) -> float:
    return datetime.fromisoformat(stamp).timestamp()


def fan_out(data: Path, cpus: int, scratch: Path) -> dict[str, float]:
    """One SLURM run of the ci fan-out on a ``cpus``-CPU node."""
    folder = scratch / f"cpus{cpus}"
    folder.mkdir()
    shutil.copytree(data, folder / "data")
    profile_in(folder, folder / "data" / "manifest.csv")
    with LocalSlurm(scratch / f"slurm{cpus}", cpus=cpus) as cluster:
        start = time.perf_counter()
        # The target last: --config would take it as one more entry.
        output = _snakemake(folder, "--workflow-profile",
                            str(ROOT / "workflow" / "profiles" / "slurm"), "--slurm-logdir",
                            str(folder / "run" / "logs" / "slurm"), "registration_qc",
                            env=cluster.env)
        wall = time.perf_counter() - start
        jobs = {j["JobIDRaw"]: j for j in cluster.jobs()}
    ids = re.findall(r"submitted with SLURM jobid (\d+) \(log: .*?rule_register/", output)
    register = [jobs[i] for i in ids]
    starts = [_seconds(j["Start"]) for j in register]
    ends = [_seconds(j["End"]) for j in register]
    qc = pd.read_csv(folder / "run" / "registration" / "qc.csv")
    return {"cpus": cpus, "jobs": len(register), "wall_s": wall, "span_s": max(ends) - min(starts),
            "job_s": sum(e - s for s, e in zip(starts, ends)) / len(register),
            "registration_s": float(qc["runtime_s"].mean())}


def projection(job_overhead_s: float, workers: list[int]) -> pd.DataFrame:
    """The paper's wall time, in hours, for each count of registration workers."""
    fine = MEASURED["fine"]
    twin = SUBJECTS * fine["twin_s_per_subject"] / TWIN_WORKERS
    train = 1000 * NNUNET["paper_epoch_s"]
    predict = SUBJECTS * NNUNET["predict_case_s"] + 4 * NNUNET["predict_start_s"]
    rows = []
    for n in workers:
        register = math.ceil(PAIRS / n) * (fine["register_s"] + job_overhead_s)
        rows.append({"registration workers": n, "twin h": twin / 3600,
                     "registration h": register / 3600, "training h": train / 3600,
                     "prediction h": predict / 3600,
                     "total h": (twin + register + train + predict) / 3600})
    return pd.DataFrame(rows).round(2)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cpus", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 8, 32, 128, PAIRS])
    parser.add_argument("--project-only", type=float, metavar="JOB_OVERHEAD_S",
                        help="skip the runs; project with this per-job cost (seconds)")
    args = parser.parse_args()
    overhead = args.project_only
    if overhead is None:
        if missing_packages():
            sys.exit("a local SLURM needs the Debian packages " + " ".join(missing_packages()))
        with tempfile.TemporaryDirectory(prefix="leukoct-slurm-bench-") as tmp:
            scratch = Path(tmp)
            twin = scratch / "twin"
            twin.mkdir()
            profile_in(twin, twin / "data" / "manifest.csv")
            _snakemake(twin, "--cores", "2", "cascade")      # the ci twin, untimed
            runs = pd.DataFrame([fan_out(twin / "data", cpus, scratch) for cpus in args.cpus])
        print("the ci registration fan-out on a local SLURM (seconds):")
        print(runs.round(1).to_string(index=False))
        if len(runs) > 1:
            first, last = runs.iloc[0], runs.iloc[-1]
            print(f"speed-up {int(first.cpus)} -> {int(last.cpus)} CPUs: "
                  f"{first.span_s / last.span_s:.2f}x on the cluster's span, "
                  f"{first.wall_s / last.wall_s:.2f}x on Snakemake's wall time")
        overhead = float((runs["job_s"] - runs["registration_s"]).mean())
    print(f"\nthe paper projected (hours; per-job cost beyond registration {overhead:.1f} s):")
    print(projection(overhead, args.workers).to_string(index=False))


if __name__ == "__main__":
    main()
