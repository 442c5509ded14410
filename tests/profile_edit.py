"""A built-in profile with every knob written out, for tests that edit one knob.

The built-in profiles set only the knobs in which they depart from the paper;
a user may as well write every knob out.  Tests that misspell or mistype a
knob edit this spelled-out text, so that the knob they edit is there whatever
the profile's file omits.
"""

from __future__ import annotations

from pathlib import Path

import yaml

from leukoct.knobs import resolved_steps

ROOT = Path(__file__).resolve().parents[1]


def spelled_out(name: str) -> str:
    """``profiles/<name>.yaml`` with its ``steps:`` section holding every knob."""
    raw = yaml.safe_load((ROOT / "profiles" / f"{name}.yaml").read_text())
    raw["steps"] = resolved_steps(raw.get("steps") or {})
    return yaml.safe_dump(raw, sort_keys=False)


def profile_in(folder: Path, manifest: Path, name: str = "ci") -> Path:
    """``profiles/<name>.yaml`` reading ``manifest``, every output under ``folder``
    (``folder/run/<step>/``, ``folder/figures``): how a notebook is pointed at
    another study, since a notebook's paths come from its profile."""
    raw = yaml.safe_load((ROOT / "profiles" / f"{name}.yaml").read_text())
    raw["data"]["manifest"] = str(manifest)
    raw["outputs"] = {"root": str(folder / "run"), "figures": str(folder / "figures"),
                      "book": str(folder / "book")}
    path = folder / f"{name}_here.yaml"
    path.write_text(yaml.safe_dump(raw, sort_keys=False))
    return path
