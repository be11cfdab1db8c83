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
    """The configured sampler (the generator alone when ``sampler`` is unset), prepared.

    Samplers that declare ``needs_dataset = True`` (real-data calibration, chain inits, the
    median stopping rule) also get ``dataset=``; ``prepare`` then does one-time work such as
    calibrating D, with the checkpoint and cache at hand.
    """
    sampler = construct_sampler(cfg, gan, dataset)
    cache = Path(str(cfg.cache_dir)).expanduser()
    sampler.prepare(SamplingContext(dataset, checkpoint, cache, derive_seed(cfg.seed, "prepare"), cfg))
    return sampler


def construct_sampler(cfg: DictConfig, gan: GAN, dataset: Dataset) -> Sampler:
    """The configured sampler on ``gan`` (the generator alone when ``sampler`` is unset), not prepared."""
    if cfg.sampler is None:
        return GeneratorSampler(gan)
    factory = instantiate(cfg.sampler)
    cls = getattr(factory, "func", factory)
    return factory(gan=gan, dataset=dataset) if getattr(cls, "needs_dataset", False) else factory(gan=gan)
