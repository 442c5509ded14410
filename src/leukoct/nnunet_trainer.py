"""nnU-Net's trainer with a settable schedule, for CPU-sized runs.

Kept apart from :mod:`leukoct.segmentation` because importing nnU-Net binds
its folders: this module is imported only after
:func:`leukoct.segmentation.use_folders`.

nnU-Net 2.6 finds trainers by name only inside its own package, so the
class is instantiated directly (its documented Python API); inference
rebuilds the network from the plans and does not need to find it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from nnunetv2.training.nnUNetTrainer.nnUNetTrainer import nnUNetTrainer

if TYPE_CHECKING:
    from leukoct.segmentation import TrainingSettings


class ScheduledTrainer(nnUNetTrainer):
    """nnU-Net's trainer, unchanged but for the number of epochs and iterations.

    The paper trains 1000 epochs of 250 iterations on a GPU; a laptop
    profile trains a few short epochs.  Loss, optimiser, learning-rate
    schedule (poly decay over the chosen epochs), augmentation and
    validation are nnU-Net's.
    """

    def set_schedule(self, epochs: int, iterations_per_epoch: int,
                     val_iterations_per_epoch: int) -> None:
        """Set the schedule; call before training starts (or resumes)."""
        self.num_epochs = int(epochs)
        self.num_iterations_per_epoch = int(iterations_per_epoch)
        self.num_val_iterations_per_epoch = int(val_iterations_per_epoch)
        # Checkpoint at the end of every epoch so that an interrupted short
        # run resumes where it stopped (nnU-Net: every 50 epochs).
        self.save_every = 1


def trainer_class(settings: "TrainingSettings") -> type[nnUNetTrainer]:
    """nnU-Net's trainer for its default schedule, else :class:`ScheduledTrainer`."""
    return nnUNetTrainer if settings.trainer_name == "nnUNetTrainer" else ScheduledTrainer
