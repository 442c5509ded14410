"""What a training run wrote, read for the training chapter.

nnU-Net leaves its plan (``plans.json``), per-epoch curves (in the
checkpoint's logger) and the internal fold's validation
(``validation/summary.json``); these functions turn each into a table.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leukoct.segmentation import FILE_ENDING, SCHEDULE_FILE, SegmentationError


def read_progress(fold_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """Per-epoch training curves from a checkpoint (nnU-Net's logger).

    Returns
    -------
    DataFrame
        ``epoch, train_loss, val_loss, pseudo_dice, ema_pseudo_dice, lr,
        epoch_seconds`` — what nnU-Net's ``progress.png`` draws.
    """
    import torch

    fold_dir = Path(fold_dir)
    path = fold_dir / "checkpoint_final.pth"
    if not path.is_file():
        path = fold_dir / "checkpoint_latest.pth"
    if not path.is_file():
        raise SegmentationError(f"no checkpoint in {fold_dir}")
    log = torch.load(path, map_location="cpu", weights_only=False)["logging"]
    n = min(len(log["train_losses"]), len(log["val_losses"]), len(log["mean_fg_dice"]))
    start, end = log["epoch_start_timestamps"][:n], log["epoch_end_timestamps"][:n]
    return pd.DataFrame({
        "epoch": np.arange(n),
        "train_loss": np.asarray(log["train_losses"][:n], dtype=float),
        "val_loss": np.asarray(log["val_losses"][:n], dtype=float),
        "pseudo_dice": np.asarray(log["mean_fg_dice"][:n], dtype=float),
        "ema_pseudo_dice": np.asarray(log["ema_fg_dice"][:n], dtype=float),
        "lr": np.asarray(log["lrs"][:n], dtype=float),
        "epoch_seconds": np.asarray(end, dtype=float) - np.asarray(start, dtype=float),
    })


def plan_summary(plans: dict[str, Any], configuration: str = "2d") -> dict[str, Any]:
    """What a plan decides: spacing, patch, batch, stages and features."""
    config = plans["configurations"][configuration]
    kwargs = config["architecture"]["arch_kwargs"]
    return {"plans": plans["plans_name"],
            "spacing_mm": " x ".join(f"{v:g}" for v in config["spacing"]),
            "patch_size": " x ".join(str(int(v)) for v in config["patch_size"]),
            "batch_size": int(config["batch_size"]),
            "stages": int(kwargs["n_stages"]),
            "features_per_stage": ", ".join(str(int(v)) for v in kwargs["features_per_stage"]),
            "normalization": ", ".join(config["normalization_schemes"])}


def validation_summary(fold_dir: str | os.PathLike[str]) -> pd.DataFrame:
    """nnU-Net's own validation of the held-out fold, one row per case.

    Returns
    -------
    DataFrame
        ``subject_id, dice, reference_voxels, predicted_voxels`` (Dice of the
        prediction against the pseudo-label; NaN when both are empty, as
        nnU-Net reports it).
    """
    summary = json.loads((Path(fold_dir) / "validation" / "summary.json").read_text())
    rows = []
    for case in summary["metric_per_case"]:
        metrics = case["metrics"]["1"]
        rows.append({"subject_id": Path(case["reference_file"]).name.removesuffix(FILE_ENDING),
                     "dice": float(metrics["Dice"]),
                     "reference_voxels": int(metrics["n_ref"]),
                     "predicted_voxels": int(metrics["n_pred"])})
    return pd.DataFrame(rows)


def arithmetic(fold_dir: str | os.PathLike[str]) -> str:
    """How a trained fold computed, in words, from what it recorded.

    nnU-Net autocasts to float16 on CUDA and computes in float32 on a CPU;
    ``cpu_precision`` (:mod:`leukoct.precision`) may put the CPU's network
    and loss under bfloat16 autocast.  The fold's schedule file records the
    device and the resolved precision (``auto`` already decided).

    Returns
    -------
    str
        ``"float16 autocast (nnU-Net on CUDA)"``, ``"bfloat16 autocast"`` or
        ``"float32"``.
    """
    path = Path(fold_dir) / SCHEDULE_FILE
    if not path.is_file():
        raise SegmentationError(f"{path.name} is missing in the trained fold {Path(fold_dir).name}; "
                                "re-run the training step (leukoct nnunet-train).")
    record = json.loads(path.read_text())
    if record.get("device") == "cuda":
        return "float16 autocast (nnU-Net on CUDA)"
    return "bfloat16 autocast" if record.get("precision") == "bf16" else "float32"
