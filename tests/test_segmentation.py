"""Tests of leukoct.segmentation: the layer over nnU-Net.

nnU-Net binds its folders when first imported, so tests that run nnU-Net
code do it in a subprocess; the rest never import it.  The full export ->
plan -> train -> predict chain runs in tests/test_workflow.py on the ci
profile.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import SimpleITK as sitk

from leukoct import nnunet_inference, training_report
from leukoct import segmentation as seg


def test_clip_hounsfield_is_the_papers_window():
    hu = np.array([-3024.0, -1000.0, 0.0, 35.0, 1000.0, 3071.0])
    assert seg.clip_hounsfield(hu).tolist() == [-1000.0, -1000.0, 0.0, 35.0, 1000.0, 1000.0]
    with pytest.raises(ValueError, match="empty HU range"):
        seg.clip_hounsfield(hu, (10.0, 10.0))


def test_default_settings_are_nnunets_own():
    """The paper used nnU-Net's defaults: nnU-Net's trainer and plan, no edits."""
    s = seg.TrainingSettings()
    assert s.is_nnunet_default and not s.edits_plans
    assert s.trainer_name == "nnUNetTrainer" and s.plans_identifier == "nnUNetPlans"
    short = seg.TrainingSettings(epochs=5, base_features=8)
    assert short.trainer_name == "ScheduledTrainer" and short.plans_identifier == "leukoctPlans"
    folders = seg.NnunetFolders(Path("/x"))
    assert folders.model_dir(short).name == "ScheduledTrainer__leukoctPlans__2d"
    assert folders.dataset_raw == Path("/x/nnUNet_raw/Dataset501_LeukoaraiosisCT")


def test_settings_reject_unknown_knobs():
    with pytest.raises(ValueError, match="epoch"):
        seg.TrainingSettings(epoch=3)


def test_scaled_features_keep_the_doubling_and_the_cap():
    plan = [32, 64, 128, 256, 512, 512, 512]
    assert seg.scaled_features(plan, None, None) == plan
    assert seg.scaled_features(plan, 16, 128) == [16, 32, 64, 128, 128, 128, 128]
    assert seg.scaled_features([32, 64, 128], 8, None) == [8, 16, 32]


def _plans() -> dict:
    return {"plans_name": "nnUNetPlans", "configurations": {"2d": {
        "data_identifier": "nnUNetPlans_2d", "batch_size": 72, "patch_size": [160, 160],
        "spacing": [1.5, 1.5], "normalization_schemes": ["ZScoreNormalization"],
        "architecture": {"arch_kwargs": {"n_stages": 6,
                                         "features_per_stage": [32, 64, 128, 256, 512, 512]}}}}}


def test_derived_plans_change_only_batch_and_width():
    plans = _plans()
    settings = seg.TrainingSettings(epochs=3, batch_size=12, base_features=16, max_features=128)
    derived = seg.derive_plans(plans, settings)
    config = derived["configurations"]["2d"]
    assert derived["plans_name"] == "leukoctPlans"
    assert config["batch_size"] == 12
    assert config["architecture"]["arch_kwargs"]["features_per_stage"] == [16, 32, 64, 128, 128, 128]
    # Shared preprocessing, untouched original.
    assert config["data_identifier"] == "nnUNetPlans_2d"
    assert plans["configurations"]["2d"]["batch_size"] == 72
    summary = training_report.plan_summary(derived)
    assert summary["patch_size"] == "160 x 160" and summary["batch_size"] == 12


def _pair(folder: Path, sid: str, spacing=(1.0, 1.0, 5.0)) -> tuple[str, str]:
    ct = sitk.GetImageFromArray(np.full((4, 16, 16), 30, np.int16))
    ct.SetSpacing((1.0, 1.0, 5.0))
    label = sitk.GetImageFromArray(np.zeros((4, 16, 16), np.uint8))
    label.SetSpacing(spacing)
    paths = (folder / f"{sid}_ct.nii.gz", folder / f"{sid}_label.nii.gz")
    sitk.WriteImage(ct, str(paths[0]))
    sitk.WriteImage(label, str(paths[1]))
    return str(paths[0]), str(paths[1])


def test_training_cases_name_subjects_without_pseudolabels(tmp_path):
    curated = pd.DataFrame({"subject_id": ["A", "B", "C", "D"],
                            "status": ["included", "included", "excluded", "included"],
                            "split": ["train", "internal", None, "train"]})
    manifest = pd.DataFrame({"subject_id": list("ABCD"), "ct_path": [f"/ct/{s}" for s in "ABCD"]})
    labels = {s: tmp_path / f"{s}.nii.gz" for s in "ABCD"}
    for s in "AB":
        labels[s].touch()
    with pytest.raises(seg.SegmentationError, match=r"no CT pseudo-label for \['D'\]"):
        seg.training_cases(curated, manifest, labels.get)
    labels["D"].touch()
    cases = seg.training_cases(curated, manifest, labels.get)
    assert cases["subject_id"].tolist() == ["A", "B", "D"]   # C excluded
    assert seg.splits(cases) == [{"train": ["A", "D"], "val": ["B"]}]
    with pytest.raises(seg.SegmentationError, match="no 'internal' subjects"):
        seg.training_cases(curated[curated["split"] != "internal"], manifest, labels.get)


def test_a_learning_curve_trains_on_a_seeded_share_and_validates_on_all():
    cases = pd.DataFrame({"subject_id": [f"T{i}" for i in range(10)] + ["V0", "V1"],
                          "split": ["train"] * 10 + ["internal"] * 2})
    half = seg.splits(cases, train_share=0.5, seed=3)[0]
    assert len(half["train"]) == 5 and set(half["train"]) < {f"T{i}" for i in range(10)}
    assert half["val"] == ["V0", "V1"]                       # the same cases score every point
    assert half["train"] == sorted(half["train"], key=lambda s: int(s[1:]))  # table order kept
    assert seg.splits(cases, 0.5, 3) == seg.splits(cases, 0.5, 3)            # seeded
    assert seg.splits(cases, 0.5, 4) != seg.splits(cases, 0.5, 3)
    assert len(seg.splits(cases, 0.01, 3)[0]["train"]) == 1                 # at least one
    assert seg.splits(cases, 1.0, 3)[0]["train"] == [f"T{i}" for i in range(10)]


def test_missing_checkpoint_names_path_and_command(tmp_path):
    folders = seg.NnunetFolders(tmp_path)
    with pytest.raises(seg.SegmentationError) as err:
        nnunet_inference.load_predictor(folders, seg.TrainingSettings(epochs=2), seg.InferenceSettings())
    message = str(err.value)
    assert str(folders.fold_dir(seg.TrainingSettings(epochs=2)) / "checkpoint_final.pth") in message
    assert "nnunet_train" in message


def test_validation_summary_reads_nnunets_file(tmp_path):
    (tmp_path / "validation").mkdir()
    summary = {"metric_per_case": [
        {"reference_file": "/gt/TW-DEV-0003.nii.gz",
         "metrics": {"1": {"Dice": 0.5, "n_ref": 100, "n_pred": 60}}}]}
    (tmp_path / "validation" / "summary.json").write_text(json.dumps(summary))
    table = training_report.validation_summary(tmp_path)
    assert table.to_dict("records") == [{"subject_id": "TW-DEV-0003", "dice": 0.5,
                                         "reference_voxels": 100, "predicted_voxels": 60}]



@pytest.mark.parametrize(("device", "precision", "words"), [
    ("cuda", "fp32", "float16 autocast (nnU-Net on CUDA)"),
    ("cpu", "bf16", "bfloat16 autocast"),
    ("cpu", "fp32", "float32")])
def test_arithmetic_reads_what_the_fold_recorded(tmp_path, device, precision, words):
    # On CUDA the knob does not apply (resolve gives fp32) but nnU-Net autocasts
    # to float16 itself: the chapter must not call a GPU run "float32".
    (tmp_path / seg.SCHEDULE_FILE).write_text(json.dumps({"device": device, "precision": precision}))
    assert training_report.arithmetic(tmp_path) == words


def test_arithmetic_of_a_fold_without_its_schedule_says_to_retrain(tmp_path):
    with pytest.raises(seg.SegmentationError, match="nnunet-train"):
        training_report.arithmetic(tmp_path)

def _run(script: str, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(script)], cwd=cwd,
                          capture_output=True, text=True, timeout=300)


def test_integrity_check_names_the_subject_whose_label_is_off_grid(tmp_path):
    """A CT and a label on different grids are caught by nnU-Net's check,
    reported with the subject id, before any planning."""
    cases = pd.DataFrame([
        {"subject_id": sid, "split": split, "ct_path": ct, "label_path": label}
        for sid, split, spacing in [("S-01", "train", (1.0, 1.0, 5.0)),
                                    ("S-02", "internal", (1.0, 1.0, 5.0)),
                                    ("S-03", "train", (1.2, 1.0, 5.0))]
        for ct, label in [_pair(tmp_path, sid, spacing)]])
    cases.to_csv(tmp_path / "cases_in.csv", index=False)
    result = _run(f"""
        from pathlib import Path
        import pandas as pd
        from leukoct import segmentation as seg
        folders = seg.NnunetFolders(Path({str(tmp_path / 'nnunet')!r}))
        seg.use_folders(folders, threads=1)
        cases = pd.read_csv({str(tmp_path / 'cases_in.csv')!r})
        seg.export_dataset(cases, folders, seg.TrainingSettings())
        ct = seg.sitk.ReadImage(str(folders.dataset_raw / "imagesTr" / "S-01_0000.nii.gz"))
        print("clipped", int(seg.sitk.GetArrayFromImage(ct).max()))
        seg.check_cases(folders)
        """, tmp_path)
    assert result.returncode != 0, result.stdout
    assert "S-03" in result.stderr and "S-01:" not in result.stderr, result.stderr
    assert "integrity check failed for 1 subject" in result.stderr
    dataset = json.loads((tmp_path / "nnunet/nnUNet_raw/Dataset501_LeukoaraiosisCT/dataset.json").read_text())
    assert dataset["channel_names"] == {"0": "zscore"} and dataset["numTraining"] == 3
    assert dataset["labels"] == {"background": 0, "leukoaraiosis": 1}


def test_all_empty_pseudolabels_stop_before_planning(tmp_path):
    """Labels all empty (e.g. a FLAIR model that found nothing): one message saying
    so and where to look, not nnU-Net's IndexError from its fingerprint."""
    cases = pd.DataFrame([
        {"subject_id": sid, "split": split, "ct_path": ct, "label_path": label}
        for sid, split in [("S-01", "train"), ("S-02", "internal"), ("S-03", "train")]
        for ct, label in [_pair(tmp_path, sid)]])
    cases.to_csv(tmp_path / "cases_in.csv", index=False)
    script = f"""
        from pathlib import Path
        import pandas as pd
        from leukoct import segmentation as seg
        folders = seg.NnunetFolders(Path({str(tmp_path / 'nnunet')!r}))
        seg.use_folders(folders, threads=1)
        cases = pd.read_csv({str(tmp_path / 'cases_in.csv')!r})
        seg.export_dataset(cases, folders, seg.TrainingSettings())
        seg.check_cases(folders)
        print("checked")
        """
    result = _run(script, tmp_path)
    assert result.returncode != 0 and "checked" not in result.stdout
    assert "every pseudo-label of the 2 training subjects" in result.stderr, result.stderr
    assert "wmh_source" in result.stderr
    # One training label with a voxel is enough to plan.
    label = sitk.GetImageFromArray(np.pad(np.ones((1, 1, 1), np.uint8), ((0, 3), (0, 15), (0, 15))))
    label.SetSpacing((1.0, 1.0, 5.0))
    sitk.WriteImage(label, cases.loc[2, "label_path"])
    result = _run(script, tmp_path)
    assert result.returncode == 0 and "checked" in result.stdout, result.stderr


