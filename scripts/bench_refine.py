#!/usr/bin/env python
"""Benchmark: collaborative refinement (Algorithm 1) with D's hand-derived input gradient against
autograd, in one run, on the shapes the tables use.

The GAN is ``collab_fig4``'s NS-GAN MLP on imbal8 after 1k iterations (G and D 6 x 64, shipped
checkpoint or the cache; trained into the cache when absent, ~40 s), refined in output space as
the ``collab`` presets do (50 SGD steps of 0.1, eta = median of D on real data). Batch sizes:
1,000 (a discriminator-shaping iteration, Algorithm 2, 5,000 of them per shaped D), 2,500
(``pareto_imbal8``), 10,000 (``collab_fig4``'s sampling batch) and 65,536 (the chunk in which
``collab_reject`` refines its 20 proposals per chain). The autograd run refines through the same
D wrapped in a module without the hook, so :func:`ganmc.samplers.refine.refine` differentiates it
with autograd; both must return the same bits. Repeats alternate the two paths; the medians of
process CPU time (less sensitive than wall time to other processes on a shared machine) give the
ratios. The load average is printed: compare ratios, not seconds, across runs.

    OMP_NUM_THREADS=1 python scripts/bench_refine.py [--batches 1000 10000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import os
import statistics
import time

import torch
from hydra import compose, initialize_config_module
from torch import nn

from ganmc.config import register_configs
from ganmc.context import SamplingContext
from ganmc.models.gan import GAN
from ganmc.run import build_dataset, construct_sampler, derive_seed, obtain_gan, resolve_device
from ganmc.samplers.refine import Refined, refine
from ganmc.settings import checkpoint_spec


class Opaque(nn.Module):
    """D behind a plain module: the same function, no hook, so refinement uses autograd."""

    def __init__(self, inner: nn.Module) -> None:
        super().__init__()
        self.inner = inner

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.inner(x)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--batches", type=int, nargs="+", default=[1000, 2500, 10000, 65536])
    p.add_argument("--repeats", type=int, default=5, help="timings per path and batch (median)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu")
    return p


def main() -> None:
    args = parser().parse_args()
    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        cfg = compose("sample", overrides=["experiment=collab_fig4", "+sampler=collab", f"seed={args.seed}",
                                          f"device={args.device}"])
    device = resolve_device(cfg)
    dataset = build_dataset(cfg)
    gan, path = obtain_gan(cfg, dataset, device)
    gan.eval()
    sampler = construct_sampler(cfg, gan)
    sampler.setup(SamplingContext(dataset, path, None, derive_seed(args.seed, "bench"), checkpoint_spec(cfg)))
    threshold = sampler.estimate_median(torch.Generator().manual_seed(1))
    opaque = GAN(gan.generator, Opaque(gan.discriminator), gan.prior, gan.loss)
    layer, steps, lr = sampler.layer, sampler.n_steps, sampler.step_size
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device {device}; checkpoint {path.name}; "
          f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores")
    print(f"refinement: {steps} {sampler.optimizer} steps of {lr} at layer {layer}, eta = median {threshold:.4f}")
    print(f"{'batch':>7} {'mean steps':>10} {'hand-derived':>13} {'autograd':>9} {'autograd/hand':>13}  same bits")

    def timed(g: GAN, z: torch.Tensor) -> tuple[float, Refined]:
        c0 = time.process_time()
        out = refine(g, z, layer, steps, lr, sampler.optimizer, threshold)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return time.process_time() - c0, out

    ratios = {}
    for n in args.batches:
        z = gan.prior.sample(n, torch.Generator().manual_seed(2), device)
        timed(gan, z[:100])  # warm-up
        timed(opaque, z[:100])
        hand, auto = [], []
        for _ in range(args.repeats):
            t, r_hand = timed(gan, z)
            hand.append(t)
            t, r_auto = timed(opaque, z)
            auto.append(t)
        same = all(torch.equal(getattr(r_hand, f), getattr(r_auto, f)) for f in ("samples", "logits", "steps"))
        th, ta = statistics.median(hand), statistics.median(auto)
        ratios[n] = ta / th
        print(f"{n:>7} {float(r_hand.steps.double().mean()):>10.1f} {th:>11.3f} s {ta:>7.3f} s {ta / th:>12.2f}x  {same}")
    if 1000 in ratios:
        print(f"a 5,000-iteration shaping refines 5,000 batches of 1,000: refinement alone ~{ratios[1000]:.2f}x "
              f"the time under autograd (scripts/bench_shaping.py times whole iterations)")


if __name__ == "__main__":
    main()
