"""Mode metrics of stacked digits (the Stacked MNIST protocol of Unrolled GAN, VEEGAN and PacGAN),
through the digits classifier applied to each channel.

A sample's mode is the triple of its channels' most likely digits, ``100 r + 10 g + b``; it is
*confident* when each channel's top probability is at least ``threshold``.

- ``stacked_modes``: modes with at least one confident sample, out of 1,000;
- ``stacked_kl``: KL(generated mode histogram || the data's mode weights), every sample counted
  at its most likely mode (the weights are > 0 everywhere, so it is finite);
- ``stacked_quality``: the share of confident samples.
"""

from __future__ import annotations

from pathlib import Path

import torch

from ganmc.data.images import to_float
from ganmc.metrics.classifier import SmallCNN, load_classifier, stacked_forward

STACKED_THRESHOLD = 0.9  # a channel counts as classified at this top probability or more


@torch.no_grad()
def channel_probs(images: torch.Tensor, net: SmallCNN, batch_size: int = 1000) -> torch.Tensor:
    """Per-channel digit probabilities (n, 3, 10) of images (uint8, or float in [-1, 1])."""
    out = [stacked_forward(net, chunk.float() if chunk.dtype != torch.uint8 else to_float(chunk))[1].exp()
           for chunk in images.split(batch_size)]
    return torch.cat(out) if out else torch.empty(0, 3, 10)


def stacked_metrics(probs: torch.Tensor, weights: torch.Tensor, threshold: float = STACKED_THRESHOLD,
                    prefix: str = "stacked_") -> dict[str, float]:
    """Modes found, KL to ``weights`` and quality from per-channel probabilities (n, 3, 10)."""
    top, digit = probs.max(dim=2)
    modes = digit[:, 0] * 100 + digit[:, 1] * 10 + digit[:, 2]
    confident = (top >= threshold).all(dim=1)
    hist = torch.bincount(modes, minlength=len(weights)).double()
    p = hist / max(len(modes), 1)
    hit = p > 0
    kl = float((p[hit] * (p[hit] / weights.double()[hit]).log()).sum())
    return {f"{prefix}modes": int(torch.unique(modes[confident]).numel()), f"{prefix}kl": kl,
            f"{prefix}quality": float(confident.double().mean()) if len(modes) else float("nan")}


def measure_stacked(images: torch.Tensor, weights: torch.Tensor, classifier: Path, threshold: float,
                    batch_size: int, prefix: str = "stacked_") -> dict[str, float]:
    """The stacked metrics of ``images`` (keys starting with ``prefix``), the threshold, and the
    classifier's hold-out accuracy on single digits."""
    net, payload = load_classifier(classifier)
    out: dict[str, float] = stacked_metrics(channel_probs(images, net, batch_size), weights, threshold, prefix)
    out["stacked_threshold"] = float(threshold)
    out["classifier_accuracy"] = float(payload.get("record", {}).get("holdout_accuracy", float("nan")))
    return out
