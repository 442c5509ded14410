"""The registration step's job layer: settings from profiles, QC gathering."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from leukoct.config import load_profile
from leukoct.pseudolabels import (
    collect_qc,
    missing_flair_policy,
    registration_decisions,
    registration_settings,
    sweep_results,
)

ROOT = Path(__file__).resolve().parents[1]


def test_settings_come_from_the_profile() -> None:
    profile = load_profile("demo", root=ROOT)
    settings = registration_settings(profile)
    assert settings.type_of_transform == profile.steps["registration"]["type_of_transform"]
    assert settings.threshold == 0.0, "the paper's rule: probability > 0"
    # ... of the mask carried by nearest-neighbour label transfer (docs/decisions.md).
    assert settings.label_interpolation == "nearest"
    assert settings.seed == profile.seed and settings.threads == 1


def _qc_row(subject: str, cohort: str, brain_dice: float, mi: float = 0.8,
            displacement: float = 1.0) -> dict:
    return {"subject_id": subject, "cohort": cohort, "brain_dice": brain_dice,
            "mutual_information": mi, "mean_displacement_mm": displacement}


def test_collect_qc_flags_outliers_within_each_cohort(tmp_path: Path) -> None:
    rows = [_qc_row(f"D{i}", "train", 0.98 + 0.001 * i) for i in range(8)]
    rows += [_qc_row("D-bad", "train", 0.70, mi=0.4, displacement=5.0)]
    rows += [_qc_row(f"E{i}", "external", 0.97 + 0.002 * i, mi=0.6) for i in range(5)]
    paths = []
    for row in rows:
        path = tmp_path / f"{row['subject_id']}.json"
        path.write_text(json.dumps(row))
        paths.append(path)
    qc = collect_qc(paths)
    assert list(qc.loc[qc["registration_error"], "subject_id"]) == ["D-bad"]
    # External MI is lower across the board: compared with its own batch, no flag.
    assert not qc.loc[qc["cohort"] == "external", "registration_error"].any()


def test_decisions_refuse_a_subject_without_qc() -> None:
    cascade = pd.DataFrame({"subject_id": ["A", "B", "C"], "register": [True, True, False]})
    qc = pd.DataFrame({"subject_id": ["A", "B"], "registration_error": [False, True]})
    assert registration_decisions(qc, cascade) == {"registration_error": ["B"]}
    with pytest.raises(ValueError, match="first: B"):
        registration_decisions(qc.iloc[:1], cascade)


def test_missing_flair_policy_is_in_every_profile_and_checked(tmp_path: Path) -> None:
    for name in ("ci", "demo", "paper", "real"):
        assert missing_flair_policy(load_profile(name, root=ROOT)) == "error", name
    profile = load_profile("ci", root=ROOT)
    profile.steps["registration"] = {**profile.steps["registration"], "missing_flair": "skip"}
    with pytest.raises(ValueError, match="steps.registration.missing_flair must be one of"):
        missing_flair_policy(profile)
    # Not a registration setting: RegistrationSettings (extra="forbid") would
    # refuse it, so this call fails if the knob leaks into the ANTs settings.
    assert registration_settings(load_profile("ci", root=ROOT)).threshold == 0.0


def _curate(tmp_path: Path, manifest: Path, policy: str, monkeypatch):
    """Run `leukoct curate` on ``manifest`` with the subject S-001 (train)
    stripped of its FLAIR.  The manifest schema itself still requires a FLAIR
    in the paired cohorts, so the FLAIR is removed after validation."""
    import yaml
    from typer.testing import CliRunner

    from leukoct import manifest as manifest_module
    from leukoct.cli import app

    real = manifest_module.load_manifest

    def without_flair(path, verify_checksums=True, **image_checks):
        table = real(path, verify_checksums, **image_checks)
        table.loc[table["subject_id"] == "S-001", "flair_path"] = None
        return table

    monkeypatch.setattr(manifest_module, "load_manifest", without_flair)
    monkeypatch.setenv("LEUKOCT_ROOT", str(ROOT))
    raw = yaml.safe_load((ROOT / "profiles" / "ci.yaml").read_text(encoding="utf-8"))
    raw["data"]["manifest"] = str(manifest)
    raw["outputs"] = {k: str(tmp_path / policy / k) for k in ("root", "figures", "book")}
    raw.setdefault("steps", {}).setdefault("registration", {})["missing_flair"] = policy
    path = tmp_path / f"{policy}.yaml"
    path.write_text(yaml.safe_dump(raw), encoding="utf-8")
    result = CliRunner().invoke(app, ["curate", "--profile", str(path)])
    return result, tmp_path / policy / "root" / "curation" / "cascade.csv"


def test_curate_stops_on_a_missing_flair_by_default(tmp_path: Path, manifest_path: Path,
                                                    monkeypatch) -> None:
    result, cascade = _curate(tmp_path, manifest_path, "error", monkeypatch)
    assert result.exit_code == 1
    assert str(manifest_path) in result.output and "S-001 (train)" in result.output
    assert "steps.registration.missing_flair: exclude" in result.output
    assert not cascade.exists(), "no cascade, so no registration job starts"


def test_curate_excludes_a_missing_flair_when_the_profile_says_so(tmp_path: Path,
                                                                  manifest_path: Path,
                                                                  monkeypatch) -> None:
    result, cascade = _curate(tmp_path, manifest_path, "exclude", monkeypatch)
    assert result.exit_code == 0, result.output
    assert "1 excluded for a missing FLAIR" in result.output
    table = pd.read_csv(cascade, keep_default_na=False).set_index("subject_id")
    assert table.at["S-001", "exclusion"] == "missing_flair"
    assert table.at["S-001", "reason"] == "FLAIR or WMH mask not available"
    assert table.at["S-001", "status"] == "excluded"
    assert list(table["register"]) == [False, True, False], "S-002 (external) is registered"


def test_sweep_results_are_read_with_their_provenance(tmp_path: Path) -> None:
    assert sweep_results(tmp_path) is None, "no benchmark run: the chapter says how to run it"
    path = tmp_path / "benchmarks" / "results" / "registration_sweep.csv"
    path.parent.mkdir(parents=True)
    path.write_text("# date: 2026-01-01; 2 cores\n# data: build/demo/data (6 subjects)\n"
                    "config,wall_s,ideal_05\nrigid-2mm,2.6,0.61\nsynr-2mm-default,7.5,0.66\n")
    table, notes = sweep_results(tmp_path)
    assert notes == ["date: 2026-01-01; 2 cores", "data: build/demo/data (6 subjects)"]
    assert list(table.index) == ["rigid-2mm", "synr-2mm-default"]
    assert table.at["synr-2mm-default", "ideal_05"] == 0.66


def _profile_on(manifest: Path, tmp_path: Path):
    profile = load_profile("ci", root=ROOT)
    profile.data.manifest = manifest
    profile.outputs.root = tmp_path / "run"
    return profile


def test_a_failed_registration_leaves_no_subject_folder(manifest_path: Path, tmp_path: Path,
                                                        monkeypatch) -> None:
    # ANTs fails (or the job is killed) halfway, after writing a transform:
    # neither the subject's folder nor the staging folder is left behind.
    from leukoct import pseudolabels

    def halfway(*args, out_dir, **kwargs):
        Path(out_dir).mkdir(parents=True)
        (Path(out_dir) / "flair_to_ct_0GenericAffine.mat").write_bytes(b"half")
        raise RuntimeError("itk::ExceptionObject: out of memory")

    monkeypatch.setattr(pseudolabels, "register_pair", halfway)
    profile = _profile_on(manifest_path, tmp_path)
    with pytest.raises(RuntimeError, match="out of memory"):
        pseudolabels.run_subject(profile, "S-001")
    folder = pseudolabels.subject_dir(profile, "S-001")
    assert not folder.exists()
    assert not list(folder.parent.glob(".*")), "a staging folder was left"


def test_registering_an_unknown_or_unpaired_subject_is_one_clean_message(
        manifest_path: Path, tmp_path: Path) -> None:
    from leukoct.messages import LeukoctError
    from leukoct.pseudolabels import run_subject

    profile = _profile_on(manifest_path, tmp_path)
    with pytest.raises(LeukoctError, match="no subject 'S-999'; fix: give a subject_id"):
        run_subject(profile, "S-999")
    # ci registers leukoct's own FLAIR masks: only the FLAIR is needed...
    with pytest.raises(LeukoctError, match="subject S-003 has no flair_path; only paired"):
        run_subject(profile, "S-003")
    # ...the paper's design needs the manifest's WMH mask too.
    profile.steps.setdefault("flair_segmentation", {})["wmh_source"] = "manifest"
    with pytest.raises(LeukoctError, match="subject S-003 has no flair_path, wmh_mask_path"):
        run_subject(profile, "S-003")
    assert not (tmp_path / "run").exists()
