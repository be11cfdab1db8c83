"""Discriminator Rejection Sampling (Azadi et al. 2019).

Accept a generator sample x with probability sigmoid(F(x)),
F = d - d_M - log(1 - exp(d - d_M - eps)) - gamma, where d is D's logit (an estimate of
log p_data/p_g), d_M the largest logit seen (first from ``pilot_n`` pilot samples, raised
while sampling) and gamma the ``gamma_percentile``-th percentile of F over each proposal batch,
computed with the current d_M as DRS does (so a late, larger d_M cannot starve acceptance;
``null``: gamma = 0, plain rejection sampling with bound exp(d_M)). ``stats.gamma``: the mean.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import SampleBatch, Sampler, SamplerConfig, register_sampler


@dataclass
class DRSConfig(SamplerConfig):
    _target_: str = "ganmc.samplers.drs.DRSSampler"
    pilot_n: int = 10000
    gamma_percentile: float | None = 95.0
    eps: float = 1e-6
    proposal_batch: int = 10000
    max_proposals_per_sample: int = 1000


def drs_score(logit: torch.Tensor, max_logit: float, eps: float, gamma: float) -> torch.Tensor:
    """F(x) of DRS, computed stably in float64."""
    delta = logit.double() - max_logit
    return delta - torch.log1p(-torch.exp(delta - eps)) - gamma


@register_sampler
class DRSSampler(Sampler):
    """Rejection sampling driven by the discriminator's logit."""

    name = "drs"
    Config = DRSConfig
    smoke = {"pilot_n": 64, "proposal_batch": 64, "discriminator": {"steps": 5, "batch": 32}}
    ranges = {"pilot_n": "> 0", "proposal_batch": "> 0", "eps": "> 0", "max_proposals_per_sample": "> 0"}

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        super().__init__(gan, **hparams)
        c: DRSConfig = self.cfg
        if c.gamma_percentile is not None and not 0 <= c.gamma_percentile <= 100:
            raise GanmcError(f"drs: gamma_percentile must lie in [0, 100], got {c.gamma_percentile}")
        self.max_logit: float | None = None

    @torch.no_grad()
    def _propose(self, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        z = self.gan.prior.sample(m, generator, self.gan.device)
        x = self.batched(self.gan.generator, z)
        return z, x, self.batched(self.gan.discriminator, x)

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """DRS aims at p_g * e^d (d: the logit of its D, calibrated or raw)."""
        return self.gan.discriminator(x)

    def _pilot(self, generator: torch.Generator) -> None:
        _, _, logit = self._propose(self.cfg.pilot_n, generator)
        self.max_logit = float(logit.max())

    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        evals = 0
        if self.max_logit is None:
            self._pilot(generator)
            evals += self.cfg.pilot_n
        kept_x, kept_z, proposed, accepted, gammas = [], [], 0, 0, []
        while accepted < n:
            if proposed >= self.cfg.max_proposals_per_sample * n:
                raise GanmcError(f"drs accepted only {accepted} of {proposed} proposals: lower gamma_percentile "
                                 "or raise max_proposals_per_sample")
            z, x, logit = self._propose(self.cfg.proposal_batch, generator)
            self.max_logit = max(self.max_logit, float(logit.max()))  # type: ignore[type-var]
            score = drs_score(logit, self.max_logit, self.cfg.eps, 0.0)
            gamma = 0.0 if self.cfg.gamma_percentile is None else \
                float(torch.quantile(score.float().cpu(), self.cfg.gamma_percentile / 100.0))  # per batch, as DRS
            gammas.append(gamma)
            prob = torch.sigmoid(score - gamma)
            keep = torch.rand(len(prob), generator=generator, dtype=torch.float64).to(prob.device) < prob
            kept_x.append(x[keep])
            kept_z.append(z[keep])
            proposed += len(prob)
            accepted += int(keep.sum())
        evals += proposed
        rate = accepted / proposed
        return SampleBatch(samples=torch.cat(kept_x)[:n], latents=torch.cat(kept_z)[:n],
                           stats={"acceptance_rate": rate, "efficiency": rate, "gamma": float(np.mean(gammas)),
                                  "max_logit": float(self.max_logit)},
                           g_evals=float(evals), d_evals=float(evals))
