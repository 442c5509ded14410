"""The FLAIR WMH segmentation step's I/O: who trains, each model's file, each cohort's masks.

The pure parts (:mod:`~leukoct.wmh.preprocess`, :mod:`~leukoct.wmh.ensemble`,
:mod:`~leukoct.wmh.uncertainty`) know nothing of files; this module reads the
manifest and the profile and writes the run's files (:class:`leukoct.run.Run`):

``flair_segmentation/split.csv``
    every subject with a FLAIR and a reference mask (manifest
    ``wmh_reference_path``) and its split, train / validation / test (6:2:2);
``flair_segmentation/models/<model>.pt`` (+ ``.csv``)
    each model's weights and its training history.  The ensemble's members
    are ``member0`` ... ``member<k>`` (the profile's architecture); with
    ``compare_architectures`` a single model of the other architecture,
    trained on member 0's subjects from member 0's seed, answers the seed's
    UNet vs SE-UNet comparison like for like;
``flair_segmentation/<cohort>/<subject>_wmh.nii.gz`` (+ ``_probability``)
    the ensemble's mask and mean probability on the FLAIR grid, for every
    subject with a FLAIR (with ``wmh_source: manifest``, every one but the
    training split's, which nothing reads); ``<cohort>/predictions.csv`` one row per subject:
    volume, uncertainty index and, where a reference or the twin's truth
    exists, the overlap of the ensemble and of each single model with it (and,
    where the ventricles are known, of its periventricular and deep parts);
    ``<cohort>/lesions.csv`` the ensemble's lesion-wise counts (seed 004).

A subject whose FLAIR has no reference mask is predicted but neither trains
nor is scored; one whose reference mask is not on its FLAIR's grid stops the
step with a message naming the subject and the fix.
"""

from __future__ import annotations

import json
import os
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import torch

from leukoct.config import Profile
from leukoct.images import Volume, load_volume
from leukoct.manifest import load_manifest
from leukoct.messages import LeukoctError, id_list
from leukoct.metrics import dice, hausdorff, lesionwise
from leukoct.precision import resolve
from leukoct.run import Run
from leukoct.settings import WMHSegmentationSettings
from leukoct.wmh import ensemble
from leukoct.wmh.networks import build
from leukoct.wmh.preprocess import Prepared, preprocess, to_native, to_slices
from leukoct.wmh.subregions import subregion_dice
from leukoct.wmh.uncertainty import uncertainty_index

#: The cohorts whose FLAIRs the step segments (those the paper registers).
PAIRED_COHORTS = ("train", "internal", "external")
#: Splits of the reference subjects, in order.
SPLITS = ("train", "validation", "test")


class WMHInputError(LeukoctError, ValueError):
    """A FLAIR or reference mask the step cannot use (named, with the fix)."""


def wmh_settings(profile: Profile) -> WMHSegmentationSettings:
    """The profile's ``steps.flair_segmentation`` (the seed is the profile's)."""
    knobs = {k: v for k, v in profile.steps.get("flair_segmentation", {}).items()
             if k in WMHSegmentationSettings.model_fields}
    return WMHSegmentationSettings(**{"seed": profile.seed, **knobs})


def model_names(settings: WMHSegmentationSettings) -> list[str]:
    """Every model the step trains: the ensemble's members, then the comparison model."""
    names = [f"member{k}" for k in range(settings.members)]
    return names + (["single_" + other_architecture(settings)]
                    if settings.compare_architectures else [])


def other_architecture(settings: WMHSegmentationSettings) -> str:
    """The architecture the ensemble does not use (the seed's comparison)."""
    return "unet" if settings.architecture == "se_unet" else "se_unet"


def _model(settings: WMHSegmentationSettings, name: str) -> tuple[str, int]:
    """A model's architecture and member index (its subjects and seed)."""
    if name.startswith("member") and name[6:].isdigit() and int(name[6:]) < settings.members:
        return settings.architecture, int(name[6:])
    if settings.compare_architectures and name == "single_" + other_architecture(settings):
        return other_architecture(settings), 0
    raise WMHInputError(f"no model {name!r} in this profile; the models are "
                        f"{', '.join(model_names(settings))}")


