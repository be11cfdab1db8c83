"""Benchmark: vectorised MH-GAN chains against two per-chain baselines, in one run.

All run the same chains (same seed, same inputs) on the nsgan_mlp architecture (G and D 6 x 64,
batch norm in G, eval mode, random initialisation: the cost does not depend on training):

* **vectorised** (the library's default): every proposal of every chain scored in large
  batches (``--chunk`` proposals per G/D call), then the accept/reject logic on tensors,
  one step per proposal index over all chains;
* **textbook per-chain loop**: for each chain, for each of its ``k`` steps, score that one
  proposal with ``D(G(z))`` (a batch of one) and accept or reject it;
* **per-chain loop, batched scoring**: for each chain, score its ``k`` proposals in one batch,
  then accept/reject in a Python loop. Its cost is mostly the same G/D arithmetic as the
  vectorised path's, which bounds that ratio.

The loops are timed on the first chains only (``--textbook-chains``, ``--loop-chains``) and
scaled linearly to ``--chains`` (every chain costs the same ``k`` proposals; the output says
so), and each is checked against the vectorised run of the same chains. Also printed: G and D
alone on all ``chains x k`` proposals (the floor of any batched implementation) and the
accept/reject kernels alone.

    OMP_NUM_THREADS=1 python scripts/bench_mhgan.py --chains 1000 --k 640
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable

import torch

from ganmc.data.synthetic import GaussianRing
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
from ganmc.models.prior import Prior
from ganmc.samplers import SamplingContext
from ganmc.samplers.mh import select_loop, select_vectorised
from ganmc.samplers.mhgan import MHGANSampler, MHGANSamplerConfig


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chains", type=int, default=1000)
    p.add_argument("--k", type=int, default=640)
    p.add_argument("--loop-chains", type=int, default=50, help="chains the batched per-chain loop runs")
    p.add_argument("--textbook-chains", type=int, default=4, help="chains the textbook loop runs")
    p.add_argument("--chunk", type=int, default=MHGANSamplerConfig.chunk, help="proposals per G/D batch")
    p.add_argument("--repeats", type=int, default=3, help="timings per measurement (median)")
    p.add_argument("--device", default="cpu")
    return p


def bench_mhgan(args: argparse.Namespace) -> list[str]:
    """The benchmark's report lines (``args``: see :func:`parser`)."""
    lines: list[str] = []
    emit = lines.append  # the report is returned, not printed
    device = torch.device(args.device)
    torch.manual_seed(0)
    gan = GAN(MLPGenerator(2, 2, width=64, depth=6, norm="batch"), MLPDiscriminator(2, width=64, depth=6),
              Prior("normal", 2), "ns").to(device).eval()
    data = GaussianRing("imbal8")

    def sync() -> None:
        if device.type == "cuda":
            torch.cuda.synchronize()

    def make(impl: str) -> MHGANSampler:
        s = MHGANSampler(gan, k=args.k, score_calibration="none", n_calib=2, impl=impl, chunk=args.chunk)
        s.prepare(SamplingContext(data))
        s.calibrate_scores(torch.Generator().manual_seed(1))  # outside the timings
        return s

    def timed(fn: Callable[[], torch.Tensor], repeats: int) -> tuple[float, torch.Tensor]:
        times, out = [], torch.empty(0)
        for _ in range(repeats):
            sync()
            t0 = time.perf_counter()
            out = fn()
            sync()
            times.append(time.perf_counter() - t0)
        return statistics.median(times), out

    def run(impl: str, n: int, repeats: int) -> tuple[float, torch.Tensor]:
        sampler = make(impl)
        return timed(lambda: sampler.sample_batch(n, torch.Generator().manual_seed(123)).samples, repeats)

    run("vectorised", 10, 1)  # warm-up
    t_vec, _ = run("vectorised", args.chains, args.repeats)
    _, vec_loop_sub = run("vectorised", args.loop_chains, 1)
    _, vec_text_sub = run("vectorised", args.textbook_chains, 1)
    t_loop_sub, loop_sub = run("loop", args.loop_chains, args.repeats)
    t_text_sub, text_sub = run("textbook", args.textbook_chains, 1)
    t_loop = t_loop_sub * args.chains / args.loop_chains
    t_text = t_text_sub * args.chains / args.textbook_chains

    # the G/D arithmetic alone: every proposal through G and D in batches of --chunk
    z = gan.prior.sample(args.chains * args.k, torch.Generator().manual_seed(5), device)

    def score_all() -> torch.Tensor:
        with torch.inference_mode():
            return torch.cat([gan.discriminator(gan.generator(c)) for c in z.split(args.chunk)])

    t_floor, _ = timed(score_all, args.repeats)

    n_prop = args.chains * args.k
    emit(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
          f"{args.chains} chains x {args.k} proposals = {n_prop:,} proposals; G/D batches of {args.chunk}")
    emit(f"vectorised:                          {t_vec:8.3f} s  (all {args.chains} chains, median of {args.repeats})")
    emit(f"  G+D scoring alone (the floor):     {t_floor:8.3f} s  ({t_vec / t_floor:.2f}x of it in the vectorised run)")
    emit(f"textbook per-chain loop (1 D(G(z)) call per proposal): {t_text_sub:.3f} s for {args.textbook_chains} "
          f"chains -> {t_text:,.1f} s for {args.chains} (EXTRAPOLATED linearly, x{args.chains / args.textbook_chains:g})")
    emit(f"per-chain loop, batched scoring ({args.k} proposals per call): {t_loop_sub:.3f} s for {args.loop_chains} "
          f"chains -> {t_loop:,.2f} s for {args.chains} (EXTRAPOLATED linearly, x{args.chains / args.loop_chains:g})")
    emit(f"speed-up vs textbook per-chain loop:          {t_text / t_vec:8.1f}x")
    emit(f"speed-up vs per-chain loop, batched scoring:  {t_loop / t_vec:8.2f}x  (bounded by the shared G/D "
          f"arithmetic: loop / floor = {t_loop / t_floor:.2f}x)")
    same_loop = torch.equal(vec_loop_sub, loop_sub)
    close_text = torch.allclose(vec_text_sub, text_sub, rtol=1e-5, atol=1e-5)
    emit(f"same samples, vectorised vs batched loop on {args.loop_chains} chains: {same_loop} (bitwise)")
    emit(f"same samples, vectorised vs textbook loop on {args.textbook_chains} chains: {close_text} "
          f"(to 1e-5; max |diff| {float((vec_text_sub - text_sub).abs().max()):.1e}, single-sample batches round differently)")

    # the accept/reject logic alone (scores given), on all chains
    gen = torch.Generator().manual_seed(5)
    init = torch.randn(args.chains, generator=gen, dtype=torch.float64)
    props = torch.randn(args.chains, args.k, generator=gen, dtype=torch.float64)
    u = torch.rand(args.chains, args.k, generator=gen, dtype=torch.float64)
    t_sv, (iv, _) = timed(lambda: select_vectorised(init, props, u), args.repeats)  # type: ignore[arg-type,return-value]
    t_sl, (il, _) = timed(lambda: select_loop(init, props, u), 1)  # type: ignore[arg-type,return-value]
    emit(f"accept/reject logic only ({args.chains} x {args.k}): vectorised {t_sv * 1e3:.1f} ms, "
          f"Python loop {t_sl * 1e3:.1f} ms, ratio {t_sl / t_sv:.1f}x, same: {torch.equal(iv, il)}")
    return lines


if __name__ == "__main__":
    for line in bench_mhgan(parser().parse_args()):
        print(line)
