"""What ``ganmc train`` and ``ganmc sample`` do: config -> data + GAN -> samples -> metrics -> record."""

from __future__ import annotations

import json
import logging
import time
from contextlib import AbstractContextManager, nullcontext
from pathlib import Path
from typing import Any

import torch
from hydra.errors import InstantiationException
from hydra.utils import instantiate
from omegaconf import DictConfig, OmegaConf

from ganmc.checks import check_magnitude, preflight, validate_run
from ganmc.data import Dataset, ImageDataset
from ganmc.errors import CheckpointError, GanmcError
from ganmc.grid import save_before_after, save_grid
from ganmc.io import (
    derive_seed,
    file_lock,
    sha256_file,
    sha256_json,
    staged_outputs,
    write_json_atomic,
)
from ganmc.metrics import emd, mode_metrics
from ganmc.metrics.collab import collab_metrics
from ganmc.metrics.emd import EMD_DEFAULT_N
from ganmc.metrics.target import region_masses, total_variation
from ganmc.models.adapters import load_foreign
from ganmc.models.checkpoint import cache_path, load_gan, resume_path, save_checkpoint
from ganmc.models.gan import GAN, build_gan, data_shape
from ganmc.plots import scatter_2d, write_samples
from ganmc.records import provenance, same_run, sampler_choice
from ganmc.samplers import GeneratorSampler, SampleBatch, Sampler, SamplingContext
from ganmc.samplers.target import estimate_target
from ganmc.threads import apply_threads
from ganmc.training import train_gan

log = logging.getLogger(__name__)


def resolve_device(name: str) -> torch.device:
    """'auto' -> CUDA when present, else CPU; an unavailable CUDA request is an error."""
    if name == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    if name.startswith("cuda") and not torch.cuda.is_available():
        raise GanmcError(f"device={name} asked for, but CUDA is not available here: use device=cpu")
    return torch.device(name)


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
    """Load ``gan.checkpoint``, else the cached GAN for this config, else train and cache it
    (writing sample grids of image GANs under ``grid_dir`` while training)."""
    if cfg.gan.checkpoint:
        path = Path(str(cfg.gan.checkpoint)).expanduser()
        if not path.is_file():
            raise CheckpointError(f"gan.checkpoint={path} does not exist: give the path of a trained checkpoint, "
                                  "or leave gan.checkpoint unset to train one")
        fmt = str(getattr(cfg.gan.checkpoint_format, "value", cfg.gan.checkpoint_format))
        if fmt != "ganmc":
            gan = load_foreign(path, fmt, build_gan(cfg.gan, data_shape(dataset), cfg.seed))
            return gan.to(device).eval(), path
        return _load_checked(path, cfg, dataset, device), path
    path = cache_path(cfg)
    with gan_lock(cfg):  # concurrent runs of one uncached config: the first trains, the others wait
        return _cached_or_trained(cfg, dataset, device, grid_dir, path)


def gan_lock(cfg: DictConfig) -> AbstractContextManager[None]:
    """The lock (``<cache file>.lock``) around finding or training ``cfg``'s cached GAN; none
    for a given ``gan.checkpoint``. Re-entrant: hold it around ``obtain_gan`` to hash the file."""
    if cfg.gan.checkpoint:
        return nullcontext()
    path = cache_path(cfg)
    return file_lock(path.with_name(path.name + ".lock"), "another run is training this GAN")


