"""Earth mover's distance between two empirical sets: exact optimal transport with POT; the
protocols a run measures it under (cost and real-set draw) and the real-vs-real floor."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import ot
import torch
from scipy.spatial.distance import cdist

from ganmc.data.synthetic import REAL_SETS, SyntheticDataset, draw_real
from ganmc.errors import GanmcError
from ganmc.io import cached_json, derive_seed

_METRICS = {"euclidean": "euclidean", "sqeuclidean": "sqeuclidean"}
# POT's default numItermax (100,000) stops early at n >= 5,000 and overestimates with only a
# warning (measured with POT 0.9.7: +47 % at n = 10,000); this bound is far above what exact
# solutions need at n = 50,000.
_MAX_ITER = 10**9


# Up to this many pairs (n * m) the cost matrix is built and solved densely (POT's emd2: ~2x
# faster than the lazy solver at n = 5,000, measured in scripts/bench_emd.py; 1.8 GB peak there);
# beyond it the lazy network simplex keeps memory O(n). Both are exact.
DENSE_PAIRS = 25_000_000


def emd(x: torch.Tensor | np.ndarray, y: torch.Tensor | np.ndarray, cost: str = "euclidean") -> float:
    """Exact EMD with uniform weights; ``cost`` 'euclidean' (W1) or 'sqeuclidean' (W2^2).
    POT's network simplex, on the dense cost matrix up to :data:`DENSE_PAIRS` pairs, else its lazy
    variant (O(n) memory); a non-optimal result is refused.
    """
    if cost not in _METRICS:
        raise GanmcError(f"unknown EMD cost '{cost}' (euclidean or sqeuclidean)")
    xa = np.ascontiguousarray(torch.as_tensor(x).detach().cpu().double().numpy())
    xb = np.ascontiguousarray(torch.as_tensor(y).detach().cpu().double().numpy())
    if xa.ndim != 2 or xb.ndim != 2 or xa.shape[1] != xb.shape[1] or len(xa) == 0 or len(xb) == 0:
        raise ValueError(f"emd needs two non-empty (n, d) sets of equal d, got {xa.shape} and {xb.shape}")
    if len(xa) * len(xb) <= DENSE_PAIRS:
        wa, wb = np.full(len(xa), 1.0 / len(xa)), np.full(len(xb), 1.0 / len(xb))
        value, log = ot.emd2(wa, wb, cdist(xa, xb, _METRICS[cost]), numItermax=_MAX_ITER, log=True)
    else:
        value, log = ot.lp.emd2_lazy(xa, xb, metric=_METRICS[cost], numItermax=_MAX_ITER, log=True,
                                     return_matrix=False)
    if log.get("result_code") != 1:
        raise GanmcError(f"EMD solver did not reach the optimum ({log.get('warning')})")
    return float(value)


# Samples per EMD when ``metric.emd_n`` is null: the exact solve grows faster than n^2 (~1 s at
# 2,000, ~9 s at 5,000, ~80 s at 10,000 on one idle core), so a plain run answers in seconds and
# a larger emd_n is asked for explicitly (the tables' experiments measure at most 5,000 samples).
EMD_DEFAULT_N = 2_000


def parse_protocol(text: str) -> tuple[str, str]:
    """``COST/REAL_SET`` (e.g. ``sqeuclidean/stratified``) -> (cost, real set), or one clear error."""
    cost, _, real_set = str(text).partition("/")
    if cost not in _METRICS or real_set not in REAL_SETS:
        raise GanmcError(f"metric.emd_also: {text!r} is not COST/REAL_SET (cost {' or '.join(_METRICS)}, "
                         f"real set {' or '.join(REAL_SETS)}), e.g. sqeuclidean/stratified")
    return cost, real_set


def protocol_key(name: str, cost: str, real_set: str) -> str:
    """Record key of ``name`` (``emd``, ``emd_floor``) under an extra protocol: ``emd[sqeuclidean/stratified]``."""
    return f"{name}[{cost}/{real_set}]"


def real_points(dataset: SyntheticDataset, n: int, seed: int, real_set: str) -> torch.Tensor:
    """The fresh real set an EMD compares with: the same for every sampler of one seed."""
    return draw_real(dataset, n, torch.Generator().manual_seed(derive_seed(seed, "emd-real")), real_set)


def emd_floor(dataset: SyntheticDataset, n: int, seed: int, cost: str, real_set: str,
              cache_dir: str | Path | None) -> float:
    """EMD between the real set :func:`real_points` and a second one drawn the same way: what
    sampling noise alone gives at this n. It depends only on the data, n, seed, cost and real
    set, so it is solved once and kept under ``<cache_dir>/emd_floor/`` (a table's runs share it)."""
    def solve() -> dict[str, Any]:
        other = draw_real(dataset, n, torch.Generator().manual_seed(derive_seed(seed, "emd-floor")), real_set)
        return {"emd_floor": emd(other, real_points(dataset, n, seed, real_set), cost)}

    key = {"data": dataset.fingerprint(), "n": n, "seed": seed, "cost": cost, "real_set": real_set}
    return float(cached_json(cache_dir, "emd_floor", key, solve)["emd_floor"])
