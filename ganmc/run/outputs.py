"""A run's files: samples (``samples.npy`` and plots), ``.hydra/`` and ``record.json``, written
into a staging folder that moves into the run folder once everything is written."""

from __future__ import annotations

import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from ganmc.data import Dataset, ImageDataset
from ganmc.grid import save_before_after, save_grid
from ganmc.io import derive_seed, save_npy_atomic, write_json_atomic
from ganmc.models.gan import GAN
from ganmc.models.own import own_gan_name
from ganmc.plots import scatter_2d, write_samples
from ganmc.record_schema import RunInfo, SampleRecord, SampleTiming, TrainRecord, TrainTiming
from ganmc.records import resolved_config
from ganmc.run.folder import RunFolder
from ganmc.samplers import GeneratorSampler, SampleBatch, Sampler, SamplingContext
from ganmc.samplers.per_label import PerLabel
from ganmc.settings import gan_config


def run_info(cfg: DictConfig, sampler: Sampler, choice: str, n: int) -> RunInfo:
    own = own_gan_name(gan_config(cfg))
    return RunInfo(sampler=choice, method=sampler.name, dataset=cfg.dataset.name, gan=own or cfg.gan.name,
                   seed=int(cfg.seed), n_samples=n, train_iterations=None if own else int(cfg.gan.train.iterations))


def sample_timing(start: float, started_at: float, sample_seconds: float, metric_seconds: float,
                  batch: SampleBatch, n: int) -> SampleTiming:
    """The timing part of a sampling record, with the wall time up to now."""
    return SampleTiming(wall_seconds=time.perf_counter() - start, started_at=started_at, finished_at=time.time(),
                        sample_seconds=sample_seconds, metric_seconds=metric_seconds,
                        evals_per_sample={"G": batch.g_evals / n, "D": batch.d_evals / n})


def write_sample_run(folder: RunFolder, cfg: DictConfig, dataset: Dataset, sampler: Sampler, samples: torch.Tensor,
                     batch: SampleBatch, record: Callable[[], SampleRecord]) -> SampleRecord:
    """Write the samples (and plots), then ``record()`` as ``record.json``; all files move into
    the run folder together once written."""
    with folder.staged() as stage:
        write_samples(stage, samples, dataset, cfg, sampler.name)
        if batch.labels is not None:  # a class-conditional GAN's: the label of each sample
            save_npy_atomic(stage / "labels.npy", batch.labels.cpu().numpy())
        if cfg.plot and isinstance(dataset, ImageDataset) and "step_0000" in batch.extra:
            save_before_after(batch.extra["step_0000"], samples, stage / "before_after.png")
        written = record()  # after the samples: its wall time counts their writing
        write_json_atomic(stage / "record.json", written)
    return written


def train_record(cfg: DictConfig, path: Path, existed: bool, provenance: dict[str, Any],
                 start: float) -> TrainRecord:
    return TrainRecord(command="train", checkpoint=str(path), cached=existed, config=resolved_config(cfg),
                       provenance=provenance, timing=TrainTiming(wall_seconds=time.perf_counter() - start))


def write_train_run(folder: RunFolder, cfg: DictConfig, dataset: Dataset, gan: GAN,
                    record: Callable[[], TrainRecord]) -> TrainRecord:
    """Write a preview of the GAN's samples (when ``plot``), then ``record()`` as ``record.json``."""
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "preview"))
    with folder.staged() as stage:
        if isinstance(dataset, ImageDataset):
            if cfg.plot:
                save_grid(_generated(gan, dataset, 64, gen), stage / "samples.png")
        elif cfg.plot:
            preview = _generated(gan, dataset, min(int(cfg.n_samples), 5000), gen).cpu()
            scatter_2d(dataset.sample(len(preview), gen), preview, stage / "samples.png",
                       f"{cfg.gan.name} on {cfg.dataset.name}, seed {cfg.seed}", dataset.centres)
        written = record()
        write_json_atomic(stage / "record.json", written)
    return written


def _generated(gan: GAN, dataset: Dataset, n: int, gen: torch.Generator) -> torch.Tensor:
    """``n`` samples of the generator alone (a class-conditional one's at uniform labels)."""
    if gan.num_classes is None:
        return GeneratorSampler(gan).sample(n, gen).samples
    sampler = PerLabel(GeneratorSampler, gan)
    sampler.prepare(SamplingContext(dataset))
    return sampler.sample(n, gen).samples
