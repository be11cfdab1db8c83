"""Benchmark: the exact EMD on the dense cost matrix against POT's lazy solver and against an
assignment solver, in one run.

The first two are POT's exact network simplex on uniform weights; the dense one builds the n x m
cost matrix first (memory O(nm)), the lazy one computes costs on the fly (O(n)). ganmc uses the
dense one up to ``ganmc.metrics.emd.DENSE_PAIRS`` pairs. With equal n and uniform weights the EMD
is also an assignment problem: scipy's ``linear_sum_assignment`` (a Jonker-Volgenant solver) on the
same dense matrix is the third. Printed: seconds of each, their ratios to the dense solve, and
that all reach the same optimum, per n and cost, on two shifted 2-D Gaussian sets.

    OMP_NUM_THREADS=1 python scripts/bench_emd.py --n 2000 5000
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np
import ot
from scipy.optimize import linear_sum_assignment
from scipy.spatial.distance import cdist

from ganmc.metrics.emd import _MAX_ITER, DENSE_PAIRS


def solve(a: np.ndarray, b: np.ndarray, cost: str, solver: str) -> tuple[float, float]:
    """(EMD, seconds) of one solve by ``solver``: 'dense', 'lazy' or 'assignment'."""
    start = time.perf_counter()
    if solver == "dense":
        w = np.full(len(a), 1.0 / len(a))
        value = ot.emd2(w, w, cdist(a, b, cost), numItermax=_MAX_ITER)
    elif solver == "lazy":
        value = ot.lp.emd2_lazy(a, b, metric=cost, numItermax=_MAX_ITER, return_matrix=False)
    else:
        m = cdist(a, b, cost)
        rows, cols = linear_sum_assignment(m)
        value = m[rows, cols].mean()
    return float(value), time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[2000, 5000])
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    print(f"OMP_NUM_THREADS={os.environ.get('OMP_NUM_THREADS', 'unset')}, load {os.getloadavg()[0]:.2f}, "
          f"dense up to {DENSE_PAIRS:,} pairs in ganmc")
    rng = np.random.default_rng(args.seed)
    for n in args.n:
        a, b = rng.normal(size=(n, 2)), rng.normal(size=(n, 2)) + 0.1
        for cost in ("euclidean", "sqeuclidean"):
            lazy, t_lazy = solve(a, b, cost, "lazy")
            dense, t_dense = solve(a, b, cost, "dense")
            lsa, t_lsa = solve(a, b, cost, "assignment")
            worst = max(abs(dense - lazy), abs(dense - lsa))
            same = "same optimum" if worst <= 1e-12 * max(1.0, abs(dense)) else f"DIFFER by up to {worst:.3g}"
            print(f"n={n:>6} {cost:>11}: dense {t_dense:7.2f} s, lazy {t_lazy:7.2f} s, assignment {t_lsa:7.2f} s; "
                  f"lazy/dense {t_lazy / t_dense:5.2f}x, assignment/dense {t_lsa / t_dense:5.2f}x, {same}")


if __name__ == "__main__":
    main()
