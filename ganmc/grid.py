"""Sample grids of images (torchvision's ``save_image``), written atomically."""

from __future__ import annotations

import math
from pathlib import Path

import torch
from torchvision.utils import make_grid, save_image

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


def save_labelled_rows(rows: list[tuple[str, torch.Tensor]], path: str | Path, min_width: int = 400) -> Path:
    """One row of images per ``(label, images)``, the label written left of it; images (N, C, H, W)
    as for :func:`save_grid`, enlarged (nearest neighbour) by the smallest whole factor that makes
    the widest row at least ``min_width`` px; a row with fewer images ends early."""
    from PIL import Image, ImageDraw, ImageFont

    pad, text = 2, 14
    cols = max(len(images) for _, images in rows)
    width = max(images.shape[-1] for _, images in rows)
    scale = max(1, math.ceil((min_width / cols - pad) / width))
    strips = []
    for _, images in rows:
        images = torch.nn.functional.interpolate(as_float(images), scale_factor=scale, mode="nearest")
        grid = make_grid(images, nrow=cols, padding=pad, normalize=True, value_range=(-1, 1))
        strips.append(grid.mul(255).round().clamp(0, 255).byte().permute(1, 2, 0).numpy())
    font = ImageFont.load_default(size=text)
    probe = ImageDraw.Draw(Image.new("RGB", (1, 1)))
    margin = max(probe.textbbox((0, 0), name, font=font)[2] for name, _ in rows) + 3 * pad
    row_h = max(strip.shape[0] for strip in strips)
    canvas = Image.new("RGB", (margin + max(s.shape[1] for s in strips), row_h * len(rows)), "white")
    draw = ImageDraw.Draw(canvas)
    for i, ((name, _), strip) in enumerate(zip(rows, strips)):
        canvas.paste(Image.fromarray(strip.copy()), (margin, i * row_h))
        draw.text((pad, i * row_h + row_h // 2), name, fill="black", font=font, anchor="lm")
    return write_atomic(path, lambda tmp: canvas.save(tmp, format="png"))
