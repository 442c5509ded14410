"""Settings of the package's heavy steps, in a module that imports nothing heavy.

Registration (ANTs) and nnU-Net (torch) are slow to import; a profile is
read by every workflow job.  The settings classes live here so that checking
a profile's knobs (:mod:`leukoct.knobs`) costs no import of either;
:mod:`leukoct.registration` and :mod:`leukoct.segmentation` re-export them.
"""

from __future__ import annotations

import json
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

#: nnU-Net's own plans, and the plans leukoct derives when a profile edits
#: the network or batch.
NNUNET_PLANS = "nnUNetPlans"
DERIVED_PLANS = "leukoctPlans"

TransformType = Literal["Identity", "Rigid", "Affine", "SyNR", "SyNRA"]

#: Knobs added after studies had been built with their settings classes, with
#: their defaults: a workflow job's parameters leave each out while it has its
#: default, so that Snakemake does not re-run a built study (re-register,
#: retrain, re-predict) because leukoct learned a knob the study does not use
#: (:func:`job_knobs`).
LATER_KNOBS: dict[str, dict[str, object]] = {
    "registration": {"direction": "flair_to_ct"},
    "training": {"cv_folds": None},
    "inference": {"probability_threshold": None},
}


def job_knobs(step: str, knobs: dict) -> dict:
    """``knobs`` of ``step`` without the :data:`LATER_KNOBS` left at their default."""
    later = LATER_KNOBS.get(step, {})
    return {k: v for k, v in knobs.items() if not (k in later and v == later[k])}


#: Iterations per resolution level, coarsest first.
Iterations = tuple[Annotated[int, Field(ge=0)], ...]


