"""What ``ganmc train`` and ``ganmc sample`` do: config -> data + GAN -> samples -> metrics -> record."""

from __future__ import annotations

import logging
import time
from dataclasses import replace
from typing import Any

import torch
from omegaconf import DictConfig

from ganmc.checks import check_magnitude, preflight, validate_run
from ganmc.data import ImageDataset
from ganmc.data.images import to_uint8
from ganmc.errors import GanmcError
from ganmc.io import derive_seed, sha256_file
from ganmc.metrics.labels import label_match
from ganmc.metrics.registry import (
    check_metric,
    check_metric_files,
    compute_metrics,
    prepare_metrics,
)
from ganmc.metrics.settings import MetricSettings
from ganmc.models.checkpoint import cache_path
from ganmc.record_schema import TARGET_SET, SampleRecord, TrainRecord
from ganmc.records import provenance, resolved_config, same_run_record, sampler_choice
from ganmc.run.folder import RunFolder
from ganmc.run.gans import build_dataset, gan_lock, obtain_gan, resolve_device
from ganmc.run.outputs import (
    run_info,
    sample_timing,
    train_record,
    write_sample_run,
    write_train_run,
)
from ganmc.run.phases import Phases
from ganmc.run.sampler import build_sampler
from ganmc.samplers import SampleBatch
from ganmc.samplers.target import CHUNK, estimate_target
from ganmc.settings import checkpoint_spec, metric_settings
from ganmc.threads import apply_threads

log = logging.getLogger(__name__)


def run_train(cfg: DictConfig, folder: RunFolder) -> TrainRecord:
    """``ganmc train``: train (or find cached) the configured GAN; write ``record.json`` (replacing
    one in ``folder``)."""
    validate_run(cfg)
    apply_threads(cfg)  # before any torch work
    start = time.perf_counter()
    device = resolve_device(cfg)
    dataset = build_dataset(cfg)
    preflight(cfg, folder.path, dataset)
    folder.claim(fresh_log=folder.holds_record())  # checked: the run writes into the folder from here
    with gan_lock(cfg):  # whether it existed, and the hash of the file used, under the cache lock
        cached = cache_path(checkpoint_spec(cfg))
        existed = cached.is_file() and not cfg.retrain and not cfg.gan.checkpoint
        if existed:
            log.info("already trained: %s (retrain=true trains it again)", cached)
        gan, path = obtain_gan(cfg, dataset, device, grid_dir=folder.output_dir("grids") if cfg.plot else None)
        checkpoint_sha256 = sha256_file(path)
    return write_train_run(folder, cfg, dataset, gan, lambda: train_record(
        cfg, path, existed, provenance(device, str(path), checkpoint_sha256), start))


