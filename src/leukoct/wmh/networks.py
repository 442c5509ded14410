"""Seed 002's 2-D UNet and SE-UNet, built from MONAI's blocks.

Kim et al. (AJNR 2024, "Deep Learning Algorithms"): an encoder and a decoder
of 3 resolution steps; each encoder level three 3 x 3 convolutions with batch
normalisation and ReLU, then 2 x 2 max pooling; each decoder level a 2 x 2
deconvolution and three 3 x 3 convolutions with batch normalisation and ReLU;
skip connections at equal resolution; a final 1 x 1 layer on 32 channels with
a sigmoid.  The SE-UNet adds a squeeze-and-excitation block (global average
pooling, ReLU, sigmoid channel weights) after the convolutions of each level
of the downsampling path.

MONAI supplies the convolution + norm + activation unit
(:class:`monai.networks.blocks.Convolution`) and the SE block
(:class:`monai.networks.blocks.ChannelSELayer`); the wiring is plain PyTorch.
``base_features`` is the first level's width (the seed's 32, which is also the
head's input); each level below doubles it.
"""

from __future__ import annotations

import math

import torch
from monai.networks.blocks import ChannelSELayer, Convolution
from torch import nn

#: The seed's resolution steps and convolutions per level.
LEVELS = 3
CONVS_PER_LEVEL = 3


def _convs(in_ch: int, out_ch: int, n: int) -> nn.Sequential:
    return nn.Sequential(*[
        Convolution(spatial_dims=2, in_channels=in_ch if i == 0 else out_ch, out_channels=out_ch,
                    kernel_size=3, act="RELU", norm="BATCH")
        for i in range(n)])


class UNet2D(nn.Module):
    """The seed's 2-D UNet, or its SE-UNet with ``squeeze_excitation=True``.

    Parameters
    ----------
    base_features
        Channels of the first level (and of the head): the seed's 32.
    squeeze_excitation
        Add an SE block after each downsampling-path level (the SE-UNet).
    levels, convs_per_level
        The seed's 3 and 3.

    Input ``(batch, 1, H, W)`` with H and W divisible by ``2**levels``;
    output the WMH probability, same shape.
    """

    def __init__(self, base_features: int = 32, squeeze_excitation: bool = False,
                 levels: int = LEVELS, convs_per_level: int = CONVS_PER_LEVEL) -> None:
        super().__init__()
        widths = [base_features * 2 ** k for k in range(levels + 1)]
        self.levels = levels
        self.down = nn.ModuleList()
        self.se = nn.ModuleList()
        in_ch = 1
        for w in widths[:-1]:
            self.down.append(_convs(in_ch, w, convs_per_level))
            self.se.append(ChannelSELayer(spatial_dims=2, in_channels=w, r=2)
                           if squeeze_excitation else nn.Identity())
            in_ch = w
        self.pool = nn.MaxPool2d(2)
        self.bottom = _convs(widths[-2], widths[-1], convs_per_level)
        self.upsample = nn.ModuleList()
        self.up = nn.ModuleList()
        for w_low, w in zip(widths[:0:-1], widths[-2::-1]):
            self.upsample.append(nn.ConvTranspose2d(w_low, w, kernel_size=2, stride=2))
            self.up.append(_convs(2 * w, w, convs_per_level))
        self.head = nn.Conv2d(widths[0], 1, kernel_size=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if x.shape[-1] % 2 ** self.levels or x.shape[-2] % 2 ** self.levels:
            raise ValueError(f"slice size {tuple(x.shape[-2:])} must be divisible by "
                             f"{2 ** self.levels} ({self.levels} poolings)")
        skips = []
        for conv, se in zip(self.down, self.se):
            x = se(conv(x))
            skips.append(x)
            x = self.pool(x)
        x = self.bottom(x)
        for upsample, conv, skip in zip(self.upsample, self.up, reversed(skips)):
            x = conv(torch.cat([upsample(x), skip], dim=1))
        return torch.sigmoid(self.head(x))


def build(architecture: str, base_features: int,
          initial_probability: float | None = None) -> UNet2D:
    """The network a profile names: ``"unet"`` or ``"se_unet"``.

    ``initial_probability`` sets the head's bias to its logit, so that the
    untrained network predicts that probability everywhere (a WMH prior
    instead of 0.5, which a Dice loss takes hundreds of iterations to unlearn).
    """
    if architecture not in ("unet", "se_unet"):
        raise ValueError(f"architecture must be 'unet' or 'se_unet', not {architecture!r}")
    net = UNet2D(base_features=base_features, squeeze_excitation=architecture == "se_unet")
    if initial_probability is not None:
        with torch.no_grad():
            net.head.bias.fill_(math.log(initial_probability / (1 - initial_probability)))
    return net
