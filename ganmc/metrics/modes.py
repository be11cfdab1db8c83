"""Mode metrics of the DRS protocol: recovered modes, % high quality, std of HQ samples."""

from __future__ import annotations

import math

import torch

CHUNK = 1 << 16


def assign_modes(samples: torch.Tensor, centres: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of the nearest centre of each sample, and the Euclidean distance to it (in chunks
    of 65,536 samples, so the distance matrix stays small for any number of samples)."""
    centres = centres.double().to(samples.device)
    if len(samples) <= CHUNK:
        nearest, index = torch.cdist(samples.double(), centres).min(dim=1)
        return index, nearest
    parts = [torch.cdist(part.double(), centres).min(dim=1) for part in samples.split(CHUNK)]
    return torch.cat([p.indices for p in parts]), torch.cat([p.values for p in parts])


def mode_metrics(samples: torch.Tensor, centres: torch.Tensor, std: float,
                 threshold: float = 4.0) -> dict[str, float | int | None]:
    """DRS-protocol metrics of ``samples`` against a mixture's ``centres`` and ``std``.

    A sample is high quality (HQ) if it lies within ``threshold * std`` (Euclidean distance)
    of its nearest centre; a mode is recovered if at least one HQ sample is assigned to it.
    ``hq_std`` is the pooled per-coordinate std of HQ samples around their centres,
    ``sqrt(mean ||x - c||^2 / dim)``: it equals the data's ``std`` for a perfect sampler.
    """
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError("samples must be a non-empty (n, dim) tensor")
    index, nearest = assign_modes(samples, centres)
    hq = nearest <= threshold * std
    n_hq = int(hq.sum())
    hq_std = None
    if n_hq > 0:
        hq_std = math.sqrt(float((nearest[hq] ** 2).mean()) / samples.shape[1])
    return {
        "modes_recovered": int(torch.unique(index[hq]).numel()),
        "modes_total": int(centres.shape[0]),
        "hq_percent": 100.0 * n_hq / samples.shape[0],
        "hq_std": hq_std,
    }
