"""Benchmark: vectorised MH-GAN chains against the per-chain reference loop, in one run.

Both run the same chains (same seed, same inputs) on the nsgan_mlp architecture (G and D 6 x 64,
random initialisation: the cost does not depend on training). The per-chain loop is timed on
the first ``--loop-chains`` chains and scaled linearly to ``--chains`` (each chain costs the
same: ``k`` proposals), and the two are checked to return the same samples on that subset.

    python scripts/bench_mhgan.py --chains 1000 --k 640 --loop-chains 50
"""

from __future__ import annotations

import argparse
import time

import torch

from ganmc.data.synthetic import GaussianRing
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
from ganmc.models.prior import Prior
from ganmc.samplers.mh import select_loop, select_vectorised
from ganmc.samplers.mhgan import MHGANSampler


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--chains", type=int, default=1000)
    parser.add_argument("--k", type=int, default=640)
    parser.add_argument("--loop-chains", type=int, default=50)
    parser.add_argument("--device", default="cpu")
    args = parser.parse_args()
    torch.manual_seed(0)
    gan = GAN(MLPGenerator(2, 2, width=64, depth=6), MLPDiscriminator(2, width=64, depth=6),
              Prior("normal", 2), "ns").to(args.device).eval()
    data = GaussianRing("imbal8")

    def make(impl: str) -> MHGANSampler:
        s = MHGANSampler(gan, dataset=data, k=args.k, calibration="none", n_calib=2, impl=impl)
        s.calibrate(torch.Generator().manual_seed(1))  # outside the timings
        return s

    def timed(impl: str, n: int) -> tuple[float, torch.Tensor]:
        sampler = make(impl)
        gen = torch.Generator().manual_seed(123)
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        t0 = time.perf_counter()
        out = sampler.sample_batch(n, gen).samples
        if args.device.startswith("cuda"):
            torch.cuda.synchronize()
        return time.perf_counter() - t0, out

    timed("vectorised", 10)  # warm-up
    t_vec, _ = timed("vectorised", args.chains)
    t_vec_sub, vec_sub = timed("vectorised", args.loop_chains)
    t_loop_sub, loop_sub = timed("loop", args.loop_chains)
    same = torch.equal(vec_sub, loop_sub)
    t_loop = t_loop_sub * args.chains / args.loop_chains
    print(f"device {args.device}, torch threads {torch.get_num_threads()}, {args.chains} chains x {args.k} proposals")
    print(f"vectorised: {t_vec:.3f} s for {args.chains} chains")
    print(f"per-chain loop: {t_loop_sub:.3f} s for {args.loop_chains} chains, "
          f"scaled x{args.chains / args.loop_chains:g} -> {t_loop:.1f} s for {args.chains} chains (estimate)")
    print(f"speed-up (loop / vectorised): {t_loop / t_vec:.1f}x")
    print(f"same samples on the {args.loop_chains}-chain subset: {same}")
    # the accept/reject logic alone (scores given), on all chains
    gen = torch.Generator().manual_seed(5)
    init = torch.randn(args.chains, generator=gen, dtype=torch.float64)
    props = torch.randn(args.chains, args.k, generator=gen, dtype=torch.float64)
    u = torch.rand(args.chains, args.k, generator=gen, dtype=torch.float64)
    t0 = time.perf_counter()
    iv, _ = select_vectorised(init, props, u)
    t_sv = time.perf_counter() - t0
    t0 = time.perf_counter()
    il, _ = select_loop(init, props, u)
    t_sl = time.perf_counter() - t0
    print(f"accept/reject logic only ({args.chains} x {args.k}): vectorised {t_sv * 1e3:.1f} ms, "
          f"loop {t_sl * 1e3:.1f} ms, ratio {t_sl / t_sv:.1f}x, same: {torch.equal(iv, il)}")


if __name__ == "__main__":
    main()
