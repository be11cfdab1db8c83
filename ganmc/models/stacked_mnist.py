"""The Stacked MNIST protocol's small DCGAN (Unrolled GAN, Metz et al. 2017; re-run by PacGAN):
its discriminator is made deliberately weak ("D = 1/4 G" or "1/2 G") so that a plain GAN drops
modes, the regime the benchmark measures.

G: z (256-d) -> linear to 4x4x64 -> stride-2 3x3 transposed convs to 7x7x32, 14x14x16 and
28x28x8 (batch norm, ReLU after each) -> a 3x3 conv to 3 channels -> tanh.
D: three stride-2 3x3 convs (batch norm, leaky ReLU 0.3 after each), 28 -> 14 -> 7 -> 4 px,
with 2-4-8 channels (``quarter``) or 4-8-16 (``half``) -> a linear layer to one logit.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from ganmc.common import enum_value
from ganmc.errors import GanmcError
from ganmc.models.dcgan import dcgan_init
from ganmc.models.mlp import LayeredNet

D_CHANNELS = {"quarter": (2, 4, 8), "half": (4, 8, 16)}
SIZE = 28


def _check_shape(shape: Sequence[int], who: str) -> int:
    """The protocol's nets are built for 28 px images; return the channel count."""
    if len(shape) != 3 or tuple(int(v) for v in shape[1:]) != (SIZE, SIZE):
        raise GanmcError(f"{who} is built for {SIZE}x{SIZE} images (Stacked MNIST), got shape {tuple(shape)}")
    return int(shape[0])


class StackedMNISTGenerator(LayeredNet):
    """G: R^latent_dim -> [-1, 1]^(C, 28, 28); blocks: projection, three up-sampling blocks,
    the output conv with tanh."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int]) -> None:
        super().__init__()
        c = _check_shape(out_shape, "StackedMNISTGenerator")

        def up(cin: int, cout: int, extra: int) -> nn.Sequential:
            return nn.Sequential(nn.ConvTranspose2d(cin, cout, 3, 2, 1, output_padding=extra),
                                 nn.BatchNorm2d(cout), nn.ReLU(True))

        self.blocks = nn.ModuleList([
            nn.Sequential(nn.Linear(latent_dim, 64 * 4 * 4), nn.Unflatten(1, (64, 4, 4)),
                          nn.BatchNorm2d(64), nn.ReLU(True)),
            up(64, 32, 0),  # 4 -> 7
            up(32, 16, 1),  # 7 -> 14
            up(16, 8, 1),   # 14 -> 28
            nn.Sequential(nn.Conv2d(8, c, 3, 1, 1), nn.Tanh()),
        ])
        dcgan_init(self)


class StackedMNISTDiscriminator(LayeredNet):
    """D: (C, 28, 28) -> R, the logit; ``d_size`` picks its width (``quarter`` or ``half``)."""

    def __init__(self, in_shape: Sequence[int], d_size: object = "quarter", slope: float = 0.3) -> None:
        super().__init__()
        c = _check_shape(in_shape, "StackedMNISTDiscriminator")
        key = enum_value(d_size)
        if key not in D_CHANNELS:
            raise GanmcError(f"gan.discriminator.d_size must be one of {', '.join(D_CHANNELS)}, got '{key}'")
        widths = D_CHANNELS[key]
        blocks: list[nn.Module] = []
        cin = c
        for w in widths:
            blocks.append(nn.Sequential(nn.Conv2d(cin, w, 3, 2, 1), nn.BatchNorm2d(w), nn.LeakyReLU(slope, True)))
            cin = w
        blocks.append(nn.Sequential(nn.Flatten(), nn.Linear(cin * 4 * 4, 1)))
        self.blocks = nn.ModuleList(blocks)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0).squeeze(-1)
