"""Discriminator Optimal Transport (Tanaka 2019).

Latent variant: from z_y ~ p0, minimise ||z - z_y + delta|| - d(G(z)) / k_eff over z with
Adam(lr, betas (0, 0.9)); target variant: the same in output space, ||x - y + delta|| -
d(x) / k_eff from y = G(z_y). k_eff is the largest |d(a) - d(b)| / |a - b| over random pairs
(a, b latent, or their images). z is kept in the prior's support.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import (
    SampleBatch,
    Sampler,
    SamplerConfig,
    SamplingContext,
    register_sampler,
)


@dataclass
class DOTConfig(SamplerConfig):
    _target_: str = "ganmc.samplers.dot.DOTSampler"
    space: str = "latent"
    n_steps: int = 100
    lr: float = 0.01
    delta: float = 0.001
    k_pairs: int = 10000
    k_eff: float | None = None


@register_sampler
class DOTSampler(Sampler):
    """Transport each generator sample along D's gradient, penalised by distance travelled."""

    name = "dot"
    Config = DOTConfig
    smoke = {"n_steps": 2, "k_pairs": 64}
    ranges = {"n_steps": ">= 0", "lr": "> 0", "k_pairs": "> 1", "k_eff": "> 0"}

    @classmethod
    def evals_per_sample(cls, config: Any) -> float:
        return 4.0 * (int(config.n_steps) + 1)

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        super().__init__(gan, **hparams)
        c: DOTConfig = self.cfg
        if c.space not in ("latent", "target"):
            raise GanmcError(f"dot: space must be 'latent' or 'target', got '{c.space}'")
        self.k_eff: float | None = c.k_eff  # estimated in setup when not given

    def setup(self, ctx: SamplingContext) -> None:
        if self.k_eff is None:
            self.k_eff = self.estimate_k_eff(torch.Generator().manual_seed(ctx.seed))
        self.prep_stats["k_eff"] = self.k_eff

    @torch.no_grad()
    def estimate_k_eff(self, generator: torch.Generator) -> float:
        """max |d(G(a)) - d(G(b))| / |a - b| (latent) or / |G(a) - G(b)| (target), random pairs."""
        device = self.gan.device
        a = self.gan.prior.sample(self.cfg.k_pairs, generator, device)
        b = self.gan.prior.sample(self.cfg.k_pairs, generator, device)
        xa, xb = self.gan.generator(a), self.gan.generator(b)
        diff = (self.gan.discriminator(xa) - self.gan.discriminator(xb)).abs()
        dist = (a - b).norm(dim=1) if self.cfg.space == "latent" else (xa - xb).flatten(1).norm(dim=1)
        return float((diff / dist.clamp_min(1e-12)).max())

    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        if self.k_eff is None:
            self.k_eff = self.estimate_k_eff(generator)
        device = self.gan.device
        z_y = self.gan.prior.sample(n, generator, device)
        with torch.no_grad():
            y = self.gan.generator(z_y)
        start = z_y if self.cfg.space == "latent" else y
        var = start.clone().requires_grad_(True)
        opt = torch.optim.Adam([var], lr=self.cfg.lr, betas=(0.0, 0.9))
        for _ in range(self.cfg.n_steps):
            x = self.gan.generator(var) if self.cfg.space == "latent" else var
            dist = (var - start + self.cfg.delta).flatten(1).norm(dim=1)
            loss = (dist - self.gan.discriminator(x) / self.k_eff).sum()  # chains are independent terms
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if self.cfg.space == "latent":
                with torch.no_grad():
                    var.copy_(self.gan.prior.project(var))
        with torch.no_grad():
            out = self.gan.generator(var) if self.cfg.space == "latent" else var.detach()
        g_per = 2 * self.cfg.n_steps + 2 if self.cfg.space == "latent" else 1
        return SampleBatch(samples=out.detach(), latents=var.detach() if self.cfg.space == "latent" else z_y,
                           stats={"k_eff": float(self.k_eff)},
                           g_evals=float(n * g_per), d_evals=float(n * 2 * self.cfg.n_steps))
