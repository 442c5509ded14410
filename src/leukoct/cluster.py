"""What each workflow job asks of a cluster: memory, time, CPUs, a GPU.

The rules (``workflow/rules/*.smk``) pass ``job_resources(profile, rule)`` as
their Snakemake ``resources``; the SLURM executor plugin turns them into
``sbatch --mem``, ``-t``, ``--gpus``, ``-A`` and ``-p``.  A local run ignores
them (Snakemake limits only the resources given with ``--resources``).

Every figure is a measured peak or time (docs/decisions.md, 2026-12-02, and
``benchmarks/``) with headroom: memory twice the measured peak resident set plus what
Snakemake holds in the job (``JOB_OVERHEAD_MB``),
time at least ten times the measured wall time, so that a loaded node neither
kills a job nor holds a slot far longer than it needs.  Two grids were
measured: the twin's coarse CT (``ci``, ``demo``: 1.5-2 mm in-plane) and the
paper's 0.45 mm class (``paper``, and ``real``, whose clinical CTs are of that
class).

The account and partitions are the user's, read from the environment:
``SLURM_ACCOUNT``, ``SLURM_PARTITION`` and ``SLURM_GPU_PARTITION`` (for the
nnU-Net jobs; ``SLURM_PARTITION`` where unset).  Unset, the plugin lets the
cluster choose (its default partition, the user's default account).
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping

from leukoct.config import Profile

#: Measured per job on a 2-core machine (docs/decisions.md, 2026-12-02):
#: peak resident MB and seconds of one registration, and of one twin subject
#: per worker, on the coarse and on the fine (0.45 mm) CT grid.
MEASURED = {
    "coarse": {"register_mb": 486, "register_s": 14, "twin_mb": 455, "twin_s_per_subject": 2.5},
    "fine": {"register_mb": 930, "register_s": 36, "twin_mb": 1882, "twin_s_per_subject": 34},
}
#: What Snakemake itself holds inside every SLURM job (it re-reads the workflow
#: there, then runs the rule's command): the peak resident MB of a ci
#: ``register`` job's batch step in ``sacct`` (446 MB; its registration step
#: peaked at 870 MB, the two together).
JOB_OVERHEAD_MB = 450
#: nnU-Net, measured at the demo's size (docs/decisions.md): planning 1.6 GB,
#: training 2.0 GB peak; prediction 25 s per predictor start, then at most
#: 12 s per case on a CPU (with test-time mirroring).  The paper's training:
#: 1000 epochs at its reported 60 s per epoch on an RTX A6000.
NNUNET = {"plan_mb": 1600, "train_mb": 2000, "predict_start_s": 25, "predict_case_s": 12,
          "paper_epoch_s": 60}
#: Peak memory of a chapter (papermill, pandas, matplotlib) and of the book's
#: build, on the demo; the paper's tables are a few thousand rows.
CHAPTER_MB = 2000
#: nnU-Net's planning and training on the fine grid were not measured (no GPU
#: here, and a paper-sized twin does not fit this machine): four times the
#: demo's peaks is an estimate, for the larger patches and the cases nnU-Net
#: holds in memory.  Replace it with a measured peak (``sacct -j <id>
#: --format MaxRSS``) after the first paper-scale run.
FINE_NNUNET_FACTOR = 4


def grid(profile: Profile) -> str:
    """``coarse`` for a twin on a CT grid of 1.5 mm or more, else ``fine``."""
    twin = profile.twin
    return "coarse" if twin is not None and twin.ct_inplane_mm >= 1.5 else "fine"


def _subjects(profile: Profile) -> int:
    twin = profile.twin
    if twin is None:      # a real manifest: the paper's count as the planning figure
        return 2567
    return twin.development + twin.external + twin.us + twin.clinical


def _minutes(seconds: float, floor: int = 10) -> int:
    return max(floor, math.ceil(seconds / 60))


def _mb(measured_mb: float) -> int:
    # Twice the measured peak with Snakemake's own share, rounded up to 100 MB.
    return int(math.ceil(2 * (measured_mb + JOB_OVERHEAD_MB) / 100) * 100)


def _placement(gpu: bool, env: Mapping[str, str]) -> dict[str, str]:
    where = {}
    if env.get("SLURM_ACCOUNT"):
        where["slurm_account"] = env["SLURM_ACCOUNT"]
    partition = (env.get("SLURM_GPU_PARTITION") if gpu else None) or env.get("SLURM_PARTITION")
    if partition:
        where["slurm_partition"] = partition
    return where


def wants_gpu(profile: Profile, step: str) -> bool:
    """Whether an nnU-Net step asks for a GPU: unless its ``device`` is ``cpu``."""
    return profile.steps.get(step, {}).get("device", "auto") != "cpu"


def job_resources(profile: Profile, rule: str,
                  env: Mapping[str, str] | None = None) -> dict[str, int | str]:
    """The Snakemake resources of one rule's jobs on ``profile``.

    Parameters
    ----------
    profile
        The run's profile (its grid, cohort sizes and nnU-Net schedule).
    rule
        A rule name: ``twin_data``, ``register``, ``nnunet_plan``,
        ``nnunet_train``, ``nnunet_predict``, ``wmh_train``, ``wmh_predict``; any other rule (a chapter, the
        book) gets a chapter's resources.
    env
        Where the account and partitions are read (default ``os.environ``).

    Returns
    -------
    dict
        ``mem_mb`` and ``runtime`` (minutes), ``gpu`` for a GPU job, and
        ``slurm_account`` / ``slurm_partition`` where the environment sets them.
    """
    env = os.environ if env is None else env
    measured = MEASURED[grid(profile)]
    nnunet_scale = FINE_NNUNET_FACTOR if grid(profile) == "fine" else 1
    gpu = False
    if rule == "register":
        resources = {"mem_mb": _mb(measured["register_mb"]),
                     "runtime": _minutes(10 * measured["register_s"])}
    elif rule == "twin_data":
        workers = profile.twin.workers if profile.twin is not None else 1
        seconds = _subjects(profile) * measured["twin_s_per_subject"] / workers
        resources = {"mem_mb": _mb(workers * measured["twin_mb"]),
                     "runtime": _minutes(3 * seconds, floor=30)}
    elif rule == "nnunet_plan":
        resources = {"mem_mb": _mb(NNUNET["plan_mb"]) * nnunet_scale,
                     "runtime": 120}
    elif rule == "nnunet_train":
        training = profile.steps.get("training", {})
        epochs = training.get("epochs", 1000)
        gpu = wants_gpu(profile, "training")
        resources = {"mem_mb": _mb(NNUNET["train_mb"]) * nnunet_scale,
                     # The paper's epoch time scaled by the schedule; a CPU run
                     # of the demo's 60 epochs took 15 min (8-15 s per epoch).
                     "runtime": _minutes(1.5 * epochs * (NNUNET["paper_epoch_s"] if gpu else 15),
                                         floor=60)}
    elif rule == "nnunet_predict":
        gpu = wants_gpu(profile, "inference")
        seconds = NNUNET["predict_start_s"] + _subjects(profile) * NNUNET["predict_case_s"]
        resources = {"mem_mb": _mb(NNUNET["train_mb"]), "runtime": _minutes(2 * seconds)}
    elif rule in ("wmh_train", "wmh_predict"):
        # The FLAIR ensemble's models (leukoct.wmh).  Measured on 2 CPU cores:
        # 0.33-0.41 s per batch of 8 at 128 x 128 and 8 features, 2 s at 32
        # features; the seed's 256 x 256 on a GPU was not measured (no GPU
        # here): ask for a day, as for nnU-Net's paper schedule.
        knobs = profile.steps.get("flair_segmentation", {})
        gpu = knobs.get("device", "auto") != "cpu"
        iterations = knobs.get("epochs", 50) * (knobs.get("iterations_per_epoch") or 2000)
        cpu_s = iterations * 0.5 * (knobs.get("slice_size", 256) / 128) ** 2 \
            * knobs.get("base_features", 32) / 8
        resources = {"mem_mb": _mb(CHAPTER_MB),
                     "runtime": 24 * 60 if gpu else _minutes(1.5 * cpu_s, floor=30)}
    else:
        resources = {"mem_mb": _mb(CHAPTER_MB), "runtime": 120}
    if gpu:
        resources["gpu"] = 1
    return {**resources, **_placement(gpu, env)}