def test_use_folders_refuses_to_redirect_a_loaded_nnunet(tmp_path):
    result = _run(f"""
        from pathlib import Path
        from leukoct import segmentation as seg
        seg.use_folders(seg.NnunetFolders(Path({str(tmp_path / 'a')!r})))
        import nnunetv2.paths
        seg.use_folders(seg.NnunetFolders(Path({str(tmp_path / 'a')!r})))  # same: fine
        seg.use_folders(seg.NnunetFolders(Path({str(tmp_path / 'b')!r})))
        """, tmp_path)
    assert result.returncode != 0
    assert "already imported" in result.stderr and "fresh process" in result.stderr


def test_normalized_uses_nnunets_schemes(tmp_path):
    """z-score of the clipped image vs the CT scheme's foreground window."""
    result = _run("""
        import numpy as np
        from leukoct import segmentation as seg
        hu = np.array([-1000.0, 0.0, 20.0, 30.0, 1000.0], dtype=np.float32)
        z = seg.normalized(hu, "zscore")
        print(np.allclose(z, (hu - hu.mean()) / hu.std(), atol=1e-5))
        window = {"percentile_00_5": 4.0, "percentile_99_5": 39.0, "mean": 25.0, "std": 7.0}
        ct = seg.normalized(hu, "CT", window)
        print(np.allclose(ct, (np.clip(hu, 4, 39) - 25) / 7))
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == ["True", "True"]


def test_run_signature_changes_with_the_split_the_schedule_and_the_arithmetic(tmp_path):
    """A checkpoint is resumed only by the same run: new data, schedule or CPU
    arithmetic (a bfloat16 model is not restored for a float32 run) retrain."""
    folders = seg.NnunetFolders(tmp_path)
    settings = seg.TrainingSettings(epochs=3)
    for path in (folders.plans(settings), folders.splits, folders.dataset_raw / "dataset.json",
                 folders.cases):
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("{}")
    first = seg.run_signature(folders, settings)
    assert seg.run_signature(folders, settings) == first
    assert seg.run_signature(folders, seg.TrainingSettings(epochs=4)) != first
    assert seg.run_signature(folders, settings, "bf16") != first
    folders.splits.write_text('[{"train": ["A"], "val": ["B"]}]')
    assert seg.run_signature(folders, settings) != first
    # Seed 003's folds: fold k > 0 is another model; fold 0 keeps the signature
    # it had before folds existed (an existing study's model is not retrained).
    assert seg.run_signature(folders, settings, fold=1) != seg.run_signature(folders, settings)
    assert "fold" not in seg.run_signature(folders, settings, fold=0)


def test_cross_validation_folds_validate_every_development_subject_once():
    """Seed 003's design (cv_folds = k): k folds over train and internal together;
    each subject is validated by exactly one fold and never trained on by it."""
    cases = pd.DataFrame({"subject_id": [f"T{i}" for i in range(7)] + ["V0", "V1", "V2"],
                          "split": ["train"] * 7 + ["internal"] * 3})
    folds = seg.splits(cases, seed=5, cv_folds=3)
    assert len(folds) == 3
    everyone = set(cases["subject_id"])
    validated = [s for f in folds for s in f["val"]]
    assert sorted(validated) == sorted(everyone)                  # each once
    for f in folds:
        assert set(f["train"]) | set(f["val"]) == everyone and not set(f["train"]) & set(f["val"])
        assert len(f["val"]) in (3, 4)                            # 10 = 4 + 3 + 3
    assert seg.splits(cases, seed=5, cv_folds=3) == folds         # seeded
    assert seg.splits(cases, seed=6, cv_folds=3) != folds
    with pytest.raises(seg.SegmentationError, match="at most 10"):
        seg.splits(cases, cv_folds=11)
    with pytest.raises(ValueError, match="set one"):
        seg.splits(cases, train_share=0.5, cv_folds=3)


def test_cv_settings_train_one_model_per_fold_and_leave_old_studies_alone():
    assert seg.TrainingSettings().folds == (0,)
    assert seg.TrainingSettings(cv_folds=4).folds == (0, 1, 2, 3)
    with pytest.raises(ValueError, match="set one"):
        seg.TrainingSettings(cv_folds=3, train_share=0.5)
    with pytest.raises(ValueError):
        seg.TrainingSettings(cv_folds=1)
    # The workflow's parameter of the paper's design is what it was before the
    # knob existed, so Snakemake does not retrain a built study.
    plain = seg.TrainingSettings(epochs=3)
    assert plain.workflow_params() == json.dumps(plain.model_dump(exclude={"threads", "cv_folds"}),
                                                 sort_keys=True)
    assert '"cv_folds": 3' in seg.TrainingSettings(cv_folds=3).workflow_params()
    # The same for the inference knobs the prediction jobs carry.
    from leukoct.settings import job_knobs

    knobs = {"mirroring": False, "probability_threshold": None}
    assert job_knobs("inference", knobs) == {"mirroring": False}
    assert job_knobs("inference", {**knobs, "probability_threshold": 0.25}) == \
        {"mirroring": False, "probability_threshold": 0.25}


def test_averaged_folds_threshold_the_mean_probability(tmp_path):
    """Seed 003's ensemble at inference: each CT's mean foreground probability over
    the folds that predict it, kept at >= 0.25; a development CT only by the fold
    that held it out.  Stand-in predictors return constant softmax maps."""
    ct = sitk.GetImageFromArray(np.full((2, 4, 4), 30, np.int16))
    ct.SetSpacing((1.0, 1.0, 5.0))
    sitk.WriteImage(ct, str(tmp_path / "ct.nii.gz"))
    result = _run(f"""
        from pathlib import Path
        import numpy as np, pandas as pd, SimpleITK as sitk
        from leukoct import nnunet_inference

        class Constant:
            def __init__(self, p):
                self.p = p
            def predict_single_npy_array(self, image, properties, save_or_return_probabilities):
                fg = np.full(image.shape[1:], self.p, np.float32)
                return (fg > 0.5).astype(np.uint8), np.stack([1 - fg, fg])

        predictors = {{0: Constant(0.1), 1: Constant(0.2), 2: Constant(0.6)}}
        ct = {str(tmp_path / 'ct.nii.gz')!r}
        cases = pd.DataFrame({{"subject_id": ["ext", "dev", "pair"], "ct_path": [ct] * 3,
                              "folds": [(0, 1, 2), (0,), (0, 1)]}})
        out = Path({str(tmp_path / 'masks')!r})
        for cut in (0.25, None):
            table = nnunet_inference.predict_cases_averaged(predictors, cases, out, threshold=cut)
            print(cut, table["predicted_ml"].round(4).tolist(), table["folds"].tolist())
        mask = sitk.GetArrayFromImage(sitk.ReadImage(str(out / "ext.nii.gz")))
        print(mask.shape, int(mask.sum()))
        bad = cases.assign(folds=[(3,), (0,), (0,)])
        try:
            nnunet_inference.predict_cases_averaged(predictors, bad, out)
        except nnunet_inference.SegmentationError as exc:
            print("refused", exc)
        """, tmp_path)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    # Means: ext (0.1+0.2+0.6)/3 = 0.3, dev 0.1, pair 0.15.  32 voxels of 5 uL = 0.16 mL.
    assert lines[0] == "0.25 [0.16, 0.0, 0.0] [3, 1, 2]"
    assert lines[1] == "None [0.0, 0.0, 0.0] [3, 1, 2]"      # 0.3 < one half
    assert lines[2] == "(2, 4, 4) 0"                          # the last run's mask, on the CT grid
    assert lines[3].startswith("refused ext: no model for folds [3]")
