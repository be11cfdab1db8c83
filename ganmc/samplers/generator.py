"""The baseline: draw z from the prior and return G(z)."""

from __future__ import annotations

from dataclasses import dataclass

import torch

from ganmc.samplers.base import DKind, SampleBatch, Sampler, SamplerConfig, register_sampler


@dataclass
class GeneratorSamplerConfig(SamplerConfig):
    _target_: str = "ganmc.samplers.generator.GeneratorSampler"


@register_sampler
class GeneratorSampler(Sampler):
    """Generator alone: one G evaluation per sample, no D."""

    name = "generator"
    Config = GeneratorSamplerConfig
    derivations = (DKind.raw,)

    @torch.no_grad()
    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        z = self.gan.prior.sample(n, generator, self.gan.device)
        x = self.gan.generator(z)
        return SampleBatch(samples=x, latents=z, g_evals=float(n), d_evals=0.0)

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """w = 1: the target is p_g itself (its diagnostics are the baseline of the others')."""
        return torch.zeros(len(x), device=x.device)
