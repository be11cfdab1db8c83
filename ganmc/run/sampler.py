"""Building the configured sampler on a GAN (the generator alone when ``sampler`` is unset)."""

from __future__ import annotations

from pathlib import Path

from hydra.utils import instantiate
from omegaconf import DictConfig

from ganmc.data import Dataset
from ganmc.io import derive_seed
from ganmc.models.gan import GAN
from ganmc.samplers import GeneratorSampler, Sampler, SamplingContext


def build_sampler(cfg: DictConfig, gan: GAN, dataset: Dataset, checkpoint: Path | None) -> Sampler:
    """The configured sampler (the generator alone when ``sampler`` is unset), prepared: its
    ``prepare`` gets the data set, the checkpoint and the cache (one-time work such as deriving
    a calibrated or shaped D)."""
    sampler = construct_sampler(cfg, gan)
    cache = Path(str(cfg.cache_dir)).expanduser()
    sampler.prepare(SamplingContext(dataset, checkpoint, cache, derive_seed(cfg.seed, "prepare"), cfg))
    return sampler


def construct_sampler(cfg: DictConfig, gan: GAN) -> Sampler:
    """The configured sampler on ``gan`` (the generator alone when ``sampler`` is unset), not
    prepared: the data set reaches it only through ``prepare``'s context."""
    if cfg.sampler is None:
        return GeneratorSampler(gan)
    return instantiate(cfg.sampler)(gan=gan)
