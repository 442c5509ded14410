"""The arithmetic nnU-Net trains and predicts in on a CPU.

nnU-Net autocasts to float16 on a GPU and computes in float32 everywhere
else ("slow as heck" on a CPU, its trainer says, which was true of float16
and of CPUs without native bfloat16).  CPUs with AVX512-BF16 or AMX (AMD Zen 4
and later, Intel Sapphire Rapids and later) run bfloat16 convolutions natively
through oneDNN: measured on 2 AMD EPYC cores, one training iteration of the
demo's 2d U-Net (batch 12, 128 x 128 slices) takes 0.19 s in bfloat16 against
0.39 s in float32, and 0.57 s against 1.4 s at twice the width
(``benchmarks/nnunet_speed.py --precision``; docs/decisions.md).  On a CPU
without them bfloat16 is emulated and slower than float32, which is why the
choice ``auto`` looks at the CPU.

bfloat16 keeps float32's exponent and 8 bits of mantissa: a CT normalised to
unit variance is represented to ~0.4 %, far finer than the ~9 HU lesion
contrast against ~4 HU of noise the network has to see.  torch's bfloat16
kernels accumulate their sums (convolutions, normalisation statistics, the
loss) in float32, and the weights, their gradients and the optimiser's state
stay float32.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Literal

Precision = Literal["fp32", "bf16", "auto"]


def native_bf16() -> bool:
    """True when this CPU computes bfloat16 natively (AVX512-BF16 or AMX tiles)."""
    import torch

    # torch.cpu's capability probes are underscored but stable since torch 2.1;
    # a torch without them is treated as a CPU without native bfloat16.
    probes = ("_is_avx512_bf16_supported", "_is_amx_tile_supported")
    return any(getattr(torch.cpu, name, lambda: False)() for name in probes)


def resolve(requested: Precision, device_type: str) -> Literal["fp32", "bf16"]:
    """The arithmetic a run on ``device_type`` uses for a profile's choice.

    Parameters
    ----------
    requested
        The profile's ``cpu_precision``: ``fp32`` (nnU-Net's), ``bf16``, or
        ``auto`` (bf16 where :func:`native_bf16`, else fp32).
    device_type
        ``"cpu"`` or ``"cuda"``.  On a GPU this knob does not apply: nnU-Net
        autocasts to float16 itself, and ``fp32`` is returned.

    Returns
    -------
    str
        ``"fp32"`` or ``"bf16"``.
    """
    if requested not in ("fp32", "bf16", "auto"):
        raise ValueError(f"cpu_precision must be fp32, bf16 or auto, not {requested!r}")
    if device_type != "cpu" or requested == "fp32":
        return "fp32"
    if requested == "bf16":
        return "bf16"
    return "bf16" if native_bf16() else "fp32"


@contextlib.contextmanager
def cpu_autocast(precision: Literal["fp32", "bf16"]) -> Iterator[None]:
    """torch's CPU autocast to bfloat16 for ``bf16``; nothing for ``fp32``.

    Wraps one training step (nnU-Net's ``train_step`` computes the loss and
    steps the optimiser in one call) or one prediction, never the data
    augmentation (see :class:`leukoct.nnunet_trainer.ScheduledTrainer`):
    autocast changes only the ops on its lower-precision list (convolutions,
    matrix products); gradients come out in each parameter's own float32.
    """
    if precision == "fp32":
        yield
        return
    import torch

    with torch.autocast("cpu", dtype=torch.bfloat16):
        yield
