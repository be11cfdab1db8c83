"""Sample grids of images (torchvision's ``save_image``), written atomically."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torchvision.utils import save_image

from ganmc.io import write_atomic


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None) -> Path:
    """Save float images in [-1, 1], shape (N, C, H, W), as one PNG grid (about square)."""
    images = images.detach().float().cpu().clamp(-1, 1)
    nrow = nrow or max(1, math.isqrt(len(images)))
    return write_atomic(
        path, lambda tmp: save_image(images, tmp, nrow=nrow, normalize=True, value_range=(-1, 1), format="png"))


def save_before_after(before: torch.Tensor, after: torch.Tensor, path: str | Path, n: int = 16) -> Path:
    """Three rows of ``n`` images: before, after, and the per-pixel absolute difference (black:
    unchanged, white: a change of the full range), for float images in [-1, 1]."""
    b, a = before[:n].detach().float().cpu().clamp(-1, 1), after[:n].detach().float().cpu().clamp(-1, 1)
    diff = (a - b).abs() - 1.0  # |a - b| in [0, 2] -> [-1, 1] for the shared value range
    return save_grid(torch.cat([b, a, diff]), path, nrow=len(b))
