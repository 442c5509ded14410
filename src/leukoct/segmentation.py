"""The CT segmentation model: a thin, tested layer over nnU-Net v2.

The paper trains a 2D nnU-Net on CT alone, with the registered FLAIR masks
as labels, and predicts leukoaraiosis (LA) on every cohort's CT.  This module
does what nnU-Net needs around that and nothing nnU-Net already does:

* **export** the curated development CTs and their pseudo-labels in nnU-Net's
  raw format (``DatasetNNN_LeukoaraiosisCT``) with the paper's intensity
  recipe (HU clipped to [-1000, 1000], then z-scored by nnU-Net), and check
  every case with nnU-Net's own integrity check, naming the subject;
* **plan and preprocess** with nnU-Net's API (``2d``), write the paper's
  train / internal-validation split as ``splits_final.json`` and, for the
  laptop profiles, a derived plans file with a narrower network and a
  smaller batch (a plans edit, nnU-Net's documented way to change them);
* **train** nnU-Net's own trainer class (or :class:`~leukoct.nnunet_trainer.
  ScheduledTrainer` for a shorter schedule), resuming from its checkpoint;
* **predict**: :mod:`leukoct.nnunet_inference` (one ``nnUNetPredictor`` per batch of CTs).

nnU-Net reads its three folders from environment variables when it is first
imported, so every function that runs nnU-Net first calls
:func:`use_folders`; the command line (``leukoct nnunet-...``) runs each step
in its own process.  Nothing here downloads anything.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import os
import shutil
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import SimpleITK as sitk

from leukoct import precision as arithmetic
from leukoct.messages import LeukoctError
from leukoct.seeding import seed_everything
from leukoct.settings import (  # noqa: F401 (re-exported: their home before)
    DERIVED_PLANS,
    NNUNET_PLANS,
    InferenceSettings,
    TrainingSettings,
)

#: nnU-Net dataset id and name (ids 500-999 are free for users' datasets).
DATASET_ID = 501
DATASET_NAME = f"Dataset{DATASET_ID:03d}_LeukoaraiosisCT"
#: The paper's intensity window before z-scoring (Methods: "clipping the HU
#: values to a range between -1000 and 1000").
HU_RANGE = (-1000.0, 1000.0)
#: nnU-Net's file ending and the channel suffix of a single-channel case.
FILE_ENDING = ".nii.gz"
CHANNEL_SUFFIX = "_0000"
#: Files the training step leaves for the chapter.
SCHEDULE_FILE = "leukoct_schedule.json"


class SegmentationError(LeukoctError, RuntimeError):
    """A problem with the data or the state of an nnU-Net step, with what to do."""


# --------------------------------------------------------------------------
# Settings and folders
# --------------------------------------------------------------------------

@dataclass(frozen=True)
class NnunetFolders:
    """nnU-Net's three folders, kept under one study step's output folder."""

    root: Path

    @property
    def raw(self) -> Path:
        return self.root / "nnUNet_raw"

    @property
    def preprocessed(self) -> Path:
        return self.root / "nnUNet_preprocessed"

    @property
    def results(self) -> Path:
        return self.root / "nnUNet_results"

    @property
    def dataset_raw(self) -> Path:
        return self.raw / DATASET_NAME

    @property
    def dataset_preprocessed(self) -> Path:
        return self.preprocessed / DATASET_NAME

    @property
    def cases(self) -> Path:
        """The export's case table (subject, split, source files)."""
        return self.dataset_raw / "cases.csv"

    def plans(self, settings: TrainingSettings) -> Path:
        return self.dataset_preprocessed / f"{settings.plans_identifier}.json"

    @property
    def splits(self) -> Path:
        return self.dataset_preprocessed / "splits_final.json"

    def model_dir(self, settings: TrainingSettings) -> Path:
        """nnU-Net's training output folder (``<trainer>__<plans>__<configuration>``)."""
        return (self.results / DATASET_NAME
                / f"{settings.trainer_name}__{settings.plans_identifier}__{settings.configuration}")

    def fold_dir(self, settings: TrainingSettings, fold: int = 0) -> Path:
        return self.model_dir(settings) / f"fold_{fold}"

    def environ(self) -> dict[str, str]:
        return {"nnUNet_raw": str(self.raw), "nnUNet_preprocessed": str(self.preprocessed),
                "nnUNet_results": str(self.results)}


