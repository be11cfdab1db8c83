"""Metrics of the collaborative-sampling protocol (imbalanced 8 Gaussians) and D diagnostics.

Sample metrics (Liu et al. 2020, Figure 4): a sample is *good* if it lies within ``threshold``
std of its nearest centre; ``kl`` compares the mode frequencies of the good samples with the
real mixture weights; ``js`` adds one "bad" bin holding the samples that are not good (the real
distribution puts no mass there); ``efficiency`` is accepted / proposed.

Discriminator diagnostics (Turner et al. 2019; Liu et al. 2020, Table 1) take labels ``y``
(1 = real, 0 = generated) and D's probabilities ``p`` on a held-out balanced set: Dawid's
``z_stat``, expected calibration error ``ece`` and the ``brier`` score.

All logarithms are natural (nats).
"""

from __future__ import annotations

import math

import numpy as np
import torch

from ganmc.metrics.modes import assign_modes

# Added to every bin of both distributions in ``kl`` before renormalising, so an empty bin
# of the real distribution does not make KL infinite; an empty model bin contributes 0 anyway.
KL_EPS = 1e-10


def _as_array(x: torch.Tensor | np.ndarray | list[float]) -> np.ndarray:
    if isinstance(x, torch.Tensor):
        x = x.detach().cpu().double().numpy()
    return np.asarray(x, dtype=np.float64)


def good_mask(samples: torch.Tensor, centres: torch.Tensor, std: float,
              threshold: float = 4.0) -> tuple[torch.Tensor, torch.Tensor]:
    """Whether each sample is good (within ``threshold * std`` of its nearest centre), and that centre."""
    index, nearest = assign_modes(samples, centres)
    return nearest <= threshold * std, index


def mode_counts(samples: torch.Tensor, centres: torch.Tensor, std: float,
                threshold: float = 4.0) -> tuple[np.ndarray, int]:
    """Number of good samples per mode, and the number of bad samples."""
    good, index = good_mask(samples, centres, std, threshold)
    counts = torch.bincount(index[good].cpu(), minlength=int(centres.shape[0]))
    return counts.double().numpy(), int((~good).sum())


def kl_from_counts(counts: np.ndarray | list[float], weights: np.ndarray | list[float] | torch.Tensor,
                   eps: float = KL_EPS) -> float:
    """KL(model ‖ real) between the good samples' mode frequencies and the real weights.

    ``eps`` is added to every bin of both distributions, which are then renormalised (see
    :data:`KL_EPS`). Without any good sample the model distribution is undefined: ``nan``.
    """
    c, w = _as_array(counts), _as_array(weights)
    if c.shape != w.shape:
        raise ValueError(f"counts {c.shape} and weights {w.shape} differ in shape")
    if c.sum() <= 0:
        return math.nan
    p = c / c.sum() + eps
    q = w / w.sum() + eps
    p, q = p / p.sum(), q / q.sum()
    return float(np.sum(p * np.log(p / q)))


def js_from_counts(counts: np.ndarray | list[float], n_bad: float,
                   weights: np.ndarray | list[float] | torch.Tensor) -> float:
    """Jensen-Shannon divergence over the modes plus one "bad" bin (real mass 0 there).

    ``JS = KL(p‖m)/2 + KL(q‖m)/2`` with ``m = (p+q)/2``; empty bins contribute 0; at most ln 2.
    """
    c, w = _as_array(counts), _as_array(weights)
    p = np.append(c, float(n_bad))
    if p.sum() <= 0:
        raise ValueError("js needs at least one sample")
    p = p / p.sum()
    q = np.append(w / w.sum(), 0.0)
    m = (p + q) / 2

    def _kl(a: np.ndarray) -> float:
        nz = a > 0
        return float(np.sum(a[nz] * np.log(a[nz] / m[nz])))

    return 0.5 * _kl(p) + 0.5 * _kl(q)


def collab_metrics(samples: torch.Tensor, centres: torch.Tensor, std: float, weights: torch.Tensor,
                   threshold: float = 4.0) -> dict[str, float]:
    """``good_percent``, ``kl`` and ``js`` of one sample set, computed from one mode assignment."""
    counts, n_bad = mode_counts(samples, centres, std, threshold)
    return {
        "good_percent": 100.0 * float(counts.sum()) / samples.shape[0],
        "kl": kl_from_counts(counts, weights),
        "js": js_from_counts(counts, n_bad, weights),
    }


# --- discriminator diagnostics: labels y (1 real, 0 generated), probabilities p ---
def _check(y: np.ndarray, p: np.ndarray) -> None:
    if y.shape != p.shape or y.ndim != 1 or len(y) == 0:
        raise ValueError("labels and probabilities must be non-empty 1-D arrays of one length")


def z_stat(y: torch.Tensor | np.ndarray, p: torch.Tensor | np.ndarray) -> float:
    """Dawid's calibration statistic ``Z = sum(y - p) / sqrt(sum p(1-p))`` (N(0, 1) if calibrated)."""
    ya, pa = _as_array(y), _as_array(p)
    _check(ya, pa)
    var = float(np.sum(pa * (1 - pa)))
    if var <= 0:
        return 0.0 if np.array_equal(ya, pa) else math.copysign(math.inf, float(np.sum(ya - pa)))
    return float(np.sum(ya - pa)) / math.sqrt(var)


def ece(y: torch.Tensor | np.ndarray, p: torch.Tensor | np.ndarray, n_bins: int = 10) -> float:
    """Expected calibration error of P(real): ``sum_b |B|/N |mean(y_b) - mean(p_b)|``, equal-width bins on [0, 1]."""
    ya, pa = _as_array(y), _as_array(p)
    _check(ya, pa)
    if n_bins < 1:
        raise ValueError("ece needs n_bins >= 1")
    bins = np.minimum((pa * n_bins).astype(np.int64), n_bins - 1)  # p = 1 goes to the last bin
    total = 0.0
    for b in np.unique(bins):
        sel = bins == b
        total += sel.sum() * abs(float(ya[sel].mean() - pa[sel].mean()))
    return total / len(ya)


def brier(y: torch.Tensor | np.ndarray, p: torch.Tensor | np.ndarray) -> float:
    """Brier score ``mean((y - p)^2)`` (0 for a perfect classifier, 0.25 for a constant 0.5)."""
    ya, pa = _as_array(y), _as_array(p)
    _check(ya, pa)
    return float(np.mean((ya - pa) ** 2))


def diagnostics(y: torch.Tensor | np.ndarray, p: torch.Tensor | np.ndarray, n_bins: int = 10) -> dict[str, float]:
    """``z_stat``, ``ece`` and ``brier`` of one held-out set."""
    return {"z_stat": z_stat(y, p), "ece": ece(y, p, n_bins), "brier": brier(y, p)}
