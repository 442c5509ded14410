"""The Snakemake workflow: every rule is planned, a finished run is not
re-run, and a change re-runs only what depends on it."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import nibabel as nib
import numpy as np
import pandas as pd
import pytest
import yaml

from leukoct.book import chapter_notebooks
from leukoct.config import load_profile
from leukoct.steps import STEPS
from manifest_edit import edit_cells

ROOT = Path(__file__).resolve().parents[1]
SNAKEMAKE = str(Path(sys.executable).parent / "snakemake")
NNUNET_RULES = {"nnunet_export", "nnunet_plan", "nnunet_train", "training", "nnunet_predict",
                "volumes", "inference"}
EVALUATION_RULES = {"overlaps", "internal_validation", "external", "us_population", "clinical"}
RULES = {"twin_data", "data", "twin", "cascade", "registration_qc", "curation", "registration",
         "book", "all"} | NNUNET_RULES | EVALUATION_RULES


def ci_profile_in(folder: Path) -> Path:
    """The ci profile with every output under ``folder`` (tests never write
    into the repository)."""
    raw = yaml.safe_load((ROOT / "profiles" / "ci.yaml").read_text())
    raw["data"]["manifest"] = str(folder / "data" / "manifest.csv")
    raw["outputs"] = {"root": str(folder / "run"), "figures": str(folder / "figures"),
                      "book": str(folder / "book")}
    path = folder / "profile.yaml"
    path.write_text(yaml.safe_dump(raw))
    return path


def snakemake(folder: Path, profile: Path, *args: str, timeout: int = 900) -> str:
    env = {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
           "MPLBACKEND": "Agg", "OMP_NUM_THREADS": "1"}
    result = subprocess.run(
        [SNAKEMAKE, "--snakefile", str(ROOT / "Snakefile"), "--directory", str(folder),
         "--config", f"profile={profile}", *args],
        capture_output=True, text=True, env=env, timeout=timeout)
    assert result.returncode == 0, result.stdout[-4000:] + result.stderr[-4000:]
    return result.stdout + result.stderr


def planned_rules(output: str) -> dict[str, int]:
    """Rule name -> job count from a dry run's job table."""
    table = re.search(r"Job stats:\n(.*?)\n\n", output, re.S)
    if table is None:
        return {}
    counts = {}
    for line in table.group(1).splitlines()[2:]:
        name, _, count = line.partition(" ")
        if name and name != "total":
            counts[name] = int(count.strip())
    return counts


def test_dry_run_lists_every_rule(tmp_path: Path) -> None:
    output = snakemake(tmp_path, ci_profile_in(tmp_path), "--dry-run", "--forceall")
    assert set(planned_rules(output)) == RULES


def test_dry_run_of_the_real_profile_needs_no_twin(tmp_path: Path) -> None:
    raw = yaml.safe_load((ROOT / "profiles" / "real.yaml").read_text())
    manifest = tmp_path / "manifest.csv"
    manifest.write_text("subject_id\n")
    raw["data"]["manifest"] = str(manifest)
    raw["outputs"] = {"root": str(tmp_path / "run"), "figures": str(tmp_path / "fig"),
                      "book": str(tmp_path / "book")}
    profile = tmp_path / "real.yaml"
    profile.write_text(yaml.safe_dump(raw))
    output = snakemake(tmp_path, profile, "--dry-run")
    assert set(planned_rules(output)) == {"data", "cascade", "registration_qc", "curation",
                                         "registration", "book", "all"} | NNUNET_RULES | EVALUATION_RULES


def test_notebooks_steps_rules_and_chapters_agree() -> None:
    notebooks = sorted(p.stem for p in (ROOT / "notebooks").glob("*.ipynb"))
    assert notebooks == [s.stem for s in STEPS], "every notebook is a step, in study order"
    assert chapter_notebooks(ROOT / "book") == notebooks, "chapters follow the study order"
    snakefile = (ROOT / "Snakefile").read_text()
    for step in STEPS:
        assert f'"notebooks" / "{step.stem}.ipynb"' in snakefile, f"no rule runs {step.stem}"
        assert f'papermill("{step.name}")' in snakefile, f"no rule for step {step.name}"


