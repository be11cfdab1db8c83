"""Hand-built GANs with known targets for testing samplers."""

from __future__ import annotations

import torch
from torch import nn

from ganmc.models.gan import GAN
from ganmc.models.mlp import LayeredNet
from ganmc.models.prior import Prior


class Identity(LayeredNet):
    """G(z) = z."""

    def __init__(self) -> None:
        super().__init__()
        self.blocks = nn.ModuleList([nn.Identity()])


class Linear(nn.Module):
    """d(x) = a . x + b."""

    def __init__(self, a: list[float], b: float = 0.0) -> None:
        super().__init__()
        self.register_buffer("a", torch.tensor(a))
        self.b = b
        self.dummy = nn.Parameter(torch.zeros(()))  # so the GAN has a device

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x @ self.a + self.b + 0 * self.dummy


class Step(nn.Module):
    """d(x) = log(w) with w = 1 where x_1 > 0, else ``low``: a bounded density ratio."""

    def __init__(self, low: float) -> None:
        super().__init__()
        self.low = low
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.where(x[:, 0] > 0, 0.0, torch.log(torch.tensor(self.low))) + 0 * self.dummy


class Quadratic(nn.Module):
    """d(x) = -a x^2 / 2 + b x on 1-D x (n, 1): grad d = b - a x; e^(d / gamma) is N(b/a, gamma/a)."""

    def __init__(self, a: float, b: float) -> None:
        super().__init__()
        self.a, self.b = a, b
        self.dummy = nn.Parameter(torch.zeros(()))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (-0.5 * self.a * x[:, 0] ** 2 + self.b * x[:, 0]) + 0 * self.dummy


def identity_gan(discriminator: nn.Module, prior: str = "normal", dim: int = 2) -> GAN:
    """GAN with G(z) = z, the given D and a ``dim``-d prior, so p_g = p0."""
    return GAN(Identity(), discriminator, Prior(prior, dim), "ns")
