"""The `leukoct` command line as a user calls it."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from manifest_edit import edit_cells
from profile_edit import spelled_out
from typer.testing import CliRunner

from leukoct import __version__
from leukoct.cli import app

ROOT = Path(__file__).resolve().parents[1]
runner = CliRunner()


def test_version() -> None:
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0 and __version__ in result.stdout


def test_profile_show_step_parameters(monkeypatch) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    result = runner.invoke(app, ["profile", "show", "ci", "--step", "data"])
    assert result.exit_code == 0, result.output
    params = json.loads(result.stdout)
    assert params["manifest"] == "build/ci/data/manifest.csv"   # as the book shows it
    assert params["example_subject"] is None


def test_profile_show_lists_the_design_arms_and_what_each_reruns(monkeypatch) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    result = runner.invoke(app, ["profile", "show", "demo"])
    assert result.exit_code == 0, result.output
    assert "9 design arms (run with make book ARMS=1, or ARMS=name,name; chapter 11)" in result.stdout
    assert ("  cv_ensemble: steps.training.cv_folds=3, steps.inference.probability_threshold=0.25; "
            "re-runs training, inference, evaluation") in result.stdout
    assert ('  hu_zscore: steps.training.normalization="zscore"; re-runs training, inference, '
            "evaluation") in result.stdout


def test_dictionary_written(tmp_path: Path) -> None:
    out = tmp_path / "dd" / "dictionary.md"
    result = runner.invoke(app, ["dictionary", str(out)])
    assert result.exit_code == 0
    assert out.read_text().startswith("# Data dictionary")


def test_checksum_then_validate(manifest_path: Path) -> None:
    edit_cells(manifest_path, 2, ct_sha256="")
    assert runner.invoke(app, ["manifest", "validate", str(manifest_path)]).exit_code == 1
    filled = runner.invoke(app, ["manifest", "checksum", str(manifest_path)])
    assert "1 checksum(s) written" in filled.stdout
    assert runner.invoke(app, ["manifest", "validate", str(manifest_path)]).exit_code == 0


def test_twin_refuses_a_profile_without_twin(monkeypatch) -> None:
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    result = runner.invoke(app, ["twin", "--profile", "real"])
    assert result.exit_code != 0
    assert "no 'twin:' section" in result.output


def _real_profile_on(manifest_path: Path, tmp_path: Path) -> Path:
    """The real-data profile reading ``manifest_path``, every output under ``tmp_path``."""
    raw = yaml.safe_load((ROOT / "profiles" / "real.yaml").read_text())
    raw["data"]["manifest"] = str(manifest_path)
    raw["outputs"] = {"root": str(tmp_path / "run"), "figures": str(tmp_path / "fig"),
                      "book": str(tmp_path / "book")}
    profile = tmp_path / "profile.yaml"
    profile.write_text(yaml.safe_dump(raw))
    return profile


def test_manifest_views_written_then_unchanged(manifest_path: Path, tmp_path: Path) -> None:
    profile = _real_profile_on(manifest_path, tmp_path)
    first = runner.invoke(app, ["manifest", "views", "--profile", str(profile)])
    assert first.exit_code == 0, first.output
    assert "updated scans, flair, exclusions, curation, evaluation, clinical" in first.output
    assert sorted(p.name for p in (tmp_path / "run" / "manifest_views").iterdir()) == [
        "clinical.json", "curation.json", "evaluation.json", "exclusions.json", "flair.json",
        "scans.json"]
    again = runner.invoke(app, ["manifest", "views", "--profile", str(profile)])
    assert "all unchanged" in again.output
    edit_cells(manifest_path, 4, mrs_3m="5")  # the clinical subject
    assert "updated clinical\n" in runner.invoke(
        app, ["manifest", "views", "--profile", str(profile)]).output


def test_a_leukoct_error_is_one_line_without_traceback(monkeypatch, capsys, tmp_path: Path) -> None:
    # Called as the installed `leukoct` script calls it (not through CliRunner,
    # which bypasses the app's own error handling).
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    bad = tmp_path / "typo.yaml"
    bad.write_text(spelled_out("ci").replace("  curation:", "  curaton:", 1))
    for args in (["profile", "show", "nosuch"], ["profile", "show", str(bad)]):
        with pytest.raises(SystemExit) as exit_:
            app(args)
        assert exit_.value.code == 1
        err = capsys.readouterr().err
        assert err.startswith("leukoct: error: ") and "Traceback" not in err
    assert "steps.curaton: not a study step (did you mean 'curation'?)" in err


def test_curate_stops_at_an_unusable_image_before_any_registration(
        manifest_path: Path, tmp_path: Path, capsys) -> None:
    profile = _real_profile_on(manifest_path, tmp_path)
    (manifest_path.parent / "images" / "S-001_ct.nii.gz").write_bytes(b"")
    runner.invoke(app, ["manifest", "checksum", str(manifest_path)])   # checksum refreshed
    with pytest.raises(SystemExit) as exit_:
        app(["curate", "--profile", str(profile)])
    assert exit_.value.code == 1
    err = capsys.readouterr().err
    assert "row 2 (S-001), column ct_path: the file is empty (0 bytes)" in err
    assert "Traceback" not in err
    assert not (tmp_path / "run" / "registration").exists()


def test_profile_show_says_where_each_knob_comes_from(monkeypatch) -> None:
    # demo.yaml sets 60 epochs; it says nothing of the registration threshold,
    # which is the paper's "a probability of 0".
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    result = runner.invoke(app, ["profile", "show", "demo"])
    assert result.exit_code == 0, result.output
    lines = {line.split()[0]: line.split()[1:] for line in result.stdout.splitlines()
             if line.startswith("steps.")}
    assert lines["steps.training.epochs"] == ["60", "profile", "(default:", "1000)"]
    assert lines["steps.registration.threshold"] == ["0.0", "default"]
    assert lines["steps.external.infarct_threshold_ml"] == ["10.0", "default"]
