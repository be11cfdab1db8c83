"""SN-GAN ResNet for 32x32 images (Miyato et al. 2018, CIFAR-10 architecture).

G: 128-d z -> linear projection to 256 x 4 x 4 -> 3 up-sampling residual blocks (batch norm,
ReLU, nearest up-sampling, 3x3 convs; 1x1 conv shortcut) -> BN, ReLU, 3x3 conv, Tanh.
D: an optimised down-sampling block, one down-sampling and two plain residual blocks at 128
channels, all convs spectrally normalised -> ReLU -> global sum pooling -> SN linear.

The module layout (``residual``/``shortcut`` Sequentials and their indices) follows the
public pytorch-gan-collections implementation, so its checkpoints load by renaming prefixes
only (see :mod:`ganmc.models.adapters`). Spectral norm is ``torch.nn.utils.spectral_norm``
(state keys ``weight_orig``, ``weight_u``, ``weight_v``), one power iteration per forward
pass in train mode, none in eval mode.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn
from torch.nn import init
from torch.nn.utils import spectral_norm

from ganmc.errors import GanmcError
from ganmc.models.mlp import LayeredNet


def _check_shape(shape: Sequence[int], who: str) -> int:
    if len(shape) != 3 or int(shape[1]) != 32 or int(shape[2]) != 32:
        raise GanmcError(f"{who} is the 32x32 architecture, but the data have shape {tuple(shape)}: "
                         "use dataset.size=32")
    return int(shape[0])


def _init_conv(conv: nn.Conv2d | nn.Linear, gain: float = 1.0) -> None:
    init.xavier_uniform_(conv.weight, gain)
    if conv.bias is not None:
        init.zeros_(conv.bias)


class GenBlock(nn.Module):
    """Up-sampling residual block: BN-ReLU-up-conv-BN-ReLU-conv + up-conv1x1 shortcut."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.residual = nn.Sequential(
            nn.BatchNorm2d(in_ch), nn.ReLU(), nn.Upsample(scale_factor=2),
            nn.Conv2d(in_ch, out_ch, 3, 1, 1),
            nn.BatchNorm2d(out_ch), nn.ReLU(),
            nn.Conv2d(out_ch, out_ch, 3, 1, 1))
        self.shortcut = nn.Sequential(nn.Upsample(scale_factor=2), nn.Conv2d(in_ch, out_ch, 1, 1, 0))
        _init_conv(self.residual[3], math.sqrt(2))
        _init_conv(self.residual[6], math.sqrt(2))
        _init_conv(self.shortcut[1])

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class SNGANGenerator(LayeredNet):
    """G: R^latent_dim -> [-1, 1]^(C, 32, 32). Blocks: projection, 3 GenBlocks, output."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], channels: int = 256) -> None:
        super().__init__()
        c = _check_shape(out_shape, "SNGANGenerator")
        linear = nn.Linear(latent_dim, 4 * 4 * channels)
        _init_conv(linear)
        output = nn.Sequential(nn.BatchNorm2d(channels), nn.ReLU(), nn.Conv2d(channels, c, 3, 1, 1), nn.Tanh())
        _init_conv(output[2])
        self.blocks = nn.ModuleList([
            nn.Sequential(linear, nn.Unflatten(1, (channels, 4, 4))),
            GenBlock(channels, channels), GenBlock(channels, channels), GenBlock(channels, channels),
            output])


def _sn_conv(in_ch: int, out_ch: int, k: int, gain: float) -> nn.Module:
    conv = nn.Conv2d(in_ch, out_ch, k, 1, k // 2)
    _init_conv(conv, gain)
    return spectral_norm(conv)


class OptimizedDisBlock(nn.Module):
    """First D block: conv-ReLU-conv-avgpool + avgpool-conv1x1 shortcut (no leading ReLU)."""

    def __init__(self, in_ch: int, out_ch: int) -> None:
        super().__init__()
        self.shortcut = nn.Sequential(nn.AvgPool2d(2), _sn_conv(in_ch, out_ch, 1, 1.0))
        self.residual = nn.Sequential(
            _sn_conv(in_ch, out_ch, 3, math.sqrt(2)), nn.ReLU(),
            _sn_conv(out_ch, out_ch, 3, math.sqrt(2)), nn.AvgPool2d(2))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class DisBlock(nn.Module):
    """D residual block: ReLU-conv-ReLU-conv (+ avgpool); identity or conv1x1 shortcut."""

    def __init__(self, in_ch: int, out_ch: int, down: bool = False) -> None:
        super().__init__()
        shortcut: list[nn.Module] = []
        if in_ch != out_ch or down:
            shortcut.append(_sn_conv(in_ch, out_ch, 1, 1.0))
        if down:
            shortcut.append(nn.AvgPool2d(2))
        self.shortcut = nn.Sequential(*shortcut)
        residual: list[nn.Module] = [nn.ReLU(), _sn_conv(in_ch, out_ch, 3, math.sqrt(2)),
                                     nn.ReLU(), _sn_conv(out_ch, out_ch, 3, math.sqrt(2))]
        if down:
            residual.append(nn.AvgPool2d(2))
        self.residual = nn.Sequential(*residual)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.residual(x) + self.shortcut(x)


class SNGANDiscriminator(LayeredNet):
    """D: (C, 32, 32) -> R (a logit for the hinge or non-saturating loss)."""

    def __init__(self, in_shape: Sequence[int], channels: int = 128) -> None:
        super().__init__()
        c = _check_shape(in_shape, "SNGANDiscriminator")
        self.blocks = nn.ModuleList([
            OptimizedDisBlock(c, channels), DisBlock(channels, channels, down=True),
            DisBlock(channels, channels), DisBlock(channels, channels)])
        self.relu = nn.ReLU()
        linear = nn.Linear(channels, 1, bias=False)
        _init_conv(linear)
        self.linear = spectral_norm(linear)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        h = self.relu(self.forward_from(x, 0)).sum(dim=(2, 3))
        return self.linear(h).squeeze(-1)
