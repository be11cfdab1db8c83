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
from ganmc.data.classes import parse_labels, per_sample
from ganmc.errors import GanmcError
from ganmc.io import derive_seed
from ganmc.metrics.labels import label_match
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
from ganmc.settings import metric_settings

__all__ = ["GAN", "SampleBatch", "TensorData", "load_gan", "measure", "presets", "sample"]


class TensorData(SyntheticDataset):
    """Real samples given as a tensor (n, dim): drawn with replacement, as a data set is; with
    ``labels`` (n class indices) they are the classes a class-conditional GAN's samplers read."""

    def __init__(self, points: torch.Tensor | np.ndarray, labels: Any = None, name: str = "data") -> None:
        points = torch.as_tensor(points).detach().cpu().float()
        if points.dim() != 2 or len(points) == 0 or not bool(torch.isfinite(points).all()):
            raise GanmcError(f"data= has shape {tuple(points.shape)}: expected finite points of shape (n, dim)")
        self.points, self.name, self.dim = points, name, int(points.shape[1])
        self.labels = None if labels is None else per_sample(labels, len(points), "TensorData labels")

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.points[torch.randint(len(self.points), (n,), generator=generator)]

    def class_weights(self) -> torch.Tensor | None:
        return None if self.labels is None else torch.bincount(self.labels).double() / len(self.labels)

    def sample_class(self, n: int, label: int, generator: torch.Generator) -> torch.Tensor:
        rows = torch.nonzero(self.labels == label).flatten()  # type: ignore[operator]
        return self.points[rows[torch.randint(len(rows), (n,), generator=generator)]]

    def fingerprint(self) -> str:
        digest = hashlib.sha256(self.points.numpy().tobytes())
        if self.labels is not None:
            digest.update(self.labels.numpy().tobytes())
        return digest.hexdigest()


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
           batch_size: int | None = None, smoke: bool = False, labels: Any = None, **overrides: Any) -> SampleBatch:
    """``n`` samples of ``gan`` by the preset ``sampler`` (a name of :func:`presets`), with
    ``overrides`` of its settings (``step_size=0.01``, ``discriminator={"steps": 100}``).

    ``data``: real data (a tensor (n, dim), a ganmc data set or a dataset name such as
    ``"gaussians25"``) for the samplers that need it; ``smoke``: the sampler at its smallest
    budget. ``labels`` (class-conditional GANs only): each sample's class, ``"uniform"`` (the
    default), ``"data"`` (the data's class shares), one class index or ``n`` of them. Returns
    samples, latents, labels, stats, g_evals and d_evals (on the CPU). Samples equal ``ganmc
    sample +sampler=NAME n_samples=N seed=S``'s on the same GAN (``batch_size``: the CLI's
    default unless given).
    """
    if sampler not in presets():
        raise GanmcError(f"unknown sampler preset {sampler!r}: choose one of {', '.join(presets())}")
    spec = parse_labels(labels, gan.num_classes, int(n), "labels")
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
    # checked above (the config's gan is not this one): one per sample, or one spec for all
    cfg.sampler_labels = spec.tolist() if isinstance(spec, torch.Tensor) else spec
    if dataset is not None:
        with torch.no_grad():
            net = gan.given(0).generator if gan.num_classes else gan.generator
            probe = net(gan.prior.sample(1, torch.Generator().manual_seed(0), gan.device))
        check_output_shape(probe.shape[1:], getattr(dataset, "shape", None) or dataset.dim)
    with tempfile.TemporaryDirectory(prefix="ganmc-api-") as cache:
        # a derived D is keyed by its parent checkpoint: a GAN without one derives it afresh
        cfg.cache_dir, cfg.checkpoint_dirs = cache, []
        built = build_sampler(cfg, gan, dataset if dataset is not None else _NoData(sampler), None)
        gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "sample"))
        batch = built.sample(int(cfg.n_samples), gen, int(cfg.batch_size), store=lambda x: x.detach().cpu())
    check_magnitude(batch.samples, f"sampler {built.name}")
    for key in ("latents", "labels"):
        if getattr(batch, key) is not None:
            setattr(batch, key, getattr(batch, key).detach().cpu())
    return batch


def measure(samples: torch.Tensor | np.ndarray, dataset: str | Any = "gaussians25",
            metrics: Sequence[str] | None = None, seed: int = 0, labels: Any = None) -> dict[str, Any]:
    """The metrics of ``samples`` against ``dataset`` (a dataset name or a ganmc data set), as
    ``ganmc sample`` computes them (:mod:`ganmc.metrics.registry`): a dict. ``metrics``: the
    names to compute (default: the metric config's list). ``labels``: the samples' classes (a
    class-conditional GAN's ``out.labels``): on a mixture, whose classes are its modes, also
    ``label_match`` (the share of samples at their label's mode) and ``label_match_per_class``."""
    points = torch.as_tensor(np.asarray(samples) if not isinstance(samples, torch.Tensor) else samples)
    name = dataset if isinstance(dataset, str) else None
    cfg = compose_config([f"dataset={name}"] if name else [])
    data = build_dataset(cfg) if name else dataset
    if isinstance(data, ImageDataset):
        cfg = compose_config([f"dataset={name}", "metric=image"] if name else ["metric=image"])
    if metrics is not None:
        cfg.metric.metrics = list(metrics)
    check_output_shape(points.shape[1:], getattr(data, "shape", None) or data.dim)
    settings = metric_settings(cfg.metric)
    check_metric(data, settings)
    check_named_metrics(data, list(metrics or []))
    check_metric_files(data, settings, cfg.cache_dir)
    device = resolve_device(cfg)
    prepare_metrics(data, settings, cfg.cache_dir, device)
    out = compute_metrics(points.detach().cpu(), data, settings, int(seed), cfg.cache_dir, device)
    if labels is not None:
        out.update(label_match(points, per_sample(labels, len(points), "labels"), data))
    return out


def load_gan(*overrides: str) -> GAN:
    """The GAN ``ganmc sample OVERRIDES`` loads (``"dataset=gaussians25"``, ``"gan=wgan_gp_mlp"``,
    ``"seed=0"``, ``"gan.checkpoint=PATH"``): from the checkpoint, the cache or the shipped
    checkpoints, else trained and cached as ``ganmc train`` does."""
    cfg = compose_config(list(overrides))
    validate_run(cfg)
    dataset = build_dataset(cfg)
    with gan_lock(cfg):
        gan, _ = obtain_gan(cfg, dataset, resolve_device(cfg))
    return gan
