"""Latent priors p0(z): sampling, log-density and support."""

from __future__ import annotations

import math

import torch


class Prior:
    """Standard normal or uniform on [-1, 1]^d over a ``dim``-dimensional latent space."""

    def __init__(self, kind: str, dim: int) -> None:
        if kind not in ("normal", "uniform"):
            raise ValueError(f"unknown prior '{kind}'")
        self.kind = kind
        self.dim = dim

    def sample(self, n: int, generator: torch.Generator, device: torch.device | str = "cpu") -> torch.Tensor:
        """Draw ``n`` latents (drawn on CPU for reproducibility across devices, then moved)."""
        if self.kind == "normal":
            z = torch.randn(n, self.dim, generator=generator)
        else:
            z = torch.rand(n, self.dim, generator=generator) * 2 - 1
        return z.to(device)

    def log_prob(self, z: torch.Tensor) -> torch.Tensor:
        """log p0(z) per row, differentiable; -inf outside the uniform prior's support."""
        if self.kind == "normal":
            return -0.5 * (z * z).sum(dim=1) - 0.5 * self.dim * math.log(2 * math.pi)
        inside = (z.abs() <= 1).all(dim=1)
        value = torch.full_like(z[:, 0], -self.dim * math.log(2.0))
        return torch.where(inside, value, torch.full_like(value, -math.inf))

    def project(self, z: torch.Tensor) -> torch.Tensor:
        """Map ``z`` into the prior's support (identity for the normal prior)."""
        return z if self.kind == "normal" else z.clamp(-1.0, 1.0)
