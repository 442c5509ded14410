"""Steps 05 and 06 on a profile: where the model and its predictions live.

The glue between a profile and :mod:`leukoct.segmentation`: each function
takes the profile, finds the step's folders and settings and calls the
nnU-Net layer.  The workflow runs them through ``leukoct nnunet-*``
commands, one process each (nnU-Net binds its folders at import).
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from leukoct import nnunet_inference, pseudolabels, registration
from leukoct import precision as arithmetic
from leukoct import segmentation as seg
from leukoct.config import Profile
from leukoct.manifest import load_manifest
from leukoct.registration import CT_ON_FLAIR_FILE, FLAIR_LABEL_FILE, PSEUDOLABEL_FILE
from leukoct.run import Run
from leukoct.volumes import volume_table

#: Curation groups predicted, one workflow job each.
GROUPS = ("development", "external", "us", "clinical")


def training_settings(profile: Profile) -> seg.TrainingSettings:
    """The profile's ``steps.training`` knobs, with its seed and threads."""
    knobs = profile.steps.get("training", {})
    return seg.TrainingSettings(**{"seed": profile.seed, "threads": profile.threads, **knobs})


def inference_settings(profile: Profile) -> seg.InferenceSettings:
    """The profile's ``steps.inference`` knobs, with its threads."""
    knobs = profile.steps.get("inference", {})
    return seg.InferenceSettings(**{"threads": profile.threads, **knobs})


def folders(profile: Profile) -> seg.NnunetFolders:
    """nnU-Net's raw / preprocessed / results folders under the training step."""
    return seg.NnunetFolders(profile.step_dir("training"))


def curated_path(profile: Profile) -> Path:
    """The curated cohort (:attr:`leukoct.run.Run.curated`)."""
    return Run(profile).curated


def label_path(profile: Profile, subject_id: str) -> Path:
    """A subject's CT pseudo-label, written by the registration step."""
    return pseudolabels.subject_dir(profile, subject_id) / PSEUDOLABEL_FILE


def on_flair_grid(profile: Profile) -> bool:
    """True when nnU-Net learns and predicts on the FLAIR grid (seed 003's direction,
    ``steps.registration.direction: ct_to_flair``)."""
    return pseudolabels.registration_settings(profile).direction == "ct_to_flair"


def flair_grid_files(profile: Profile, subject_id: str) -> tuple[Path, Path]:
    """A subject's CT on the FLAIR grid and its label there (direction ct_to_flair)."""
    folder = pseudolabels.subject_dir(profile, subject_id)
    return folder / CT_ON_FLAIR_FILE, folder / FLAIR_LABEL_FILE


def export(profile: Profile) -> pd.DataFrame:
    """Export the development CTs and pseudo-labels; check each case.

    In seed 003's direction the CTs resampled onto the FLAIR grid and the WMH
    masks as drawn are exported instead.  Returns nnU-Net's integrity report,
    one row per subject.
    """
    settings = training_settings(profile)
    f = folders(profile)
    seg.use_folders(f, settings.threads)
    if on_flair_grid(profile):
        grid = {"label_path": lambda s: flair_grid_files(profile, s)[1],
                "image_path": lambda s: flair_grid_files(profile, s)[0]}
    else:
        grid = {"label_path": lambda s: label_path(profile, s)}
    cases = seg.training_cases(pd.read_csv(curated_path(profile)),
                               load_manifest(profile.manifest, profile.data.verify_checksums),
                               **grid)
    seg.export_dataset(cases, f, settings)
    return seg.check_cases(f)


def plan(profile: Profile) -> Path:
    """Plan and preprocess with nnU-Net; return the plans file."""
    settings = training_settings(profile)
    f = folders(profile)
    seg.use_folders(f, settings.threads)
    return seg.plan_and_preprocess(f, settings)


def train(profile: Profile) -> list[Path]:
    """Train (or resume) the model, or each cross-validation fold's in turn;
    return the fold folders."""
    settings = training_settings(profile)
    f = folders(profile)
    seg.use_folders(f, settings.threads)
    return [seg.train(f, settings, fold) for fold in settings.folds]


def n_training_cases(profile: Profile) -> int:
    """How many CTs the run's nnU-Net trained on: the train list of its own split file."""
    path = folders(profile).splits
    if not path.is_file():
        raise FileNotFoundError(f"{path}: no nnU-Net split file; fix: run the training step "
                                "(leukoct nnunet-plan) first")
    return len(json.loads(path.read_text(encoding="utf-8"))[0]["train"])


def checkpoint_path(profile: Profile, fold: int = 0) -> Path:
    """The checkpoint inference loads (of one fold)."""
    return (folders(profile).fold_dir(training_settings(profile), fold)
            / inference_settings(profile).checkpoint)


def held_out_folds(profile: Profile) -> dict[str, int]:
    """Each development subject's cross-validation fold (the one model that never
    saw it); empty for the paper's single split."""
    if training_settings(profile).cv_folds is None:
        return {}
    split = json.loads(folders(profile).splits.read_text(encoding="utf-8"))
    return {s: fold for fold, entry in enumerate(split) for s in entry["val"]}


def predictions_dir(profile: Profile, group: str) -> Path:
    """One group's predicted masks (:meth:`leukoct.run.Run.predictions_dir`)."""
    return Run(profile).predictions_dir(group)


def predictions_path(profile: Profile, group: str) -> Path:
    """One group's predictions table."""
    return Run(profile).predictions(group)


