"""Profiles: every built-in profile loads, paths resolve against the project
root, bad profiles are named precisely."""

from __future__ import annotations

from pathlib import Path

import pytest
from profile_edit import spelled_out

from leukoct.config import (
    ProfileError,
    load_profile,
    notebook_parameters,
    step_parameters,
)

ROOT = Path(__file__).resolve().parents[1]
BUILT_IN = ["ci", "demo", "paper", "real"]


@pytest.mark.parametrize("name", BUILT_IN)
def test_built_in_profiles_load(name: str) -> None:
    profile = load_profile(name, root=ROOT)
    assert profile.name == name
    for path in (profile.manifest, profile.outputs.root, profile.outputs.figures,
                 profile.outputs.book):
        assert path.is_absolute() and ROOT in path.parents


def test_twin_profiles_scale_the_papers_design() -> None:
    paper = load_profile("paper", root=ROOT).twin
    assert (paper.development, paper.external, paper.us, paper.clinical) == (876, 411, 100, 1180)
    ci, demo = load_profile("ci", root=ROOT).twin, load_profile("demo", root=ROOT).twin
    assert ci.development < demo.development < paper.development


def test_real_profile_reads_a_manifest_not_the_twin() -> None:
    real = load_profile("real", root=ROOT)
    assert real.data.source == "manifest" and real.twin is None
    assert real.manifest == ROOT / "data_manifest" / "manifest.csv"


def test_paths_resolve_from_any_working_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert load_profile("ci", root=ROOT).manifest == ROOT / "build/ci/data/manifest.csv"


def test_unknown_profile_lists_the_known_ones() -> None:
    with pytest.raises(ProfileError, match="unknown profile 'nope'.*ci, demo, paper, real"):
        load_profile("nope", root=ROOT)


