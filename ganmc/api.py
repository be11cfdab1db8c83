"""ganmc from Python: your own GAN (:meth:`GAN.from_modules`), a sampler preset on it
(:func:`sample`) and the metrics of a sample set (:func:`measure`).

``sample`` composes the very preset ``ganmc sample +sampler=NAME`` composes (Hydra's compose
API on ``ganmc/conf``) and builds the sampler as the CLI does (:func:`ganmc.run.sampler.build_sampler`),
with the sampling generator seeded as the CLI seeds it: the same name is the same method, and
the same GAN and seed give the same samples.
"""

from __future__ import annotations

import hashlib
import tempfile
from collections.abc import Sequence
from importlib import resources
from typing import Any

import numpy as np
import torch
from hydra import compose, initialize_config_module
from hydra.errors import HydraException
from omegaconf import DictConfig, OmegaConf
from omegaconf.errors import OmegaConfBaseException

from ganmc.checks import check_magnitude, validate_run
from ganmc.config import register_configs
from ganmc.data import ImageDataset, SyntheticDataset
from ganmc.errors import GanmcError
from ganmc.io import derive_seed
from ganmc.metrics.registry import (
    check_metric,
    check_metric_files,
    check_named_metrics,
    compute_metrics,
    prepare_metrics,
)
from ganmc.models.contracts import check_output_shape
from ganmc.models.gan import GAN
from ganmc.run.gans import build_dataset, gan_lock, obtain_gan, resolve_device
from ganmc.run.sampler import build_sampler
from ganmc.samplers import SampleBatch

__all__ = ["GAN", "SampleBatch", "TensorData", "load_gan", "measure", "presets", "sample"]


class TensorData(SyntheticDataset):
    """Real samples given as a tensor (n, dim): drawn with replacement, as a data set is."""

    def __init__(self, points: torch.Tensor | np.ndarray, name: str = "data") -> None:
        points = torch.as_tensor(points).detach().cpu().float()
        if points.dim() != 2 or len(points) == 0 or not bool(torch.isfinite(points).all()):
            raise GanmcError(f"data= has shape {tuple(points.shape)}: expected finite points of shape (n, dim)")
        self.points, self.name, self.dim = points, name, int(points.shape[1])

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.points[torch.randint(len(self.points), (n,), generator=generator)]

    def fingerprint(self) -> str:
        return hashlib.sha256(self.points.numpy().tobytes()).hexdigest()


class _NoData:
    """The data set of a call without ``data=``: a sampler that reads it says what is missing."""

    def __init__(self, sampler: str) -> None:
        self._sampler = sampler

    def __getattr__(self, name: str) -> Any:
        if name.startswith("_"):  # copy, pickle and the like probe for these
            raise AttributeError(name)
        raise GanmcError(f"sampler {self._sampler} needs real data (to calibrate or shape D, start chains or "
                         "stop refinement): pass data= (a tensor, a ganmc data set or a dataset name)")


def presets() -> list[str]:
    """The sampler presets of ``ganmc/conf/sampler/`` (the names ``+sampler=`` takes)."""
    folder = resources.files("ganmc.conf").joinpath("sampler")
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".yaml"))


def compose_config(overrides: Sequence[str]) -> DictConfig:
    """The ``ganmc sample`` config of these command-line ``overrides`` (nothing runs)."""
    register_configs()
    try:
        with initialize_config_module("ganmc.conf", version_base="1.3"):
            return compose("sample", overrides=list(overrides))
    except (HydraException, OmegaConfBaseException) as exc:
        from ganmc.cli import one_line

        raise GanmcError(one_line(exc)) from None


def _dataset(data: Any, cfg: DictConfig) -> Any:
    """``data`` as a data set: a dataset name (``cfg`` was composed with ``dataset=NAME``), a
    ganmc data set or points; ``None`` stays ``None``."""
    if isinstance(data, str):
        return build_dataset(cfg)
    if data is None or isinstance(data, SyntheticDataset | ImageDataset):
        return data
    return TensorData(data)


