"""Building the configured sampler on a GAN (the generator alone when ``sampler`` is unset)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.utils import get_class, instantiate
from omegaconf import DictConfig, OmegaConf

from ganmc.data import Dataset
from ganmc.io import derive_seed
from ganmc.models.gan import GAN
from ganmc.samplers import GeneratorSampler, Sampler, SamplingContext
from ganmc.samplers.per_label import PerLabel
from ganmc.settings import checkpoint_spec, plain_value


def build_sampler(cfg: DictConfig, gan: GAN, dataset: Dataset, checkpoint: Path | None) -> Sampler:
    """The configured sampler (the generator alone when ``sampler`` is unset), prepared: its
    ``prepare`` gets the data set, the checkpoint and the cache (one-time work such as deriving
    a calibrated or shaped D)."""
    sampler = construct_sampler(cfg, gan)
    spec = checkpoint_spec(cfg)
    sampler.prepare(SamplingContext(dataset, checkpoint, spec.cache_dir, derive_seed(spec.seed, "prepare"), spec))
    return sampler


def construct_sampler(cfg: DictConfig, gan: GAN) -> Sampler:
    """The configured sampler on ``gan`` (the generator alone when ``sampler`` is unset), not
    prepared: the data set reaches it only through ``prepare``'s context. With ``smoke=true``
    the sampler runs at its smallest budget (its class's ``smoke`` settings over the config). On
    a class-conditional GAN, one such sampler per label (:class:`PerLabel`, ``sampler_labels``).
    The sampler gets its settings as plain values (Hydra converts the node's lists and dicts)."""
    if gan.num_classes is not None:
        return PerLabel(lambda at_label: construct_sampler(cfg, at_label), gan, plain_value(cfg.get("sampler_labels")))
    if cfg.sampler is None:
        sampler: Sampler = GeneratorSampler(gan)
    else:
        node = cfg.sampler
        if cfg.get("smoke"):
            node = OmegaConf.merge(node, smoke_settings(str(node._target_)))
        sampler = instantiate(node, _convert_="all")(gan=gan)
    sampler.eval_batch = cfg.get("eval_batch")
    return sampler


def smoke_settings(target: str) -> dict[str, Any]:
    """The smallest-budget settings of the sampler class at ``target`` (its ``smoke``)."""
    return dict(getattr(get_class(target), "smoke", {}))
