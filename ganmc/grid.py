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