def run_sample(cfg: DictConfig, folder: RunFolder) -> SampleRecord:
    """``ganmc sample``: obtain the GAN, run the sampler, compute metrics, write the run's files.

    A run whose folder already holds the record of the same resolved config is skipped, so an
    interrupted sweep resumes where it stopped; one holding another config's record is refused
    (it is replaced with ``overwrite=true``). A refused run writes nothing into the folder.
    """
    validate_run(cfg)
    apply_threads(cfg)  # before any torch work
    run_dir = folder.path
    kept = same_run_record(run_dir / "record.json", cfg)
    if kept is not None:
        folder.claim(fresh_log=False)
        log.info("skipping: %s already holds the record of this config", run_dir)
        return kept  # type: ignore[return-value]
    if folder.holds_record() and not cfg.get("overwrite"):
        raise GanmcError(f"{run_dir} holds the record of another config: choose another run folder "
                         "(hydra.run.dir=DIR) or pass overwrite=true to replace it")
    start, started_at = time.perf_counter(), time.time()
    device = resolve_device(cfg)
    phases = Phases(device)
    dataset = build_dataset(cfg)
    metric = metric_settings(cfg.metric)
    check_metric(dataset, metric)
    preflight(cfg, run_dir, dataset)
    check_metric_files(dataset, metric, cfg.cache_dir)  # weights files: there, and read safely
    folder.claim(fresh_log=folder.holds_record())  # checked: the run writes into the folder from here
    with gan_lock(cfg):  # the hash names the very file loaded (another run may retrain it later)
        gan, path = obtain_gan(cfg, dataset, device)
        checkpoint_sha256 = sha256_file(path)
    phases.done("load")
    sampler = build_sampler(cfg, gan, dataset, path)
    phases.done("prepare")
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "sample"))
    log.info("sampling %d with %s", int(cfg.n_samples), sampler_choice(sampler))
    images = isinstance(dataset, ImageDataset)
    keep = to_uint8 if images else _on_cpu  # images are kept as uint8: 3 KB each at 32x32
    batch: SampleBatch = sampler.sample(int(cfg.n_samples), gen, int(cfg.batch_size), progress=True, store=keep)
    for name, part in {"samples": batch.samples, **batch.extra}.items():
        check_magnitude(part, f"sampler {sampler.name}" + ("" if name == "samples" else f" ({name})"))
    sample_seconds = phases.done("sample")
    target, target_info = None, None
    if metric.target:  # opt-in: its pool costs sir_factor times the samples' G and D passes
        target = estimate_target(sampler, len(batch), gen, int(metric.sir_factor), int(metric.sir_max_pool),
                                 None if images else dataset, int(cfg.eval_batch or CHUNK), keep)
    if target is not None:
        batch.extra[TARGET_SET], target_info = target
        target_info["seconds"] = phases.done("target")
    samples = batch.samples
    prepare_metrics(dataset, metric, cfg.cache_dir, device)  # reference statistics, once per cache
    phases.done("reference")
    log.info("computing metrics of %d samples%s", len(samples),
             f" (and of the extra sets: {', '.join(batch.extra)})" if batch.extra else "")
    metrics = compute_metrics(samples, dataset, metric, int(cfg.seed), cfg.cache_dir, device)
    per_class = label_stats(batch, dataset, metrics, gan.num_classes)
    target_metrics = {name: compute_metrics(extra, dataset, _extra_metrics(metric, name), int(cfg.seed),
                                            cfg.cache_dir, device, extra_protocols=False)
                      for name, extra in batch.extra.items()}
    metric_seconds = phases.done("metrics")

    def record() -> SampleRecord:
        timing = sample_timing(start, started_at, sample_seconds, metric_seconds, batch, len(samples))
        return SampleRecord(
            command="sample", run=run_info(cfg, sampler, sampler_choice(sampler), len(samples)),
            metrics=metrics, target_metrics=target_metrics, target=target_info,
            stats={**batch.stats, **sampler.prep_stats, **per_class}, config=resolved_config(cfg),
            provenance=provenance(device, str(path), checkpoint_sha256),
            timing={**timing, "phases": phases.seconds, "peak_rss_mb": phases.peak_mb})

    written = write_sample_run(folder, cfg, dataset, sampler, samples, batch, record)
    log.info("metrics: %s", ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in metrics.items()))
    return written


def label_stats(batch: SampleBatch, dataset: Any, metrics: dict[str, Any], num_classes: int | None) -> dict[str, Any]:
    """A class-conditional GAN's samples: ``label_match`` into ``metrics`` (mixtures, whose classes
    are their modes); the samples per label and, there, the match per label, as stats."""
    if batch.labels is None:
        return {}
    matched = label_match(batch.samples, batch.labels, dataset)
    if matched:
        metrics["label_match"] = matched["label_match"]
    counts = torch.bincount(batch.labels.cpu(), minlength=num_classes or 0).tolist()
    return {"label_counts": counts, **({"label_match_per_class": matched["label_match_per_class"]} if matched else {})}


def _on_cpu(samples: torch.Tensor) -> torch.Tensor:
    """2-D samples as kept for the metrics: float32 on the CPU."""
    return samples.detach().cpu().float()


def _extra_metrics(metric: MetricSettings, name: str) -> MetricSettings:
    """The metric settings of the extra sample set ``name``: the target's set measures only
    ``metric.target_metrics`` where given (the tables' readings: no unread EMD solves)."""
    if name != TARGET_SET or metric.target_metrics is None:
        return metric
    return replace(metric, metrics=metric.target_metrics)