def use_folders(folders: NnunetFolders, threads: int = 2) -> None:
    """Point nnU-Net at ``folders``; call before nnU-Net is imported.

    nnU-Net binds its folders at import time, so a process that already
    imported it with other folders cannot be redirected: that is an error,
    not a silent write into the wrong place.

    Parameters
    ----------
    threads
        Caps nnU-Net's worker pools (``nnUNet_def_n_proc``, default 8).
    """
    wanted = folders.environ()
    loaded = sys.modules.get("nnunetv2.paths")
    if loaded is not None:
        current = {k: getattr(loaded, k) for k in wanted}
        if current != wanted:
            raise SegmentationError(
                f"nnU-Net was already imported in this process with folders {current}; "
                f"run this step in a fresh process (the `leukoct nnunet-*` commands do).")
    os.environ.update(wanted)
    os.environ["nnUNet_def_n_proc"] = str(threads)
    # torch.compile costs ~100 s on CPU and nothing is gained for a short run.
    os.environ.setdefault("nnUNet_compile", "false")
    for folder in (folders.raw, folders.preprocessed, folders.results):
        folder.mkdir(parents=True, exist_ok=True)


def pick_device(requested: str = "auto") -> torch.device:  # noqa: F821 (lazy torch)
    """``cuda`` when asked for or when ``auto`` finds a GPU, else ``cpu``."""
    import torch

    if requested == "cuda" and not torch.cuda.is_available():
        raise SegmentationError("device 'cuda' requested but torch sees no GPU; set device: auto")
    if requested == "cpu" or (requested == "auto" and not torch.cuda.is_available()):
        return torch.device("cpu")
    return torch.device("cuda")


# --------------------------------------------------------------------------
# Export
# --------------------------------------------------------------------------

def clip_hounsfield(hu: np.ndarray, hu_range: tuple[float, float] = HU_RANGE) -> np.ndarray:
    """Clip CT values to ``hu_range`` (the paper's [-1000, 1000] HU)."""
    lo, hi = hu_range
    if lo >= hi:
        raise ValueError(f"empty HU range {hu_range}")
    return np.clip(hu, lo, hi)


def training_cases(curated: pd.DataFrame, manifest: pd.DataFrame,
                   label_path: Callable[[str], Path],
                   image_path: Callable[[str], Path] | None = None) -> pd.DataFrame:
    """The development subjects nnU-Net trains and validates on.

    Parameters
    ----------
    curated
        The curation step's table (``subject_id``, ``status``, ``split``).
    manifest
        The manifest (``subject_id``, ``ct_path``).
    label_path
        Callable ``subject_id -> Path`` of the subject's CT pseudo-label.
    image_path
        Callable ``subject_id -> Path`` of the image nnU-Net learns from, when
        not the manifest's CT: seed 003's direction trains on the CT resampled
        onto the FLAIR grid (:data:`leukoct.registration.CT_ON_FLAIR_FILE`).

    Returns
    -------
    DataFrame
        ``subject_id, split, ct_path, label_path``; ``split`` is ``train`` or
        ``internal`` (the held-out validation fold), sorted by subject.

    Raises
    ------
    SegmentationError
        When a split subject has no CT or no pseudo-label (naming them), or
        when either split is empty.
    """
    need = {"subject_id", "status", "split"}
    if missing := need - set(curated.columns):
        raise SegmentationError(f"curated table lacks columns {sorted(missing)}")
    chosen = curated[(curated["status"] == "included") & curated["split"].isin(["train", "internal"])]
    cases = chosen[["subject_id", "split"]].merge(
        manifest[["subject_id", "ct_path"]], on="subject_id", how="left", validate="one_to_one")
    cases["label_path"] = [str(label_path(s)) for s in cases["subject_id"]]
    no_ct = cases.loc[cases["ct_path"].isna(), "subject_id"].tolist()
    if no_ct:
        raise SegmentationError(f"included development subjects without a CT in the manifest: {no_ct}")
    if image_path is not None:
        cases["ct_path"] = [str(image_path(s)) for s in cases["subject_id"]]
        no_image = [s for s, p in zip(cases["subject_id"], cases["ct_path"]) if not Path(p).is_file()]
        if no_image:
            raise SegmentationError(
                f"no registered CT for {no_image} (expected e.g. {cases['ct_path'].iloc[0]}); "
                "run the registration step first (snakemake ... registration_qc)")
    no_label = [s for s, p in zip(cases["subject_id"], cases["label_path"]) if not Path(p).is_file()]
    if no_label:
        raise SegmentationError(
            f"no CT pseudo-label for {no_label} (expected e.g. {cases['label_path'].iloc[0]}); "
            "run the registration step first (snakemake ... registration_qc)")
    for split in ("train", "internal"):
        if not (cases["split"] == split).any():
            raise SegmentationError(f"no {split!r} subjects among the included development subjects")
    return cases.sort_values("subject_id", kind="stable").reset_index(drop=True)


