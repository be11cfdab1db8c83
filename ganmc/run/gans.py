"""Obtaining a run's data and GAN: the device, the data set, and the GAN from ``gan.checkpoint``,
the cache, the shipped checkpoints or a fresh training run (under the cache lock)."""

from __future__ import annotations

import logging
import os
import re
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig

from ganmc.common import enum_value
from ganmc.data import Dataset
from ganmc.errors import CheckpointError, GanmcError
from ganmc.io import derive_seed, file_lock
from ganmc.models.adapters import load_foreign
from ganmc.models.checkpoint import (
    CheckpointSpec,
    cache_path,
    load_gan,
    resume_path,
    save_checkpoint,
)
from ganmc.models.gan import GAN, build_gan, data_shape
from ganmc.models.own import from_factory, load_torchscript_gan, torchscript_folder
from ganmc.settings import checkpoint_spec
from ganmc.training import train_gan
from ganmc.weights import require_file

log = logging.getLogger(__name__)


def resolve_device(cfg: DictConfig) -> torch.device:
    """The run's ``device``: 'auto' -> CUDA when present, else CPU; an unavailable CUDA request is
    an error. On CUDA its kernels are then set as ``deterministic`` asks (:func:`set_determinism`)."""
    name = str(cfg.device)
    if name == "auto":
        name = "cuda" if torch.cuda.is_available() else "cpu"
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GanmcError(f"device={name} asked for, but CUDA is not available here: use device=cpu")
    device = torch.device(name)
    set_determinism(device, bool(cfg.deterministic))
    return device


def set_determinism(device: torch.device, on: bool) -> None:
    """On CUDA, deterministic kernels (cuDNN's deterministic algorithms, torch's deterministic
    implementations, a fixed cuBLAS workspace) when ``on``, else the libraries' faster defaults.
    Without it a DDLS chain's gradients differ between two runs of one seed (measured on an H200).
    CPU kernels are deterministic for a fixed thread count: nothing is changed there."""
    if device.type != "cuda":
        return
    if on:  # read when cuBLAS makes its handles, so before the run's first CUDA matmul
        os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
    torch.backends.cudnn.deterministic = on
    torch.backends.cudnn.benchmark = False
    torch.use_deterministic_algorithms(on, warn_only=True)


def build_dataset(cfg: DictConfig) -> Dataset:
    """Instantiate the configured data set; its one-line errors reach the user unwrapped."""
    try:
        return instantiate(cfg.dataset)
    except InstantiationException as exc:
        if isinstance(exc.__cause__, GanmcError):
            raise exc.__cause__ from None
        raise


def obtain_gan(cfg: DictConfig, dataset: Dataset, device: torch.device,
               grid_dir: Path | None = None) -> tuple[GAN, Path]:
    """Your nets (``gan.factory``, a TorchScript ``gan.checkpoint``), else load ``gan.checkpoint``,
    else the cached GAN for this config, else train and cache it
    (writing sample grids of image GANs under ``grid_dir`` while training)."""
    spec = checkpoint_spec(cfg)
    gan_cfg = spec.gan
    if gan_cfg.factory:
        gan, path = from_factory(str(gan_cfg.factory), gan_cfg, data_shape(dataset))
        return gan.to(device).eval(), path
    if gan_cfg.checkpoint and enum_value(gan_cfg.checkpoint_format) == "torchscript":
        path = torchscript_folder(str(gan_cfg.checkpoint))
        return load_torchscript_gan(path, gan_cfg, data_shape(dataset)).to(device).eval(), path
    if gan_cfg.checkpoint:
        path = require_file(str(gan_cfg.checkpoint), f"gan.checkpoint={gan_cfg.checkpoint}",
                            "give the path of a trained checkpoint file (a .pt), or leave gan.checkpoint unset "
                            "to train one", CheckpointError)
        fmt = enum_value(gan_cfg.checkpoint_format)
        if fmt != "ganmc":
            gan = load_foreign(path, fmt, build_gan(gan_cfg, data_shape(dataset), spec.seed))
            return gan.to(device).eval(), path
        return _load_checked(path, spec, dataset, device), path
    path = cache_path(spec)
    with _lock(spec):  # concurrent runs of one uncached config: the first trains, the others wait
        return _cached_or_trained(cfg, spec, dataset, device, grid_dir, path)