def test_invalid_profile_names_file_and_key(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text((ROOT / "profiles/ci.yaml").read_text().replace("seed: 20240611", "seed: -3"))
    with pytest.raises(ProfileError) as info:
        load_profile(bad, root=ROOT)
    assert str(bad) in str(info.value) and "seed" in str(info.value)


def test_typo_in_a_profile_key_is_an_error(tmp_path: Path) -> None:
    bad = tmp_path / "typo.yaml"
    bad.write_text((ROOT / "profiles/ci.yaml").read_text().replace("threads:", "thread:"))
    with pytest.raises(ProfileError, match="thread"):
        load_profile(bad, root=ROOT)


def test_notebook_parameters_carry_profile_values_and_step_knobs() -> None:
    profile = load_profile("ci", root=ROOT)
    params = notebook_parameters(profile, "data")
    # Injected into the executed notebook (the book): relative to the project.
    assert params["manifest"] == "build/ci/data/manifest.csv"
    assert params["profile"] == "profiles/ci.yaml"
    assert params["seed"] == profile.seed
    assert params["output_dir"] == "build/ci/data"
    assert "example_subject" in params
    # Used by the notebook's code: absolute again.
    resolved = step_parameters("data", params["profile"])
    assert resolved["output_dir"] == str(ROOT / "build/ci/data")
    assert resolved["manifest"] == str(profile.manifest)


def test_public_path_hides_the_machine_and_folders_outside_the_project() -> None:
    from leukoct.config import public_path

    assert public_path(ROOT / "build" / "demo" / "x.csv", ROOT) == "build/demo/x.csv"
    assert public_path("/data/KIM_JAE_SUNG_19800101/ct.nii.gz", ROOT) == \
        "<outside the project>/ct.nii.gz"


def test_step_parameters_read_the_profile_then_the_overrides(monkeypatch) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    params = step_parameters("external", "ci", {"confidence": 0.9, "seed": 7})
    assert (params["confidence"], params["seed"], params["min_n"]) == (0.9, 7, 3)
    assert params["manifest"].endswith("build/ci/data/manifest.csv")
    with pytest.raises(ProfileError, match="no parameter not_a_knob; its parameters are "):
        step_parameters("data", "ci", {"not_a_knob": 1})
    with pytest.raises(ProfileError, match="confidence: 95: Input should be less than 1"):
        step_parameters("external", "ci", {"confidence": 95})
    with pytest.raises(ProfileError, match="output_dir cannot be overridden; fix: point"):
        step_parameters("external", "ci", {"output_dir": "/elsewhere"})


def _ci_with(tmp_path: Path, old: str, new: str) -> Path:
    text = spelled_out("ci")
    assert old in text
    path = tmp_path / "edited.yaml"
    path.write_text(text.replace(old, new, 1))
    return path


def test_misspelled_step_is_an_error_with_the_nearest_name(tmp_path: Path) -> None:
    bad = _ci_with(tmp_path, "  registration:", "  registraton:")
    with pytest.raises(ProfileError, match=r"steps.registraton: not a study step "
                                           r"\(did you mean 'registration'\?\)"):
        load_profile(bad, root=ROOT)


def test_misspelled_knob_is_an_error_with_the_nearest_name(tmp_path: Path) -> None:
    bad = _ci_with(tmp_path, "    label_interpolation: nearest\n    threshold:",
                   "    label_interpolation: nearest\n    treshold:")
    with pytest.raises(ProfileError) as info:
        load_profile(bad, root=ROOT)
    message = str(info.value)
    assert str(bad) in message
    assert "steps.registration.treshold: not a knob of the registration step " \
           "(did you mean 'threshold'?)" in message


@pytest.mark.parametrize("name", BUILT_IN)
def test_every_knob_of_the_built_in_profiles_reaches_its_notebook(name: str, monkeypatch) -> None:
    # The notebook reads its settings through step_parameters: every knob of
    # the step is there, at the profile's value.
    from leukoct.steps import STEPS

    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    profile = load_profile(name, root=ROOT)
    for step in STEPS:
        params = step_parameters(step.name, name)
        assert {k: params[k] for k in profile.steps[step.name]} == profile.steps[step.name]


def test_every_notebook_takes_the_profile_and_nothing_else() -> None:
    # A setting lives in the profile (or its default), never in a notebook:
    # the parameters cell names the profile and an optional overrides dict.
    from leukoct.config import notebook_knobs
    from leukoct.knobs import STEP_KNOBS
    from leukoct.steps import STEPS

    assert set(STEP_KNOBS) == {s.name for s in STEPS}
    for step in STEPS:
        assert notebook_knobs(ROOT / "notebooks" / f"{step.stem}.ipynb") == \
            {"profile", "overrides"}, step.stem


@pytest.mark.parametrize("old, new, expected", [
    ("    threshold: 0.0", "    threshold: -1.0",
     "steps.registration.threshold: -1.0: Input should be greater than or equal to 0"),
    ("    normalization: zscore\n    epochs: 2", "    normalization: zscore\n    epochs: many",
     "steps.training.epochs: 'many': Input should be a valid integer"),
    ("    normalization: zscore\n    epochs: 2", "    normalization: zscore\n    epochs: 2.5",
     "steps.training.epochs: 2.5: Input should be a valid integer"),
    ("    mirroring: false", "    mirroring: maybe",
     "steps.inference.mirroring: 'maybe': Input should be a valid boolean"),
    ("    type_of_transform: SyNR", "    type_of_transform: SyN",
     "steps.registration.type_of_transform: 'SyN': Input should be 'Identity', 'Rigid'"),
    ("    validation_fraction: 0.1307", "    validation_fraction: 13",
     "steps.curation.validation_fraction: 13: Input should be less than 1"),
    ("    missing_flair: error", "    missing_flair: skip",
     "steps.registration.missing_flair: 'skip': Input should be 'error' or 'exclude'"),
    ("    mrs_merge_top: 5", "    mrs_merge_top: 7",
     "steps.clinical.mrs_merge_top: 7: Input should be less than or equal to 6"),
    ("  internal_validation:\n    confidence: 0.95", "  internal_validation:\n    confidence: 95",
     "steps.internal_validation.confidence: 95: Input should be less than 1"),
    ("    batch_size: 4", "    batch_size: true", "steps.training.batch_size: True: Input should be"),
])
def test_wrong_type_or_range_of_a_knob_is_refused_at_load(tmp_path: Path, old: str, new: str,
                                                          expected: str) -> None:
    bad = _ci_with(tmp_path, old, new)
    with pytest.raises(ProfileError) as info:
        load_profile(bad, root=ROOT)
    message = str(info.value)
    assert str(bad) in message and expected in message, message
    assert message.count("\n") == 1           # one line: the file, then the knob


def test_null_and_integer_values_pass_where_they_mean_something(tmp_path: Path) -> None:
    # null keeps nnU-Net's choice; an integer stands for a float (YAML 70 vs 70.0).
    profile = load_profile(_ci_with(tmp_path, "    batch_size: 4", "    batch_size: null"),
                           root=ROOT)
    assert profile.steps["training"]["batch_size"] is None
    assert load_profile(_ci_with(tmp_path, "    age_cut: 70.0", "    age_cut: 70"), root=ROOT)