def export_image(source: str | os.PathLike[str], target: Path, normalization: str) -> None:
    """Write one CT in nnU-Net's raw format, HU clipped for z-scoring."""
    image = sitk.ReadImage(str(source))
    if normalization == "zscore":
        array = clip_hounsfield(sitk.GetArrayFromImage(image).astype(np.float32))
        clipped = sitk.GetImageFromArray(array.astype(np.int16))
        clipped.CopyInformation(image)
        image = clipped
    sitk.WriteImage(image, str(target), useCompression=True)


def export_dataset(cases: pd.DataFrame, folders: NnunetFolders, settings: TrainingSettings,
                   description: str = "") -> Path:
    """Write the nnU-Net raw dataset: images, labels, ``dataset.json``, ``cases.csv``.

    The folder is rewritten from scratch so that a removed subject does not
    linger.  Labels are copied as they are: a label whose geometry differs
    from its CT is caught by :func:`check_cases`, not silently resampled.
    """
    from nnunetv2.dataset_conversion.generate_dataset_json import generate_dataset_json

    out = folders.dataset_raw
    if out.exists():
        shutil.rmtree(out)
    (out / "imagesTr").mkdir(parents=True)
    (out / "labelsTr").mkdir()
    for row in cases.itertuples():
        export_image(row.ct_path, out / "imagesTr" / f"{row.subject_id}{CHANNEL_SUFFIX}{FILE_ENDING}",
                     settings.normalization)
        label = sitk.ReadImage(str(row.label_path))
        sitk.WriteImage(sitk.Cast(label > 0, sitk.sitkUInt8),
                        str(out / "labelsTr" / f"{row.subject_id}{FILE_ENDING}"), useCompression=True)
    generate_dataset_json(
        str(out), channel_names={0: settings.normalization}, labels={"background": 0, "leukoaraiosis": 1},
        num_training_cases=len(cases), file_ending=FILE_ENDING, dataset_name=DATASET_NAME,
        description=description or "Non-contrast head CT with leukoaraiosis pseudo-labels "
        "registered from FLAIR WMH masks (Ryu et al.), exported by leukoct.",
        reference="Ryu et al., leukoaraiosis on non-contrast head CT from CT-MRI pairs",
        license="see the study's data agreement", converted_by="leukoct",
        leukoct_hu_range=list(HU_RANGE) if settings.normalization == "zscore" else None)
    cases.to_csv(folders.cases, index=False)
    return out


