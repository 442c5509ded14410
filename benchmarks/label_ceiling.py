"""Labels or CT: what limits the demo model?

The study's model learns from pseudo-labels (FLAIR WMH masks registered onto the
CT), which are themselves off the truth.  Only the twin can say how much of the
model's error comes from those labels and how much from what the CT shows.  This
script trains the profile's nnU-Net a second time, on the *same* export, plans,
intensity window, split and schedule, with one thing changed: the labels are the
twin's true LA masks.  Both models are scored on nnU-Net's internal validation
fold (development data only) against the pseudo-labels and against the truth.

* If the truth-trained model is far better against the truth, the labels limit
  the study's model; if it is about as good, the CT (its contrast and noise at
  the plan's resolution) and the training budget do.

The study's own model is read from the built run (``make book`` first); the
truth arm trains in ``<run>/benchmarks/label_ceiling/`` (about as long as the
study's training step: ~12 min for the demo on 2 idle cores).  Run from the
project root::

    .venv/bin/python benchmarks/label_ceiling.py --profile demo
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import SimpleITK as sitk

from leukoct import metrics, predictions
from leukoct import segmentation as seg
from leukoct.config import load_profile
from leukoct.twin.calibration import truth_mask_path

#: Files of the study's preprocessed folder the truth arm reuses unchanged, so
#: that the plans and the intensity window (nnU-Net's ``CT`` scheme takes it
#: from the label voxels' fingerprint) are the study's own.
SHARED_PLANS = ("dataset.json", "dataset_fingerprint.json", "nnUNetPlans.json",
                f"{seg.DERIVED_PLANS}.json")


def _mask(path: Path) -> np.ndarray:
    return sitk.GetArrayFromImage(sitk.ReadImage(str(path))) > 0


def train_on_truth(profile_name: str, root: Path) -> Path:
    """Export the development CTs with true LA labels, preprocess, train; the fold folder."""
    prof = load_profile(profile_name)
    settings = predictions.training_settings(prof)
    study = predictions.folders(prof)
    arm = seg.NnunetFolders(root)
    seg.use_folders(arm, settings.threads)
    from nnunetv2.experiment_planning.plan_and_preprocess_api import preprocess

    data_dir = Path(prof.manifest).parent
    cases = pd.read_csv(study.cases)
    cases["label_path"] = [str(truth_mask_path(data_dir, s, "ct")) for s in cases["subject_id"]]
    seg.export_dataset(cases, arm, settings, description="Twin's true LA labels (label_ceiling)")
    arm.dataset_preprocessed.mkdir(parents=True, exist_ok=True)
    for name in SHARED_PLANS:
        if (study.dataset_preprocessed / name).is_file():
            shutil.copy2(study.dataset_preprocessed / name, arm.dataset_preprocessed / name)
    preprocess([seg.DATASET_ID], seg.NNUNET_PLANS, configurations=(settings.configuration,),
               num_processes=(settings.threads,))
    arm.splits.write_text(json.dumps(seg.splits(cases), indent=2), encoding="utf-8")
    return seg.train(arm, settings)


def score(fold_dir: Path, cases: pd.DataFrame, data_dir: Path) -> pd.DataFrame:
    """Dice and volumes of nnU-Net's validation predictions, per internal case."""
    rows = []
    for row in cases[cases["split"] == "internal"].itertuples():
        pred = _mask(fold_dir / "validation" / f"{row.subject_id}{seg.FILE_ENDING}")
        pseudo = _mask(Path(row.label_path))
        truth = _mask(truth_mask_path(data_dir, row.subject_id, "ct"))
        rows.append({"subject_id": row.subject_id,
                     "dice_vs_pseudo": metrics.dice(pred, pseudo),
                     "dice_vs_truth": metrics.dice(pred, truth),
                     "predicted_vox": int(pred.sum()), "truth_vox": int(truth.sum())})
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--profile", default="demo", help="a twin profile, already built")
    parser.add_argument("--arm", choices=("truth",), help=argparse.SUPPRESS)
    args = parser.parse_args()
    prof = load_profile(args.profile)
    root = prof.outputs.root / "benchmarks" / "label_ceiling"
    if args.arm == "truth":  # nnU-Net binds its folders per process: one arm per process
        train_on_truth(args.profile, root)
        return
    settings = predictions.training_settings(prof)
    study = predictions.folders(prof)
    study_fold = study.fold_dir(settings)
    if not (study_fold / "validation" / "summary.json").is_file():
        sys.exit(f"no trained model with its validation in {study_fold}: run `make book "
                 f"PROFILE={args.profile}` first")
    start = time.perf_counter()
    subprocess.run([sys.executable, __file__, "--profile", args.profile, "--arm", "truth"],
                   check=True)
    minutes = (time.perf_counter() - start) / 60
    cases = pd.read_csv(study.cases)
    data_dir = Path(prof.manifest).parent
    arms = {"pseudo-labels (the study)": study_fold,
            "the twin's true LA": seg.NnunetFolders(root).fold_dir(settings)}
    print(f"\nnnU-Net internal fold, {prof.name} profile: the same export, plans, window, "
          f"split and schedule ({settings.epochs} x {settings.iterations_per_epoch} iterations); "
          f"truth arm trained in {minutes:.1f} min")
    print(f"{'trained on':28s} {'n':>3s} {'Dice vs pseudo':>15s} {'Dice vs truth':>14s} "
          f"{'predicted / true volume, median':>32s}")
    for label, fold in arms.items():
        s = score(fold, cases, data_dir)
        ratio = np.median(s["predicted_vox"] / s["truth_vox"].clip(lower=1))
        print(f"{label:28s} {len(s):3d} {s['dice_vs_pseudo'].mean():15.3f} "
              f"{s['dice_vs_truth'].mean():14.3f} {ratio:32.2f}")


if __name__ == "__main__":
    main()
