"""DCGAN generator and discriminator (Radford et al.) for square images of 32 or 64 px.

G: z -> ConvT 4x4 projection -> stride-2 ConvT blocks (batch norm, ReLU) -> Tanh image.
D: stride-2 conv blocks (leaky ReLU 0.2) down to 4x4 -> a 4x4 conv to one logit. Norm in D:
``batch`` (DCGAN), ``layer`` (WGAN-GP: the gradient penalty is per sample, so batch norm is
replaced by a per-sample norm over C, H, W, i.e. ``GroupNorm(1, C)``) or ``none``.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import torch
from torch import nn

from ganmc.common import enum_value
from ganmc.errors import GanmcError
from ganmc.models.mlp import LayeredNet

NORMS = ("batch", "layer", "none")


def image_shape(shape: Sequence[int], who: str) -> tuple[int, int, int]:
    """Check an image shape (C, S, S) with S a power of two >= 8; return it as ints."""
    if len(shape) != 3 or shape[1] != shape[2]:
        raise GanmcError(f"{who} needs square image data (C, S, S), got shape {tuple(shape)}")
    c, s, _ = (int(v) for v in shape)
    if s < 8 or s & (s - 1):
        raise GanmcError(f"{who} needs an image size that is a power of two >= 8, got {s}")
    return c, s, s


def norm_layer(kind: object, channels: int) -> nn.Module:
    """Batch norm, per-sample layer norm over (C, H, W), or identity."""
    key = enum_value(kind)
    if key == "batch":
        return nn.BatchNorm2d(channels)
    if key == "layer":
        return nn.GroupNorm(1, channels)
    if key == "none":
        return nn.Identity()
    raise GanmcError(f"unknown norm '{key}': use one of {', '.join(NORMS)}")


def dcgan_init(module: nn.Module) -> None:
    """DCGAN initialisation: conv weights N(0, 0.02), norm scales N(1, 0.02), biases 0."""
    for m in module.modules():
        if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, 0.02)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, (nn.BatchNorm2d, nn.GroupNorm)):
            nn.init.normal_(m.weight, 1.0, 0.02)
            nn.init.zeros_(m.bias)


class DCGANGenerator(LayeredNet):
    """G: R^latent_dim -> [-1, 1]^(C, S, S). Blocks: the 4x4 projection, log2(S/4) - 1
    up-sampling blocks, and the output block (ConvT to C channels, Tanh)."""

    def __init__(self, latent_dim: int, out_shape: Sequence[int], base_width: int = 64,
                 norm: object = "batch") -> None:
        super().__init__()
        c, s, _ = image_shape(out_shape, "DCGANGenerator")
        n_up = int(math.log2(s // 4))
        width = base_width * 2 ** (n_up - 1)
        blocks: list[nn.Module] = [nn.Sequential(
            nn.Unflatten(1, (latent_dim, 1, 1)),
            nn.ConvTranspose2d(latent_dim, width, 4, 1, 0, bias=False),
            norm_layer(norm, width), nn.ReLU(True))]
        for _ in range(n_up - 1):
            blocks.append(nn.Sequential(
                nn.ConvTranspose2d(width, width // 2, 4, 2, 1, bias=False),
                norm_layer(norm, width // 2), nn.ReLU(True)))
            width //= 2
        blocks.append(nn.Sequential(nn.ConvTranspose2d(width, c, 4, 2, 1), nn.Tanh()))
        self.blocks = nn.ModuleList(blocks)
        dcgan_init(self)


class DCGANDiscriminator(LayeredNet):
    """D: (C, S, S) -> R, the logit (non-saturating loss) or critic value (WGAN-GP); leaky ReLU ``slope``."""

    def __init__(self, in_shape: Sequence[int], base_width: int = 64, norm: object = "batch",
                 slope: float = 0.2) -> None:
        super().__init__()
        c, s, _ = image_shape(in_shape, "DCGANDiscriminator")
        n_down = int(math.log2(s // 4))
        blocks: list[nn.Module] = [nn.Sequential(
            nn.Conv2d(c, base_width, 4, 2, 1), nn.LeakyReLU(slope, True))]
        width = base_width
        for _ in range(n_down - 1):
            blocks.append(nn.Sequential(
                nn.Conv2d(width, width * 2, 4, 2, 1, bias=False),
                norm_layer(norm, width * 2), nn.LeakyReLU(slope, True)))
            width *= 2
        blocks.append(nn.Sequential(nn.Conv2d(width, 1, 4, 1, 0), nn.Flatten()))
        self.blocks = nn.ModuleList(blocks)
        dcgan_init(self)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0).squeeze(-1)
