"""Sample grids of images (torchvision's ``save_image``), written atomically."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torchvision.utils import save_image

from ganmc.io import write_atomic


def as_float(images: torch.Tensor) -> torch.Tensor:
    """Images as float in [-1, 1] on the CPU (uint8 ones mapped from [0, 255])."""
    if images.dtype == torch.uint8:
        return images.detach().cpu().float().div(127.5).sub(1.0)
    return images.detach().float().cpu().clamp(-1, 1)


def save_grid(images: torch.Tensor, path: str | Path, nrow: int | None = None, upscale: int = 1) -> Path:
    """Save images (float in [-1, 1], or uint8), shape (N, C, H, W), as one PNG grid (about square),
    each image enlarged ``upscale`` times (nearest neighbour: small images stay legible)."""
    images = as_float(images)
    if upscale > 1:
        images = torch.nn.functional.interpolate(images, scale_factor=upscale, mode="nearest")
    nrow = nrow or max(1, math.isqrt(len(images)))
    return write_atomic(
        path, lambda tmp: save_image(images, tmp, nrow=nrow, normalize=True, value_range=(-1, 1), format="png"))


def save_before_after(before: torch.Tensor, after: torch.Tensor, path: str | Path, n: int = 16) -> Path:
    """Three rows of ``n`` images: before, after, and the per-pixel absolute difference (black:
    unchanged, white: a change of the full range), for float images in [-1, 1]."""
    b, a = as_float(before[:n]), as_float(after[:n])
    diff = (a - b).abs() - 1.0  # |a - b| in [0, 2] -> [-1, 1] for the shared value range
    return save_grid(torch.cat([b, a, diff]), path, nrow=len(b))
