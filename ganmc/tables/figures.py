"""Figures built from records: scatter panels of saved samples, metric-vs-parameter curves."""

from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ganmc.io import write_atomic  # noqa: E402

Panel = tuple[str, np.ndarray | None]


def scatter_grid(rows: list[tuple[str, list[Panel]]], path: str | Path, max_points: int = 5000) -> Path:
    """One row of scatter panels per data set (like the DDLS paper's Figures 1-2); PNG, atomic."""
    n_cols = max(len(panels) for _, panels in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.6 * n_cols, 2.6 * len(rows)), squeeze=False)
    for r, (row_title, panels) in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            ax.set_xticks([])
            ax.set_yticks([])
            if c >= len(panels):
                ax.axis("off")
                continue
            title, pts = panels[c]
            if pts is None:
                ax.text(0.5, 0.5, "no record", ha="center", va="center", transform=ax.transAxes)
            else:
                colour = "0.4" if c == 0 else "C0"
                ax.scatter(pts[:max_points, 0], pts[:max_points, 1], s=0.8, alpha=0.5, c=colour, linewidths=0)
                ax.set_aspect("equal")
            ax.set_title(title, fontsize=9)
        axes[r][0].set_ylabel(row_title, fontsize=9)
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return out


def curves(series: dict[str, tuple[list[float], list[float], list[float]]], xlabel: str, ylabel: str,
           path: str | Path, title: str = "", logx: bool = False) -> Path:
    """Mean ± std curves, one per series name: {name: (x, mean, std)}; PNG, atomic."""
    fig, ax = plt.subplots(figsize=(5, 3.5))
    for name, (x, mean, std) in series.items():
        xa, m, s = np.asarray(x), np.asarray(mean), np.asarray(std)
        ax.plot(xa, m, marker="o", ms=3, label=name)
        ax.fill_between(xa, m - s, m + s, alpha=0.2)
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return out
