"""Study steps: order, names, and which runs include which step."""

from __future__ import annotations

from pathlib import Path

import nbformat

from leukoct.config import load_profile, notebook_parameters, step_parameters
from leukoct.steps import STEPS, study_steps

ROOT = Path(__file__).resolve().parents[1]


def test_steps_are_numbered_in_study_order_with_unique_names() -> None:
    numbers = [int(s.stem.split("_")[0]) for s in STEPS]
    assert numbers == sorted(numbers) and len(set(numbers)) == len(numbers)
    assert len({s.name for s in STEPS}) == len(STEPS)


def test_real_data_skip_the_twin_chapter_and_twin_runs_keep_it() -> None:
    assert "01_twin" not in [s.stem for s in study_steps(load_profile("real", root=ROOT))]
    assert [s.stem for s in study_steps(load_profile("ci", root=ROOT))] == [s.stem for s in STEPS]


def test_the_flair_step_runs_on_the_twin_and_where_registration_needs_it(tmp_path) -> None:
    import yaml

    real = load_profile("real", root=ROOT)
    assert "03_flair_segmentation" not in [s.stem for s in study_steps(real)]
    raw = yaml.safe_load((ROOT / "profiles" / "real.yaml").read_text())
    for knobs in ({"wmh_source": "leukoct"}, {"enabled": True}):
        raw["steps"] = {"flair_segmentation": knobs}
        path = tmp_path / "real.yaml"
        path.write_text(yaml.safe_dump(raw))
        stems = [s.stem for s in study_steps(load_profile(path, root=ROOT))]
        assert "03_flair_segmentation" in stems, knobs


def _notebook_parameters(stem: str) -> set[str]:
    notebook = nbformat.read(ROOT / "notebooks" / f"{stem}.ipynb", as_version=4)
    cell = next(c for c in notebook.cells if "parameters" in c.metadata.get("tags", []))
    names: dict[str, object] = {}
    exec(cell.source, {}, names)  # the cell only assigns literals
    return set(names)


def test_every_profile_gives_each_notebook_exactly_its_parameters(monkeypatch) -> None:
    # A notebook takes the profile (and optional overrides) and reads every
    # setting through step_parameters: the same names the workflow's rerun
    # trigger holds, for every profile and every step.
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    for name in ("ci", "demo", "paper", "real"):
        profile = load_profile(name, root=ROOT)
        for step in study_steps(profile):
            assert _notebook_parameters(step.stem) == {"profile", "overrides"}, step.stem
            assert set(step_parameters(step.name, name)) == \
                set(notebook_parameters(profile, step.name)), (name, step.stem)
