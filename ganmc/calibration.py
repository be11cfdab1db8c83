"""Calibrated discriminators: D fine-tuned as a logistic classifier of real vs generated
samples, so its logit estimates log p_data/p_g (DDLS's "(cal)", DRS's fine-tuned D).

The calibrated D is cached as a checkpoint (:mod:`ganmc.derived`), keyed by the parent's hash,
the fine-tuning settings and the data, and its record links to the parent.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganmc.derived import derived_gan
from ganmc.finetune import finetune_discriminator
from ganmc.models.gan import GAN
from ganmc.samplers.base import Sampler, SamplingContext


def _settings(steps: int, lr: float, batch_size: int) -> dict[str, float]:
    return {"steps": steps, "lr": lr, "batch": batch_size}


def calibrated_gan(gan: GAN, ctx: SamplingContext, steps: int, lr: float, batch_size: int) -> tuple[GAN, Path]:
    """``gan`` with its D fine-tuned on real vs G samples, from the cache when present."""

    def calibrate() -> tuple[GAN, list[dict[str, float]]]:
        def fakes(n: int, g: torch.Generator) -> torch.Tensor:
            return gan.generator(gan.prior.sample(n, g, gan.device))

        rng = torch.Generator().manual_seed(ctx.seed)
        return finetune_discriminator(gan, ctx.dataset, fakes, steps, lr, batch_size, rng)

    return derived_gan(gan, ctx, "calibrated", f"cal{steps}", _settings(steps, lr, batch_size), calibrate)


def use_calibrated_d(sampler: Sampler, ctx: SamplingContext, steps: int, lr: float, batch_size: int,
                     stat_key: str = "calibrated_checkpoint") -> None:
    """Swap ``sampler.gan`` for its calibrated copy and record where that D is cached."""
    sampler.gan, path = calibrated_gan(sampler.gan, ctx, steps, lr, batch_size)
    sampler.prep_stats[stat_key] = str(path)
