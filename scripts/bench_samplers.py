#!/usr/bin/env python
"""Sampler throughput and DDLS overhead, measured against a baseline in the same run.

For each model size it times a bare forward+backward of D(G(z)) w.r.t. z on a batch (the
floor of any latent gradient sampler), one DDLS step (ULA and MALA) on the same batch, and
whole samplers (generator, DRS, DOT, collab refinement), printing samples*steps/s and ratios to
the floor; then MH-GAN vectorised against a textbook per-chain loop (scripts/bench_mhgan.py).
Writes results/bench.md (atomic). Usage: python scripts/bench_samplers.py [--device cuda]
"""

from __future__ import annotations

import argparse
import platform
import statistics
import time
from collections.abc import Callable
from pathlib import Path

import torch
from bench_mhgan import bench_mhgan  # scripts/ is on sys.path when run as a script
from bench_mhgan import parser as mh_parser

from ganmc.io import write_atomic
from ganmc.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
from ganmc.models.prior import Prior
from ganmc.samplers.collab import CollabSampler
from ganmc.samplers.ddls import DDLSSampler
from ganmc.samplers.dot import DOTSampler
from ganmc.samplers.drs import DRSSampler
from ganmc.samplers.generator import GeneratorSampler


def models(device: torch.device) -> dict[str, tuple[GAN, int]]:
    """name -> (GAN with random weights, batch size): the 2-D setup, an image-sized MLP and a conv net."""
    torch.manual_seed(0)
    two_d = GAN(MLPGenerator(2, 2, 256, 3), MLPDiscriminator(2, 256, 3), Prior("normal", 2), "wgan_gp")
    big = GAN(MLPGenerator(128, 3072, 1024, 3), MLPDiscriminator(3072, 1024, 3), Prior("normal", 128), "ns")
    conv = GAN(DCGANGenerator(100, (3, 32, 32)), DCGANDiscriminator((3, 32, 32)), Prior("normal", 100), "ns")
    return {"2-D MLP (256 wide, batch 10k)": (two_d.to(device).eval(), 10000),
            "image-sized MLP (128 -> 3072, 1024 wide, batch 512)": (big.to(device).eval(), 512),
            "DCGAN 32x32 (conv, base width 64, batch 256)": (conv.to(device).eval(), 256)}


def timed(fn: Callable[[], object], device: torch.device, repeats: int = 5) -> float:
    """Median wall seconds of ``fn`` after one warm-up call."""
    fn()
    times = []
    for _ in range(repeats):
        if device.type == "cuda":
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        fn()
        if device.type == "cuda":
            torch.cuda.synchronize()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def bench(device: torch.device, steps: int) -> list[str]:
    lines = [f"# Sampler benchmark ({device}, {platform.processor() or platform.machine()}, "
             f"torch {torch.__version__}, {torch.get_num_threads()} threads)", ""]
    for name, (gan, n) in models(device).items():
        z = gan.prior.sample(n, torch.Generator().manual_seed(0), device)

        def bare(gan: GAN = gan, z: torch.Tensor = z) -> None:
            zz = z.detach().requires_grad_(True)
            torch.autograd.grad(gan.discriminator(gan.generator(zz)).sum(), zz)

        # A DDLS run of `steps` steps does steps + 1 gradient evaluations; the baseline does the
        # same number of bare ones, timed alternately with it so load changes hit both alike.
        def bare_run(bare: Callable[[], None] = bare) -> None:
            for _ in range(steps + 1):
                bare()

        ulas = DDLSSampler(gan, n_steps=steps)
        malas = DDLSSampler(gan, n_steps=steps, mala=True)
        t_bare, t_ula, t_mala = [], [], []
        for _ in range(5):
            t_bare.append(timed(bare_run, device, 1))
            t_ula.append(timed(lambda n=n, s=ulas: s.sample_batch(n, torch.Generator().manual_seed(1)), device, 1))
            t_mala.append(timed(lambda n=n, s=malas: s.sample_batch(n, torch.Generator().manual_seed(1)), device, 1))
        floor = statistics.median(t_bare) / (steps + 1)
        rows = [("bare fwd+bwd of D(G(z)) (baseline)", floor, 1, 1.0)]
        for label, times in [("DDLS step (ULA)", t_ula), ("DDLS step (MALA)", t_mala)]:
            per_step = statistics.median(times) / (steps + 1)
            rows.append((label, per_step, 1, per_step / floor))
        for label, sampler, k in [
            ("generator (whole run)", GeneratorSampler(gan), 1),
            ("DRS gamma=95th pct (whole run)", DRSSampler(gan, pilot_n=n, proposal_batch=n), 1),
            (f"DOT latent, {steps} steps (whole run)", DOTSampler(gan, n_steps=steps, k_pairs=n), steps),
            (f"collab refinement, output space, {steps} steps (whole run)",
             CollabSampler(gan, n_steps=steps, eta=0.0), steps),
        ]:
            t = timed(lambda sampler=sampler, n=n: sampler.sample(n, torch.Generator().manual_seed(2), n), device, 3)
            rows.append((label, t, k, t / k / floor))
        lines += [f"## {name}", "", "| what | seconds | samples·steps/s | ratio to baseline step |",
                  "|---|---|---|---|"]
        for label, secs, k, ratio in rows:
            lines.append(f"| {label} | {secs:.4f} | {n * k / secs:,.0f} | {ratio:.3f} |")
        lines.append("")
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--steps", type=int, default=20)
    parser.add_argument("--out", default="results/bench.md")
    args = parser.parse_args()
    lines = bench(torch.device(args.device), args.steps)
    mh_args = mh_parser().parse_args(["--device", args.device])
    lines += ["## MH-GAN: vectorised against a textbook per-chain loop (nsgan_mlp, imbalanced 8 Gaussians)", "", "```",
              *bench_mhgan(mh_args), "```", ""]
    text = "\n".join(lines) + "\n"
    print(text)
    write_atomic(Path(args.out), lambda tmp: tmp.write_text(text))


if __name__ == "__main__":
    main()
