"""The infoGAN-style MNIST nets of the collaborative-sampling paper's "original NS-GAN" (as its
authors' code builds them; infoGAN, Chen et al. 2016, Sec. C.1).

G: z -> FC 1024 (batch norm, ReLU) -> FC 128x7x7 (batch norm, ReLU) -> 4x4 stride-2 transposed
conv to 64x14x14 (batch norm, ReLU) -> 4x4 stride-2 transposed conv to Cx28x28, tanh. Layer 2
(the 128x7x7 feature map) is where the authors refine.
D: 4x4 stride-2 conv to 64 (leaky ReLU) -> 4x4 stride-2 conv to 128 (batch norm, leaky ReLU) ->
FC 1024 (batch norm, leaky ReLU) -> FC 1, the logit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganmc.errors import GanmcError
from ganmc.models.dcgan import dcgan_init
from ganmc.models.mlp import LayeredNet

SIZE = 28


def _channels(shape: Sequence[int], who: str) -> int:
    if len(shape) != 3 or tuple(int(v) for v in shape[1:]) != (SIZE, SIZE):
        raise GanmcError(f"{who} is built for {SIZE}x{SIZE} images (MNIST), got shape {tuple(shape)}: "
                         f"set dataset.size={SIZE}")
    return int(shape[0])


class InfoGANGenerator(LayeredNet):
    """G: R^latent_dim -> [-1, 1]^(C, 28, 28), four blocks."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int]) -> None:
        super().__init__()
        c = _channels(out_shape, "InfoGANGenerator")
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Linear(latent_dim, 1024), nn.BatchNorm1d(1024), nn.ReLU(True)),
            nn.Sequential(nn.Linear(1024, 128 * 7 * 7), nn.BatchNorm1d(128 * 7 * 7), nn.ReLU(True),
                          nn.Unflatten(1, (128, 7, 7))),
            nn.Sequential(nn.ConvTranspose2d(128, 64, 4, 2, 1), nn.BatchNorm2d(64), nn.ReLU(True)),
            nn.Sequential(nn.ConvTranspose2d(64, c, 4, 2, 1), nn.Tanh()),
        ])
        dcgan_init(self)


class InfoGANDiscriminator(LayeredNet):
    """D: (C, 28, 28) -> R, the logit; leaky ReLU ``slope``."""

    def __init__(self, in_shape: Sequence[int], slope: float = 0.2) -> None:
        super().__init__()
        c = _channels(in_shape, "InfoGANDiscriminator")
        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Conv2d(c, 64, 4, 2, 1), nn.LeakyReLU(slope, True)),
            nn.Sequential(nn.Conv2d(64, 128, 4, 2, 1), nn.BatchNorm2d(128), nn.LeakyReLU(slope, True)),
            nn.Sequential(nn.Flatten(), nn.Linear(128 * 7 * 7, 1024), nn.BatchNorm1d(1024), nn.LeakyReLU(slope, True)),
            nn.Sequential(nn.Linear(1024, 1)),
        ])
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0).squeeze(-1)
