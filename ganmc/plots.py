"""Figures: scatter of real vs generated 2-D samples, as in the papers' Figures 1-3; a run's sample files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import torch  # noqa: E402

from ganmc.data import Dataset, ImageDataset  # noqa: E402
from ganmc.data.images import to_uint8  # noqa: E402
from ganmc.grid import save_grid  # noqa: E402
from ganmc.io import derive_seed, save_npy_atomic, write_atomic  # noqa: E402


def scatter_2d(real: torch.Tensor, fake: torch.Tensor, path: str | Path, title: str,
               centres: torch.Tensor | None = None, max_points: int = 5000) -> Path:
    """Real (grey) and generated (blue) points side by side on shared axes; PNG, atomic."""
    real, fake = real[:max_points].cpu().numpy(), fake[:max_points].cpu().numpy()
    fig, axes = plt.subplots(1, 2, figsize=(8, 4), sharex=True, sharey=True)
    for ax, pts, label, colour in ((axes[0], real, "real", "0.4"), (axes[1], fake, "generated", "C0")):
        ax.scatter(pts[:, 0], pts[:, 1], s=1.5, alpha=0.5, c=colour, linewidths=0)
        if centres is not None:
            c = centres.cpu().numpy()
            ax.scatter(c[:, 0], c[:, 1], s=12, marker="x", c="C3", linewidths=0.8)
        ax.set_title(label)
        ax.set_aspect("equal")
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return out


def write_samples(run_dir: Path, samples: torch.Tensor, dataset: Dataset, cfg: Any, title: str) -> None:
    """``samples.npy`` (images: uint8 N x C x H x W; 2-D data: float32) and, with ``plot``,
    ``samples.png`` (images: a grid of the first 64; 2-D data: a scatter plot over real data)."""
    if isinstance(dataset, ImageDataset):
        save_npy_atomic(run_dir / "samples.npy", to_uint8(samples).numpy())
        if cfg.plot:
            save_grid(samples[:64], run_dir / "samples.png")
        return
    save_npy_atomic(run_dir / "samples.npy", samples.numpy())
    if cfg.plot:
        real = dataset.sample(min(len(samples), 5000), torch.Generator().manual_seed(derive_seed(cfg.seed, "plot")))
        scatter_2d(real, samples, run_dir / "samples.png",
                   f"{title}: {cfg.gan.name} on {cfg.dataset.name}, seed {cfg.seed}", dataset.centres)
