"""Figures built from records: scatter panels of saved samples, metric-vs-parameter curves."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402

from ganmc.io import write_atomic  # noqa: E402

Panel = tuple[str, np.ndarray | None]


def _kde(ax: plt.Axes, pts: np.ndarray, n_fit: int = 2000) -> None:
    """Contours of a Gaussian KDE of ``pts`` over the panel (the collaborative paper's Fig. 3)."""
    from scipy.stats import gaussian_kde

    fit = pts[np.linspace(0, len(pts) - 1, min(n_fit, len(pts))).astype(int)]
    if len(fit) < 3 or np.ptp(fit, axis=0).min() <= 0:
        return
    x0, x1 = ax.get_xlim()
    y0, y1 = ax.get_ylim()
    gx, gy = np.meshgrid(np.linspace(x0, x1, 80), np.linspace(y0, y1, 80))
    density = gaussian_kde(fit.T)(np.vstack([gx.ravel(), gy.ravel()])).reshape(gx.shape)
    ax.contour(gx, gy, density, levels=6, linewidths=0.6, cmap="viridis")


def scatter_grid(rows: list[tuple[str, list[Panel]]], path: str | Path, max_points: int = 5000,
                 kde: bool = False) -> Path:
    """One row of scatter panels per data set (like the DDLS paper's Figures 1-2), with KDE
    contours over each panel when ``kde``; PNG, atomic."""
    n_cols = max(len(panels) for _, panels in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(2.6 * n_cols, 2.6 * len(rows)), squeeze=False)
    for r, (row_title, panels) in enumerate(rows):
        limits = None  # every panel of a row on the first (real) panel's range, plus a margin
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
                if limits is None:
                    lo, hi = pts.min(axis=0), pts.max(axis=0)
                    pad = 0.25 * (hi - lo).max()
                    limits = (lo[0] - pad, hi[0] + pad), (lo[1] - pad, hi[1] + pad)
                ax.set_xlim(*limits[0])
                ax.set_ylim(*limits[1])
                ax.set_aspect("equal")
                if kde:
                    _kde(ax, pts)
            ax.set_title(title, fontsize=9)
        axes[r][0].set_ylabel(row_title, fontsize=9)
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return out


Series = dict[str, tuple[list[float], list[float], list[float]]]


def _draw_curves(ax: plt.Axes, series: Series, colours: dict[str, str], xlabel: str, ylabel: str, title: str,
                 logx: bool) -> None:
    for name, (x, mean, std) in series.items():
        xa, m, s = np.asarray(x), np.asarray(mean), np.asarray(std)
        ax.plot(xa, m, marker="o", ms=3, label=name, color=colours[name])
        ax.fill_between(xa, m - s, m + s, alpha=0.2, color=colours[name])
    if logx:
        ax.set_xscale("log")
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)


def curves(series: Series, xlabel: str, ylabel: str, path: str | Path, title: str = "", logx: bool = False) -> Path:
    """Mean ± std curves, one per series name: {name: (x, mean, std)}; PNG, atomic."""
    return curve_panels([[(title, series)]], xlabel, [ylabel], path, logx)