def check_cases(folders: NnunetFolders) -> pd.DataFrame:
    """Run nnU-Net's per-case integrity check on the exported dataset.

    Returns
    -------
    DataFrame
        ``subject_id, ok, message`` (nnU-Net's printed diagnosis).

    Raises
    ------
    SegmentationError
        Naming every subject whose CT and label disagree (shape, spacing,
        origin, direction) or whose label is not 0/1, before any planning.
    """
    from nnunetv2.experiment_planning import verify_dataset_integrity as vdi
    from nnunetv2.imageio.simpleitk_reader_writer import SimpleITKIO

    cases = pd.read_csv(folders.cases)
    rows = []
    for sid in cases["subject_id"]:
        image = folders.dataset_raw / "imagesTr" / f"{sid}{CHANNEL_SUFFIX}{FILE_ENDING}"
        label = folders.dataset_raw / "labelsTr" / f"{sid}{FILE_ENDING}"
        printed = io.StringIO()
        with contextlib.redirect_stdout(printed):
            ok = bool(vdi.check_cases([str(image)], str(label), 1, SimpleITKIO))
            ok = bool(vdi.verify_labels(str(label), SimpleITKIO, [0, 1])) and ok
        rows.append({"subject_id": sid, "ok": ok, "message": printed.getvalue().strip()})
    report = pd.DataFrame(rows)
    bad = report[~report["ok"]]
    if len(bad):
        lines = "\n".join(f"  {r.subject_id}: {r.message.splitlines()[0] if r.message else 'failed'}"
                          for r in bad.itertuples())
        raise SegmentationError(
            f"nnU-Net's integrity check failed for {len(bad)} subject(s) of {folders.cases}:\n{lines}\n"
            "The CT and its pseudo-label must share one grid: re-run the subject's registration "
            "(delete its folder under registration/subjects/) or fix the manifest's CT.")
    # nnU-Net's fingerprint takes percentiles of the foreground's intensities and
    # fails with an IndexError deep inside numpy when no label has a voxel.
    train = cases.loc[cases["split"] == "train", "subject_id"]
    if len(train) and all(_label_voxels(folders.dataset_raw / "labelsTr" / f"{sid}{FILE_ENDING}") == 0
                          for sid in train):
        raise SegmentationError(
            f"every pseudo-label of the {len(train)} training subjects of {folders.cases} is "
            "empty: there is no leukoaraiosis to learn and nnU-Net cannot plan. The WMH masks "
            "registration carried are empty; with steps.flair_segmentation.wmh_source: leukoct "
            "see the FLAIR step's wmh_ml (flair_segmentation/<cohort>/predictions.csv) and "
            "train it longer, or use the manifest's masks (wmh_source: manifest).")
    return report


def _label_voxels(path: Path) -> int:
    """Foreground voxels of one exported label."""
    return int(np.count_nonzero(sitk.GetArrayFromImage(sitk.ReadImage(str(path)))))


# --------------------------------------------------------------------------
# Planning
# --------------------------------------------------------------------------

def splits(cases: pd.DataFrame, train_share: float = 1.0, seed: int = 0,
           cv_folds: int | None = None) -> list[dict[str, list[str]]]:
    """nnU-Net's folds: the paper's one, or seed 003's k cross-validation folds.

    Without ``cv_folds``: one fold, train on ``train``, validate on
    ``internal``.  ``train_share`` < 1 trains on a seeded subset of the
    training split (a learning curve, as seed 002 trained on 100 ... 2408
    patients); the internal set stays whole, so every point of the curve is
    scored on the same cases.  At least one subject trains.

    With ``cv_folds`` = k: Pitkänen et al.'s design, k-fold cross-validation
    over the whole development set (``train`` and ``internal``), assigned by
    :func:`leukoct.cv_ensemble.repeated_folds` (one repeat, ``seed``): fold
    f validates on its test fold and trains on the rest, so every
    development subject is validated exactly once, by a model that never
    saw it.
    """
    if cv_folds is not None:
        from leukoct.cv_ensemble import repeated_folds

        if train_share < 1.0:
            raise ValueError("cv_folds and train_share < 1 both choose who trains; set one")
        development = cases.loc[cases["split"].isin(["train", "internal"]), "subject_id"]
        if cv_folds > len(development):
            raise SegmentationError(
                f"cv_folds {cv_folds} exceeds the {len(development)} development subjects of "
                f"this study; fix: set steps.training.cv_folds to at most {len(development)}")
        assignment = repeated_folds(development.tolist(), folds=cv_folds, repeats=1, seed=seed)
        ordered = sorted(development)
        return [{"train": [s for s in ordered if s not in set(held)], "val": sorted(held)}
                for held in (assignment.loc[assignment["fold"] == f, "subject_id"].tolist()
                             for f in range(cv_folds))]
    train = cases.loc[cases["split"] == "train", "subject_id"].tolist()
    if train_share < 1.0:
        keep = max(1, int(round(train_share * len(train))))
        order = np.random.default_rng(seed).permutation(len(train))
        chosen = {train[i] for i in order[:keep]}
        train = [s for s in train if s in chosen]
    return [{"train": train,
             "val": cases.loc[cases["split"] == "internal", "subject_id"].tolist()}]


