"""What ``ganmc train`` and ``ganmc sample`` do: config -> data + GAN -> samples -> metrics -> record."""

from __future__ import annotations

import hashlib
import logging
import time
from pathlib import Path
from typing import Any

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganmc.config import validate_run
from ganmc.data.synthetic import SyntheticDataset
from ganmc.errors import CheckpointError, GanmcError
from ganmc.io import save_npy_atomic, sha256_file, write_json_atomic
from ganmc.metrics import emd, mode_metrics
from ganmc.metrics.collab import collab_metrics
from ganmc.models.checkpoint import cache_path, load_gan, save_checkpoint
from ganmc.models.gan import GAN, build_gan
from ganmc.plots import scatter_2d
from ganmc.records import provenance
from ganmc.samplers import GeneratorSampler, SampleBatch, Sampler
from ganmc.training import train_gan

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; an unavailable CUDA request is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GanmcError(f"device={name} asked for, but CUDA is not available here: use device=cpu")
    return torch.device(name)


def derive_seed(seed: int, purpose: str) -> int:
    """An independent 63-bit seed for each use (training, sampling, metrics) of one ``seed``."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{purpose}".encode()).digest()[:8], "little") >> 1


def build_dataset(cfg: DictConfig) -> SyntheticDataset:
    """Instantiate the configured data set."""
    return instantiate(cfg.dataset)


def obtain_gan(cfg: DictConfig, dataset: SyntheticDataset, device: torch.device) -> tuple[GAN, Path]:
    """Load ``gan.checkpoint``, else the cached GAN for this config, else train and cache it."""
    if cfg.gan.checkpoint:
        path = Path(str(cfg.gan.checkpoint)).expanduser()
        if not path.is_file():
            raise CheckpointError(f"gan.checkpoint={path} does not exist: give the path of a trained checkpoint, "
                                  "or leave gan.checkpoint unset to train one")
        return _load_checked(path, cfg, dataset, device), path
    path = cache_path(cfg)
    if path.is_file() and not cfg.retrain:
        log.info("loading cached GAN %s", path)
        return _load_checked(path, cfg, dataset, device), path
    log.info("no trained GAN for this config%s: training %s on %s for %d iterations, caching at %s",
             "" if not path.is_file() else " (retrain=true)", cfg.gan.name, cfg.dataset.name,
             cfg.gan.train.iterations, path)
    gan = build_gan(cfg.gan, dataset.dim, cfg.seed).to(device)
    fingerprint = dataset.fingerprint()

    def snapshot(step: int, record: dict[str, Any]) -> None:
        target = cache_path(cfg, iterations=step)
        save_checkpoint(target, gan, cfg, step, fingerprint, record)
        log.info("snapshot at iteration %d cached at %s", step, target)

    record = train_gan(gan, dataset, cfg.gan.train, derive_seed(cfg.seed, "train"), on_snapshot=snapshot)
    save_checkpoint(path, gan, cfg, int(cfg.gan.train.iterations), fingerprint, record)
    return gan.eval(), path


def _load_checked(path: Path, cfg: DictConfig, dataset: SyntheticDataset, device: torch.device) -> GAN:
    gan, payload = load_gan(path, cfg, dataset.dim)
    if payload.get("data_fingerprint") and payload["data_fingerprint"] != dataset.fingerprint():
        raise CheckpointError(f"checkpoint {path} was trained on other data than dataset={cfg.dataset.name}: "
                              "set dataset= to the data set it was trained on")
    return gan.to(device).eval()


def build_sampler(cfg: DictConfig, gan: GAN, dataset: SyntheticDataset | None = None) -> Sampler:
    """The configured sampler, or the generator alone when ``sampler`` is unset.

    Samplers that declare ``needs_dataset = True`` (real-data calibration, chain inits, the
    median stopping rule) also get ``dataset=``.
    """
    if cfg.sampler is None:
        return GeneratorSampler(gan)
    factory = instantiate(cfg.sampler)
    cls = getattr(factory, "func", factory)
    if getattr(cls, "needs_dataset", False):
        return factory(gan=gan, dataset=dataset)
    return factory(gan=gan)


def compute_metrics(samples: torch.Tensor, dataset: SyntheticDataset, metric_cfg: DictConfig,
                    seed: int) -> dict[str, Any]:
    """Mode metrics (mixtures only) and EMD to fresh real samples, as the metric config asks."""
    metrics: dict[str, Any] = {}
    samples = samples.detach().cpu()
    if metric_cfg.modes and dataset.centres is not None and dataset.std is not None:
        metrics.update(mode_metrics(samples, dataset.centres, dataset.std, float(metric_cfg.hq_threshold)))
    weights = getattr(dataset, "weights", None)
    if metric_cfg.get("collab") and dataset.centres is not None and dataset.std is not None and weights is not None:
        metrics.update(collab_metrics(samples, dataset.centres, dataset.std, weights, float(metric_cfg.hq_threshold)))
    if metric_cfg.emd:
        n = min(int(metric_cfg.emd_n or len(samples)), len(samples))
        cost = str(getattr(metric_cfg.emd_cost, "value", metric_cfg.emd_cost))
        real = dataset.sample(n, torch.Generator().manual_seed(derive_seed(seed, "emd-real")))
        metrics.update({"emd": emd(samples[:n], real, cost), "emd_n": n, "emd_cost": cost})
        if metric_cfg.emd_floor:
            other = dataset.sample(n, torch.Generator().manual_seed(derive_seed(seed, "emd-floor")))
            metrics["emd_floor"] = emd(other, real, cost)
    return metrics


def run_train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """``ganmc train``: train (or find cached) the configured GAN; write ``record.json``."""
    validate_run(cfg)
    start = time.perf_counter()
    device = resolve_device(str(cfg.device))
    dataset = build_dataset(cfg)
    existed = cache_path(cfg).is_file() and not cfg.retrain and not cfg.gan.checkpoint
    if existed:
        log.info("already trained: %s (retrain=true trains it again)", cache_path(cfg))
    gan, path = obtain_gan(cfg, dataset, device)
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "preview"))
    preview = GeneratorSampler(gan).sample(min(int(cfg.n_samples), 5000), gen).samples.cpu()
    if cfg.plot:
        scatter_2d(dataset.sample(len(preview), gen), preview, run_dir / "samples.png",
                   f"{cfg.gan.name} on {cfg.dataset.name}, seed {cfg.seed}", dataset.centres)
    record = {
        "command": "train",
        "checkpoint": str(path),
        "cached": existed,
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "provenance": provenance(device, str(path), sha256_file(path)),
        "timing": {"wall_seconds": time.perf_counter() - start},
    }
    write_json_atomic(run_dir / "record.json", record)
    return record


def run_sample(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """``ganmc sample``: obtain the GAN, run the sampler, compute metrics, write the run's files."""
    validate_run(cfg)
    start = time.perf_counter()
    device = resolve_device(str(cfg.device))
    dataset = build_dataset(cfg)
    gan, path = obtain_gan(cfg, dataset, device)
    sampler = build_sampler(cfg, gan, dataset)
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "sample"))
    t0 = time.perf_counter()
    batch: SampleBatch = sampler.sample(int(cfg.n_samples), gen, int(cfg.batch_size), progress=True)
    sample_seconds = time.perf_counter() - t0
    samples = batch.samples.detach().cpu().float()
    metrics = compute_metrics(samples, dataset, cfg.metric, int(cfg.seed))
    save_npy_atomic(run_dir / "samples.npy", samples.numpy())
    if cfg.plot:
        real = dataset.sample(min(len(samples), 5000), torch.Generator().manual_seed(derive_seed(cfg.seed, "plot")))
        scatter_2d(real, samples, run_dir / "samples.png",
                   f"{sampler.name}: {cfg.gan.name} on {cfg.dataset.name}, seed {cfg.seed}", dataset.centres)
    record = {
        "command": "sample",
        "run": {"sampler": sampler.name, "dataset": cfg.dataset.name, "gan": cfg.gan.name,
                "seed": int(cfg.seed), "n_samples": len(samples)},
        "metrics": metrics,
        "stats": batch.stats,
        "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
        "provenance": provenance(device, str(path), sha256_file(path)),
        "timing": {
            "wall_seconds": time.perf_counter() - start,
            "sample_seconds": sample_seconds,
            "evals_per_sample": {"G": batch.g_evals / len(samples), "D": batch.d_evals / len(samples)},
        },
    }
    write_json_atomic(run_dir / "record.json", record)
    log.info("metrics: %s", ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in metrics.items()))
    return record