def sample(gan: GAN, sampler: str = "generator", n: int = 10000, seed: int = 0, data: Any = None,
           batch_size: int | None = None, smoke: bool = False, **overrides: Any) -> SampleBatch:
    """``n`` samples of ``gan`` by the preset ``sampler`` (a name of :func:`presets`), with
    ``overrides`` of its settings (``step_size=0.01``, ``discriminator={"steps": 100}``).

    ``data``: real data (a tensor (n, dim), a ganmc data set or a dataset name such as
    ``"gaussians25"``) for the samplers that need it; ``smoke``: the sampler at its smallest
    budget. Returns samples, latents, stats, g_evals and d_evals (on the CPU). Samples equal
    ``ganmc sample +sampler=NAME n_samples=N seed=S``'s on the same GAN (``batch_size``: the
    CLI's default unless given).
    """
    if sampler not in presets():
        raise GanmcError(f"unknown sampler preset {sampler!r}: choose one of {', '.join(presets())}")
    named = [f"dataset={data}"] if isinstance(data, str) else []
    cfg = compose_config([f"+sampler={sampler}", f"seed={int(seed)}", f"n_samples={int(n)}", *named])
    dataset = _dataset(data, cfg)
    try:
        cfg = OmegaConf.merge(cfg, {"sampler": overrides, "smoke": bool(smoke)} |
                              ({"batch_size": int(batch_size)} if batch_size else {}))
    except OmegaConfBaseException as exc:
        from ganmc.cli import one_line

        raise GanmcError(f"ganmc.sample({sampler!r}): {one_line(exc)}") from None
    validate_run(cfg)
    if dataset is not None:
        with torch.no_grad():
            probe = gan.generator(gan.prior.sample(1, torch.Generator().manual_seed(0), gan.device))
        check_output_shape(probe.shape[1:], getattr(dataset, "shape", None) or dataset.dim)
    with tempfile.TemporaryDirectory(prefix="ganmc-api-") as cache:
        # a derived D is keyed by its parent checkpoint: a GAN without one derives it afresh
        cfg.cache_dir, cfg.checkpoint_dirs = cache, []
        built = build_sampler(cfg, gan, dataset if dataset is not None else _NoData(sampler), None)
        gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "sample"))
        batch = built.sample(int(cfg.n_samples), gen, int(cfg.batch_size), store=lambda x: x.detach().cpu())
    check_magnitude(batch.samples, f"sampler {built.name}")
    if batch.latents is not None:
        batch.latents = batch.latents.detach().cpu()
    return batch


def measure(samples: torch.Tensor | np.ndarray, dataset: str | Any = "gaussians25",
            metrics: Sequence[str] | None = None, seed: int = 0) -> dict[str, Any]:
    """The metrics of ``samples`` against ``dataset`` (a dataset name or a ganmc data set), as
    ``ganmc sample`` computes them (:mod:`ganmc.metrics.registry`): a dict. ``metrics``: the
    names to compute (default: the metric config's list)."""
    points = torch.as_tensor(np.asarray(samples) if not isinstance(samples, torch.Tensor) else samples)
    name = dataset if isinstance(dataset, str) else None
    cfg = compose_config([f"dataset={name}"] if name else [])
    data = build_dataset(cfg) if name else dataset
    if isinstance(data, ImageDataset):
        cfg = compose_config([f"dataset={name}", "metric=image"] if name else ["metric=image"])
    if metrics is not None:
        cfg.metric.metrics = list(metrics)
    check_output_shape(points.shape[1:], getattr(data, "shape", None) or data.dim)
    check_metric(data, cfg.metric)
    check_named_metrics(data, list(metrics or []))
    check_metric_files(data, cfg.metric, cfg.cache_dir)
    device = resolve_device(str(cfg.device))
    prepare_metrics(data, cfg.metric, cfg.cache_dir, device)
    return compute_metrics(points.detach().cpu(), data, cfg.metric, int(seed), cfg.cache_dir, device)


def load_gan(*overrides: str) -> GAN:
    """The GAN ``ganmc sample OVERRIDES`` loads (``"dataset=gaussians25"``, ``"gan=wgan_gp_mlp"``,
    ``"seed=0"``, ``"gan.checkpoint=PATH"``): from the checkpoint, the cache or the shipped
    checkpoints, else trained and cached as ``ganmc train`` does."""
    cfg = compose_config(list(overrides))
    validate_run(cfg)
    dataset = build_dataset(cfg)
    with gan_lock(cfg):
        gan, _ = obtain_gan(cfg, dataset, resolve_device(str(cfg.device)))
    return gan
