"""Design arms (leukoct.arms) and profiles that extend another: what an arm
re-runs, what it shares with the study, and the errors a bad arm gets."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from leukoct import arms
from leukoct.config import ProfileError, load_profile
from leukoct.run import Run

ROOT = Path(__file__).resolve().parents[1]

ARMS = """
extends: ci
name: ci-arms
description: The ci study and two arms.
arms:
  label_p05:
    description: Pseudo-label = carried probability > 0.5.
    steps:
      registration: {label_interpolation: linear, threshold: 0.5}
  short:
    description: Half the training epochs.
    steps:
      training: {epochs: 1}
"""


def _profile(tmp_path: Path, text: str = ARMS, name: str = "arms.yaml"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return load_profile(path, root=ROOT)


def test_a_profile_extends_another_and_changes_only_what_it_says(tmp_path):
    ci = load_profile("ci", root=ROOT)
    profile = _profile(tmp_path)
    assert (profile.name, profile.description) == ("ci-arms", "The ci study and two arms.")
    assert profile.twin == ci.twin and profile.steps == ci.steps       # merged, not replaced
    assert profile.outputs.root == ci.outputs.root                      # the same run
    assert list(profile.arms) == ["label_p05", "short"]
    # A nested knob merges into the base's section instead of replacing it.
    edited = _profile(tmp_path, "extends: ci\nsteps:\n  training: {epochs: 3}\n", "one.yaml")
    assert edited.steps["training"]["epochs"] == 3
    assert edited.steps["training"]["iterations_per_epoch"] == \
        ci.steps["training"]["iterations_per_epoch"]


def test_an_arm_reruns_from_the_first_step_it_changes(tmp_path):
    profile = _profile(tmp_path)
    assert arms.changed_steps(profile, "label_p05") == ["registration"]
    assert arms.rerun_steps(profile, "label_p05") == ("registration", "training", "inference",
                                                      "evaluation")
    assert arms.rerun_steps(profile, "short") == ("training", "inference", "evaluation")


def test_an_arm_shares_the_steps_before_and_writes_its_own_after(tmp_path):
    profile = _profile(tmp_path)
    study = Run(profile)
    label = Run(arms.arm_profile(profile, "label_p05"))
    short = Run(arms.arm_profile(profile, "short"))
    root = profile.outputs.root / "arms"
    # Shared: the manifest, the curation and the FLAIR masks (both arms), the
    # registrations (the arm that keeps the registration's knobs).
    for run in (label, short):
        assert run.manifest == study.manifest and run.curated == study.curated
        assert run.wmh_split == study.wmh_split
    assert short.qc == study.qc
    assert short.registration_qc("TW-DEV-0001") == study.registration_qc("TW-DEV-0001")
    # Its own: what its knobs reach, and its logs and figures.
    assert label.qc == root / "label_p05" / "registration" / "qc.csv"
    assert label.volumes.is_relative_to(root / "label_p05")
    assert short.volumes.is_relative_to(root / "short") and short.overlaps.is_relative_to(
        root / "short")
    assert short.logs == root / "short" / "logs"
    derived = arms.arm_profile(profile, "short")
    assert derived.steps["training"]["epochs"] == 1 and derived.arms == {}
    assert profile.steps["training"]["epochs"] != 1                     # the study is untouched


def test_the_written_arm_profile_loads_back_and_is_not_rewritten(tmp_path):
    profile = _profile(tmp_path)
    path = arms.write_arm_profile(profile, "label_p05")
    assert path == profile.outputs.root / "arms" / "label_p05" / "profile.yaml"
    text = path.read_text(encoding="utf-8")
    assert str(ROOT) not in text                        # no machine path in the file
    loaded = load_profile(path, root=ROOT)
    derived = arms.arm_profile(profile, "label_p05")
    assert loaded.steps == derived.steps and loaded.outputs == derived.outputs
    assert loaded.twin == derived.twin and loaded.manifest == derived.manifest
    os.utime(path, (1, 1))
    arms.write_arm_profile(profile, "label_p05")
    assert path.stat().st_mtime == 1                    # unchanged settings: file untouched


@pytest.mark.parametrize(("arm", "message"), [
    ("  bad:\n    description: x\n    steps:\n      training: {epochz: 3}\n",
     r"arms\.bad\.steps\.training\.epochz: not a knob of the training step \(did you mean "
     r"'epochs'\?\)"),
    ("  bad:\n    description: x\n    steps:\n      traning: {epochs: 3}\n",
     r"arms\.bad\.steps\.traning: not a study step \(did you mean 'training'\?\)"),
    ("  bad:\n    description: x\n    steps:\n      training: {epochs: 0}\n",
     r"arms\.bad\.steps\.training\.epochs: "),
    ("  Bad-Arm:\n    description: x\n    steps:\n      training: {epochs: 3}\n",
     r"arms\.Bad-Arm: an arm's name is lower case"),
    ("  bad:\n    description: x\n", r"arms\.bad\.steps: the arm changes no knob"),
    ("  bad:\n    description: x\n    steps:\n      training: {cv_folds: 3, train_share: 0.5}\n",
     r"arms\.bad\.steps\.training: cv_folds and train_share both choose who trains"),
    ("  bad:\n    description: x\n    steps:\n      inference: {probability_threshold: 1.5}\n",
     r"arms\.bad\.steps\.inference\.probability_threshold: "),
])
def test_a_bad_arm_is_named_when_the_profile_loads(tmp_path, arm, message):
    with pytest.raises(ProfileError, match=message):
        _profile(tmp_path, f"extends: ci\nname: x\narms:\n{arm}")


def test_an_arm_that_changes_nothing_is_refused(tmp_path):
    ci = load_profile("ci", root=ROOT)
    same = ci.steps["training"]["epochs"]
    profile = _profile(tmp_path, "extends: ci\nname: x\narms:\n  same:\n    description: x\n"
                       f"    steps:\n      training: {{epochs: {same}}}\n"
                       "  chapter:\n    description: x\n"
                       "    steps:\n      external: {confidence: 0.9}\n")
    for name in ("same", "chapter"):
        with pytest.raises(ProfileError, match=f"arm '{name}' changes no step that produces"):
            arms.arm_profile(profile, name)
    with pytest.raises(ProfileError, match="no arm 'other'; its arms are same, chapter"):
        arms.arm_profile(profile, "other")


def test_an_extends_cycle_is_named(tmp_path):
    (tmp_path / "a.yaml").write_text(f"extends: {tmp_path / 'b.yaml'}\n", encoding="utf-8")
    (tmp_path / "b.yaml").write_text(f"extends: {tmp_path / 'a.yaml'}\n", encoding="utf-8")
    with pytest.raises(ProfileError, match=r"extends back to it \(a\.yaml -> b\.yaml -> a\.yaml\)"):
        load_profile(tmp_path / "a.yaml", root=ROOT)


def test_a_run_asks_for_every_arm_some_or_none(tmp_path):
    """make book ARMS=1 / ARMS=short / ARMS=0 (--config arms=...)."""
    profile = _profile(tmp_path)
    for none in (None, False, 0, "0", "false", "", "no"):
        assert arms.selected_arms(profile, none) == []
    for every in (True, 1, "1", "true", "yes", "all"):
        assert arms.selected_arms(profile, every) == ["label_p05", "short"]
    assert arms.selected_arms(profile, "short") == ["short"]
    assert arms.selected_arms(profile, "short, label_p05,short") == ["short", "label_p05"]
    with pytest.raises(ProfileError, match="ARMS names rigid, other, which the profile does not "
                       "have; its arms are label_p05, short"):
        arms.selected_arms(profile, "rigid,short,other")
