"""Mode metrics of stacked digits (the Stacked MNIST protocol of Unrolled GAN, VEEGAN and PacGAN),
through the digits classifier applied to each channel (Stacked MNIST: the shipped MNIST classifier).

A sample's mode is the triple of its channels' most likely digits, ``100 r + 10 g + b``; it is
*confident* when each channel's top probability is at least ``threshold``.

- ``stacked_modes``: modes with at least one confident sample, out of 1,000;
- ``stacked_kl``: KL(generated mode histogram || the data's mode weights), every sample counted
  at its most likely mode (the weights are > 0 everywhere, so it is finite);
- ``stacked_quality``: the share of confident samples.

Beside them, the protocol as the papers count it (Unrolled GAN, VEEGAN, PacGAN):

- ``stacked_modes_argmax``: distinct most-likely triples among the samples (no threshold);
- ``stacked_kl_uniform``: KL(generated mode histogram || uniform over the 1,000 modes), natural
  log, modes without samples contributing nothing.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import torch

from ganmc.common import STACKED_THRESHOLD, default_cache_dir
from ganmc.data.images import ImageDataset, to_float
from ganmc.io import cached_json, derive_seed, sha256_file
from ganmc.metrics.classifier import (
    Classifier,
    load_classifier,
    stacked_forward,
)
from ganmc.metrics.images import classifier_file
from ganmc.metrics.settings import MetricSettings


@torch.no_grad()
def channel_probs(images: torch.Tensor, net: Classifier, batch_size: int = 1000) -> torch.Tensor:
    """Per-channel digit probabilities (n, 3, 10) of images (uint8, or float in [-1, 1])."""
    out = [stacked_forward(net, chunk.float() if chunk.dtype != torch.uint8 else to_float(chunk))[1].exp()
           for chunk in images.split(batch_size)]
    return torch.cat(out) if out else torch.empty(0, 3, 10)


def kl_histogram(p: torch.Tensor, q: torch.Tensor) -> float:
    """KL(p || q) = sum p log(p / q) in float64 over the bins where p > 0 (natural log)."""
    p, q = p.double(), q.double()
    hit = p > 0
    return float((p[hit] * (p[hit] / q[hit]).log()).sum())


def stacked_metrics(probs: torch.Tensor, weights: torch.Tensor, threshold: float = STACKED_THRESHOLD,
                    prefix: str = "stacked_") -> dict[str, float]:
    """Modes found, KL to ``weights`` and quality from per-channel probabilities (n, 3, 10), and
    the papers' argmax mode count and KL to the uniform modes."""
    top, digit = probs.max(dim=2)
    modes = digit[:, 0] * 100 + digit[:, 1] * 10 + digit[:, 2]
    confident = (top >= threshold).all(dim=1)
    hist = torch.bincount(modes, minlength=len(weights)).double()
    p = hist / max(len(modes), 1)
    uniform = torch.full_like(p, 1.0 / len(p))
    return {f"{prefix}modes": int(torch.unique(modes[confident]).numel()), f"{prefix}kl": kl_histogram(p, weights),
            f"{prefix}quality": float(confident.double().mean()) if len(modes) else float("nan"),
            f"{prefix}modes_argmax": int(torch.unique(modes).numel()), f"{prefix}kl_uniform": kl_histogram(p, uniform)}


def measure_stacked(images: torch.Tensor, weights: torch.Tensor, classifier: Path, threshold: float,
                    batch_size: int, prefix: str = "stacked_") -> dict[str, float]:
    """The stacked metrics of ``images`` (keys starting with ``prefix``), the threshold, and the
    classifier's accuracy on held-out single digits (its hold-out split, or MNIST's test set)."""
    net, payload = load_classifier(classifier)
    out: dict[str, float] = stacked_metrics(channel_probs(images, net, batch_size), weights, threshold, prefix)
    out["stacked_threshold"] = float(threshold)
    record = payload.get("record", {})
    out["classifier_accuracy"] = float(record.get("holdout_accuracy", record.get("test_accuracy", float("nan"))))
    return out


def stacked_record(samples: torch.Tensor, dataset: ImageDataset, settings: MetricSettings, seed: int,
                   cache_dir: str | Path | None, device: torch.device | str, asked: tuple[str, ...]) -> dict[str, Any]:
    """The ``asked`` stacked metrics of ``samples`` and of as many real images (``stacked_real_*``,
    the floor at this n: drawn from ``seed``, measured once and cached), with the threshold and
    the classifier's accuracy."""
    cache = Path(str(cache_dir)).expanduser() if cache_dir is not None else default_cache_dir()
    path = classifier_file(dataset, settings.classifier, cache, device)
    n, threshold = len(samples), float(settings.stacked_threshold)
    batch = int(settings.batch_size or 1000)

    def real() -> dict[str, Any]:  # the same for every sampler of one seed: measured once, cached
        images = dataset.sample(n, torch.Generator().manual_seed(derive_seed(seed, "stacked-real")))
        return measure_stacked(images, dataset.weights, path, threshold, batch, prefix="stacked_real_")

    key = {"data": dataset.fingerprint(), "n": n, "seed": seed, "classifier": path.name, "threshold": threshold,
           "classifier_sha256": sha256_file(path)}
    got = {**measure_stacked(samples, dataset.weights, path, threshold, batch),
           **cached_json(cache_dir, "stacked_real", key, real)}
    kept = {"stacked_threshold", *asked, *(name.replace("stacked_", "stacked_real_") for name in asked)}
    return {k: v for k, v in got.items() if k in kept or not k.startswith("stacked_")}
