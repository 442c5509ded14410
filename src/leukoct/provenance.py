"""Provenance sidecars: what made each artefact.

Every figure and table a notebook writes gets a ``<id>.provenance.json``
sidecar naming the notebook, its parameters, the SHA-256 of its inputs, the
code's git commit and the package versions, so a reader of the book can
trace a number back to the code and data that produced it.
"""

from __future__ import annotations

import datetime as _dt
import json
import os
import platform
import subprocess
from collections.abc import Iterable, Mapping
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

from leukoct.config import public_parameters, public_path
from leukoct.manifest import sha256_file

#: Packages whose versions are recorded in every sidecar.
RECORDED_PACKAGES: tuple[str, ...] = (
    "leukoct", "numpy", "pandas", "scipy", "statsmodels", "matplotlib", "seaborn",
    "SimpleITK", "antspyx", "nnunetv2", "torch", "tableone",
)


def git_commit(root: str | os.PathLike[str] | None = None) -> str:
    """The current commit of the repository holding ``root`` (``+dirty`` when
    tracked files have uncommitted changes), or ``"unknown"`` outside git."""
    cwd = Path(root) if root else Path.cwd()
    try:
        commit = subprocess.run(["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True,
                                text=True, check=True, timeout=10).stdout.strip()
        dirty = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                               cwd=cwd, capture_output=True, text=True, check=True,
                               timeout=10).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return "unknown"
    return commit + ("+dirty" if dirty else "")


def package_versions(names: Iterable[str] = RECORDED_PACKAGES) -> dict[str, str]:
    """Installed versions of ``names`` (missing packages are left out)."""
    found: dict[str, str] = {}
    for name in names:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            continue
    return found


def provenance_record(
    artefact_id: str,
    files: Iterable[str | os.PathLike[str]],
    notebook: str,
    parameters: Mapping[str, Any] | None = None,
    inputs: Iterable[str | os.PathLike[str]] = (),
    root: str | os.PathLike[str] | None = None,
) -> dict[str, Any]:
    """Build the provenance record of one artefact.

    Parameters
    ----------
    artefact_id
        Identifier, e.g. ``"table1"`` or ``"figure1"``.
    files
        The files that make up the artefact (PNG/PDF or CSV/HTML).
    notebook
        The notebook that produced it (path relative to the project).
    parameters
        The notebook's parameters.
    inputs
        Input files whose SHA-256 identifies the data used.
    root
        Repository root for the commit lookup.
    """
    return {
        "artefact": artefact_id,
        "files": sorted(Path(f).name for f in files),
        "notebook": notebook,
        # Paths as the book may show them: relative to the project, never the
        # machine's absolute paths (a real study's folders may carry names).
        "parameters": public_parameters(dict(parameters or {})),
        "inputs": {public_path(p): sha256_file(p) for p in inputs if Path(p).is_file()},
        "commit": git_commit(root),
        "created": _dt.datetime.now(_dt.UTC).isoformat(timespec="seconds"),
        "python": platform.python_version(),
        "packages": package_versions(),
    }


def write_sidecar(record: Mapping[str, Any], folder: str | os.PathLike[str]) -> Path:
    """Write ``<artefact>.provenance.json`` into ``folder``."""
    path = Path(folder) / f"{record['artefact']}.provenance.json"
    path.write_text(json.dumps(record, indent=2, sort_keys=True, default=str) + "\n",
                    encoding="utf-8")
    return path


def read_sidecar(folder: str | os.PathLike[str], artefact_id: str) -> dict[str, Any] | None:
    """Read an artefact's provenance record, or ``None`` if it was never written."""
    path = Path(folder) / f"{artefact_id}.provenance.json"
    if not path.is_file():
        return None
    return json.loads(path.read_text(encoding="utf-8"))