def _cached_or_trained(cfg: DictConfig, dataset: Dataset, device: torch.device, grid_dir: Path | None,
                       path: Path) -> tuple[GAN, Path]:
    """The GAN cached at ``path`` (or shipped), else trained now and cached there."""
    if path.is_file() and not cfg.retrain:
        log.info("loading cached GAN %s", path)
        return _load_checked(path, cfg, dataset, device), path
    shipped = _shipped(cfg, path.name)
    if shipped is not None and not cfg.retrain:
        log.info("loading shipped GAN %s", shipped)
        return _load_checked(shipped, cfg, dataset, device), shipped
    log.info("no trained GAN for this config%s: training %s on %s for %d iterations, caching at %s",
             "" if not path.is_file() else " (retrain=true)", cfg.gan.name, cfg.dataset.name,
             cfg.gan.train.iterations, path)
    gan = build_gan(cfg.gan, data_shape(dataset), cfg.seed).to(device)
    fingerprint = dataset.fingerprint()

    def snapshot(step: int, record: dict[str, Any]) -> None:
        target = cache_path(cfg, iterations=step)
        save_checkpoint(target, gan, cfg, step, fingerprint, record)
        log.info("snapshot at iteration %d cached at %s", step, target)

    resume = None if cfg.retrain else resume_path(cfg)
    record = train_gan(gan, dataset, cfg.gan.train, derive_seed(cfg.seed, "train"), on_snapshot=snapshot,
                       grid_dir=grid_dir, resume=resume)
    save_checkpoint(path, gan, cfg, int(cfg.gan.train.iterations), fingerprint, record)
    return gan.eval(), path


def _shipped(cfg: DictConfig, name: str) -> Path | None:
    """The checkpoint called ``name`` in one of ``checkpoint_dirs`` (read-only, shipped ones)."""
    for folder in cfg.checkpoint_dirs:
        candidate = Path(str(folder)).expanduser() / name
        if candidate.is_file():
            return candidate
    return None


def _load_checked(path: Path, cfg: DictConfig, dataset: Dataset, device: torch.device) -> GAN:
    gan, payload = load_gan(path, cfg, data_shape(dataset))
    if payload.get("data_fingerprint") and payload["data_fingerprint"] != dataset.fingerprint():
        raise CheckpointError(f"checkpoint {path} was trained on other data than dataset={cfg.dataset.name}: "
                              "set dataset= to the data set it was trained on")
    return gan.to(device).eval()


def build_sampler(cfg: DictConfig, gan: GAN, dataset: Dataset, checkpoint: Path | None) -> Sampler:
    """The configured sampler (the generator alone when ``sampler`` is unset), prepared: its
    ``prepare`` gets the data set, the checkpoint and the cache (one-time work such as deriving
    a calibrated or shaped D)."""
    sampler = construct_sampler(cfg, gan, dataset)
    cache = Path(str(cfg.cache_dir)).expanduser()
    sampler.prepare(SamplingContext(dataset, checkpoint, cache, derive_seed(cfg.seed, "prepare"), cfg))
    return sampler


def construct_sampler(cfg: DictConfig, gan: GAN, dataset: Dataset) -> Sampler:
    """The configured sampler on ``gan`` (the generator alone when ``sampler`` is unset), not prepared."""
    if cfg.sampler is None:
        return GeneratorSampler(gan)
    return instantiate(cfg.sampler)(gan=gan)


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
    """The metrics the metric config asks for: IS/FID/cs/fd of images (reference statistics and
    the cs/fd classifier cached under ``cache_dir``); mode metrics (mixtures only) and EMD to
    fresh real samples of 2-D data."""
    check_metric(dataset, metric_cfg)
    if isinstance(dataset, ImageDataset):
        from ganmc.metrics.images import image_metrics  # torch-fidelity: imported only for images

        cache = Path(str(cache_dir)).expanduser() if cache_dir is not None else Path("~/.cache/ganmc").expanduser()
        return image_metrics(samples.detach().cpu().float(), dataset, metric_cfg, cache, device)
    metrics: dict[str, Any] = {}
    samples = samples.detach().cpu()
    if metric_cfg.modes and dataset.centres is not None and dataset.std is not None:
        metrics.update(mode_metrics(samples, dataset.centres, dataset.std, float(metric_cfg.hq_threshold)))
    data_masses = dataset.region_masses()
    if data_masses is not None:  # mode weights (or mass along the roll) of the samples vs the data's
        masses = region_masses(dataset.regions(samples), None, len(data_masses))
        metrics["mass_tv"] = total_variation(masses, data_masses)
    weights = getattr(dataset, "weights", None)
    if metric_cfg.get("collab") and dataset.centres is not None and dataset.std is not None and weights is not None:
        metrics.update(collab_metrics(samples, dataset.centres, dataset.std, weights, float(metric_cfg.hq_threshold)))
    if metric_cfg.emd:
        n = min(int(metric_cfg.emd_n or EMD_DEFAULT_N), len(samples))  # emd_n null: at most 10,000
        cost = str(getattr(metric_cfg.emd_cost, "value", metric_cfg.emd_cost))
        log.info("solving exact EMD (%s cost) between %d samples and %d real ones", cost, n, n)
        real = dataset.sample(n, torch.Generator().manual_seed(derive_seed(seed, "emd-real")))
        metrics.update({"emd": emd(samples[:n], real, cost), "emd_n": n, "emd_cost": cost})
        if metric_cfg.emd_floor:
            metrics["emd_floor"] = emd_floor(dataset, real, n, seed, cost, cache_dir)
    return metrics


