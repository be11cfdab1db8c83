"""Discriminators derived from a trained checkpoint, with one cache: calibrated and shaped Ds.

Both are D fine-tuned as a logistic classifier of real vs fake samples
(:func:`ganmc.discriminators.finetune.finetune_discriminator`); they differ in the fakes:
- **calibrated** (DDLS's "(cal)", DRS's fine-tuned D, MH-GAN's fine-tuned D): generator
  samples, so the logit estimates log p_data / p_g;
- **shaped** (collaborative sampling, Algorithm 2): samples refined with the D being trained,
  drawn by a callable the sampler passes in (this package never imports the samplers).

A derived D is saved as a checkpoint (same G) under ``<cache_dir>/<kind>/``, named
``<parent stem>-<tag>-<key>.pt`` with ``key`` a hash of the parent file, the data and the
derivation's settings; a shipped copy under ``<checkpoint_dir>/<kind>/`` is used when present.
Its payload links to the parent (path and sha256).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from ganmc.context import SamplingContext
from ganmc.discriminators.finetune import FakeFn, finetune_discriminator
from ganmc.io import sha256_file, sha256_json
from ganmc.models.checkpoint import load_net, read_checkpoint, save_checkpoint
from ganmc.models.gan import GAN

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class DerivedD:
    """How to derive a D: ``kind`` (its cache folder), ``tag`` and ``settings`` (its file name
    and key), the fine-tuning schedule, and ``fakes(tuned) -> fake_fn`` given the GAN whose D
    is being trained."""

    kind: str
    tag: str
    settings: dict[str, Any]
    steps: int
    lr: float
    batch_size: int
    fakes: Callable[[GAN], FakeFn]
    progress: bool = True


def _generator_fakes(tuned: GAN) -> FakeFn:
    def fakes(n: int, g: torch.Generator) -> torch.Tensor:
        return tuned.generator(tuned.prior.sample(n, g, tuned.device))

    return fakes


def calibrated(steps: int, lr: float, batch_size: int) -> DerivedD:
    """D fine-tuned ``steps`` Adam steps on real vs generator samples (cached under ``calibrated/``)."""
    return DerivedD("calibrated", f"cal{steps}", {"steps": steps, "lr": lr, "batch": batch_size},
                    steps, lr, batch_size, _generator_fakes)


def shaped(steps: int, lr: float, batch_size: int, seed: int, refine_settings: list[Any],
           fakes: Callable[[GAN], FakeFn], progress: bool = False) -> DerivedD:
    """D shaped ``steps`` steps on real vs refined samples (cached under ``shaped/``); the
    refinement's settings are part of the key."""
    settings = {"iterations": steps, "lr": lr, "batch": batch_size, "seed": seed, "refine": refine_settings}
    return DerivedD("shaped", f"shaped{steps}", settings, steps, lr, batch_size, fakes, progress=progress)


def derived_file(ctx: SamplingContext, spec: DerivedD) -> tuple[Path, str]:
    """The derived D's file (cached or shipped when present) and the parent checkpoint's sha256."""
    return keyed_file(ctx, spec.kind, spec.tag, spec.settings)


def keyed_file(ctx: SamplingContext, kind: str, tag: str, settings: dict[str, Any]) -> tuple[Path, str]:
    """The file of a net derived from the checkpoint (``<parent stem>-<tag>-<key>.pt`` under
    ``kind``, key a hash of the parent file, the data and ``settings``; cached or shipped when
    present) and the parent checkpoint's sha256: derived Ds and latent_rs's weight network."""
    parent_sha = sha256_file(ctx.checkpoint) if ctx.checkpoint else "none"
    key = sha256_json({"parent": parent_sha, "data": ctx.dataset.fingerprint(), **settings})[:16]
    stem = ctx.checkpoint.stem if ctx.checkpoint else "gan"
    return ctx.derived_path(kind, f"{stem}-{tag}-{key}.pt"), parent_sha


def derive(gan: GAN, ctx: SamplingContext, spec: DerivedD, out: Path | None = None,
           snapshots: tuple[DerivedD, ...] = ()) -> tuple[GAN, Path, list[dict[str, float]] | None]:
    """``gan`` with its derived D: loaded from its file when present, else fine-tuned now (a copy
    of D; G shared) and saved there (or at ``out``). Returns the GAN, the file and the fine-tuning
    history (``None`` when loaded).

    ``snapshots``: derivations of the same kind with fewer steps, saved on the way at their own
    files. The schedule has no decay and the random stream is the same, so a snapshot after S
    steps is the D a derivation of S steps gives (bit for bit; tested), at no extra cost."""
    path, parent_sha = derived_file(ctx, spec)
    path = out or path
    tuned = gan.with_d_copy()
    if path.is_file():
        load_net(tuned.discriminator, read_checkpoint(path)["discriminator"], path, "discriminator")
        log.info("loaded %s discriminator %s", spec.kind, path)
        return tuned.eval(), path, None
    log.info("deriving the %s discriminator (%s) -> %s", spec.kind, spec.tag, path)
    rng = torch.Generator().manual_seed(ctx.seed)
    at = {s.steps: s for s in snapshots if 0 < s.steps < spec.steps}

    def snapshot(step: int, net: GAN, history: list[dict[str, float]]) -> None:
        target = derived_file(ctx, at[step])[0] if step in at else None
        if target is not None and not target.is_file():  # one there already (cached or shipped) is the same D
            net.discriminator.eval()  # saved as a finished derivation saves it (mode changes no weight)
            _save(net, ctx, at[step], target, parent_sha, list(history))
            net.discriminator.train()

    tuned, history = finetune_discriminator(tuned, ctx.dataset, spec.fakes(tuned), spec.steps, spec.lr,
                                            spec.batch_size, rng, progress=spec.progress, in_place=True,
                                            on_step=snapshot if at else None)
    _save(tuned, ctx, spec, path, parent_sha, history)
    return tuned.eval(), path, history


def _save(tuned: GAN, ctx: SamplingContext, spec: DerivedD, path: Path, parent_sha: str,
          history: list[dict[str, float]]) -> None:
    """Save a derived D (with the identity of the run's GAN; nothing without one) and log where."""
    if ctx.spec is None:
        return
    save_checkpoint(path, tuned, ctx.spec, int(ctx.spec.gan.train.iterations), ctx.dataset.fingerprint(),
                    {spec.kind: spec.settings, "history": history, "parent_sha256": parent_sha},
                    parent=str(ctx.checkpoint) if ctx.checkpoint else None)
    log.info("saved the %s discriminator (%s) at %s", spec.kind, spec.tag, path)