def gan_lock(cfg: DictConfig) -> AbstractContextManager[None]:
    """The lock (``<cache file>.lock``) around finding or training ``cfg``'s cached GAN; none
    for a given ``gan.checkpoint`` or ``gan.factory``. Re-entrant: hold it around ``obtain_gan``
    to hash the file."""
    return _lock(checkpoint_spec(cfg))


def _lock(spec: CheckpointSpec) -> AbstractContextManager[None]:
    if spec.gan.checkpoint or spec.gan.factory:
        return nullcontext()
    path = cache_path(spec)
    return file_lock(path.with_name(path.name + ".lock"), "another run is training this GAN")


def _cached_or_trained(cfg: DictConfig, spec: CheckpointSpec, dataset: Dataset, device: torch.device,
                       grid_dir: Path | None, path: Path) -> tuple[GAN, Path]:
    """The GAN cached at ``path`` (or shipped), else trained now and cached there."""
    if path.is_file() and not cfg.retrain:
        log.info("loading cached GAN %s", path)
        return _load_checked(path, spec, dataset, device), path
    shipped = _shipped(cfg, path.name)
    if shipped is not None and not cfg.retrain:
        log.info("loading shipped GAN %s", shipped)
        return _load_checked(shipped, spec, dataset, device), shipped
    train = spec.gan.train
    log.info("no trained GAN for this config%s: training %s on %s for %d iterations, caching at %s",
             "" if not path.is_file() else " (retrain=true)", spec.gan.name, spec.dataset["name"],
             train.iterations, path)
    gan = build_gan(spec.gan, data_shape(dataset), spec.seed).to(device)
    fingerprint = dataset.fingerprint()

    def snapshot(step: int, record: dict[str, Any]) -> None:
        target = cache_path(spec, iterations=step)
        save_checkpoint(target, gan, spec, step, fingerprint, record)
        log.info("snapshot at iteration %d cached at %s", step, target)

    resume = None if cfg.retrain else resume_path(spec)
    record = train_gan(gan, dataset, train, derive_seed(spec.seed, "train"), on_snapshot=snapshot,
                       grid_dir=grid_dir, resume=resume, alternative=shipped_instead(cfg))
    save_checkpoint(path, gan, spec, int(train.iterations), fingerprint, record)
    return gan.eval(), path


def shipped_instead(cfg: DictConfig) -> str:
    """What ``checkpoint_dirs`` ship of ``cfg``'s data set and GAN (loaded, not trained, by a
    config that matches one): their training lengths and seeds, or that there are none."""
    prefix = f"{cfg.dataset.name}-{cfg.gan.name}-it"
    names = [p.name for folder in cfg.checkpoint_dirs for p in Path(str(folder)).expanduser().glob(f"{prefix}*.pt")]
    found = [m for n in names if (m := re.fullmatch(rf"{re.escape(prefix)}(\d+)-s(\d+)-[0-9a-f]+\.pt", n))]
    where = " ".join(str(f) for f in cfg.checkpoint_dirs)
    if not where:
        return "no shipped GAN is searched (checkpoint_dirs=[]; by default the repository's checkpoints/)"
    if not found:
        return f"no GAN of dataset={cfg.dataset.name} gan={cfg.gan.name} is shipped ({where} holds those that are)"
    lengths, seeds = (",".join(str(v) for v in sorted({int(m[i]) for m in found})) for i in (1, 2))
    return (f"shipped instead (no training, when the rest of the config matches): dataset={cfg.dataset.name} "
            f"gan={cfg.gan.name} gan.train.iterations={lengths} seed={seeds}, in {where}")


def _shipped(cfg: DictConfig, name: str) -> Path | None:
    """The checkpoint called ``name`` in one of ``checkpoint_dirs`` (read-only, shipped ones)."""
    for folder in cfg.checkpoint_dirs:
        candidate = Path(str(folder)).expanduser() / name
        if candidate.is_file():
            return candidate
    return None


def _load_checked(path: Path, spec: CheckpointSpec, dataset: Dataset, device: torch.device) -> GAN:
    gan, payload = load_gan(path, spec.gan, data_shape(dataset), spec.seed)
    if payload.get("data_fingerprint") and payload["data_fingerprint"] != dataset.fingerprint():
        raise CheckpointError(f"checkpoint {path} was trained on other data than dataset={spec.dataset['name']}: "
                              "set dataset= to the data set it was trained on")
    return gan.to(device).eval()