def scaled_features(features: list[int], base: int | None, cap: int | None) -> list[int]:
    """Per-stage feature counts of a narrower U-Net.

    nnU-Net doubles features per stage from 32 up to a cap (512 in 2D);
    ``base`` replaces the 32 and ``cap`` the cap, keeping the doubling.

    Examples
    --------
    >>> scaled_features([32, 64, 128, 256, 512, 512, 512], 8, 64)
    [8, 16, 32, 64, 64, 64, 64]
    """
    base = features[0] if base is None else base
    cap = max(features) if cap is None else cap
    return [min(base * 2 ** i, cap) for i in range(len(features))]


def derive_plans(plans: dict[str, Any], settings: TrainingSettings) -> dict[str, Any]:
    """nnU-Net plans with the profile's batch size and network width.

    The preprocessed data are shared (``data_identifier`` is unchanged),
    so a derived plan needs no second preprocessing.
    """
    derived = json.loads(json.dumps(plans))
    derived["plans_name"] = DERIVED_PLANS
    config = derived["configurations"][settings.configuration]
    if settings.batch_size is not None:
        config["batch_size"] = settings.batch_size
    kwargs = config["architecture"]["arch_kwargs"]
    kwargs["features_per_stage"] = scaled_features(
        list(kwargs["features_per_stage"]), settings.base_features, settings.max_features)
    return derived


def plan_and_preprocess(folders: NnunetFolders, settings: TrainingSettings) -> Path:
    """Fingerprint, plan (2D) and preprocess with nnU-Net; write the split.

    Returns the plans file training will use.
    """
    from nnunetv2.experiment_planning.plan_and_preprocess_api import (
        extract_fingerprints,
        plan_experiments,
        preprocess,
    )

    cases = pd.read_csv(folders.cases)
    extract_fingerprints([DATASET_ID], check_dataset_integrity=True, clean=True,
                         num_processes=settings.threads, verbose=False)
    spacing = None
    if settings.inplane_spacing_mm is not None:
        # nnU-Net's spacings are (z, y, x); a 2d plan resamples in-plane only
        # and keeps each case's own slice spacing, so z is the median's.
        fingerprint = json.loads((folders.dataset_preprocessed / "dataset_fingerprint.json").read_text())
        z = float(np.median([s[0] for s in fingerprint["spacings"]]))
        spacing = (z, float(settings.inplane_spacing_mm), float(settings.inplane_spacing_mm))
    plan_experiments([DATASET_ID], overwrite_target_spacing=spacing)
    preprocess([DATASET_ID], NNUNET_PLANS, configurations=(settings.configuration,),
               num_processes=(settings.threads,))
    folders.splits.write_text(json.dumps(
        splits(cases, settings.train_share, settings.seed, settings.cv_folds), indent=2),
        encoding="utf-8")
    if settings.edits_plans:
        plans = json.loads((folders.dataset_preprocessed / f"{NNUNET_PLANS}.json").read_text())
        folders.plans(settings).write_text(json.dumps(derive_plans(plans, settings), indent=2),
                                           encoding="utf-8")
    return folders.plans(settings)


def foreground_window(folders: NnunetFolders) -> dict[str, float]:
    """The intensity window nnU-Net's ``CT`` scheme would clip to.

    nnU-Net's fingerprint records the intensities of the *label* voxels; its
    ``CT`` normalization clips to their 0.5-99.5 percentiles.  With LA as
    the only label this is the LA's own narrow band of HU.
    """
    fingerprint = json.loads((folders.dataset_preprocessed / "dataset_fingerprint.json").read_text())
    props = fingerprint["foreground_intensity_properties_per_channel"]["0"]
    return {k: float(props[k]) for k in ("percentile_00_5", "percentile_99_5", "mean", "std")}


