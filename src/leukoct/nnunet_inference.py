"""nnU-Net inference: load the trained network once, predict LA on each CT.

The predictor is rebuilt from the training run's plans and checkpoint
(:func:`load_predictor`), so a trainer class that lives outside nnU-Net's
package (:mod:`leukoct.nnunet_trainer`) predicts like nnU-Net's own; each CT
gets the export's intensity treatment before nnU-Net's preprocessing
(:func:`predict_cases`), so training and inference see the same input.
A cross-validated design (seed 003) predicts each CT with several folds'
models and averages their probabilities (:func:`predict_cases_averaged`).
"""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from leukoct import precision as arithmetic
from leukoct.cv_ensemble import average_and_threshold
from leukoct.images import mask_volume_ml
from leukoct.segmentation import (
    FILE_ENDING,
    InferenceSettings,
    NnunetFolders,
    SegmentationError,
    TrainingSettings,
    clip_hounsfield,
    pick_device,
)


def load_predictor(folders: NnunetFolders, training: TrainingSettings,
                   settings: InferenceSettings, fold: int = 0) -> Any:
    """An ``nnUNetPredictor`` holding the trained network.

    The network is rebuilt from the plans (``manual_initialization``), which
    works for a trainer class that lives outside nnU-Net's package.

    Raises
    ------
    SegmentationError
        When the checkpoint is missing, naming the path and the command.
    """
    model_dir = folders.model_dir(training)
    checkpoint_path = model_dir / f"fold_{fold}" / settings.checkpoint
    if not checkpoint_path.is_file():
        raise SegmentationError(
            f"no trained model at {checkpoint_path}; train it first with "
            "`snakemake --cores 2 --config profile=<profile> -- nnunet_train` (or `make book`)")
    import torch
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.inference.predict_from_raw_data import nnUNetPredictor
    from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer
    from nnunetv2.utilities.label_handling.label_handling import (
        determine_num_input_channels,
    )
    from nnunetv2.utilities.plans_handling.plans_handler import PlansManager

    device = pick_device(settings.device)
    print(f"nnU-Net inference on device: {device}", flush=True)
    if device.type == "cpu":
        torch.set_num_threads(settings.threads)
    checkpoint = torch.load(checkpoint_path, map_location="cpu", weights_only=False)
    plans_manager = PlansManager(load_json(str(model_dir / "plans.json")))
    dataset_json = load_json(str(model_dir / "dataset.json"))
    configuration = plans_manager.get_configuration(checkpoint["init_args"]["configuration"])
    network = nnUNetTrainer.build_network_architecture(
        configuration.network_arch_class_name, configuration.network_arch_init_kwargs,
        configuration.network_arch_init_kwargs_req_import,
        determine_num_input_channels(plans_manager, configuration, dataset_json),
        plans_manager.get_label_manager(dataset_json).num_segmentation_heads,
        enable_deep_supervision=False)
    network.load_state_dict(checkpoint["network_weights"])
    predictor = nnUNetPredictor(tile_step_size=settings.tile_step_size, use_gaussian=True,
                                use_mirroring=settings.mirroring,
                                perform_everything_on_device=device.type == "cuda",
                                device=device, verbose=False, verbose_preprocessing=False,
                                allow_tqdm=False)
    predictor.manual_initialization(network, plans_manager, configuration,
                                    [checkpoint["network_weights"]], dataset_json,
                                    checkpoint["trainer_name"],
                                    checkpoint.get("inference_allowed_mirroring_axes"))
    return predictor


