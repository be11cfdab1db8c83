"""Discriminators derived from a trained checkpoint (calibrated, shaped): one cache mechanism.

A derived D is saved as a checkpoint (same G) under ``<cache_dir>/<kind>/``, named after the
parent's stem, a tag and a hash of the parent file, the data and the derivation's settings; a
shipped copy under ``<checkpoint_dir>/<kind>/`` is used when present. Its record links to the
parent (path and sha256).
"""

from __future__ import annotations

import copy
import logging
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ganmc.io import sha256_file, sha256_json
from ganmc.models.checkpoint import read_checkpoint, save_checkpoint
from ganmc.models.gan import GAN
from ganmc.samplers.base import SamplingContext

log = logging.getLogger(__name__)


def derived_file(ctx: SamplingContext, kind: str, tag: str, settings: dict[str, Any]) -> tuple[Path, str]:
    """The derived D's file (cached or shipped when present) and the parent checkpoint's sha256."""
    parent_sha = sha256_file(ctx.checkpoint) if ctx.checkpoint else "none"
    key = sha256_json({"parent": parent_sha, "data": ctx.dataset.fingerprint(), **settings})[:16]
    stem = ctx.checkpoint.stem if ctx.checkpoint else "gan"
    return ctx.derived_path(kind, f"{stem}-{tag}-{key}.pt"), parent_sha


def derived_gan(gan: GAN, ctx: SamplingContext, kind: str, tag: str, settings: dict[str, Any],
                derive: Callable[[], tuple[GAN, list[dict[str, float]]]]) -> tuple[GAN, Path]:
    """``gan`` with its derived D: loaded from its file when present, else ``derive()``d (which
    returns the new GAN and its training history) and saved there."""
    path, parent_sha = derived_file(ctx, kind, tag, settings)
    if path.is_file():
        tuned = GAN(gan.generator, copy.deepcopy(gan.discriminator), gan.prior, gan.loss)
        tuned.discriminator.load_state_dict(read_checkpoint(path)["discriminator"])
        log.info("loaded %s discriminator %s", kind, path)
        return tuned.eval(), path
    log.info("deriving the %s discriminator (%s) -> %s", kind, tag, path)
    tuned, history = derive()
    if ctx.cfg is not None:
        save_checkpoint(path, tuned, ctx.cfg, int(ctx.cfg.gan.train.iterations), ctx.dataset.fingerprint(),
                        {kind: settings, "history": history, "parent_sha256": parent_sha},
                        parent=str(ctx.checkpoint) if ctx.checkpoint else None)
    return tuned.eval(), path
