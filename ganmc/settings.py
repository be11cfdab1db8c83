"""The run config resolved into the typed values that the packages below the run take.

Hydra composes a ``DictConfig``; the commands (:mod:`ganmc.run`, :mod:`ganmc.api`,
:mod:`ganmc.checks`) resolve what they pass down here, so that models, samplers, metrics and
the derived discriminators never receive a config node (nor an OmegaConf list): the ``gan``
node as its schema's dataclass (:class:`~ganmc.models.schemas.GanConfig`), the GAN's
:class:`~ganmc.models.checkpoint.CheckpointSpec`, the ``metric`` node as
:class:`~ganmc.metrics.settings.MetricSettings` and any other value as plain Python data (a
sampler gets its node's values from Hydra, converted: :func:`ganmc.run.sampler.construct_sampler`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ganmc.metrics.settings import ClassifierSettings, MetricSettings
from ganmc.models.checkpoint import CheckpointSpec
from ganmc.models.schemas import GanConfig


def plain_value(value: Any) -> Any:
    """A config value as plain Python data (an OmegaConf list or dict as a list or dict, resolved)."""
    return OmegaConf.to_container(value, resolve=True) if OmegaConf.is_config(value) else value


def gan_config(cfg: DictConfig) -> GanConfig:
    """The run's ``gan`` node as its schema's dataclass (its nets' nodes as theirs)."""
    gan = OmegaConf.to_object(cfg.gan)
    assert isinstance(gan, GanConfig)
    return gan


def checkpoint_spec(cfg: DictConfig) -> CheckpointSpec:
    """What names and keys the run's trained GAN: its ``gan``, the data set's resolved config,
    the seed, the cache folder and the folders of shipped checkpoints."""
    dataset = OmegaConf.to_container(cfg.dataset, resolve=True, enum_to_str=True)
    assert isinstance(dataset, dict)
    return CheckpointSpec(gan_config(cfg), dataset, int(cfg.seed), Path(str(cfg.cache_dir)).expanduser(),
                          tuple(str(folder) for folder in cfg.get("checkpoint_dirs") or []))


def metric_settings(node: DictConfig) -> MetricSettings:
    """The ``metric`` node as :class:`MetricSettings` (enums as their names, lists as tuples)."""
    values = OmegaConf.to_container(node, resolve=True, enum_to_str=True)
    assert isinstance(values, dict)
    classifier = values.pop("classifier", None)
    settings = {str(k): tuple(v) if isinstance(v, list) else v for k, v in values.items()}
    return MetricSettings(**settings, **({"classifier": ClassifierSettings(**classifier)} if classifier else {}))
