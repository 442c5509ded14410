"""nnU-Net training and inference speed on this machine.

For each network (the profile's plan, optionally the same plan at twice its
width and nnU-Net's own 2d plan, with and without the paper's batch size)
and each CPU arithmetic (float32, nnU-Net's; bfloat16 autocast,
:mod:`leukoct.precision`), trains a few iterations with nnU-Net's trainer
and reports seconds per training iteration and the implied seconds per
250-iteration epoch (the paper: 60 s per epoch on an RTX A6000, batch 12);
then predicts a few CTs with a trained checkpoint, with and without
test-time mirroring, in each arithmetic, and reports seconds per CT and
the Dice between each arithmetic's masks and float32's.

Needs the profile's exported and planned dataset (``snakemake ...
nnunet_plan``) and, for the inference part, its trained model.  Run from
the project root::

    OMP_NUM_THREADS=1 .venv/bin/python benchmarks/nnunet_speed.py --profile demo \\
        --iterations 20 --cts 5 --precisions fp32 bf16 --wide

Writes nothing outside ``<training step>/nnUNet_results/<dataset>/benchmark__*``
(removed at the end).
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import time


def _train_seconds(plans: dict, name: str, batch: int | None, iterations: int,
                   folders, device, precision: str = "fp32") -> dict:
    from batchgenerators.utilities.file_and_folder_operations import load_json

    from leukoct.nnunet_trainer import ScheduledTrainer

    plans = json.loads(json.dumps(plans))
    plans["plans_name"] = f"benchmark_{name}"
    config = plans["configurations"]["2d"]
    if batch is not None:
        config["batch_size"] = batch
    trainer = ScheduledTrainer(plans=plans, configuration="2d", fold=0, device=device,
                               dataset_json=load_json(str(folders.dataset_raw / "dataset.json")))
    trainer.set_schedule(epochs=1, iterations_per_epoch=iterations, val_iterations_per_epoch=1)
    trainer.on_train_start()
    trainer.on_epoch_start()
    trainer.on_train_epoch_start()
    trainer.set_precision(precision)
    trainer.train_step(next(trainer.dataloader_train))  # warm-up: first batch, allocation
    start = time.perf_counter()
    for _ in range(iterations):
        trainer.train_step(next(trainer.dataloader_train))
    seconds = (time.perf_counter() - start) / iterations
    shutil.rmtree(trainer.output_folder_base, ignore_errors=True)
    params = sum(p.numel() for p in trainer.network.parameters())
    return {"network": name, "precision": precision,
            "features": config["architecture"]["arch_kwargs"]["features_per_stage"],
            "patch": config["patch_size"], "batch": config["batch_size"],
            "parameters_M": round(params / 1e6, 2), "s_per_iteration": round(seconds, 3),
            "s_per_250_iteration_epoch": round(seconds * 250, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--iterations", type=int, default=20)
    parser.add_argument("--cts", type=int, default=5, help="CTs to predict (0: skip inference)")
    parser.add_argument("--nnunet-default", action="store_true",
                        help="also time nnU-Net's own network (slow on a CPU)")
    parser.add_argument("--wide", action="store_true",
                        help="also time the profile's network at twice its width")
    parser.add_argument("--precisions", nargs="+", default=["fp32"], choices=["fp32", "bf16"],
                        help="CPU arithmetic to time (bf16: leukoct.precision)")
    args = parser.parse_args()

    import numpy as np
    import pandas as pd
    import SimpleITK as sitk

    from leukoct import nnunet_inference, predictions
    from leukoct import segmentation as seg
    from leukoct.config import load_profile
    from leukoct.manifest import load_manifest
    from leukoct.metrics.overlap import dice

    profile = load_profile(args.profile)
    settings = predictions.training_settings(profile)
    folders = predictions.folders(profile)
    seg.use_folders(folders, settings.threads)
    import torch

    os.environ["nnUNet_n_proc_DA"] = "0"
    device = seg.pick_device(settings.device)
    if device.type == "cpu":
        torch.set_num_threads(settings.threads)
    print(f"device: {device}; torch threads: {torch.get_num_threads()}")

    from leukoct.precision import native_bf16

    print(f"native bfloat16 on this CPU: {native_bf16()}")
    profile_plans = json.loads(folders.plans(settings).read_text())
    networks = [("profile", profile_plans, None, args.iterations)]
    if args.wide:
        features = profile_plans["configurations"]["2d"]["architecture"]["arch_kwargs"][
            "features_per_stage"]
        wide = settings.model_copy(update={"base_features": 2 * features[0],
                                           "max_features": 2 * max(features)})
        networks.append(("profile_x2_width", seg.derive_plans(profile_plans, wide), None,
                         args.iterations))
    if args.nnunet_default:
        plans = json.loads((folders.dataset_preprocessed / f"{seg.NNUNET_PLANS}.json").read_text())
        few = max(2, args.iterations // 5)
        networks += [("nnunet", plans, None, few), ("nnunet_batch12", plans, 12, few)]
    rows = [_train_seconds(plans, name, batch, n, folders, device, precision)
            for name, plans, batch, n in networks for precision in args.precisions]
    print(pd.DataFrame(rows).to_string(index=False))

    if args.cts:
        curated = pd.read_csv(predictions.curated_path(profile))
        chosen = curated.loc[curated["status"] == "included", ["subject_id"]].head(args.cts)
        cases = chosen.merge(load_manifest(profile.manifest, verify_checksums=False)[
            ["subject_id", "ct_path"]], on="subject_id")
        out = []
        masks: dict[tuple[bool, str], dict[str, np.ndarray]] = {}
        for mirroring in (False, True):
            for precision in args.precisions:
                inference = predictions.inference_settings(profile).model_copy(
                    update={"mirroring": mirroring})
                start = time.perf_counter()
                predictor = nnunet_inference.load_predictor(folders, settings, inference)
                startup = time.perf_counter() - start
                scratch = folders.results / "benchmark_predictions"
                table = nnunet_inference.predict_cases(predictor, cases, scratch,
                                                       settings.normalization, precision)
                masks[mirroring, precision] = {
                    r.subject_id: sitk.GetArrayFromImage(sitk.ReadImage(r.mask_path)) > 0
                    for r in table.itertuples()}
                shutil.rmtree(scratch, ignore_errors=True)
                out.append({"mirroring": mirroring, "precision": precision,
                            "predictor_start_s": round(startup, 2),
                            "s_per_CT_mean": round(float(table["seconds"].mean()), 2),
                            "s_per_CT_max": round(float(table["seconds"].max()), 2),
                            "CTs": len(table)})
        print(pd.DataFrame(out).to_string(index=False))
        # Whether the faster arithmetic changes the answer: each arithmetic's masks
        # against float32's, same model, same CTs.
        agreement = []
        for (mirroring, precision), by_subject in masks.items():
            reference = masks.get((mirroring, "fp32"))
            if precision == "fp32" or reference is None:
                continue
            for subject, mask in by_subject.items():
                ref = reference[subject]
                agreement.append({"mirroring": mirroring, "precision": precision,
                                  "subject_id": subject,
                                  "dice_vs_fp32": round(dice(mask, ref, empty=1.0), 4),
                                  "voxels": int(mask.sum()), "voxels_fp32": int(ref.sum())})
        if agreement:
            print(pd.DataFrame(agreement).to_string(index=False))


if __name__ == "__main__":
    main()