# -- who trains ----------------------------------------------------------------
def split_subjects(subjects: list[str], settings: WMHSegmentationSettings) -> pd.DataFrame:
    """Split the reference subjects train / validation / test (seed 002's 6:2:2).

    A seeded permutation of the sorted ids, so the split depends on who has a
    reference mask and on the seed only.  At least one subject trains.
    """
    ids = sorted(subjects)
    if not ids:
        raise WMHInputError("no subject has both flair_path and wmh_reference_path; fix: give "
                            "reference FLAIR WMH masks (manifest column wmh_reference_path) for "
                            "some development subjects, or set steps.flair_segmentation."
                            "wmh_source: manifest and do not run this step")
    order = np.random.default_rng(settings.seed).permutation(len(ids))
    n_train = max(1, int(round(settings.train_share * len(ids))))
    n_val = min(len(ids) - n_train, int(round(settings.validation_share * len(ids))))
    split = np.array(["test"] * len(ids), dtype=object)
    split[order[:n_train]] = "train"
    split[order[n_train:n_train + n_val]] = "validation"
    return pd.DataFrame({"subject_id": ids, "split": split})


def reference_table(profile: Profile) -> pd.DataFrame:
    """Subjects with a FLAIR and a reference mask: id, cohort, both paths, and split."""
    table = load_manifest(profile.manifest, verify_checksums=False)
    has = table["flair_path"].notna() & table["wmh_reference_path"].notna()
    refs = table.loc[has, ["subject_id", "cohort", "flair_path", "wmh_reference_path"]]
    split = split_subjects(refs["subject_id"].tolist(), wmh_settings(profile))
    return refs.merge(split, on="subject_id").sort_values("subject_id").reset_index(drop=True)


def write_split(profile: Profile) -> Path:
    """Write ``split.csv`` (the training jobs read it)."""
    run = Run(profile)
    out = run.wmh_split
    out.parent.mkdir(parents=True, exist_ok=True)
    reference_table(profile)[["subject_id", "cohort", "split"]].to_csv(out, index=False)
    return out


# -- data ------------------------------------------------------------------------
def _pair(subject: str, flair_path: str, reference_path: str,
          size: int) -> tuple[Prepared, np.ndarray, Volume]:
    flair = load_volume(flair_path)
    reference = load_volume(reference_path, dtype=np.uint8)
    if not flair.same_grid(reference, atol=0.5):
        raise WMHInputError(
            f"subject {subject}: its reference mask ({Path(reference_path).name}, shape "
            f"{reference.data.shape}) is not on its FLAIR's grid (shape {flair.data.shape}); fix: "
            "resample the reference mask onto the FLAIR, or leave wmh_reference_path empty")
    return preprocess(flair.data, size), to_slices(reference.data, size), flair


def _stack(rows: pd.DataFrame, settings: WMHSegmentationSettings,
           brain_only: bool) -> tuple[np.ndarray, np.ndarray]:
    xs, ys = [], []
    for row in rows.itertuples(index=False):
        prepared, target, _ = _pair(row.subject_id, row.flair_path, row.wmh_reference_path,
                                    settings.slice_size)
        keep = prepared.brain.any(axis=(1, 2)) if brain_only else np.ones(len(target), bool)
        xs.append(prepared.slices[keep])
        ys.append(target[keep])
    if not xs:
        return (np.zeros((0, settings.slice_size, settings.slice_size), np.float32),) * 2
    return np.concatenate(xs), np.concatenate(ys)


# -- training ----------------------------------------------------------------------
def train_model(profile: Profile, name: str) -> dict:
    """Train one model of the step and write its weights and history.

    Returns the model's record (also written beside the weights as JSON).
    """
    settings = wmh_settings(profile)
    architecture, member = _model(settings, name)
    run = Run(profile)
    refs = reference_table(profile)
    train = refs[refs["split"] == "train"]
    seed = ensemble.member_seed(settings.seed, member)
    chosen = ensemble.member_subjects(train["subject_id"].tolist(), settings.member_fraction, seed)
    x, y = _stack(train[train["subject_id"].isin(chosen)], settings, settings.brain_slices_only)
    validation = _stack(refs[refs["split"] == "validation"], settings, brain_only=True)
    fitted = ensemble.train_member(x, y, settings, seed=seed, validation=validation,
                                   architecture=architecture, log=print)
    out = run.wmh_model(name)
    out.parent.mkdir(parents=True, exist_ok=True)
    torch.save({"state_dict": fitted.network.state_dict(), "architecture": architecture,
                "base_features": settings.base_features}, out)
    fitted.history.to_csv(out.with_suffix(".csv"), index=False)
    record = {"model": name, "architecture": architecture, "member": member,
              "subjects": len(chosen), "slices": int(len(x)), "seconds": round(fitted.seconds, 1),
              "arithmetic": resolve(settings.cpu_precision, ensemble.device_of(settings).type),
              "final_loss": float(fitted.history["loss"].iloc[-1]),
              "final_val_dice": float(fitted.history["val_dice"].iloc[-1])
              if "val_dice" in fitted.history and len(validation[0]) else None,
              "kept_epoch": int(fitted.history.loc[fitted.history["kept"], "epoch"].iloc[0])
              if "kept" in fitted.history else int(fitted.history["epoch"].iloc[-1]),
              "kept_val_dice": float(fitted.history.loc[fitted.history["kept"], "val_dice"].iloc[0])
              if "kept" in fitted.history else None}
    out.with_suffix(".json").write_text(json.dumps(record, indent=2), encoding="utf-8")
    return record