# --------------------------------------------------------------------------
# Training
# --------------------------------------------------------------------------

#: Raised whenever the trainer trains differently from the same settings (a
#: cached model of an older revision is then trained again, not restored).
#: 2: every epoch seeded from (seed, epoch), so a resumed run equals an
#: uninterrupted one.
TRAINER_REVISION = 2


def run_signature(folders: NnunetFolders, settings: TrainingSettings,
                  precision: str = "fp32", fold: int = 0) -> dict[str, Any]:
    """What a checkpoint belongs to: the schedule, the seed, the arithmetic
    (``precision``, as resolved on this machine), the fold (when not 0: a
    model of the paper's single split keeps the signature it had before
    folds existed) and the checksums of the plans, the split, the dataset
    description and every exported image and label it was trained with."""
    files = {"plans": folders.plans(settings), "splits": folders.splits,
             "dataset": folders.dataset_raw / "dataset.json", "cases": folders.cases}
    images = hashlib.sha256()
    for folder in ("imagesTr", "labelsTr"):
        for path in sorted((folders.dataset_raw / folder).glob(f"*{FILE_ENDING}")):
            images.update(f"{folder}/{path.name}:{_sha256(path)}\n".encode())
    return {"schedule": settings.schedule, "seed": settings.seed, "images": images.hexdigest(),
            "trainer_revision": TRAINER_REVISION, "precision": precision,
            **({"fold": fold} if fold else {}),
            **{name: _sha256(path) for name, path in files.items()}}


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


#: Where a finished model is kept, beside (not inside) the workflow's outputs.
MODEL_CACHE = "model_cache"


def _cached_model(folders: NnunetFolders, signature: dict[str, Any]) -> Path:
    key = hashlib.sha256(json.dumps(signature, sort_keys=True).encode()).hexdigest()[:16]
    return folders.root / MODEL_CACHE / key


def _cached_fold(entry: Path) -> int | None:
    """The fold a cache entry holds (None: not a finished entry)."""
    path = entry / SCHEDULE_FILE
    if not path.is_file():
        return None
    return int(json.loads(path.read_text()).get("signature", {}).get("fold", 0))


def _keep_model(fold_dir: Path, cache: Path, fold: int = 0) -> None:
    """Copy a finished fold into the cache, replacing the fold's older entry
    (one model per fold of a run)."""
    partial = cache.with_name(f".{cache.name}.partial")
    shutil.rmtree(partial, ignore_errors=True)
    shutil.copytree(fold_dir, partial, ignore=shutil.ignore_patterns("checkpoint_latest.pth"))
    for other in cache.parent.iterdir():
        if other != partial and (other.name.startswith(".") or _cached_fold(other) in (fold, None)):
            shutil.rmtree(other, ignore_errors=True)
    partial.rename(cache)


def _same_run(fold_dir: Path, signature: dict[str, Any]) -> bool:
    path = fold_dir / SCHEDULE_FILE
    return path.is_file() and json.loads(path.read_text()).get("signature") == signature


