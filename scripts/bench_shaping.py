#!/usr/bin/env python
"""Benchmark: seconds per discriminator-shaping iteration (collaborative sampling, Algorithm 2).

Times ``shape_discriminator`` for ``--iterations`` iterations on the GAN of an experiment (by
default ``collab_fig4``'s NS-GAN MLP on imbal8 after 1k iterations, from the cache or shipped
checkpoints; trained into the cache when absent, ~40 s), with the sampler ``collab_shaped``
(refinement in output space, 50 SGD steps of rate 0.1, eta = median of D on real), and projects
the time of the preset's 5,000 iterations. The timed run never writes a checkpoint.

    OMP_NUM_THREADS=1 python scripts/bench_shaping.py --iterations 200 [--profile cprofile|torch] [--autograd]

``--autograd`` refines through D wrapped without its ``input_vjp`` hook (autograd, the same
bits), the baseline of the hand-derived gradient (``scripts/bench_refine.py``).

Run it against two source trees (``PYTHONPATH=<tree>``, e.g. a ``git worktree`` of an older
commit) in one session for a before/after; the CPU time beside the wall time is less sensitive
to other processes on a shared machine. The first iterations refine fewer steps than the later
ones (more samples reach eta early on), so a short run projects the 5k time low.
"""

from __future__ import annotations

import argparse
import copy
import cProfile
import pstats
import time

import torch
from bench_refine import Opaque  # scripts/ is on sys.path when run as a script
from hydra import compose, initialize_config_module

import ganmc
from ganmc.config import register_configs
from ganmc.context import SamplingContext
from ganmc.discriminators import finetune_discriminator
from ganmc.models.gan import GAN
from ganmc.run import build_dataset, construct_sampler, derive_seed, obtain_gan, resolve_device
from ganmc.settings import checkpoint_spec


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument("--warmup", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--experiment", default="collab_fig4")
    parser.add_argument("--sampler", default="collab_shaped")
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--profile", choices=["none", "cprofile", "torch"], default="none")
    parser.add_argument("--autograd", action="store_true", help="refine with autograd (D without its hook)")
    parser.add_argument("overrides", nargs="*", help="extra Hydra overrides")
    args = parser.parse_args()

    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        cfg = compose("sample", overrides=[f"experiment={args.experiment}", f"+sampler={args.sampler}",
                                          f"seed={args.seed}", f"device={args.device}", *args.overrides])
    device = resolve_device(cfg)
    dataset = build_dataset(cfg)
    gan, path = obtain_gan(cfg, dataset, device)
    sampler = construct_sampler(cfg, gan)
    ctx = SamplingContext(dataset, path, None, derive_seed(args.seed, "shape"), checkpoint_spec(cfg))
    sampler.setup(ctx)  # not prepare(): that would shape (or load) the preset's 5k iterations
    d = sampler.cfg.discriminator
    steps, lr, batch = d.steps, d.lr, d.batch
    print(f"ganmc from {ganmc.__file__}")
    print(f"torch {torch.__version__}, {torch.get_num_threads()} thread(s), device {device}; checkpoint {path.name}")
    print(f"shaping: batch {batch}, lr {lr}, refinement {sampler.n_steps} {sampler.optimizer} steps of "
          f"{sampler.step_size} at layer {sampler.layer}, eta {'median' if sampler.use_median else sampler.stop_prob}"
          f"{', autograd (no input_vjp hook)' if args.autograd else ''}")

    cpu = {"seconds": 0.0}

    def run(n: int) -> tuple[float, list[dict[str, float]]]:
        gen = torch.Generator().manual_seed(derive_seed(args.seed, "shape"))
        t0, c0 = time.perf_counter(), time.process_time()
        spec = sampler.shaping(ctx, n, lr, batch)
        d_net = Opaque(gan.discriminator) if args.autograd else gan.discriminator
        tuned = GAN(gan.generator, copy.deepcopy(d_net), gan.prior, gan.loss)
        _, history = finetune_discriminator(tuned, dataset, spec.fakes(tuned), n, lr, batch, gen, progress=False,
                                            in_place=True)
        cpu["seconds"] = time.process_time() - c0
        return time.perf_counter() - t0, history

    run(args.warmup)
    if args.profile == "cprofile":
        prof = cProfile.Profile()
        prof.enable()
        seconds, history = run(args.iterations)
        prof.disable()
        pstats.Stats(prof).sort_stats("tottime").print_stats(25)
    elif args.profile == "torch":
        from torch.profiler import ProfilerActivity, profile

        with profile(activities=[ProfilerActivity.CPU]) as prof:
            seconds, history = run(args.iterations)
        print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=30))
    else:
        seconds, history = run(args.iterations)
    per, per_cpu = seconds / args.iterations, cpu["seconds"] / args.iterations
    print(f"{args.iterations} shaping iterations: wall {seconds:.2f} s = {per * 1e3:.1f} ms per iteration "
          f"(process CPU time {per_cpu * 1e3:.1f} ms); projected {steps} iterations: {per * steps / 60:.1f} min; "
          f"final BCE {history[-1]['bce']:.6f}")


if __name__ == "__main__":
    main()