def load_model(path: str | os.PathLike[str]) -> torch.nn.Module:
    """A trained model from its ``.pt`` file, in evaluation mode."""
    saved = torch.load(Path(path), map_location="cpu", weights_only=True)
    net = build(saved["architecture"], int(saved["base_features"]))
    net.load_state_dict(saved["state_dict"])
    return net.eval()


# -- prediction --------------------------------------------------------------------
def _scores(pred: np.ndarray, ref: np.ndarray, spacing: tuple[float, float, float],
            prefix: str) -> dict[str, float]:
    hd = hausdorff(pred, ref, spacing=spacing)
    return {f"{prefix}_dice": dice(pred, ref), f"{prefix}_hd_mm": hd.hd, f"{prefix}_hd95_mm": hd.hd95}


def predict_cohort(profile: Profile, cohort: str) -> pd.DataFrame:
    """Segment every FLAIR of one cohort with the ensemble; write masks and the table.

    Each subject's row: ensemble and single-model volumes (mL), the
    uncertainty index, seconds, its split (reference subjects), and Dice /
    Hausdorff against the reference mask and, on the twin, the true lesion.
    """
    settings = wmh_settings(profile)
    run = Run(profile)
    torch.set_num_threads(settings.threads)
    names = model_names(settings)
    device = ensemble.device_of(settings)
    arithmetic = resolve(settings.cpu_precision, device.type)
    models = {n: load_model(run.wmh_model(n)).to(device) for n in names}
    table = load_manifest(profile.manifest, verify_checksums=False)
    rows_in = table[(table["cohort"] == cohort) & table["flair_path"].notna()]
    split = (pd.read_csv(run.wmh_split).set_index("subject_id")["split"]
             if run.wmh_split.exists() else pd.Series(dtype=object))
    if settings.wmh_source == "manifest":
        # Registration carries the manifest's masks: the ensemble's are needed
        # only where they are scored, so the training split is not segmented.
        rows_in = rows_in[rows_in["subject_id"].map(split).fillna("none") != "train"]
    out_dir = run.wmh_cohort_dir(cohort)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows, lesions = [], []
    for row in rows_in.itertuples(index=False):
        start = time.perf_counter()
        flair = load_volume(row.flair_path)
        prepared = preprocess(flair.data, settings.slice_size)
        # Slices without brain are left at probability 0: the seed's mask
        # excludes them, and they are a third of a head's slices.
        brain = prepared.brain.any(axis=(1, 2))
        probs = np.zeros((len(names), *prepared.slices.shape), np.float32)
        if brain.any():
            probs[:, brain] = ensemble.predict(list(models.values()), prepared.slices[brain],
                                               settings.batch_size, arithmetic)
        probs *= prepared.brain
        member_mean = probs[[i for i, n in enumerate(names) if n.startswith("member")]].mean(0)
        mean = to_native(member_mean, prepared.native_shape)
        mask = mean >= settings.threshold
        # Every model alone, too: the members' spread is the training noise
        # against which the architecture comparison is read.
        singles = {n: to_native(probs[i], prepared.native_shape) >= settings.threshold
                   for i, n in enumerate(names)}
        seconds = time.perf_counter() - start
        _save(out_dir / f"{row.subject_id}_wmh.nii.gz", mask.astype(np.uint8), flair.affine)
        _save(out_dir / f"{row.subject_id}_probability.nii.gz", mean, flair.affine)
        record = {"subject_id": row.subject_id, "cohort": cohort,
                  "split": split.get(row.subject_id, "none"),
                  "wmh_ml": float(mask.sum() * flair.voxel_volume_ml),
                  "uncertainty_index": uncertainty_index(mean, settings.threshold,
                                                         settings.divergence_cut),
                  "seconds": round(seconds, 2)}
        for n, m in singles.items():
            record[f"{n}_ml"] = float(m.sum() * flair.voxel_volume_ml)
        references = {"reference": row.wmh_reference_path,
                      "truth": _truth_path(run, row.subject_id)}
        ventricles = _ventricles(run, row.subject_id, flair)
        for label, path in references.items():
            if not isinstance(path, str | Path) or not Path(path).exists():
                continue
            ref = load_volume(path, dtype=np.uint8)
            if not ref.same_grid(flair, atol=0.5):
                raise WMHInputError(f"subject {row.subject_id}: its {label} mask is not on its "
                                    "FLAIR's grid; fix: resample it onto the FLAIR")
            ref_mask = ref.data > 0
            record[f"{label}_ml"] = float(ref_mask.sum() * flair.voxel_volume_ml)
            record.update(_scores(mask, ref_mask, flair.spacing, f"ensemble_vs_{label}"))
            for n, m in singles.items():
                record[f"{n}_dice_vs_{label}"] = dice(m, ref_mask)
            if label == "truth" and isinstance(row.wmh_mask_path, str):
                # The manifest's WMH masks (on the twin: the simulated software
                # the paper used) against the same truth: the error they bring.
                software = load_volume(row.wmh_mask_path, dtype=np.uint8).data > 0
                record["software_ml"] = float(software.sum() * flair.voxel_volume_ml)
                record["software_dice_vs_truth"] = dice(software, ref_mask)
            if ventricles is not None:
                # Seed 002's periventricular vs deep WMH, where the ventricles
                # are known (on the twin: its truth).
                record.update({f"ensemble_vs_{label}_dice_{k}": v for k, v in subregion_dice(
                    mask, ref_mask, ventricles, flair.spacing).items()})
            counts = lesionwise(mask, ref_mask, spacing=flair.spacing)
            lesions.append(counts.assign(subject_id=row.subject_id, cohort=cohort,
                                         split=record["split"], reference=label))
        rows.append(record)
    predictions = pd.DataFrame(rows, columns=None if rows else ["subject_id", "cohort", "split"])
    empty = predictions.loc[predictions["wmh_ml"] == 0, "subject_id"] if rows else []
    if len(empty):
        # Said here, where it is made: with wmh_source leukoct an empty mask
        # becomes an empty pseudo-label, and nnU-Net's training stops on them.
        warnings.warn(f"{len(empty)} of {len(predictions)} {cohort} FLAIRs have no predicted WMH "
                      f"({id_list(empty)}); if that is most of them the ensemble is undertrained: "
                      "raise steps.flair_segmentation.epochs or iterations_per_epoch",
                      stacklevel=2)
    predictions.to_csv(run.wmh_predictions(cohort), index=False)
    lesion_table = (pd.concat(lesions, ignore_index=True) if lesions else
                    pd.DataFrame(columns=["subject_id", "cohort", "split", "reference", "size"]))
    lesion_table.to_csv(run.wmh_lesions(cohort), index=False)
    return predictions


def _truth_path(run: Run, subject: str) -> Path | None:
    path = run.truth_dir / f"{subject}_lesion_flair.nii.gz"
    return path if path.exists() else None


def _ventricles(run: Run, subject: str, flair: Volume) -> np.ndarray | None:
    """The subject's ventricle mask on its FLAIR grid, where known (the twin's truth)."""
    path = run.truth_dir / f"{subject}_ventricles_flair.nii.gz"
    if not path.exists():
        return None
    vent = load_volume(path, dtype=np.uint8)
    if not vent.same_grid(flair, atol=0.5):
        raise WMHInputError(f"subject {subject}: its ventricle mask ({path.name}) is not on its "
                            "FLAIR's grid; fix: rebuild the twin (make clean, then make book)")
    return vent.data > 0


def _save(path: Path, data: np.ndarray, affine: np.ndarray) -> None:
    from leukoct.twin.nifti import write_nifti_gz

    write_nifti_gz(path, data, affine)
