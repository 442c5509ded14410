"""Seconds per training iteration, per epoch and per FLAIR of the FLAIR WMH ensemble (seed 002).

The step's cost is its models' training (one job per model, in parallel as
far as cores allow) and one prediction pass per FLAIR through every model.
This times both on synthetic slices of a profile's settings, so the figure
does not need a built study:

    python benchmarks/wmh_speed.py --profile demo
    python benchmarks/wmh_speed.py --profile paper --device cuda   # the seed's settings

Prints, per architecture: seconds per iteration (batch of ``batch_size``),
per epoch as the profile schedules it (``iterations_per_epoch``, or
``--slices`` / batch for the seed's full passes), per model and per FLAIR
(``--flair-slices`` slices through every model of the step).
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import torch

from leukoct.config import load_profile
from leukoct.wmh import ensemble
from leukoct.wmh.networks import build
from leukoct.wmh.step import model_names, wmh_settings


def _time_iterations(settings, architecture: str, n: int, device: torch.device) -> float:
    torch.manual_seed(0)
    net = build(architecture, settings.base_features).to(device)
    optimiser = torch.optim.Adam(net.parameters(), lr=settings.learning_rate)
    from monai.losses import DiceLoss

    loss_fn = DiceLoss(batch=True)
    s = settings.slice_size
    x = torch.randn(settings.batch_size, 1, s, s, device=device)
    y = (torch.rand(settings.batch_size, 1, s, s, device=device) > 0.99).float()
    for i in range(n + 1):
        if i == 1:                       # the first iteration allocates; not timed
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        optimiser.zero_grad()
        loss_fn(net(x), y).backward()
        optimiser.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return (time.perf_counter() - start) / n


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--profile", default="demo")
    parser.add_argument("--device", default=None, help="cpu / cuda (default: the profile's)")
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--slices", type=int, default=1920,
                        help="training slices, for an epoch of full passes (demo: 60 x 32)")
    parser.add_argument("--flair-slices", type=int, default=32)
    args = parser.parse_args(argv)
    settings = wmh_settings(load_profile(args.profile))
    if args.device:
        settings = settings.model_copy(update={"device": args.device})
    device = ensemble.device_of(settings)
    torch.set_num_threads(settings.threads)
    per_epoch = settings.iterations_per_epoch or int(np.ceil(args.slices / settings.batch_size))
    print(f"profile {args.profile}: {settings.slice_size}^2 slices, base {settings.base_features}, "
          f"batch {settings.batch_size}, {settings.epochs} epochs x {per_epoch} iterations, "
          f"{settings.threads} thread(s), {device}")
    for architecture in ("unet", "se_unet"):
        it = _time_iterations(settings, architecture, args.iterations, device)
        print(f"  {architecture:8s} {it:.3f} s/iteration, {it * per_epoch:.1f} s/epoch, "
              f"{it * per_epoch * settings.epochs / 60:.1f} min/model")
    nets = [build(settings.architecture, settings.base_features).to(device)
            for _ in model_names(settings)]
    slices = np.random.default_rng(0).normal(size=(args.flair_slices, settings.slice_size,
                                                   settings.slice_size)).astype(np.float32)
    ensemble.predict(nets, slices[:2], settings.batch_size)
    start = time.perf_counter()
    ensemble.predict(nets, slices, settings.batch_size)
    print(f"  prediction: {time.perf_counter() - start:.2f} s per FLAIR of {args.flair_slices} "
          f"slices through {len(nets)} models")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