def volumes_path(profile: Profile) -> Path:
    """The volumes table: the inference step's output."""
    return Run(profile).volumes


def predict_group(profile: Profile, group: str) -> pd.DataFrame:
    """Predict every included CT of one curation group with one predictor."""
    if group not in GROUPS:
        raise ValueError(f"unknown group {group!r}; one of {GROUPS}")
    training = training_settings(profile)
    settings = inference_settings(profile)
    f = folders(profile)
    seg.use_folders(f, settings.threads)
    curated = pd.read_csv(curated_path(profile))
    chosen = curated.loc[(curated["group"] == group) & (curated["status"] == "included"),
                         ["subject_id"]]
    manifest = load_manifest(profile.manifest, profile.data.verify_checksums)
    cases = chosen.merge(manifest[["subject_id", "ct_path"]], on="subject_id", how="left")
    out = predictions_dir(profile, group)
    if len(cases):
        precision = arithmetic.resolve(settings.cpu_precision, seg.pick_device(settings.device).type)
        print(f"nnU-Net inference arithmetic: {precision}", flush=True)
        if training.cv_folds is None and settings.probability_threshold is None:
            # The paper's design: one model, nnU-Net's own label.
            predictor = nnunet_inference.load_predictor(f, training, settings)

            def predict(chosen: pd.DataFrame, masks: Path) -> pd.DataFrame:
                return nnunet_inference.predict_cases(predictor, chosen, masks,
                                                      training.normalization, precision)
        else:
            predictors = {fold: nnunet_inference.load_predictor(f, training, settings, fold)
                          for fold in training.folds}
            held_out = held_out_folds(profile)
            # A development CT by the fold that held it out; any other by every fold.
            cases["folds"] = [(held_out[s],) if s in held_out else training.folds
                              for s in cases["subject_id"]]

            def predict(chosen: pd.DataFrame, masks: Path) -> pd.DataFrame:
                return nnunet_inference.predict_cases_averaged(
                    predictors, chosen, masks, training.normalization, precision,
                    settings.probability_threshold)
        table = _predict_on_grids(profile, cases, out, predict)
    else:
        table = pd.DataFrame(columns=["subject_id", "mask_path", "predicted_ml", "seconds"])
    out.mkdir(parents=True, exist_ok=True)
    table.to_csv(predictions_path(profile, group), index=False)
    return table


def _predict_on_grids(profile: Profile, cases: pd.DataFrame, out: Path,
                      predict: Callable[[pd.DataFrame, Path], pd.DataFrame]) -> pd.DataFrame:
    """Predict every case on the grid its design learned on; the masks end on the CT's.

    The paper's direction predicts each CT as it is.  Seed 003's predicts a
    registered subject's CT on its FLAIR grid (``masks_flair/``: the seed's
    own evaluation grid) and carries the mask back onto the CT through the
    registration (``masks/``: the like-for-like one); a CT without a FLAIR
    (the clinical cohort) is predicted as it is.
    """
    on_flair = {}
    if on_flair_grid(profile):
        for subject in cases["subject_id"]:
            image, _ = flair_grid_files(profile, subject)
            if image.is_file():
                on_flair[subject] = image
    native = cases.loc[~cases["subject_id"].isin(on_flair)]
    tables = [predict(native, out / "masks")] if len(native) else []
    if on_flair:
        chosen = cases.loc[cases["subject_id"].isin(on_flair)]
        table = predict(chosen.assign(ct_path=chosen["subject_id"].map(on_flair)), out / "masks_flair")
        ct_paths = dict(zip(cases["subject_id"], cases["ct_path"]))
        table["flair_mask_path"] = table["mask_path"]
        table["predicted_flair_ml"] = table["predicted_ml"]
        (out / "masks").mkdir(parents=True, exist_ok=True)
        carried = []
        for subject, mask in zip(table["subject_id"], table["flair_mask_path"]):
            target = out / "masks" / Path(mask).name
            transforms = registration.saved_transforms(pseudolabels.subject_dir(profile, subject))
            carried.append((str(target), registration.mask_to_ct(mask, ct_paths[subject],
                                                                 transforms, target)))
        table["mask_path"], table["predicted_ml"] = zip(*carried)
        tables.append(table)
    order = {s: i for i, s in enumerate(cases["subject_id"])}
    table = pd.concat(tables, ignore_index=True)
    return (table.assign(_order=table["subject_id"].map(order)).sort_values("_order")
            .drop(columns="_order").reset_index(drop=True))


def volumes(profile: Profile, paths: list[str | os.PathLike[str]] | None = None) -> pd.DataFrame:
    """Gather the groups' predictions into the volumes table and write it."""
    paths = paths or [predictions_path(profile, g) for g in GROUPS]
    predictions = pd.concat([pd.read_csv(p) for p in paths], ignore_index=True)
    qc_file = pseudolabels.qc_path(profile)
    truth_file = profile.manifest.parent / "truth" / "subjects.csv"
    table = volume_table(
        predictions, pd.read_csv(curated_path(profile)),
        load_manifest(profile.manifest, verify_checksums=False),
        qc=pd.read_csv(qc_file) if qc_file.is_file() else None,
        truth=pd.read_csv(truth_file) if profile.data.source == "twin" and truth_file.is_file() else None)
    volumes_path(profile).parent.mkdir(parents=True, exist_ok=True)
    table.to_csv(volumes_path(profile), index=False)
    return table
