"""Measuring a sample set: a registry of metrics, each a function registered under a name.

A registered metric has a test of whether it applies (the metric config's switches
``modes``, ``collab``, ``emd``, ``emd_floor`` and the kind of data decide) and a function
from a :class:`MetricInput` to the record entries it adds. :func:`compute_metrics` runs
every metric that applies, in registration order, and merges their entries into one dict.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch
from omegaconf import DictConfig

from ganmc.common import DEFAULT_CACHE_DIR, enum_value
from ganmc.data import Dataset, ImageDataset
from ganmc.errors import GanmcError
from ganmc.io import derive_seed, sha256_json, write_json_atomic
from ganmc.metrics import emd, mode_metrics
from ganmc.metrics.collab import collab_metrics
from ganmc.metrics.emd import EMD_DEFAULT_N
from ganmc.metrics.target import region_masses, total_variation

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class MetricInput:
    """What a metric measures: the samples (detached, on the CPU) and the run's settings."""

    samples: torch.Tensor
    dataset: Dataset
    cfg: DictConfig  # the metric config
    seed: int
    cache_dir: str | Path | None
    device: torch.device | str

    def emd_n(self) -> int:
        """Points per side of the EMD: ``metric.emd_n``, else at most 10,000, and no more than the samples."""
        return min(int(self.cfg.emd_n or EMD_DEFAULT_N), len(self.samples))

    def emd_cost(self) -> str:
        return enum_value(self.cfg.emd_cost)

    def real(self, n: int) -> torch.Tensor:
        """The fresh real sample the EMD compares with (the same for every sampler of one seed)."""
        return self.dataset.sample(n, torch.Generator().manual_seed(derive_seed(self.seed, "emd-real")))


Applies = Callable[[DictConfig, Dataset], bool]
Measure = Callable[[MetricInput], dict[str, Any]]


@dataclass(frozen=True)
class Metric:
    name: str
    applies: Applies
    measure: Measure


METRICS: dict[str, Metric] = {}


def register_metric(name: str, applies: Applies) -> Callable[[Measure], Measure]:
    """Register ``fn`` as metric ``name``, run when ``applies(metric_cfg, dataset)`` holds."""
    def register(fn: Measure) -> Measure:
        if name in METRICS:
            raise ValueError(f"metric {name!r} is registered twice")
        METRICS[name] = Metric(name, applies, fn)
        return fn

    return register


def _points(dataset: Dataset) -> bool:
    return not isinstance(dataset, ImageDataset)


def _modes(dataset: Dataset) -> bool:
    return _points(dataset) and dataset.centres is not None and dataset.std is not None


@register_metric("images", lambda cfg, dataset: isinstance(dataset, ImageDataset))
def _images(m: MetricInput) -> dict[str, Any]:
    """IS/FID/cs/fd of images (reference statistics and the cs/fd classifier cached under ``cache_dir``)."""
    from ganmc.metrics.images import image_metrics  # torch-fidelity: imported only for images

    cache = Path(str(m.cache_dir if m.cache_dir is not None else DEFAULT_CACHE_DIR)).expanduser()
    return image_metrics(m.samples.float(), m.dataset, m.cfg, cache, m.device)


@register_metric("modes", lambda cfg, dataset: _modes(dataset) and bool(cfg.modes))
def _mode_metrics(m: MetricInput) -> dict[str, Any]:
    return mode_metrics(m.samples, m.dataset.centres, m.dataset.std, float(m.cfg.hq_threshold))


@register_metric("mass_tv", lambda cfg, dataset: _points(dataset) and dataset.region_masses() is not None)
def _mass_tv(m: MetricInput) -> dict[str, Any]:
    """Mode weights (or mass along the roll) of the samples vs the data's, as total variation."""
    data_masses = m.dataset.region_masses()
    masses = region_masses(m.dataset.regions(m.samples), None, len(data_masses))
    return {"mass_tv": total_variation(masses, data_masses)}


@register_metric("collab", lambda cfg, dataset: bool(cfg.get("collab")) and _modes(dataset)
                 and getattr(dataset, "weights", None) is not None)
def _collab(m: MetricInput) -> dict[str, Any]:
    return collab_metrics(m.samples, m.dataset.centres, m.dataset.std, m.dataset.weights,
                          float(m.cfg.hq_threshold))


@register_metric("emd", lambda cfg, dataset: _points(dataset) and bool(cfg.emd))
def _emd(m: MetricInput) -> dict[str, Any]:
    """Exact EMD between (at most ``emd_n``) samples and as many fresh real ones."""
    n, cost = m.emd_n(), m.emd_cost()
    log.info("solving exact EMD (%s cost) between %d samples and %d real ones", cost, n, n)
    return {"emd": emd(m.samples[:n], m.real(n), cost), "emd_n": n, "emd_cost": cost}


@register_metric("emd_floor", lambda cfg, dataset: _points(dataset) and bool(cfg.emd) and bool(cfg.emd_floor))
def _emd_floor(m: MetricInput) -> dict[str, Any]:
    return {"emd_floor": emd_floor(m.dataset, m.real, m.emd_n(), m.seed, m.emd_cost(), m.cache_dir)}


def check_metric(dataset: Dataset, metric_cfg: DictConfig) -> None:
    """Image data need ``metric=image`` and vector data a 2-D metric config: fail before compute."""
    image_metric = "metrics" in metric_cfg
    if isinstance(dataset, ImageDataset) and not image_metric:
        raise GanmcError(f"dataset={dataset.name} holds images but metric={metric_cfg.name} is for 2-D data: "
                         "set metric=image")
    if not isinstance(dataset, ImageDataset) and image_metric:
        raise GanmcError(f"metric={metric_cfg.name} is for images but dataset={dataset.name} is 2-D: "
                         "set metric=synthetic")


def compute_metrics(samples: torch.Tensor, dataset: Dataset, metric_cfg: DictConfig,
                    seed: int, cache_dir: str | Path | None = None,
                    device: torch.device | str = "cpu") -> dict[str, Any]:
    """Every registered metric the metric config asks for: IS/FID/cs/fd of images; mode metrics
    (mixtures only), mass TV, collab metrics and EMD (with its real-vs-real floor) of 2-D data."""
    check_metric(dataset, metric_cfg)
    given = MetricInput(samples.detach().cpu(), dataset, metric_cfg, seed, cache_dir, device)
    metrics: dict[str, Any] = {}
    for metric in METRICS.values():
        if metric.applies(metric_cfg, dataset):
            metrics.update(metric.measure(given))
    return metrics


def emd_floor(dataset: Dataset, real: Callable[[int], torch.Tensor], n: int, seed: int, cost: str,
              cache_dir: str | Path | None) -> float:
    """EMD between the real sample ``real(n)`` and a second real set of the same size: what
    sampling noise alone gives at this n. It depends only on the data, n, seed and cost, so it
    is solved once and kept under ``<cache_dir>/emd_floor/`` (a table's runs share it)."""
    key = sha256_json({"data": dataset.fingerprint(), "n": n, "seed": seed, "cost": cost})[:16]
    path = Path(str(cache_dir)).expanduser() / "emd_floor" / f"{key}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            return float(json.loads(path.read_text())["emd_floor"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable EMD floor cache %s", path)
    other = dataset.sample(n, torch.Generator().manual_seed(derive_seed(seed, "emd-floor")))
    value = emd(other, real(n), cost)
    if path is not None:
        write_json_atomic(path, {"emd_floor": value, "n": n, "seed": seed, "cost": cost})
    return value
