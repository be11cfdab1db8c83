"""Calibrated discriminators: D fine-tuned as a logistic classifier of real vs generated
samples, so its logit estimates log p_data/p_g (DDLS's "(cal)", DRS's fine-tuned D).

The calibrated D is cached as a checkpoint beside its parent, keyed by the parent's hash and
the fine-tuning settings, and its record links to the parent.
"""

from __future__ import annotations

import copy
import logging
from pathlib import Path

import torch

from ganmc.finetune import finetune_discriminator
from ganmc.io import sha256_file, sha256_json
from ganmc.models.checkpoint import read_checkpoint, save_checkpoint
from ganmc.models.gan import GAN
from ganmc.samplers.base import Sampler, SamplingContext

log = logging.getLogger(__name__)


def calibrated_path(ctx: SamplingContext, steps: int, lr: float, batch_size: int) -> Path:
    """The calibrated D's file: keyed by the parent checkpoint's hash, the settings and the data;
    a cached or shipped one (``checkpoint_dirs``/calibrated) when present."""
    parent_sha = sha256_file(ctx.checkpoint) if ctx.checkpoint else "none"
    key = sha256_json({"parent": parent_sha, "steps": steps, "lr": lr, "batch": batch_size,
                       "data": ctx.dataset.fingerprint()})[:16]
    stem = ctx.checkpoint.stem if ctx.checkpoint else "gan"
    return ctx.derived_path("calibrated", f"{stem}-cal{steps}-{key}.pt")


def calibrated_gan(gan: GAN, ctx: SamplingContext, steps: int, lr: float, batch_size: int) -> tuple[GAN, Path]:
    """``gan`` with its D fine-tuned on real vs G samples, from the cache when present."""
    path = calibrated_path(ctx, steps, lr, batch_size)
    parent_sha = sha256_file(ctx.checkpoint) if ctx.checkpoint else "none"
    tuned = GAN(gan.generator, copy.deepcopy(gan.discriminator), gan.prior, gan.loss)
    if path.is_file():
        payload = read_checkpoint(path)
        tuned.discriminator.load_state_dict(payload["discriminator"])
        log.info("loaded calibrated discriminator %s", path)
        return tuned.eval(), path
    log.info("calibrating D (%d BCE steps, lr %g) -> %s", steps, lr, path)
    rng = torch.Generator().manual_seed(ctx.seed)

    def fakes(n: int, g: torch.Generator) -> torch.Tensor:
        return gan.generator(gan.prior.sample(n, g, gan.device))

    tuned, history = finetune_discriminator(gan, ctx.dataset, fakes, steps, lr, batch_size, rng)
    if ctx.cfg is not None:
        save_checkpoint(path, tuned, ctx.cfg, int(ctx.cfg.gan.train.iterations), ctx.dataset.fingerprint(),
                        {"calibration": {"steps": steps, "lr": lr, "batch_size": batch_size},
                         "history": history, "parent_sha256": parent_sha},
                        parent=str(ctx.checkpoint) if ctx.checkpoint else None)
    return tuned.eval(), path


def use_calibrated_d(sampler: Sampler, ctx: SamplingContext, steps: int, lr: float, batch_size: int,
                     stat_key: str = "calibrated_checkpoint") -> None:
    """Swap ``sampler.gan`` for its calibrated copy and record where that D is cached."""
    sampler.gan, path = calibrated_gan(sampler.gan, ctx, steps, lr, batch_size)
    sampler.prep_stats[stat_key] = str(path)
