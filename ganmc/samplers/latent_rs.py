"""Latent rejection sampling (Issenhuth, Tanielian, Mary, Picard: "Learning disconnected manifolds:
avoiding the no GAN's land by latent rejection"; "Latent reweighting, an almost free improvement
for GANs", WACV 2022).

A weight network ``w(z) >= 0`` is trained once per GAN (:mod:`ganmc.discriminators.reweight`:
the paper's objective, schedule in this config, cached like the derived Ds); sampling draws
``z ~ p0`` and accepts it with probability ``min(1, w(z) / m)``, ``m`` the paper's bound on ``w``
(its clipping penalty keeps ``w <= m``), then runs G on the accepted latents only: no D at
sampling, one G evaluation per sample (``w``'s evaluations, an MLP on the latent, are counted
in ``stats.w_evals_per_sample``). Exact target: ``p_g * min(w, m)`` (``prior x w`` where
``w <= m``). Stats: ``acceptance_rate`` (also ``efficiency``); ``prep_stats``: the weights file,
its training seconds (also when loaded from the cache), whether it was loaded, and on 10,000
prior latents ``w_mean`` (1 for a normalised ``w``), ``w_above_m`` (the share clipped) and
``expected_acceptance`` (``E min(w, m) / m``).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any

import torch
from torch import nn

from ganmc.discriminators.reweight import WeightSchedule, latent_weights
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import (
    DKind,
    SampleBatch,
    Sampler,
    SamplerConfig,
    SamplingContext,
    register_sampler,
)

PILOT = 10000  # prior latents for the weights' prep statistics


@dataclass
class LatentRSConfig(SamplerConfig):
    """``m`` and the weights' training schedule (:class:`WeightSchedule`'s fields), then sampling's batches."""

    _target_: str = "ganmc.samplers.latent_rs.LatentRSSampler"
    m: float = 3.0              # accept z with probability min(1, w(z)/m); also w's clipping bound
    train_steps: int = 1000     # w steps, each after n_critic critic steps (WGAN-GP)
    n_critic: int = 5
    train_batch: int = 256
    lr: float = 1e-3            # Adam, w and critic
    gp_weight: float = 10.0
    lambda_norm: float = 10.0   # (E w - 1)^2
    lambda_clip: float = 3.0    # E max(0, w - m)^2
    width: int = 128            # w's MLP
    depth: int = 3
    proposal_batch: int = 10000
    max_proposals_per_sample: int = 1000


@register_sampler
class LatentRSSampler(Sampler):
    """Rejection in latent space with a learned weight ``w(z)``; G runs on accepted latents only."""

    name = "latent_rs"
    Config = LatentRSConfig
    derivations = (DKind.raw,)  # its critic is its own derivation (from the GAN's D)
    smoke = {"train_steps": 5, "train_batch": 32, "width": 16, "proposal_batch": 64}
    ranges = {"m": "> 0", "train_steps": ">= 1", "n_critic": ">= 1", "train_batch": ">= 2", "lr": "> 0",
              "gp_weight": ">= 0", "lambda_norm": ">= 0", "lambda_clip": ">= 0", "width": ">= 1", "depth": ">= 0",
              "proposal_batch": ">= 1", "max_proposals_per_sample": ">= 1"}

    @classmethod
    def evals_per_sample(cls, config: Any) -> float:
        return 1.0

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        super().__init__(gan, **hparams)
        self.schedule = WeightSchedule(**{f.name: getattr(self.cfg, f.name) for f in fields(WeightSchedule)})
        self.weights: nn.Module | None = None  # trained or loaded in setup (tests may set a known w)

    def setup(self, ctx: SamplingContext) -> None:
        """Train or load ``w`` and measure it on prior latents."""
        self.weights, path, info = latent_weights(self.gan, ctx, self.schedule)
        w = self.w(self.gan.prior.sample(PILOT, torch.Generator().manual_seed(ctx.seed), self.gan.device))
        m = self.cfg.m
        self.prep_stats.update({"weights_checkpoint": str(path), "weights_train_seconds": info["train_seconds"],
                                "weights_loaded": info["loaded"], "w_mean": float(w.mean()),
                                "w_above_m": float((w > m).float().mean()),
                                "expected_acceptance": float(w.clamp(max=m).mean()) / m})

    @torch.no_grad()
    def w(self, z: torch.Tensor) -> torch.Tensor:
        """The weights of latents ``z`` (in chunks of ``eval_batch``)."""
        if self.weights is None:
            raise GanmcError("sampler latent_rs has no weight network: call prepare(ctx) first")
        return self.batched(self.weights, z).reshape(len(z))

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """``log min(w(z), m)``: the law of the accepted latents over the prior."""
        return torch.log(self.w(state).double().clamp(max=self.cfg.m))

    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        device, m = self.gan.device, self.cfg.m
        kept: list[torch.Tensor] = []
        proposed = accepted = 0
        while accepted < n:
            if proposed >= self.cfg.max_proposals_per_sample * n:
                raise GanmcError(f"latent_rs accepted only {accepted} of {proposed} proposals: w is near 0 on the "
                                 "prior (retrain it) or raise sampler.max_proposals_per_sample")
            z = self.gan.prior.sample(self.cfg.proposal_batch, generator, device)
            u = torch.rand(len(z), generator=generator, dtype=torch.float64).to(device)
            keep = u * m < self.w(z).double()
            kept.append(z[keep])
            proposed += len(z)
            accepted += int(keep.sum())
        z = torch.cat(kept)[:n]
        with torch.no_grad():
            x = self.batched(self.gan.generator, z)
        rate = accepted / proposed
        return SampleBatch(samples=x, latents=z, g_evals=float(n), d_evals=0.0,
                           stats={"acceptance_rate": rate, "efficiency": rate, "w_evals_per_sample": proposed / n})
