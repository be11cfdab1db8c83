"""``ganmc shape``: shape the configured GAN's D (collaborative sampling, Algorithm 2) and save it.

The schedule is the sampler's ``sampler.discriminator`` node (``steps``, ``lr``, ``batch``), so the
shaped D is the one ``+sampler=collab sampler.discriminator.kind=shaped`` derives (same file name
and key under ``<cache_dir>/shaped/``, :mod:`ganmc.discriminators`): a sampling run with the same
settings loads it instead of shaping again; ``shape.out`` writes it elsewhere.
"""

from __future__ import annotations

import logging
import time
from pathlib import Path

from omegaconf import DictConfig, OmegaConf

from ganmc.checks import preflight, validate_run
from ganmc.context import SamplingContext
from ganmc.discriminators import derive
from ganmc.errors import GanmcError
from ganmc.io import derive_seed, sha256_file, write_json_atomic
from ganmc.record_schema import ShapeRecord
from ganmc.records import provenance, same_run_record
from ganmc.run.gans import build_dataset, obtain_gan, resolve_device
from ganmc.run.sampler import construct_sampler
from ganmc.samplers.collab import CollabSampler
from ganmc.settings import checkpoint_spec
from ganmc.threads import apply_threads

log = logging.getLogger(__name__)


def run_shape(cfg: DictConfig, run_dir: Path) -> ShapeRecord:
    """``ganmc shape``: obtain the GAN, shape D, save the new checkpoint, write ``record.json``."""
    validate_run(cfg)
    if cfg.shape.median_every <= 0:
        raise GanmcError(f"shape.median_every must be positive, got {cfg.shape.median_every}")
    apply_threads(cfg)
    kept = _kept_record(run_dir / "record.json", cfg)
    if kept is not None:
        return kept
    start = time.perf_counter()
    device = resolve_device(cfg)
    dataset = build_dataset(cfg)
    preflight(cfg, run_dir, dataset)
    gan, parent = obtain_gan(cfg, dataset, device)
    if gan.num_classes is not None:
        raise GanmcError("ganmc shape shapes an unconditional GAN's D: a class-conditional GAN's D is shaped at "
                         "each label by the sampling run itself (+sampler=collab_shaped)")
    sampler = construct_sampler(cfg, gan)
    if not isinstance(sampler, CollabSampler):
        raise GanmcError("ganmc shape refines with the collab sampler: use sampler=collab (or leave it unset)")
    spec = checkpoint_spec(cfg)
    ctx = SamplingContext(dataset, parent, spec.cache_dir, derive_seed(spec.seed, "prepare"), spec)  # as a sampling run's
    d = sampler.cfg.discriminator
    if d.steps <= 0:
        raise GanmcError(f"sampler.discriminator.steps must be positive, got {d.steps}")
    sampler.setup(ctx)
    spec = sampler.shaping(ctx, d.steps, d.lr, d.batch, int(cfg.shape.median_every), progress=True)
    out = Path(str(cfg.shape.out)).expanduser() if cfg.shape.out else None
    bad = [int(s) for s in cfg.shape.snapshots if not 0 < int(s) < d.steps]
    if bad:
        raise GanmcError(f"shape.snapshots must lie between 0 and sampler.discriminator.steps={d.steps}, got {bad}")
    snapshots = tuple(sampler.shaping(ctx, int(s), d.lr, d.batch, int(cfg.shape.median_every))
                      for s in cfg.shape.snapshots)
    _, path, history = derive(gan, ctx, spec, out, snapshots)
    record: ShapeRecord = {
        "command": "shape",
        "parent": {"path": str(parent), "sha256": sha256_file(parent)},
        "shaping": {"history": history, "sampler": sampler.name, "loaded": history is None},
        "checkpoint": str(path),
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "provenance": provenance(device, str(path), sha256_file(path)),
        "timing": {"wall_seconds": time.perf_counter() - start},
    }
    write_json_atomic(run_dir / "record.json", record)
    if history is None:
        log.info("already shaped with these settings: %s", path)
    else:
        log.info("shaped discriminator (%d iterations, final BCE %.4f) saved at %s", d.steps,
                 history[-1]["bce"] if history else float("nan"), path)
    return record


def _kept_record(path: Path, cfg: DictConfig) -> ShapeRecord | None:
    """The folder's record when it is of the same config and its D is still on disk: a rerun keeps
    it (it holds the shaping's history and time) instead of replacing it with a 'loaded' one."""
    record = same_run_record(path, cfg)
    if record is None or not Path(str(record.get("checkpoint", ""))).is_file():
        return None
    log.info("skipping: %s already holds the record of this config (D at %s)", path.parent, record["checkpoint"])
    return record  # type: ignore[return-value]
