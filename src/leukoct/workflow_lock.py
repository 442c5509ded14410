"""The lock a killed workflow leaves behind, and when it is safe to remove.

Snakemake locks its working directory while it runs (``.snakemake/locks``) and
removes the lock when it stops, even on Ctrl-C.  A run that dies without
stopping (SIGKILL, an out-of-memory kill, a power loss) leaves the lock, and
the next ``make book`` refuses to start until someone runs
``snakemake --unlock``.  :func:`clear_stale_lock` removes the lock only when
no Snakemake process is running in that directory, which is exactly when the
lock is stale; ``make book`` calls it first, so a killed build resumes with the
same command that started it.
"""

from __future__ import annotations

import os
from pathlib import Path

import psutil

LOCKS = Path(".snakemake") / "locks"


def _is_snakemake(cmdline: list[str]) -> bool:
    # ``.venv/bin/snakemake ...`` or ``python -m snakemake ...``; not the jobs
    # it starts (their command lines name leukoct, papermill, ...).
    head = cmdline[:3]
    return any(Path(part).name == "snakemake" for part in head)


def running_snakemake(directory: str | os.PathLike[str]) -> list[int]:
    """Process ids of the Snakemake processes whose working directory is
    ``directory`` (or that cannot be inspected, which are counted as running:
    removing a live run's lock would let two runs write the same files)."""
    target = Path(directory).resolve()
    found = []
    for process in psutil.process_iter(["pid", "cmdline"]):
        try:
            if process.pid == os.getpid() or not _is_snakemake(process.info["cmdline"] or []):
                continue
            if Path(process.cwd()).resolve() == target:
                found.append(process.pid)
        except psutil.NoSuchProcess:
            continue
        except psutil.AccessDenied:
            found.append(process.pid)
    return found


def clear_stale_lock(directory: str | os.PathLike[str]) -> list[Path]:
    """Remove the lock files of a workflow that is no longer running.

    Parameters
    ----------
    directory
        The workflow's working directory (the one holding ``.snakemake``).

    Returns
    -------
    list of Path
        The lock files removed, relative to ``directory``; empty when there was
        no lock or a Snakemake process is running there (its lock is kept).
    """
    folder = Path(directory) / LOCKS
    locks = sorted(folder.glob("*.lock")) if folder.is_dir() else []
    if not locks or running_snakemake(directory):
        return []
    for lock in locks:
        lock.unlink(missing_ok=True)
    return [lock.relative_to(directory) for lock in locks]
