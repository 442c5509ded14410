"""A workflow killed without cleaning up can be resumed with the same command;
a running workflow's lock is never taken from it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from leukoct.workflow_lock import clear_stale_lock, running_snakemake

BIN = Path(sys.executable).parent
SNAKEFILE = """
rule all:
    input: "done.txt"
rule slow:
    output: "done.txt"
    shell: "sleep $(cat delay); touch {output}"
"""


def _lock(folder: Path) -> Path:
    lock = folder / ".snakemake" / "locks" / "0.output.lock"
    lock.parent.mkdir(parents=True)
    lock.write_text(str(folder / "done.txt"))
    return lock


def test_no_lock_nothing_removed(tmp_path: Path) -> None:
    assert clear_stale_lock(tmp_path) == []


def test_a_lock_without_a_running_workflow_is_removed(tmp_path: Path) -> None:
    lock = _lock(tmp_path)
    assert clear_stale_lock(tmp_path) == [Path(".snakemake/locks/0.output.lock")]
    assert not lock.exists()


def test_the_lock_of_a_running_workflow_is_kept(tmp_path: Path) -> None:
    lock = _lock(tmp_path)
    fake = tmp_path / "bin" / "snakemake"          # a process named like Snakemake
    fake.parent.mkdir()
    # Python, not a shell script: ``sh`` forks ``sleep``, and in the instant
    # between fork and exec the child still carries the script's command line,
    # so a scan could count two Snakemakes (seen once in CI at 2f421c2).
    fake.write_text(f"#!{sys.executable}\nimport time\ntime.sleep(30)\n")
    fake.chmod(0o755)
    process = subprocess.Popen([str(fake)], cwd=tmp_path)
    try:
        deadline = time.monotonic() + 10
        while not running_snakemake(tmp_path) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert running_snakemake(tmp_path) == [process.pid]
        assert clear_stale_lock(tmp_path) == []
        assert lock.exists()
        assert running_snakemake(tmp_path / "bin") == [], "another folder's run does not count"
    finally:
        process.kill()
        process.wait()


@pytest.mark.slow
def test_a_killed_snakemake_run_resumes_after_unlock_stale(tmp_path: Path) -> None:
    """SIGKILL (as a power loss) leaves Snakemake's lock, which makes the next run
    refuse to start; ``leukoct unlock-stale`` (the first thing ``make book`` does)
    lets the same command resume."""
    (tmp_path / "Snakefile").write_text(SNAKEFILE)
    (tmp_path / "delay").write_text("60")
    run = [str(BIN / "snakemake"), "--cores", "1", "--rerun-incomplete"]
    job = subprocess.Popen(run, cwd=tmp_path, stdout=subprocess.DEVNULL,
                           stderr=subprocess.DEVNULL, start_new_session=True)
    deadline = time.monotonic() + 60
    while not (tmp_path / ".snakemake" / "incomplete").is_dir() or not any(
            (tmp_path / ".snakemake" / "incomplete").iterdir()):
        assert time.monotonic() < deadline, "the job never started"
        time.sleep(0.1)
    os.killpg(job.pid, signal.SIGKILL)
    job.wait(timeout=30)
    (tmp_path / "delay").write_text("0")
    refused = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert refused.returncode != 0 and "LockException" in refused.stdout + refused.stderr, \
        "Snakemake no longer leaves its lock on SIGKILL: leukoct.workflow_lock may go"
    unlock = subprocess.run([str(BIN / "leukoct"), "unlock-stale"], cwd=tmp_path,
                            capture_output=True, text=True)
    assert unlock.returncode == 0, unlock.stderr
    assert "removed the lock" in unlock.stderr
    resumed = subprocess.run(run, cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert resumed.returncode == 0, resumed.stdout[-2000:] + resumed.stderr[-2000:]
    assert (tmp_path / "done.txt").is_file()
