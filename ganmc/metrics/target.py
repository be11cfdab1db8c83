"""Diagnostics of an importance-weighted target ``p_g * w``: effective sample size, mass per
region (mode, or bin along a curve) and the total variation of those masses to the data's."""

from __future__ import annotations

import torch


def effective_sample_size(log_weights: torch.Tensor) -> float:
    """Kish's ESS, (sum w)^2 / sum w^2, of unnormalised log-weights (stable in float64)."""
    lw = log_weights.double().flatten()
    if lw.numel() == 0 or not bool(torch.isfinite(lw).any()):
        return 0.0
    w = torch.softmax(torch.nan_to_num(lw, nan=-torch.inf), dim=0)
    return float(1.0 / (w * w).sum())


def region_masses(regions: torch.Tensor, log_weights: torch.Tensor | None, n_regions: int) -> torch.Tensor:
    """Mass per region of weighted points (uniform when ``log_weights`` is None); sums to 1."""
    if log_weights is None:
        w = torch.full((len(regions),), 1.0 / max(len(regions), 1), dtype=torch.float64)
    else:
        w = torch.softmax(log_weights.double().flatten(), dim=0)
    return torch.bincount(regions.long().cpu(), weights=w.cpu(), minlength=n_regions)[:n_regions]


def total_variation(p: torch.Tensor, q: torch.Tensor) -> float:
    """Total variation distance between two distributions over the same finite set."""
    if p.shape != q.shape:
        raise ValueError(f"mass vectors differ in shape: {tuple(p.shape)} vs {tuple(q.shape)}")
    return 0.5 * float((p.double() - q.double()).abs().sum())