class RegistrationSettings(BaseModel):
    """Every knob of :func:`leukoct.registration.register_pair`.

    The iteration tuples give one entry per resolution level; the shrink
    factors and smoothing are derived from their length (``2**(n-1) ... 1``
    and ``n-1 ... 0`` voxels of the registration grid).
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    type_of_transform: TransformType = Field(
        default="SyNR",
        description="Stages: Identity (no registration, header alignment), Rigid, Affine "
        "(rigid+affine), SyNR (rigid+SyN), SyNRA (rigid+affine+SyN).")
    resolution_mm: float = Field(
        default=2.0, gt=0, description="Isotropic grid (mm) on which the optimiser runs; "
        "the transforms are then applied to the full CT grid.")
    iterations: Iterations = Field(
        default=(100, 50, 0), min_length=1,
        description="Iterations per level of the rigid and affine stages (a trailing 0 skips "
        "the finest level: it cost 2x the time for no Dice gain on the twin).")
    syn_iterations: Iterations = Field(
        default=(30, 15, 0), min_length=1, description="Iterations per level of the SyN stage.")
    syn_gradient_step: float = Field(default=0.2, gt=0)
    syn_flow_sigma: float = Field(default=4.0, ge=0, description="Update-field smoothing (vox).")
    syn_total_sigma: float = Field(default=1.0, ge=0, description="Total-field smoothing (vox).")
    linear_gradient_step: float = Field(default=0.1, gt=0)
    convergence_threshold: float = Field(
        default=1e-6, gt=0, description="A level stops when the metric's slope over the "
        "last convergence_window iterations falls below this (ANTs' convergence test).")
    convergence_window: int = Field(default=10, ge=2)
    lesion_margin_mm: float | None = Field(
        default=3.0, ge=0, description="Cost-function masking: FLAIR voxels within this "
        "distance of the WMH mask are left out of the metric, so the lesions (bright on FLAIR, "
        "barely darker on CT) do not pull the deformation; None uses every voxel.")
    crop_margin_mm: float = Field(
        default=10.0, ge=0, description="The fixed image is cropped to the CT brain's bounding "
        "box plus this margin: the metric's cost scales with the fixed voxels.")
    mi_bins: int = Field(default=32, ge=8, description="Histogram bins of mutual information.")
    sampling_rate: float = Field(
        default=0.25, gt=0, le=1, description="Fraction of voxels sampled by the linear stages.")
    label_interpolation: Literal["nearest", "linear"] = Field(
        default="nearest",
        description="How the WMH mask is carried onto the CT for the pseudo-label: 'nearest' "
        "(nearest-neighbour label transfer: the carried mask keeps the FLAIR mask's volume) "
        "or 'linear' (the linearly warped probability map, which on 5 mm FLAIR slices and a "
        "threshold of 0 gives labels ~3x the WMH volume; docs/decisions.md).")
    threshold: float = Field(
        default=0.0, ge=0, lt=1,
        description="Pseudo-label = carried mask > threshold (paper: a probability of 0).")
    threads: int = Field(default=1, ge=1, description="ITK threads; 1 gives bit-identical runs.")
    seed: int = Field(default=20240611, ge=0, description="Seed of ANTs' metric sampling.")
    # Last, so that the workflow parameter of the paper's direction is what it was
    # before the knob existed (workflow_params).
    direction: Literal["flair_to_ct", "ct_to_flair"] = Field(
        default="flair_to_ct",
        description="flair_to_ct: the paper's, the FLAIR WMH mask carried onto the CT, which "
        "nnU-Net learns on its own grid. ct_to_flair: Pitkanen et al.'s (seed 003), the CT "
        "resampled rigidly onto the FLAIR grid, where the WMH mask stays as it was drawn; "
        "nnU-Net learns there and its predictions are carried back to the CT for the "
        "like-for-like evaluation (a linear type_of_transform only).")

    @model_validator(mode="after")
    def _invertible(self) -> RegistrationSettings:
        if self.direction == "ct_to_flair" and self.type_of_transform not in ("Identity", "Rigid",
                                                                              "Affine"):
            raise ValueError(f"direction ct_to_flair resamples the CT through the inverse of a "
                             f"linear transform; type_of_transform {self.type_of_transform} has "
                             "a deformable stage: set type_of_transform: Rigid (seed 003's)")
        return self

    def workflow_params(self) -> str:
        """The knobs a registration depends on, as the workflow's rule parameter
        (a later knob left out while at its default: :data:`LATER_KNOBS`)."""
        if self.direction == LATER_KNOBS["registration"]["direction"]:
            return self.model_dump_json(exclude={"direction"})
        return self.model_dump_json()


class TrainingSettings(BaseModel):
    """How nnU-Net is planned and trained (the profile's ``steps.training``).

    ``None`` keeps nnU-Net's own choice; the ``paper`` profile leaves every
    knob at ``None`` except what the paper states.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    configuration: Literal["2d"] = Field("2d", description="nnU-Net configuration (paper: 2d).")
    normalization: Literal["zscore", "CT"] = Field(
        "zscore", description="zscore: the paper's HU clip + z-score; CT: nnU-Net's "
        "foreground-percentile window.")
    epochs: int = Field(1000, ge=1, description="Training epochs (nnU-Net: 1000).")
    iterations_per_epoch: int = Field(250, ge=1, description="Iterations per epoch (nnU-Net: 250).")
    val_iterations_per_epoch: int = Field(50, ge=1, description="Validation iterations per epoch.")
    inplane_spacing_mm: float | None = Field(
        None, gt=0, description="None: nnU-Net's (the median in-plane spacing); a coarser "
        "spacing trains a CPU model on smaller slices (nnU-Net's overwrite_target_spacing).")
    batch_size: int | None = Field(None, ge=1, description="None: nnU-Net's planned batch size.")
    base_features: int | None = Field(
        None, ge=4, description="Features of the first stage (nnU-Net: 32); None keeps the plan.")
    max_features: int | None = Field(
        None, ge=4, description="Feature cap of the deepest stages (nnU-Net 2d: 512).")
    device: Literal["auto", "cpu", "cuda"] = Field("auto", description="auto: CUDA if present.")
    threads: int = Field(2, ge=1, description="CPU threads for torch and nnU-Net's workers.")
    augmentation_workers: int | None = Field(
        None, ge=0, description="nnU-Net's data-augmentation processes; None: 0 on CPU "
        "(augment in the training process, fastest on 2 cores), nnU-Net's choice on a GPU.")
    seed: int = Field(0, ge=0, description="Seed of torch, numpy and random before training.")
    train_share: float = Field(
        1.0, gt=0, le=1, description="Share of the training split nnU-Net trains on, a "
        "seeded subset (1: all of it, the paper's); a learning-curve arm sets less.")
    cpu_precision: Literal["fp32", "bf16", "auto"] = Field(
        "fp32", description="Arithmetic on a CPU (nnU-Net: fp32; a GPU autocasts to fp16 "
        "whatever this says). bf16: torch's bfloat16 autocast, ~2x faster where the CPU has "
        "AVX512-BF16 or AMX, slower where emulated; auto: bf16 where native, else fp32.")
    cv_folds: int | None = Field(
        None, ge=2, description="None: the paper's design, one model trained on the train split "
        "and validated on the internal one. k: Pitkänen et al.'s (seed 003), k-fold "
        "cross-validation over the whole development set (train and internal), one nnU-Net "
        "per fold; every development CT is predicted by the model that never saw it, every "
        "other CT by all k, their probabilities averaged (seed: 10 folds).")

    @model_validator(mode="after")
    def _one_training_set_rule(self) -> TrainingSettings:
        if self.cv_folds is not None and self.train_share < 1.0:
            raise ValueError("cv_folds and train_share < 1 both choose who trains; set one "
                             "(a learning curve keeps the paper's split: cv_folds null)")
        return self

    @property
    def folds(self) -> tuple[int, ...]:
        """The nnU-Net folds this design trains: (0,) or 0 ... k-1."""
        return tuple(range(self.cv_folds)) if self.cv_folds else (0,)

    def workflow_params(self) -> str:
        """The knobs a trained model depends on, as the workflow's rule parameter.

        A knob added later is left out while it has its default value
        (:data:`LATER_KNOBS`), so an existing study is not retrained because
        leukoct learned a new knob.
        """
        return json.dumps(job_knobs("training", self.model_dump(exclude={"threads"})),
                          sort_keys=True)

    @property
    def schedule(self) -> dict[str, int]:
        """The training schedule a checkpoint belongs to."""
        return {"epochs": self.epochs, "iterations_per_epoch": self.iterations_per_epoch,
                "val_iterations_per_epoch": self.val_iterations_per_epoch}

    @property
    def is_nnunet_default(self) -> bool:
        """True when the schedule is nnU-Net's own (1000 x 250, 50 validation)."""
        return self.schedule == {"epochs": 1000, "iterations_per_epoch": 250,
                                 "val_iterations_per_epoch": 50}

    @property
    def edits_plans(self) -> bool:
        """True when the network or batch differs from nnU-Net's plan."""
        return any(v is not None for v in (self.batch_size, self.base_features, self.max_features))

    @property
    def plans_identifier(self) -> str:
        return DERIVED_PLANS if self.edits_plans else NNUNET_PLANS

    @property
    def trainer_name(self) -> str:
        plain = self.is_nnunet_default and self.cpu_precision == "fp32"
        return "nnUNetTrainer" if plain else "ScheduledTrainer"


class InferenceSettings(BaseModel):
    """How nnU-Net predicts (the profile's ``steps.inference``)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    mirroring: bool = Field(True, description="Test-time mirroring (nnU-Net default: on).")
    tile_step_size: float = Field(0.5, gt=0, le=1, description="Sliding-window step (nnU-Net: 0.5).")
    checkpoint: Literal["checkpoint_final.pth", "checkpoint_best.pth"] = "checkpoint_final.pth"
    device: Literal["auto", "cpu", "cuda"] = "auto"
    threads: int = Field(2, ge=1)
    cpu_precision: Literal["fp32", "bf16", "auto"] = Field(
        "fp32", description="Arithmetic of prediction on a CPU (see the training knob).")
    probability_threshold: float | None = Field(
        None, gt=0, lt=1, description="None: nnU-Net's own label (the argmax of its softmax, "
        "the paper's). A value: LA where the mean foreground probability of the predicting "
        "models reaches it (Pitkänen et al., seed 003: 0.25).")


class WMHSegmentationSettings(BaseModel):
    """leukoct's own FLAIR WMH segmentation (the profile's ``steps.flair_segmentation``).

    The defaults are Kim, Ryu et al. (AJNR 2024, seed 002, Materials and
    Methods): 256 x 256 slices, a 3-step 2-D UNet or SE-UNet with three 3 x 3
    convolutions per level and a 32-channel head, Dice loss, Adam at 1e-3
    with a 1e-3/300 decay, 50 epochs, batch 8, no augmentation, threshold
    0.5, a deep ensemble of 5 members on 90 % subsets, and a 6:2:2
    train/validation/internal-test split.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool | None = Field(
        None, description="Run the step: null (auto) runs it on the twin and wherever "
        "wmh_source is leukoct; true also on real data with reference masks (evaluation only).")
    wmh_source: Literal["manifest", "leukoct"] = Field(
        "manifest", description="WMH masks that registration carries onto CT: the manifest's "
        "(wmh_mask_path: the paper's 'previously validated software') or leukoct's ensemble "
        "(the study then runs from CT and FLAIR alone).")
    architecture: Literal["se_unet", "unet"] = Field(
        "se_unet", description="Ensemble members' network (seed 002: SE-UNet outperformed UNet).")
    compare_architectures: bool = Field(
        True, description="Also train one model of the other architecture on member 0's "
        "subjects and seed: the seed's UNet vs SE-UNet comparison.")
    members: int = Field(5, ge=1, le=20, description="Deep-ensemble members (seed 002: 5).")
    member_fraction: float = Field(
        0.9, gt=0, le=1, description="Share of the training set each member trains on (seed: 90 %).")
    slice_size: int = Field(256, ge=32, description="Slices resized to this square (seed: 256).")
    base_features: int = Field(32, ge=4, description="Features of the first level (seed: 32).")
    epochs: int = Field(50, ge=1, description="Training epochs (seed: 50).")
    iterations_per_epoch: int | None = Field(
        None, ge=1, description="Batches per epoch; None: every training slice once (the seed's).")
    batch_size: int = Field(8, ge=1, description="Slices per batch (seed: 8).")
    validation_every: int = Field(
        1, ge=1, description="Score the validation slices after every n-th epoch (and the last).")
    keep_best: bool = Field(
        True, description="Keep the weights of the best-scoring validation epoch (Keras' "
        "ModelCheckpoint save_best_only), not the last epoch's: the validation set's use.")
    initial_probability: float | None = Field(
        None, gt=0, lt=1, description="Start the output layer's bias at this WMH probability "
        "(the focal-loss prior, Lin et al. 2017); null: PyTorch's default initialisation (~0.5), "
        "the seed's.  On a short schedule it saves the first few hundred iterations.")
    learning_rate: float = Field(1e-3, gt=0, description="Adam's learning rate (seed: 1e-3).")
    lr_decay: float = Field(1e-3 / 300, ge=0, description="Keras-style time decay: "
                            "lr / (1 + decay x iteration) (seed: 1e-3/300).")
    brain_slices_only: bool = Field(
        False, description="Train only on slices with brain in the mask (a CPU shortcut: "
        "slices of air teach nothing but cost as much).")
    train_share: float = Field(0.6, gt=0, lt=1, description="Development subjects with a "
                               "reference mask that train the model (seed: 60 %).")
    validation_share: float = Field(0.2, ge=0, lt=1, description="... that validate (seed: 20 %); "
                                    "the rest is the internal test set.")
    threshold: float = Field(0.5, gt=0, lt=1, description="Mean probability >= this is WMH (seed: 0.5).")
    divergence_cut: float = Field(
        0.5, gt=0, description="Uncertainty index: share of predicted voxels whose KL divergence "
        "from the prior 0.5 is below this (seed: 0.5).")
    device: Literal["auto", "cpu", "cuda"] = Field(
        "auto", description="Where the networks run: auto (a GPU where torch sees one, else the CPU).")
    cpu_precision: Literal["fp32", "bf16", "auto"] = Field(
        "fp32", description="Arithmetic on a CPU: float32, bfloat16 autocast, or auto "
        "(bfloat16 where the CPU has it natively; leukoct.precision).")
    threads: int = Field(1, ge=1, description="torch threads per job (members train in parallel).")
    seed: int = Field(0, ge=0, description="Seed of the split and of each member's initialisation.")