@pytest.fixture(scope="module")
def ci_run(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """One complete run of the ci profile (a few minutes), shared by the tests below."""
    folder = tmp_path_factory.mktemp("ci_run")
    profile = ci_profile_in(folder)
    snakemake(folder, profile, "--cores", "2")
    return folder, profile


@pytest.mark.slow
def test_full_run_writes_every_step(ci_run: tuple[Path, Path]) -> None:
    tmp_path, profile = ci_run
    resolved = load_profile(profile, root=ROOT)
    index = resolved.outputs.book / "_build" / "html" / "index.html"
    assert index.is_file()
    for step in STEPS:
        assert (resolved.outputs.root / "notebooks" / f"{step.stem}.ipynb").is_file()
    chapters = (resolved.outputs.book / "_build" / "html" / "chapters")
    assert (chapters / "01_twin.html").is_file(), "a twin run renders the twin's chapter"
    for name in ("figure1.png", "table1.html", "tableS1.csv", "tableS3.csv"):
        assert (resolved.outputs.figures / name).is_file(), name
    # The registration QC closed the flowchart: no rule is left pending.
    curated = pd.read_csv(resolved.outputs.root / "curation" / "curated.csv",
                          keep_default_na=False)
    assert not (curated["status"] == "pending").any()
    qc = pd.read_csv(resolved.outputs.root / "registration" / "qc.csv")
    assert sorted(qc["subject_id"]) == sorted(curated.loc[curated["register"], "subject_id"])
    for subject in qc["subject_id"]:
        assert (resolved.outputs.root / "registration" / "subjects" / subject /
                "wmh_pseudolabel_ct.nii.gz").is_file()
    # nnU-Net trained on the training split and predicted every included CT.
    fold = next((resolved.outputs.root / "training" / "nnUNet_results").rglob("fold_0"))
    assert (fold / "checkpoint_final.pth").is_file()
    volumes = pd.read_csv(resolved.outputs.root / "inference" / "volumes.csv")
    included = curated.loc[curated["status"] == "included", "subject_id"]
    assert sorted(volumes["subject_id"]) == sorted(included)
    assert (volumes["predicted_ml"] >= 0).all() and volumes["true_ml"].notna().all()
    assert all(Path(p).is_file() for p in volumes["predicted_mask"])
    # The split nnU-Net validates on is exactly the curation's internal set.
    training = resolved.outputs.root / "training"
    splits = json.loads(next(training.rglob("splits_final.json")).read_text())
    by_split = curated[curated["status"] == "included"].groupby("split")["subject_id"]
    assert splits == [{"train": sorted(by_split.get_group("train")),
                       "val": sorted(by_split.get_group("internal"))}]
    # Predicted volume = voxels x voxel volume from the mask's own header.
    row = volumes.iloc[0]
    mask = nib.load(row["predicted_mask"])
    hand = np.count_nonzero(np.asanyarray(mask.dataobj)) * np.prod(mask.header.get_zooms()) / 1000
    assert row["predicted_ml"] == pytest.approx(hand, rel=1e-6)
    # Evaluation: one overlap row per paired subject, Table S2 counts the
    # internal split, and the evaluation chapters wrote their artefacts.
    overlaps = pd.read_csv(resolved.outputs.root / "evaluation" / "overlaps.csv")
    paired = volumes.loc[volumes["group"].isin(["development", "external"]), "subject_id"]
    assert sorted(overlaps["subject_id"]) == sorted(paired)
    dice = overlaps["dice_vs_label"].dropna()
    assert len(dice) and dice.between(0, 1).all()
    s2 = pd.read_csv(resolved.outputs.figures / "tableS2.csv")
    assert int(s2.iloc[0, -1]) == len(by_split.get_group("internal"))
    for name in ("table2.html", "figure2.png", "figure3.pdf", "figure4.png", "figureS1.png",
                 "figureS2.png", "figureS3.png", "figure3.provenance.json"):
        assert (resolved.outputs.figures / name).is_file(), name
    page = (resolved.outputs.book / "_build" / "html" / "artefacts.html").read_text()
    # The ci clinical cohort (a handful of patients) fits Figure S4's one-slope
    # model; Tables S4 and 3 are reported as not estimable, not faked.
    assert "reproduces <strong>13 of 15</strong> artefacts" in page
    assert (resolved.outputs.figures / "figureS4.png").is_file()
    chapter = (resolved.outputs.root / "notebooks" / "09_clinical.ipynb").read_text()
    assert "Table 3 not estimable on these" in chapter


@pytest.mark.slow
def test_nothing_to_do_then_only_what_changed(ci_run: tuple[Path, Path]) -> None:
    tmp_path, profile = ci_run
    resolved = load_profile(profile, root=ROOT)
    # Nothing changed: nothing to do.
    again = snakemake(tmp_path, profile, "--dry-run")
    assert "Nothing to be done" in again, again[-2000:]

    # A clinical field of one subject changes: the manifest changes, so the
    # steps reading it re-run, but the twin's generator (upstream) does not.
    edit_cells(resolved.manifest, 2, bmi="31.5")
    plan = planned_rules(snakemake(tmp_path, profile, "--dry-run"))
    assert "twin_data" not in plan
    assert {"data", "twin", "curation", "book"} <= set(plan)


@pytest.mark.slow
def test_interrupted_training_resumes_from_its_checkpoint(ci_run: tuple[Path, Path]) -> None:
    """Training stopped after its first epoch continues from that epoch's checkpoint."""
    tmp_path, profile = ci_run
    interrupt = f"""
from leukoct import predictions
from leukoct.config import load_profile
import shutil
prof = load_profile({str(profile)!r})
shutil.rmtree(predictions.folders(prof).fold_dir(predictions.training_settings(prof)))
from leukoct import segmentation as seg
seg.use_folders(predictions.folders(prof), 1)
from leukoct.nnunet_trainer import ScheduledTrainer
original = ScheduledTrainer.on_epoch_end
def stop_after_first(self):
    original(self)
    raise SystemExit(3)   # as if the machine went down after epoch 0
ScheduledTrainer.on_epoch_end = stop_after_first
if __name__ == "__main__":
    predictions.train(prof)
"""
    env = {**os.environ, "OMP_NUM_THREADS": "1", "MPLBACKEND": "Agg"}
    script = tmp_path / "interrupt.py"
    script.write_text(interrupt)
    first = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, env=env,
                           timeout=600)
    assert first.returncode == 3, first.stderr[-3000:]
    resolved = load_profile(profile, root=ROOT)
    from leukoct import predictions
    from leukoct.segmentation import read_progress

    fold = predictions.folders(resolved).fold_dir(predictions.training_settings(resolved))
    assert (fold / "checkpoint_latest.pth").is_file() and not (fold / "checkpoint_final.pth").exists()
    second = subprocess.run([str(Path(sys.executable).parent / "leukoct"), "nnunet-train",
                             "--profile", str(profile)], capture_output=True, text=True, env=env,
                            timeout=600)
    assert second.returncode == 0, second.stderr[-3000:]
    assert "resuming from epoch 1" in second.stdout
    curves = read_progress(fold)
    assert curves["epoch"].tolist() == [0, 1]
    # The resumed epoch continued the schedule rather than restarting it.
    assert curves["lr"].iloc[1] < curves["lr"].iloc[0]