def train(folders: NnunetFolders, settings: TrainingSettings, fold: int = 0) -> Path:
    """Train (or resume) nnU-Net on the exported dataset; return the fold folder.

    A fold folder holding a checkpoint of the same run (schedule, plans,
    split and dataset: :func:`run_signature`) is resumed from its latest
    checkpoint (nnU-Net's own ``--c`` logic); any other is started afresh,
    since continuing it would mix two runs.
    nnU-Net's final validation on the held-out fold runs at the end.

    A finished fold is also copied to ``<training>/model_cache/<signature>``;
    a later call with the same signature restores it instead of training
    again (Snakemake deletes a job's outputs before re-running it, so an
    upstream step that re-ran and wrote identical files would otherwise cost
    a full training).
    """
    import torch
    from batchgenerators.utilities.file_and_folder_operations import load_json
    from nnunetv2.run.run_training import maybe_load_checkpoint

    from leukoct.nnunet_trainer import trainer_class

    plans_file = folders.plans(settings)
    if not plans_file.is_file():
        raise SegmentationError(f"no nnU-Net plans at {plans_file}; run `leukoct nnunet-plan` first")
    device = pick_device(settings.device)
    precision = arithmetic.resolve(settings.cpu_precision, device.type)
    print(f"nnU-Net training on device: {device}, arithmetic: {precision}", flush=True)
    if device.type == "cpu":
        torch.set_num_threads(settings.threads)
    workers = settings.augmentation_workers
    if workers is None and device.type == "cpu":
        workers = 0
    if workers is not None:
        # Read by nnU-Net when the data loaders start (not at import); 0 would
        # break its planner, which also reads it, so it is set here only.
        os.environ["nnUNet_n_proc_DA"] = str(workers)
    fold_dir = folders.fold_dir(settings, fold)
    signature = run_signature(folders, settings, precision, fold)
    cache = _cached_model(folders, signature)
    if (cache / "checkpoint_final.pth").is_file():
        # The same data, plans, split, schedule and seed were trained before:
        # the workflow re-ran this job (an upstream step re-ran and rewrote
        # identical files, and Snakemake removed the checkpoint, its output).
        shutil.rmtree(fold_dir, ignore_errors=True)
        shutil.copytree(cache, fold_dir)
        print(f"restored the model trained on the same data and settings ({cache.name}); "
              "nothing to train", flush=True)
        return fold_dir
    resume = _same_run(fold_dir, signature) and any(
        (fold_dir / f).is_file() for f in ("checkpoint_latest.pth", "checkpoint_final.pth"))
    if fold_dir.exists() and not resume:
        shutil.rmtree(fold_dir)
    # Each fold its own initialisation (fold 0: the single model's, as before folds).
    seed_everything(settings.seed + fold)
    cls = trainer_class(settings)
    plans = load_json(str(plans_file))
    trainer = cls(plans=plans, configuration=settings.configuration, fold=fold,
                  dataset_json=load_json(str(folders.dataset_raw / "dataset.json")), device=device)
    if settings.trainer_name != "nnUNetTrainer":
        trainer.set_schedule(**settings.schedule)
        trainer.seed_epochs(settings.seed + fold)
        trainer.set_precision(precision)
    (fold_dir / SCHEDULE_FILE).write_text(json.dumps(
        {"signature": signature, "settings": settings.model_dump(), "device": str(device),
         "precision": precision},
        indent=2), encoding="utf-8")
    maybe_load_checkpoint(trainer, continue_training=resume, validation_only=False)
    if resume:
        print(f"resuming from epoch {trainer.current_epoch} in {fold_dir}", flush=True)
    start = time.perf_counter()
    trainer.run_training()
    seconds = time.perf_counter() - start
    # The final validation predicts in the arithmetic the inference step uses.
    with arithmetic.cpu_autocast(precision):
        trainer.perform_actual_validation(save_probabilities=False)
    timing = {"training_seconds": seconds, "resumed": resume, "device": str(device),
              "precision": precision, "epochs": settings.epochs,
              "iterations_per_epoch": settings.iterations_per_epoch}
    (fold_dir / "leukoct_timing.json").write_text(json.dumps(timing, indent=2), encoding="utf-8")
    _keep_model(fold_dir, cache, fold)
    return fold_dir


# --------------------------------------------------------------------------
# How the network sees a CT (for the training chapter)
# --------------------------------------------------------------------------

def normalized(hu: np.ndarray, scheme: str, foreground: dict[str, float] | None = None) -> np.ndarray:
    """A CT as nnU-Net's ``zscore`` or ``CT`` normalization presents it to the network.

    Calls nnU-Net's own normalization classes.  ``zscore`` expects the
    export's clipped HU; ``CT`` needs the fingerprint's foreground
    properties (:func:`foreground_window`).
    """
    from nnunetv2.preprocessing.normalization.default_normalization_schemes import (
        CTNormalization,
        ZScoreNormalization,
    )

    image = np.asarray(hu, dtype=np.float32)
    if scheme == "zscore":
        return ZScoreNormalization(use_mask_for_norm=False, intensityproperties={}).run(image.copy())
    if foreground is None:
        raise ValueError("CT normalization needs the foreground intensity properties")
    return CTNormalization(use_mask_for_norm=False, intensityproperties=foreground).run(image.copy())
