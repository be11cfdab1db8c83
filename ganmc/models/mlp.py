"""MLP generator and discriminator for 2-D data (the DRS/DOT/DDLS and collaborative setups).

Hidden blocks are Linear -> [norm] -> activation; ``norm`` is ``none`` (default), ``batch``
(BatchNorm1d, as in the collaborative-sampling authors' toy generator) or ``layer`` (LayerNorm);
``slope`` is the negative slope of ``leaky_relu`` (default 0.01, torch's).
"""

from __future__ import annotations

import torch
from torch import nn

from ganmc.common import enum_value
from ganmc.errors import GanmcError

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "leaky_relu": nn.LeakyReLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
}


def _activation(name: object, slope: float = 0.01) -> nn.Module:
    key = enum_value(name)
    if key not in _ACTIVATIONS:
        raise ValueError(f"unknown activation '{key}'")
    return nn.LeakyReLU(slope) if key == "leaky_relu" else _ACTIVATIONS[key]()


def _norm(kind: object, width: int) -> list[nn.Module]:
    key = enum_value(kind)
    if key == "none":
        return []
    if key == "batch":
        return [nn.BatchNorm1d(width)]
    if key == "layer":
        return [nn.LayerNorm(width)]
    raise GanmcError(f"unknown MLP norm '{key}': use none, batch or layer")


def _blocks(in_dim: int, out_dim: int, width: int, depth: int, activation: object,
            norm: object = "none", slope: float = 0.01) -> nn.ModuleList:
    """``depth`` hidden (Linear, norm, activation) blocks, then one Linear head, as separate blocks."""
    blocks = []
    dim = in_dim
    for _ in range(depth):
        blocks.append(nn.Sequential(nn.Linear(dim, width), *_norm(norm, width), _activation(activation, slope)))
        dim = width
    blocks.append(nn.Sequential(nn.Linear(dim, out_dim)))
    return nn.ModuleList(blocks)


class LayeredNet(nn.Module):
    """A stack of blocks whose intermediate activations can be read and resumed.

    Layer ``0`` is the input, layer ``len(blocks)`` the output: ``forward_to(x, l)`` returns the
    activation after ``l`` blocks, ``forward_from(h, l)`` runs the rest. Collaborative sampling
    refines activations at a chosen layer through these two calls.
    """

    blocks: nn.ModuleList

    @property
    def n_layers(self) -> int:
        return len(self.blocks)

    def forward_to(self, x: torch.Tensor, layer: int) -> torch.Tensor:
        for block in self.blocks[:layer]:
            x = block(x)
        return x

    def forward_from(self, h: torch.Tensor, layer: int) -> torch.Tensor:
        for block in self.blocks[layer:]:
            h = block(h)
        return h

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0)


class MLPGenerator(LayeredNet):
    """G: R^latent_dim -> R^out_dim."""

    def __init__(self, latent_dim: int, out_dim: int, width: int = 256, depth: int = 3,
                 activation: object = "relu", norm: object = "none", slope: float = 0.01) -> None:
        super().__init__()
        self.blocks = _blocks(latent_dim, out_dim, width, depth, activation, norm, slope)


class MLPDiscriminator(LayeredNet):
    """D: R^in_dim -> R, returning the logit (non-saturating loss) or critic value (WGAN)."""

    def __init__(self, in_dim: int, width: int = 512, depth: int = 3,
                 activation: object = "relu", norm: object = "none", slope: float = 0.01) -> None:
        super().__init__()
        self.blocks = _blocks(in_dim, 1, width, depth, activation, norm, slope)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.forward_from(x, 0).squeeze(-1)
