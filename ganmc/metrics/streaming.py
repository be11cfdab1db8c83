"""Metric statistics accumulated batch by batch, so that memory does not grow with the number of
samples: :class:`RunningMoments` (feature mean and covariance, FID) and
:class:`RunningInceptionScore` (torch-fidelity's Inception score with its shuffled splits)."""

from __future__ import annotations

import numpy as np
import torch

from ganmc.errors import GanmcError


class RunningMoments:
    """Mean and unbiased covariance of features seen batch by batch, in float64 on their device.

    Sums of ``x - c`` and of its outer products, ``c`` the first batch's mean (the shift keeps
    the subtraction in :meth:`result` from cancelling digits): equal to ``torch.cov`` of the
    stacked features to float64 rounding."""

    def __init__(self) -> None:
        self.n = 0
        self.shift: torch.Tensor | None = None
        self.s1 = self.s2 = torch.zeros(0, dtype=torch.float64)

    def update(self, features: torch.Tensor) -> None:
        f = features.double()
        if self.shift is None:
            self.shift = f.mean(0)
            self.s1 = torch.zeros_like(self.shift)
            self.s2 = torch.zeros(len(self.shift), len(self.shift), dtype=f.dtype, device=f.device)
        d = f - self.shift
        self.s1 += d.sum(0)
        self.s2.addmm_(d.T, d)
        self.n += len(f)

    def result(self) -> dict[str, torch.Tensor]:
        """``mu`` and ``sigma`` (float64, on the CPU), as ``statistics`` of all features seen."""
        if self.shift is None:
            raise GanmcError("no features to take statistics of")
        mean_d = self.s1 / self.n
        sigma = (self.s2 - torch.outer(self.s1, mean_d)) / (self.n - 1)
        return {"mu": (self.shift + mean_d).cpu(), "sigma": sigma.cpu()}


class RunningInceptionScore:
    """torch-fidelity's ``isc_features_to_metric(logits, splits, shuffle, rng_seed)`` on logits
    seen batch by batch, in sample order.

    torch-fidelity permutes the N rows with ``np.random.RandomState(rng_seed).permutation(N)``
    and cuts the permuted rows at ``i * N // splits``; the permutation is known in advance, so
    each sample's split is too. Per split this keeps sum p(y|x) and sum_x sum_y p log p (float64):
    the split's mean KL is ``sum(p log p) / n_k - sum_y q_y log q_y``, q the mean p."""

    def __init__(self, n: int, splits: int = 10, shuffle: bool = True, rng_seed: int = 2020) -> None:
        if splits < 1:
            raise GanmcError(f"IS needs at least 1 split, got {splits}")
        order = np.random.RandomState(rng_seed).permutation(n) if shuffle else np.arange(n)
        bounds = [i * n // splits for i in range(splits + 1)]
        split_of_position = np.searchsorted(bounds, np.arange(n), side="right") - 1
        split = np.empty(n, dtype=np.int64)
        split[order] = split_of_position  # row order[j] sits at position j
        self.split, self.splits, self.n, self.seen = torch.from_numpy(split), splits, n, 0
        self.sum_p: torch.Tensor | None = None
        self.sum_plogp = torch.zeros(splits, dtype=torch.float64)

    def update(self, logits: torch.Tensor) -> None:
        x = logits.double()
        if self.seen + len(x) > self.n:
            raise GanmcError(f"more than the {self.n} samples announced for IS")
        idx = self.split[self.seen:self.seen + len(x)].to(x.device)
        if self.sum_p is None:
            self.sum_p = torch.zeros(self.splits, x.shape[1], dtype=x.dtype, device=x.device)
            self.sum_plogp = self.sum_plogp.to(x.device)
        p, log_p = x.softmax(1), x.log_softmax(1)
        self.sum_p.index_add_(0, idx, p)
        self.sum_plogp.index_add_(0, idx, (p * log_p).sum(1))
        self.seen += len(x)

    def result(self) -> tuple[float, float]:
        """IS mean and std over the splits (``np.mean``, ``np.std``, as torch-fidelity)."""
        if self.seen != self.n or self.sum_p is None:
            raise GanmcError(f"IS saw {self.seen} of the {self.n} samples announced")
        counts = torch.bincount(self.split, minlength=self.splits).double().to(self.sum_p.device)
        q = self.sum_p / counts[:, None]
        kl = self.sum_plogp / counts - (q * q.log()).sum(1)
        scores = kl.exp().cpu().numpy()
        return float(np.mean(scores)), float(np.std(scores))
