"""nnU-Net's trainer with a settable schedule, for CPU-sized runs.

Kept apart from :mod:`leukoct.segmentation` because importing nnU-Net binds
its folders: this module is imported only after
:func:`leukoct.segmentation.use_folders`.

nnU-Net 2.6 finds trainers by name only inside its own package, so the
class is instantiated directly (its documented Python API); inference
rebuilds the network from the plans and does not need to find it.
"""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

import numpy as np
from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

from leukoct.precision import cpu_autocast
from leukoct.seeding import seed_everything

if TYPE_CHECKING:
    from leukoct.settings import TrainingSettings


class ScheduledTrainer(nnUNetTrainer):
    """nnU-Net's trainer, unchanged but for the schedule and the CPU arithmetic.

    The paper trains 1000 epochs of 250 iterations on a GPU; a laptop
    profile trains a few short epochs.  Loss, optimiser, learning-rate
    schedule (poly decay over the chosen epochs), augmentation and
    validation are nnU-Net's.

    With :meth:`set_precision` ``("bf16")`` each training and validation
    step (the network and the loss) runs under torch's CPU autocast
    (:mod:`leukoct.precision`), as nnU-Net's own steps run under CUDA's.
    The batch is drawn and augmented before the step is entered
    (nnU-Net calls ``train_step(next(loader))``), so augmentation stays
    float32: its Gaussian blur is a convolution, and run in bfloat16 it
    degraded the inputs enough that the network learned to predict
    background only (pseudo Dice 0.00 from epoch 3; docs/decisions.md).

    With :meth:`seed_epochs`, every epoch draws its patches and augmentations
    from generators seeded by ``(seed, epoch)``: a run killed and resumed from
    its last checkpoint then trains exactly as the uninterrupted run did (on a
    CPU with in-process augmentation; nnU-Net's background augmentation
    workers, used on a GPU, deliver batches in no fixed order).
    """

    epoch_seed: int | None = None
    precision: str = "fp32"

    def set_schedule(self, epochs: int, iterations_per_epoch: int,
                     val_iterations_per_epoch: int) -> None:
        """Set the schedule; call before training starts (or resumes)."""
        self.num_epochs = int(epochs)
        self.num_iterations_per_epoch = int(iterations_per_epoch)
        self.num_val_iterations_per_epoch = int(val_iterations_per_epoch)
        # Checkpoint at the end of every epoch so that an interrupted short
        # run resumes where it stopped (nnU-Net: every 50 epochs).
        self.save_every = 1

    def seed_epochs(self, seed: int) -> None:
        """Seed every epoch from ``(seed, epoch)`` (see the class notes)."""
        self.epoch_seed = int(seed)

    def set_precision(self, precision: str) -> None:
        """``fp32`` or ``bf16`` (resolved: :func:`leukoct.precision.resolve`)."""
        self.precision = precision

    def train_step(self, batch: dict) -> dict:
        with cpu_autocast(self.precision):
            return super().train_step(batch)

    def validation_step(self, batch: dict) -> dict:
        with cpu_autocast(self.precision):
            return super().validation_step(batch)

    def save_checkpoint(self, filename: str) -> None:
        # nnU-Net writes a checkpoint in place: a run killed mid-write (each
        # epoch on a short schedule) would leave a checkpoint it cannot resume
        # from.  Written aside and renamed, it is whole or absent.
        partial = f"{filename}.partial"
        super().save_checkpoint(partial)
        if os.path.isfile(partial):      # nnU-Net may skip saving (checkpointing disabled)
            os.replace(partial, filename)

    def on_epoch_start(self) -> None:
        if self.epoch_seed is not None:
            # Without this an epoch continues the random stream where the
            # previous one left it, which a resumed process cannot recreate
            # (nnU-Net's checkpoints hold no generator state).
            state = np.random.SeedSequence([self.epoch_seed, self.current_epoch])
            seed_everything(int(state.generate_state(1, dtype=np.uint64)[0]))
        super().on_epoch_start()


def trainer_class(settings: TrainingSettings) -> type[nnUNetTrainer]:
    """nnU-Net's trainer for its default schedule, else :class:`ScheduledTrainer`."""
    return nnUNetTrainer if settings.trainer_name == "nnUNetTrainer" else ScheduledTrainer