def predict_cases(predictor: Any, cases: pd.DataFrame, out_dir: Path,
                  normalization: str = "zscore", precision: str = "fp32") -> pd.DataFrame:
    """Predict LA on each CT with one loaded predictor; write masks.

    Each CT gets the export's intensity treatment (HU clipped) before
    nnU-Net's own preprocessing, so training and inference see the same
    input.

    Parameters
    ----------
    cases
        ``subject_id, ct_path``.
    precision
        ``fp32`` or ``bf16`` (resolved: :func:`leukoct.precision.resolve`).

    Returns
    -------
    DataFrame
        ``subject_id, mask_path, predicted_ml, seconds``.
    """
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO

    out_dir.mkdir(parents=True, exist_ok=True)
    reader = SimpleITKIO()
    rows = []
    for row in cases.itertuples():
        start = time.perf_counter()
        image, properties = reader.read_images([str(row.ct_path)])
        if normalization == "zscore":
            image = clip_hounsfield(image)
        with arithmetic.cpu_autocast(precision):
            seg = predictor.predict_single_npy_array(image.astype(np.float32), properties)
        target = out_dir / f"{row.subject_id}{FILE_ENDING}"
        reader.write_seg(seg.astype(np.uint8), str(target), properties)
        seconds = time.perf_counter() - start
        # The header's spacing (SimpleITK's x, y, z), as the written mask has it.
        spacing = tuple(float(v) for v in properties["sitk_stuff"]["spacing"])
        rows.append({"subject_id": row.subject_id, "mask_path": str(target),
                     "predicted_ml": mask_volume_ml(seg, spacing), "seconds": seconds})
    return pd.DataFrame(rows, columns=["subject_id", "mask_path", "predicted_ml", "seconds"])


#: Without a probability threshold the averaged models label LA where their
#: mean foreground probability reaches one half: the argmax of two classes.
ARGMAX_THRESHOLD = 0.5


def predict_cases_averaged(predictors: dict[int, Any], cases: pd.DataFrame, out_dir: Path,
                           normalization: str = "zscore", precision: str = "fp32",
                           threshold: float | None = None) -> pd.DataFrame:
    """Predict LA on each CT as the mean probability of some folds' models.

    Seed 003 (Pitkänen et al.) averages the probability maps of the models
    that segment a CT and keeps the voxels whose mean reaches 0.25
    (:func:`leukoct.cv_ensemble.average_and_threshold`).  nnU-Net's own
    fold ensembling averages logits, not probabilities, so each model's
    softmax is taken here (nnU-Net's ``save_or_return_probabilities``),
    already resampled onto the CT's grid.

    Parameters
    ----------
    predictors
        Fold -> loaded predictor (:func:`load_predictor`).
    cases
        ``subject_id, ct_path, folds``: the folds whose models predict the
        CT (a development CT: the one that held it out).
    threshold
        On the mean foreground probability; None: :data:`ARGMAX_THRESHOLD`.

    Returns
    -------
    DataFrame
        As :func:`predict_cases`, plus ``folds`` (how many models averaged).
    """
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO

    cut = ARGMAX_THRESHOLD if threshold is None else threshold
    out_dir.mkdir(parents=True, exist_ok=True)
    reader = SimpleITKIO()
    rows = []
    for row in cases.itertuples():
        unknown = set(row.folds) - set(predictors)
        if unknown or not row.folds:
            raise SegmentationError(f"{row.subject_id}: no model for folds {sorted(unknown)} "
                                    f"(loaded: {sorted(predictors)})")
        start = time.perf_counter()
        image, properties = reader.read_images([str(row.ct_path)])
        if normalization == "zscore":
            image = clip_hounsfield(image)
        maps = []
        for fold in row.folds:
            with arithmetic.cpu_autocast(precision):
                _, probabilities = predictors[fold].predict_single_npy_array(
                    image.astype(np.float32), properties, save_or_return_probabilities=True)
            maps.append(np.clip(np.asarray(probabilities[1], dtype=np.float32), 0.0, 1.0))
        _, mask = average_and_threshold(maps, cut)
        target = out_dir / f"{row.subject_id}{FILE_ENDING}"
        reader.write_seg(mask.astype(np.uint8), str(target), properties)
        spacing = tuple(float(v) for v in properties["sitk_stuff"]["spacing"])
        rows.append({"subject_id": row.subject_id, "mask_path": str(target),
                     "predicted_ml": mask_volume_ml(mask, spacing),
                     "seconds": time.perf_counter() - start, "folds": len(row.folds)})
    return pd.DataFrame(rows, columns=["subject_id", "mask_path", "predicted_ml", "seconds", "folds"])