def emd_floor(dataset: Dataset, real: torch.Tensor, n: int, seed: int, cost: str,
              cache_dir: str | Path | None) -> float:
    """EMD between ``real`` and a second real set of the same size: what sampling noise alone
    gives at this n. It depends only on the data, n, seed and cost, so it is solved once and
    kept under ``<cache_dir>/emd_floor/`` (a table's runs share it)."""
    key = sha256_json({"data": dataset.fingerprint(), "n": n, "seed": seed, "cost": cost})[:16]
    path = Path(str(cache_dir)).expanduser() / "emd_floor" / f"{key}.json" if cache_dir is not None else None
    if path is not None and path.is_file():
        try:
            return float(json.loads(path.read_text())["emd_floor"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable EMD floor cache %s", path)
    other = dataset.sample(n, torch.Generator().manual_seed(derive_seed(seed, "emd-floor")))
    value = emd(other, real, cost)
    if path is not None:
        write_json_atomic(path, {"emd_floor": value, "n": n, "seed": seed, "cost": cost})
    return value


def run_train(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """``ganmc train``: train (or find cached) the configured GAN; write ``record.json``."""
    validate_run(cfg)
    apply_threads(cfg)  # before any torch work
    start = time.perf_counter()
    device = resolve_device(str(cfg.device))
    dataset = build_dataset(cfg)
    preflight(cfg, run_dir, dataset)
    with gan_lock(cfg):  # whether it existed, and the hash of the file used, under the cache lock
        existed = cache_path(cfg).is_file() and not cfg.retrain and not cfg.gan.checkpoint
        if existed:
            log.info("already trained: %s (retrain=true trains it again)", cache_path(cfg))
        gan, path = obtain_gan(cfg, dataset, device, grid_dir=run_dir / "grids" if cfg.plot else None)
        checkpoint_sha256 = sha256_file(path)
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "preview"))
    with staged_outputs(run_dir) as stage:
        if isinstance(dataset, ImageDataset):
            if cfg.plot:
                save_grid(GeneratorSampler(gan).sample(64, gen).samples, stage / "samples.png")
        elif cfg.plot:
            preview = GeneratorSampler(gan).sample(min(int(cfg.n_samples), 5000), gen).samples.cpu()
            scatter_2d(dataset.sample(len(preview), gen), preview, stage / "samples.png",
                       f"{cfg.gan.name} on {cfg.dataset.name}, seed {cfg.seed}", dataset.centres)
        record = {
            "command": "train",
            "checkpoint": str(path),
            "cached": existed,
            "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
            "provenance": provenance(device, str(path), checkpoint_sha256),
            "timing": {"wall_seconds": time.perf_counter() - start},
        }
        write_json_atomic(stage / "record.json", record)
    return record


def run_sample(cfg: DictConfig, run_dir: Path) -> dict[str, Any]:
    """``ganmc sample``: obtain the GAN, run the sampler, compute metrics, write the run's files.

    A run whose folder already holds the record of the same resolved config is skipped, so an
    interrupted sweep resumes where it stopped.
    """
    validate_run(cfg)
    apply_threads(cfg)  # before any torch work
    if same_run(run_dir / "record.json", cfg):
        log.info("skipping: %s already holds the record of this config", run_dir)
        return json.loads((run_dir / "record.json").read_text())
    start, started_at = time.perf_counter(), time.time()
    device = resolve_device(str(cfg.device))
    dataset = build_dataset(cfg)
    check_metric(dataset, cfg.metric)
    preflight(cfg, run_dir, dataset)
    with gan_lock(cfg):  # the hash names the very file loaded (another run may retrain it later)
        gan, path = obtain_gan(cfg, dataset, device)
        checkpoint_sha256 = sha256_file(path)
    sampler = build_sampler(cfg, gan, dataset, path)
    gen = torch.Generator().manual_seed(derive_seed(cfg.seed, "sample"))
    log.info("sampling %d with %s", int(cfg.n_samples), sampler_choice(sampler))
    t0 = time.perf_counter()
    batch: SampleBatch = sampler.sample(int(cfg.n_samples), gen, int(cfg.batch_size), progress=True)
    sample_seconds = time.perf_counter() - t0
    for name, part in {"samples": batch.samples, **batch.extra}.items():
        check_magnitude(part, f"sampler {sampler.name}" + ("" if name == "samples" else f" ({name})"))
    t0 = time.perf_counter()
    target = estimate_target(sampler, len(batch), gen, int(cfg.metric.sir_factor), int(cfg.metric.sir_max_pool),
                             None if isinstance(dataset, ImageDataset) else dataset)
    target_info = None
    if target is not None:
        batch.extra["sir"], target_info = target
        target_info["seconds"] = time.perf_counter() - t0
    samples = batch.samples.detach().cpu().float()
    log.info("computing metrics of %d samples%s", len(samples),
             f" (and of the extra sets: {', '.join(batch.extra)})" if batch.extra else "")
    t0 = time.perf_counter()
    metrics = compute_metrics(samples, dataset, cfg.metric, int(cfg.seed), cfg.cache_dir, device)
    target_metrics = {name: compute_metrics(extra.detach().cpu().float(), dataset, cfg.metric, int(cfg.seed),
                                            cfg.cache_dir, device)
                      for name, extra in batch.extra.items()}
    metric_seconds = time.perf_counter() - t0
    with staged_outputs(run_dir) as stage:  # the files move into run_dir once all are written
        write_samples(stage, samples, dataset, cfg, sampler.name)
        if cfg.plot and isinstance(dataset, ImageDataset) and "step_0000" in batch.extra:
            save_before_after(batch.extra["step_0000"], samples, stage / "before_after.png")
        record = {
            "command": "sample",
            "run": {"sampler": sampler_choice(sampler), "method": sampler.name, "dataset": cfg.dataset.name,
                    "gan": cfg.gan.name, "seed": int(cfg.seed), "n_samples": len(samples),
                    "train_iterations": int(cfg.gan.train.iterations)},
            "metrics": metrics,
            "target_metrics": target_metrics,
            "target": target_info,
            "stats": {**batch.stats, **sampler.prep_stats},
            "config": OmegaConf.to_container(cfg, resolve=True, enum_to_str=True),
            "provenance": provenance(device, str(path), checkpoint_sha256),
            "timing": {
                "wall_seconds": time.perf_counter() - start,
                "started_at": started_at,  # Unix time: with runs in parallel, a table's elapsed time
                "finished_at": time.time(),  # is last finish - first start, not the sum of wall_seconds
                "sample_seconds": sample_seconds,
                "metric_seconds": metric_seconds,
                "evals_per_sample": {"G": batch.g_evals / len(samples), "D": batch.d_evals / len(samples)},
            },
        }
        write_json_atomic(stage / "record.json", record)
    log.info("metrics: %s", ", ".join(f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v}"
                                      for k, v in metrics.items()))
    return record
