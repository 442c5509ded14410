"""What each workflow job asks of a cluster (leukoct.cluster), per profile."""

from __future__ import annotations

from pathlib import Path

from leukoct.cluster import JOB_OVERHEAD_MB, MEASURED, job_resources
from leukoct.config import load_profile

ROOT = Path(__file__).resolve().parents[1]


def test_a_registration_job_holds_twice_its_measured_peak_on_its_grid() -> None:
    for name, grid in (("ci", "coarse"), ("demo", "coarse"), ("paper", "fine"), ("real", "fine")):
        resources = job_resources(load_profile(name, root=ROOT), "register", env={})
        peak = MEASURED[grid]["register_mb"] + JOB_OVERHEAD_MB
        assert 2 * peak <= resources["mem_mb"] < 2 * peak + 100, name
        assert resources["runtime"] * 60 >= 10 * MEASURED[grid]["register_s"], name
        assert "gpu" not in resources and "slurm_account" not in resources


def test_nnunet_asks_for_a_gpu_unless_its_device_is_cpu() -> None:
    paper = load_profile("paper", root=ROOT)
    assert job_resources(paper, "nnunet_train", env={})["gpu"] == 1
    assert job_resources(paper, "nnunet_predict", env={})["gpu"] == 1
    # The paper's 1000 epochs at its 60 s per epoch, with half again for a slower GPU.
    assert job_resources(paper, "nnunet_train", env={})["runtime"] == 1500
    on_cpu = paper.model_copy(update={"steps": {**paper.steps, "training": {"device": "cpu"}}})
    assert "gpu" not in job_resources(on_cpu, "nnunet_train", env={})


def test_account_and_partitions_come_from_the_environment() -> None:
    paper = load_profile("paper", root=ROOT)
    env = {"SLURM_ACCOUNT": "lab42", "SLURM_PARTITION": "cpu", "SLURM_GPU_PARTITION": "a6000"}
    assert job_resources(paper, "register", env)["slurm_partition"] == "cpu"
    assert job_resources(paper, "nnunet_train", env)["slurm_partition"] == "a6000"
    assert job_resources(paper, "register", env)["slurm_account"] == "lab42"
    no_gpu_partition = {"SLURM_PARTITION": "all"}
    assert job_resources(paper, "nnunet_train", no_gpu_partition)["slurm_partition"] == "all"