def curve_panels(rows: list[list[tuple[str, Series]]], xlabel: str | list[str], ylabels: list[str],
                 path: str | Path, logx: bool = False) -> Path:
    """A grid of :func:`curves` panels: ``rows[r][c] = (title, series)``, one y label per row (and
    one x label, or one per row); a series name keeps its colour in every panel; one legend; PNG,
    atomic."""
    xlabels = [xlabel] * len(rows) if isinstance(xlabel, str) else xlabel
    n_cols = max(len(r) for r in rows)
    fig, axes = plt.subplots(len(rows), n_cols, figsize=(4.2 * n_cols, 3.2 * len(rows)), squeeze=False)
    names = list(dict.fromkeys(name for row in rows for _, series in row for name in series))
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    for r, row in enumerate(rows):
        for c in range(n_cols):
            ax = axes[r][c]
            if c >= len(row):
                ax.axis("off")
                continue
            title, series = row[c]
            _draw_curves(ax, series, colours, xlabels[r], ylabels[r], title, logx)
    handles = [plt.Line2D([], [], color=colours[name], marker="o", ms=3) for name in names]
    ncol = max(1, min(len(names), 3 * n_cols))  # about three names per panel width
    fig.legend(handles, names, loc="lower center", ncol=ncol, fontsize=8)
    legend_rows = -(-len(names) // ncol)
    fig.tight_layout(rect=(0, (0.03 + 0.025 * legend_rows) * (2 if len(rows) == 1 else 1), 1, 1))
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return out


def bars(values: dict[str, dict[str, tuple[float, float]]], metrics: list[tuple[str, str]], path: str | Path,
         title: str = "") -> Path:
    """Grouped bars with std error bars, one panel per metric: ``values[method][metric] = (mean,
    std)``, ``metrics`` = (key, axis label); PNG, atomic (the collaborative paper's Fig. 4)."""
    methods = list(values)
    fig, axes = plt.subplots(1, len(metrics), figsize=(3.2 * len(metrics), 3.2), squeeze=False)
    for ax, (key, label) in zip(axes[0], metrics):
        means = [values[m].get(key, (np.nan, 0.0))[0] for m in methods]
        stds = [values[m].get(key, (np.nan, 0.0))[1] for m in methods]
        ax.bar(range(len(methods)), means, yerr=np.nan_to_num(stds), color=[f"C{i}" for i in range(len(methods))],
               capsize=3)
        ax.set_xticks(range(len(methods)))
        ax.set_xticklabels(methods, rotation=35, ha="right", fontsize=8)
        ax.set_ylabel(label)
        ax.grid(axis="y", alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=120))
    plt.close(fig)
    return out


Marks = dict[str, tuple[str, float, float, float]]  # label -> (series name for its colour, x, value, error)


def errorbar_panels(panels: list[tuple[str, Series, Marks]], xlabel: str, path: str | Path, logx: bool = False) -> Path:
    """Side by side, one panel per ``(y label, series, marks)``: each series a line with error bars
    ``{name: (x, mean, error)}``, each mark a lone point with its error bar (e.g. a published value),
    in its series' colour, one marker per label past 'SERIES, ' (its source); one legend; PNG, atomic."""
    fig, axes = plt.subplots(1, len(panels), figsize=(4.6 * len(panels), 3.6), squeeze=False)
    names = list(dict.fromkeys(name for _, series, _ in panels for name in series))
    colours = {name: f"C{i % 10}" for i, name in enumerate(names)}
    kinds = list(dict.fromkeys(label.removeprefix(f"{name}, ") for _, _, m in panels for label, (name, *_) in m.items()))
    markers = {kind: "sD^v<>p*"[i % 8] for i, kind in enumerate(kinds)}  # one marker per source across series
    handles: dict[str, Any] = {}
    for ax, (ylabel, series, points) in zip(axes[0], panels):
        for name, (x, mean, err) in series.items():
            handles[name] = ax.errorbar(x, mean, yerr=np.nan_to_num(np.asarray(err, dtype=float)), marker="o", ms=3,
                                        capsize=3, color=colours.get(name, "0.3"))
        for label, (name, x, value, err) in points.items():
            kind = markers[label.removeprefix(f"{name}, ")]
            handles[label] = ax.errorbar([x], [value], yerr=[err], marker=kind, ms=5, capsize=3,
                                         linestyle="none", color=colours.get(name, "0.3"))
        if logx:
            ax.set_xscale("log")
        ax.set_xlabel(xlabel)
        ax.set_ylabel(ylabel)
        ax.grid(alpha=0.3)
    ncol = max(1, min(len(handles), 2 * len(panels)))
    fig.legend(list(handles.values()), list(handles), loc="lower center", ncol=ncol, fontsize=7)
    fig.tight_layout(rect=(0, 0.06 * -(-len(handles) // ncol), 1, 1))
    out = write_atomic(path, lambda tmp: fig.savefig(tmp, format="png", dpi=110))
    plt.close(fig)
    return out
