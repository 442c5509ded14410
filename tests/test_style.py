"""The code follows the project's lint rules (``[tool.ruff]`` in pyproject.toml,
the same check pre-commit runs before a commit)."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


def test_ruff_finds_nothing() -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff is not installed: `make env` installs the test extra, which holds it")
    result = subprocess.run([ruff, "check", "--no-cache", "src", "tests", "benchmarks", "notebooks"],
                            cwd=ROOT, capture_output=True, text=True)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-2000:]
