"""One seed for every generator a training run draws from.

Its own module so that :mod:`leukoct.segmentation` (which plans and trains)
and :mod:`leukoct.nnunet_trainer` (nnU-Net's trainer, imported only once
nnU-Net's folders are bound) share it without importing each other.
"""

from __future__ import annotations

import random

import numpy as np


def seed_everything(seed: int) -> None:
    """Seed the generators nnU-Net's sampling and augmentation draw from
    (Python's ``random``, NumPy's global generator, torch)."""
    import torch  # here, not at import: reading a profile must not load torch

    random.seed(seed)
    np.random.seed(seed % 2 ** 32)
    torch.manual_seed(seed)
