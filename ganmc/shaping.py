"""Discriminator shaping (collaborative sampling, Algorithm 2) and the ``ganmc shape`` command.

Each shaping step refines a batch of generated samples with the *current* D (the collab
sampler's refinement), then takes one BCE step of D on real vs refined samples
(:func:`ganmc.finetune.finetune_discriminator`). The shaped D is saved with the same G as a
new checkpoint whose payload and record name the parent checkpoint (path and sha256).
"""

from __future__ import annotations

import copy
import json
import logging
import time
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig, OmegaConf

from ganmc.checks import preflight, validate_run
from ganmc.data.synthetic import SyntheticDataset
from ganmc.derived import derived_file, derived_gan
from ganmc.errors import GanmcError
from ganmc.finetune import finetune_discriminator
from ganmc.io import sha256_file, sha256_json, write_json_atomic
from ganmc.models.checkpoint import read_checkpoint, save_checkpoint
from ganmc.models.gan import GAN
from ganmc.records import provenance
from ganmc.samplers.base import SamplingContext
from ganmc.samplers.collab import CollabSampler
from ganmc.threads import apply_threads

log = logging.getLogger(__name__)


def shape_discriminator(sampler: CollabSampler, dataset: SyntheticDataset, iterations: int, lr: float,
                        batch_size: int, generator: torch.Generator, median_every: int = 100,
                        progress: bool = True) -> tuple[GAN, list[dict[str, float]]]:
    """Shape a copy of ``sampler.gan``'s D; the sampler is rebound to the copy while it trains.

    Returns the shaped GAN (same G object) and the BCE history.
    """
    parent = sampler.gan
    shaped = GAN(parent.generator, copy.deepcopy(parent.discriminator), parent.prior, parent.loss)
    work = copy.copy(sampler)
    work.gan = shaped
    state = {"step": 0}

    def fake_fn(n: int, gen: torch.Generator) -> torch.Tensor:
        disc = shaped.discriminator
        disc.eval()  # refine with inference behaviour, then resume training
        if work.use_median and state["step"] % max(1, median_every) == 0:
            work.estimate_median(gen)
        state["step"] += 1
        z = shaped.prior.sample(n, gen, shaped.device)
        x = work.refine(z, gen).samples.detach()
        disc.train()
        return x

    tuned, history = finetune_discriminator(shaped, dataset, fake_fn, iterations, lr, batch_size, generator,
                                            progress=progress, in_place=True)
    return tuned.eval(), history


def shaped_path(cfg: DictConfig, parent: Path, parent_sha: str) -> Path:
    """Default file of the shaped checkpoint: beside the cache, keyed by parent and settings."""
    if cfg.shape.out:
        return Path(str(cfg.shape.out)).expanduser()
    key = sha256_json({
        "parent": parent_sha,
        "shape": OmegaConf.to_container(cfg.shape, resolve=True, enum_to_str=True),
        "sampler": OmegaConf.to_container(cfg.sampler, resolve=True, enum_to_str=True),
        "seed": int(cfg.seed),
    })[:16]
    return Path(str(cfg.cache_dir)).expanduser() / "checkpoints" / f"{parent.stem}-shaped-it{cfg.shape.iterations}-{key}.pt"


def run_shape(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """``ganmc shape``: obtain the GAN, shape D, save the new checkpoint, write ``record.json``."""
    from ganmc.run import build_dataset, build_sampler, derive_seed, obtain_gan, resolve_device

    validate_run(cfg)
    for key in ("iterations", "lr", "batch_size", "median_every"):
        if cfg.shape[key] <= 0:
            raise GanmcError(f"shape.{key} must be positive, got {cfg.shape[key]}")
    apply_threads(cfg)
    start = time.perf_counter()
    device = resolve_device(str(cfg.device))
    dataset = build_dataset(cfg)
    preflight(cfg, run_dir, dataset)
    gan, parent = obtain_gan(cfg, dataset, device)
    sampler = build_sampler(cfg, gan, dataset, parent)
    if not isinstance(sampler, CollabSampler):
        raise GanmcError("ganmc shape refines with the collab sampler: use sampler=collab (or leave it unset)")
    parent_sha = sha256_file(parent)
    payload = read_checkpoint(parent)
    gen = torch.Generator().manual_seed(derive_seed(int(cfg.seed), "shape"))
    shaped, history = shape_discriminator(sampler, dataset, int(cfg.shape.iterations), float(cfg.shape.lr),
                                          int(cfg.shape.batch_size), gen, int(cfg.shape.median_every))
    path = shaped_path(cfg, parent, parent_sha)
    link = {"path": str(parent), "sha256": parent_sha}
    record: dict[str, Any] = {
        "command": "shape",
        "parent": link,
        "shaping": {"history": history, "sampler": sampler.name},
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "timing": {"wall_seconds": time.perf_counter() - start},
    }
    save_checkpoint(path, shaped, cfg, int(payload["step"]), str(payload.get("data_fingerprint", "")),
                    record, parent=json.dumps(link))
    record["checkpoint"] = str(path)
    record["provenance"] = provenance(device, str(path), sha256_file(path))
    write_json_atomic(run_dir / "record.json", record)
    log.info("shaped discriminator (%d iterations, final BCE %.4f) saved at %s", cfg.shape.iterations,
             history[-1]["bce"] if history else float("nan"), path)
    return record


def _settings(sampler: CollabSampler, ctx: SamplingContext, iterations: int, lr: float,
              batch_size: int) -> dict[str, Any]:
    return {"iterations": iterations, "lr": lr, "batch": batch_size, "seed": ctx.seed,
            "refine": [sampler.layer, sampler.n_steps, sampler.step_size, sampler.optimizer,
                       sampler.use_median, sampler.stop_prob]}


def shaped_cache_path(sampler: CollabSampler, ctx: SamplingContext, iterations: int, lr: float,
                      batch_size: int) -> Path:
    """The shaped D's file for this parent, shaping and refinement settings, data and seed (a
    cached or shipped one when present)."""
    settings = _settings(sampler, ctx, iterations, lr, batch_size)
    return derived_file(ctx, "shaped", f"shaped{iterations}", settings)[0]


def shaped_gan(sampler: CollabSampler, ctx: SamplingContext, iterations: int, lr: float,
               batch_size: int) -> tuple[GAN, Path]:
    """``sampler.gan`` with D shaped ``iterations`` steps (Algorithm 2), from the cache when present.

    The cache file lies under ``ctx.cache_dir/shaped`` (or a shipped copy under
    ``<checkpoint_dir>/shaped``), keyed by the parent checkpoint's hash, the shaping settings, the
    sampler's refinement settings and the seed (:mod:`ganmc.derived`).
    """

    def shape() -> tuple[GAN, list[dict[str, float]]]:
        gen = torch.Generator().manual_seed(ctx.seed)
        return shape_discriminator(sampler, ctx.dataset, iterations, lr, batch_size, gen, progress=False)

    settings = _settings(sampler, ctx, iterations, lr, batch_size)
    return derived_gan(sampler.gan, ctx, "shaped", f"shaped{iterations}", settings, shape)
