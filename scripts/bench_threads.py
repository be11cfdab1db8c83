#!/usr/bin/env python
"""Benchmark: ms per training iteration of the Tables' GAN at 1 and 2 torch threads, on an idle
machine and with busy-loop processes on the cores.

The GAN is ``experiment=table1``'s: WGAN-GP MLP on 25 Gaussians, G and D 256 wide (depth 3),
batch 256, 5 critic steps per generator step. Each (threads, load) setting trains a freshly
initialised GAN (same seed) for ``--warmup`` and then ``--iterations`` iterations; the timed
ones give ms/iteration. "busy" starts ``--busy`` processes that spin in a Python loop (default 2:
one per core of the 2-core machine) and stops them after the setting. The ratio busy/idle per
thread count says how much a thread count suffers when the cores are shared, which is what
``threads=null`` (1 thread for MLP GANs) is chosen for.

    OMP_NUM_THREADS=1 python scripts/bench_threads.py --iterations 200 --out results/bench_threads.md

Run it on an otherwise idle machine; ``--iterations 5`` is a smoke run.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from ganmc.config import register_configs
from ganmc.io import derive_seed, write_atomic
from ganmc.models.gan import build_gan, data_shape
from ganmc.run.gans import build_dataset
from ganmc.settings import gan_config
from ganmc.threads import available_cores
from ganmc.training import train_gan

BUSY_LOOP = "while True:\n    pass\n"


def table_config(iterations: int) -> DictConfig:
    """The Tables' GAN (experiment=table1, seed 0) set to train ``iterations`` iterations."""
    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        return compose("train", overrides=["experiment=table1", "seed=0", "device=cpu",
                                           f"gan.train.iterations={iterations}", "plot=false"])


def ms_per_iteration(cfg: DictConfig, threads: int, iterations: int, warmup: int) -> float:
    """Train a fresh GAN for ``warmup`` then ``iterations`` iterations at ``threads`` threads;
    return the timed part's milliseconds per iteration."""
    torch.set_num_threads(threads)
    dataset = build_dataset(cfg)
    gan = build_gan(gan_config(cfg), data_shape(dataset), int(cfg.seed))
    seed = derive_seed(int(cfg.seed), "train")
    if warmup:
        train_gan(gan, dataset, gan_config(table_config(warmup)).train, seed, progress=False)
    start = time.perf_counter()
    train_gan(gan, dataset, gan_config(cfg).train, seed, progress=False)
    return 1000.0 * (time.perf_counter() - start) / iterations


def start_busy(n: int) -> list[subprocess.Popen[bytes]]:
    """``n`` processes spinning in a Python loop (stopped by :func:`stop_busy`)."""
    return [subprocess.Popen([sys.executable, "-c", BUSY_LOOP]) for _ in range(n)]


def stop_busy(procs: list[subprocess.Popen[bytes]]) -> None:
    for proc in procs:
        proc.terminate()
    for proc in procs:
        proc.wait(timeout=10)


def markdown(results: dict[tuple[int, str], float], iterations: int, busy: int) -> str:
    """The results as a Markdown table: one row per thread count, idle and busy ms/iteration and
    their ratio."""
    lines = [f"Training the Tables' GAN (WGAN-GP MLP, 256 wide, batch 256, 5 critic steps): "
             f"{iterations} iterations per setting, torch {torch.__version__}, {available_cores()} cores, "
             f"busy = {busy} busy-loop processes.", "",
             "| threads | idle ms/it | busy ms/it | busy / idle |", "|---|---|---|---|"]
    for threads in sorted({t for t, _ in results}):
        idle, loaded = results.get((threads, "idle")), results.get((threads, "busy"))
        ratio = f"{loaded / idle:.2f}" if idle and loaded else "n/a"
        cells = [f"{v:.1f}" if v is not None else "n/a" for v in (idle, loaded)]
        lines.append(f"| {threads} | {cells[0]} | {cells[1]} | {ratio} |")
    return "\n".join(lines) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--threads", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--busy", type=int, default=2, help="busy-loop processes in the 'busy' setting")
    parser.add_argument("--out", type=Path, default=None, help="write the Markdown table here")
    args = parser.parse_args(argv)
    if os.environ.get("OMP_NUM_THREADS") not in (None, "1"):
        print("note: OMP_NUM_THREADS is set; torch.set_num_threads overrides it per setting", file=sys.stderr)
    cfg = table_config(args.iterations)
    results: dict[tuple[int, str], float] = {}
    for load in ("idle", "busy"):
        procs = start_busy(args.busy) if load == "busy" else []
        try:
            for threads in args.threads:
                results[(threads, load)] = ms_per_iteration(cfg, threads, args.iterations, args.warmup)
                print(f"{threads} thread(s), {load}: {results[(threads, load)]:.1f} ms/iteration", flush=True)
        finally:
            stop_busy(procs)
    text = markdown(results, args.iterations, args.busy)
    print(text)
    if args.out is not None:
        write_atomic(args.out, lambda tmp: tmp.write_text(text))
        print(f"written to {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
