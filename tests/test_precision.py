"""The CPU arithmetic of training and prediction (leukoct.precision)."""

from __future__ import annotations

import pytest
import torch

from leukoct import precision
from leukoct import segmentation as seg


def test_fp32_is_nnunets_and_the_default():
    assert seg.TrainingSettings().cpu_precision == "fp32"
    assert seg.InferenceSettings().cpu_precision == "fp32"
    assert precision.resolve("fp32", "cpu") == "fp32"


def test_a_gpu_keeps_nnunets_own_autocast():
    """On CUDA nnU-Net autocasts to float16 itself; the CPU knob does not apply."""
    assert precision.resolve("bf16", "cuda") == "fp32"
    assert precision.resolve("auto", "cuda") == "fp32"


@pytest.mark.parametrize("native", [True, False])
def test_auto_follows_the_cpu(monkeypatch, native):
    monkeypatch.setattr(precision, "native_bf16", lambda: native)
    assert precision.resolve("auto", "cpu") == ("bf16" if native else "fp32")
    assert precision.resolve("bf16", "cpu") == "bf16", "an explicit bf16 is kept either way"


def test_unknown_precision_is_refused():
    with pytest.raises(ValueError, match="fp32, bf16 or auto"):
        precision.resolve("fp16", "cpu")


def test_bf16_autocast_computes_convolutions_in_bfloat16_and_keeps_weights_float32():
    conv = torch.nn.Conv2d(1, 2, 3)
    x = torch.randn(1, 1, 8, 8)
    with precision.cpu_autocast("fp32"):
        assert conv(x).dtype == torch.float32
    with precision.cpu_autocast("bf16"):
        y = conv(x)
        assert y.dtype == torch.bfloat16
        y.float().sum().backward()
    assert conv.weight.dtype == torch.float32 and conv.weight.grad.dtype == torch.float32
    assert not torch.is_autocast_enabled("cpu"), "the context leaves autocast off"


def test_bf16_convolution_agrees_with_fp32_to_bfloat16s_precision():
    """bfloat16 keeps 8 bits of mantissa: a relative error of 2**-8 per input,
    accumulated in float32 (a hand bound; a convolution of 9 taps)."""
    torch.manual_seed(0)
    conv = torch.nn.Conv2d(1, 1, 3, bias=False)
    x = torch.randn(1, 1, 32, 32)
    exact = conv(x)
    with precision.cpu_autocast("bf16"):
        approx = conv(x).float()
    bound = 2 * 2.0 ** -8 * (conv.weight.abs().sum() * x.abs().max())
    assert (approx - exact).abs().max() <= bound


def test_bf16_on_nnunets_own_schedule_takes_the_trainer_that_autocasts():
    """nnU-Net's own trainer autocasts only on CUDA; bf16 needs leukoct's."""
    assert seg.TrainingSettings().trainer_name == "nnUNetTrainer"
    assert seg.TrainingSettings(cpu_precision="bf16").trainer_name == "ScheduledTrainer"
