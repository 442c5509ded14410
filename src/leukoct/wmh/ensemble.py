"""Training the deep ensemble's members and predicting by soft voting (seed 002).

Each member shares the architecture, trains on its own random share of the
training subjects (the seed's 90 %) from its own random initialisation, with
Dice loss and Adam at 1e-3 and Keras' time decay (lr / (1 + decay x
iteration), decay 1e-3/300), no augmentation.  The ensemble's probability is
the members' mean ("soft voting"); a voxel is WMH where it is >= 0.5.

Pure functions on arrays: which subjects, files and checkpoints is
:mod:`leukoct.wmh.step`'s business.
"""

from __future__ import annotations

import copy
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch
from monai.losses import DiceLoss

from leukoct.precision import cpu_autocast, resolve
from leukoct.settings import WMHSegmentationSettings
from leukoct.wmh.networks import UNet2D, build


@dataclass
class Member:
    """One trained member: its network and its training history."""

    network: UNet2D
    history: pd.DataFrame
    seconds: float


def member_seed(seed: int, member: int) -> int:
    """The seed of member ``member``'s subset, initialisation and batch order."""
    return int(seed) * 1009 + int(member)


def member_subjects(subjects: Sequence[str], fraction: float, seed: int) -> list[str]:
    """The member's random ``fraction`` of the training subjects (at least one)."""
    rng = np.random.default_rng(seed)
    n = max(1, int(round(fraction * len(subjects))))
    return sorted(rng.choice(sorted(subjects), size=n, replace=False).tolist())


def device_of(settings: WMHSegmentationSettings) -> torch.device:
    """The torch device the settings ask for (``auto``: CUDA where available)."""
    if settings.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if settings.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("steps.flair_segmentation.device is cuda but torch sees no GPU; "
                           "fix: set device: cpu (or auto), or run on a GPU machine")
    return torch.device(settings.device)


def _batches(n: int, batch: int, per_epoch: int | None, rng: np.random.Generator) -> list[np.ndarray]:
    if per_epoch is None:
        order = rng.permutation(n)
        return [order[i: i + batch] for i in range(0, n, batch)]
    return [rng.choice(n, size=min(batch, n), replace=False) for _ in range(per_epoch)]


def soft_dice(prob: np.ndarray, target: np.ndarray) -> float:
    """Dice of thresholded probabilities over all given slices (the validation score)."""
    p = prob >= 0.5
    t = target > 0.5
    denominator = p.sum() + t.sum()
    return float(2 * (p & t).sum() / denominator) if denominator else 1.0


def train_member(slices: np.ndarray, targets: np.ndarray, settings: WMHSegmentationSettings,
                 seed: int, validation: tuple[np.ndarray, np.ndarray] | None = None,
                 architecture: str | None = None,
                 log: Callable[[str], None] | None = None) -> Member:
    """Train one member on ``(n, size, size)`` slices and their 0/1 targets.

    Parameters
    ----------
    slices, targets
        Preprocessed slices (:func:`leukoct.wmh.preprocess.preprocess`) and
        the reference masks on the same grid.
    settings
        The step's settings (schedule, width, learning rate).
    seed
        This member's seed (:func:`member_seed`): initialisation and batches.
    validation
        Validation slices and targets, scored after each epoch.
    architecture
        Overrides ``settings.architecture`` (the chapter's UNet vs SE-UNet).
    """
    if slices.shape != targets.shape or slices.ndim != 3:
        raise ValueError(f"slices and targets must both be (n, size, size), got "
                         f"{slices.shape} and {targets.shape}")
    if len(slices) == 0:
        raise ValueError("no training slice: the training set is empty")
    torch.set_num_threads(settings.threads)
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    device = device_of(settings)
    arithmetic = resolve(settings.cpu_precision, device.type)
    net = build(architecture or settings.architecture, settings.base_features,
                settings.initial_probability).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
    schedule = torch.optim.lr_scheduler.LambdaLR(
        optimiser, lambda it: 1.0 / (1.0 + settings.lr_decay * it))
    # batch=True: one Dice over the whole batch (Keras' dice loss), so a batch
    # of lesion-free slices does not turn every slice's 0/0 into a gradient.
    loss_fn = DiceLoss(sigmoid=False, batch=True)
    x_all = torch.from_numpy(np.ascontiguousarray(slices[:, None], dtype=np.float32))
    y_all = torch.from_numpy(np.ascontiguousarray(targets[:, None], dtype=np.float32))
    rows = []
    best: tuple[float, int, dict] | None = None
    start = time.perf_counter()
    for epoch in range(settings.epochs):
        net.train()
        t0 = time.perf_counter()
        losses = []
        for idx in _batches(len(slices), settings.batch_size, settings.iterations_per_epoch, rng):
            index = torch.from_numpy(np.sort(idx))
            optimiser.zero_grad()
            with cpu_autocast(arithmetic):
                out = net(x_all[index].to(device))
            loss = loss_fn(out.float(), y_all[index].to(device))
            loss.backward()
            optimiser.step()
            schedule.step()
            losses.append(loss.item())
        row = {"epoch": epoch + 1, "loss": float(np.mean(losses)),
               "seconds": time.perf_counter() - t0}
        scored = (epoch + 1) % settings.validation_every == 0 or epoch + 1 == settings.epochs
        if validation is not None and len(validation[0]) and scored:
            row["val_dice"] = soft_dice(predict([net], validation[0], settings.batch_size,
                                                arithmetic)[0], validation[1])
            if settings.keep_best and (best is None or row["val_dice"] > best[0]):
                best = (row["val_dice"], epoch + 1, copy.deepcopy(net.state_dict()))
        rows.append(row)
        if log is not None:
            log(" ".join(f"{k} {v:.4g}" if isinstance(v, float) else f"{k} {v}"
                         for k, v in row.items()))
    history = pd.DataFrame(rows)
    if best is not None:
        net.load_state_dict(best[2])
        history["kept"] = history["epoch"] == best[1]
    net.eval()
    return Member(net.cpu(), history, time.perf_counter() - start)


@torch.no_grad()
def predict(networks: Sequence[torch.nn.Module], slices: np.ndarray,
            batch_size: int = 8, arithmetic: str = "fp32") -> np.ndarray:
    """Each network's probability for ``(n, size, size)`` slices: ``(members, n, size, size)``.

    ``arithmetic`` ``"bf16"`` runs the networks under CPU bfloat16 autocast.
    """
    x = torch.from_numpy(np.ascontiguousarray(slices[:, None], dtype=np.float32))
    out = np.empty((len(networks), *slices.shape), dtype=np.float32)
    for m, net in enumerate(networks):
        was_training = net.training
        device = next(net.parameters()).device
        net.eval()
        for i in range(0, len(slices), batch_size):
            with cpu_autocast(arithmetic if device.type == "cpu" else "fp32"):
                p = net(x[i: i + batch_size].to(device))
            out[m, i: i + batch_size] = p[:, 0].float().cpu().numpy()
        net.train(was_training)
    return out
