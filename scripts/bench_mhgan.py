"""Benchmark: vectorised MH-GAN chains against a textbook per-chain loop, in one run.

Both run the same chains (same seed, same inputs) on the nsgan_mlp architecture (G and D 6 x 64,
batch norm in G, eval mode, random initialisation: the cost does not depend on training):

* **vectorised** (the library's): every proposal of every chain scored in large batches
  (``--chunk`` proposals per G/D call), then the accept/reject logic on tensors, one step per
  proposal index over all chains; timed as the sampler runs it (restarts included) and as one
  round of :func:`ganmc.samplers.mh.round_vectorised`;
* **textbook per-chain loop** (:func:`textbook_round`, this script's baseline): for each chain,
  for each of its ``k`` steps, score that one proposal with ``D(G(z))`` (a batch of one) and
  accept or reject it, on the same round inputs.

The loop is timed on the first chains only (``--textbook-chains``) and scaled linearly to
``--chains`` (every chain costs the same ``k`` proposals; the output says so), and checked
against the vectorised round of the same chains. Also printed: G and D alone on all
``chains x k`` proposals (the floor of any batched implementation).

    OMP_NUM_THREADS=1 python scripts/bench_mhgan.py --chains 1000 --k 640
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from collections.abc import Callable

import torch

from ganmc.data.synthetic import GaussianRing
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
from ganmc.models.prior import Prior
from ganmc.samplers import SamplingContext
from ganmc.samplers.mh import ProposeFn, round_vectorised
from ganmc.samplers.mhgan import MHGANSampler, MHGANSamplerConfig


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--chains", type=int, default=1000)
    p.add_argument("--k", type=int, default=640)
    p.add_argument("--textbook-chains", type=int, default=4, help="chains the textbook loop runs")
    p.add_argument("--chunk", type=int, default=MHGANSamplerConfig.chunk, help="proposals per G/D batch")
    p.add_argument("--repeats", type=int, default=3, help="timings per measurement (median)")
    p.add_argument("--device", default="cpu")
    return p


def textbook_round(propose: ProposeFn, z: torch.Tensor, u: torch.Tensor, init: torch.Tensor) -> torch.Tensor:
    """The baseline: per chain and proposal, score that one proposal and accept or reject it in
    Python floats; each chain's final state (nothing accepted: its last proposal)."""
    samples = []
    n, k = u.shape
    for i in range(n):
        current, chosen, xs = float(init[i]), k - 1, []  # nothing accepted: the last proposal
        for j in range(k):
            x, logit = propose(z[i, j:j + 1])
            xs.append(x[0])
            if math.log(float(u[i, j])) < float(logit[0]) - current:
                current, chosen = float(logit[0]), j
        samples.append(xs[chosen])
    return torch.stack(samples)


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

    def make() -> MHGANSampler:
        s = MHGANSampler(gan, k=args.k, score_calibration="none", n_calib=2, chunk=args.chunk)
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

    sampler = make()

    def run(n: int, repeats: int) -> tuple[float, torch.Tensor]:
        return timed(lambda: sampler.sample_batch(n, torch.Generator().manual_seed(123)).samples, repeats)

    run(10, 1)  # warm-up
    t_vec, _ = run(args.chains, args.repeats)

    # one round on the same inputs: the library's vectorised round, the textbook loop on its first chains
    gen = torch.Generator().manual_seed(5)
    init = torch.randn(args.chains, generator=gen, dtype=torch.float64)  # real inits' scores
    z = gan.prior.sample(args.chains * args.k, gen, device).view(args.chains, args.k, -1)
    u = torch.rand(args.chains, args.k, generator=gen, dtype=torch.float64)

    @torch.inference_mode()
    def propose(zs: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        x = gan.generator(zs)
        return x, gan.discriminator(x).double()

    m = args.textbook_chains
    t_round, x_round = timed(lambda: round_vectorised(propose, z, u, init, args.chunk)[0], args.repeats)
    t_text_sub, x_text = timed(lambda: textbook_round(propose, z[:m], u[:m], init[:m]), 1)
    t_text = t_text_sub * args.chains / m

    def score_all() -> torch.Tensor:  # the G/D arithmetic alone: every proposal in batches of --chunk
        with torch.inference_mode():
            return torch.cat([propose(c)[1] for c in z.view(-1, z.shape[-1]).split(args.chunk)])

    t_floor, _ = timed(score_all, args.repeats)

    n_prop = args.chains * args.k
    emit(f"device {device}, torch {torch.__version__}, {torch.get_num_threads()} thread(s); "
         f"{args.chains} chains x {args.k} proposals = {n_prop:,} proposals; G/D batches of {args.chunk}")
    emit(f"vectorised sampler:                  {t_vec:8.3f} s  (all {args.chains} chains, restarts included, "
         f"median of {args.repeats})")
    emit(f"vectorised round:                    {t_round:8.3f} s  (one round, no restarts)")
    emit(f"  G+D scoring alone (the floor):     {t_floor:8.3f} s  ({t_round / t_floor:.2f}x of it in the round)")
    emit(f"textbook per-chain loop (1 D(G(z)) call per proposal): {t_text_sub:.3f} s for {m} chains -> "
         f"{t_text:,.1f} s for {args.chains} (EXTRAPOLATED linearly, x{args.chains / m:g})")
    emit(f"speed-up of the vectorised round vs the textbook loop: {t_text / t_round:8.1f}x")
    close = torch.allclose(x_round[:m], x_text, rtol=1e-5, atol=1e-5)
    emit(f"same samples, vectorised vs textbook loop on {m} chains: {close} (to 1e-5; max |diff| "
         f"{float((x_round[:m] - x_text).abs().max()):.1e}, single-sample batches round differently)")
    return lines


if __name__ == "__main__":
    for line in bench_mhgan(parser().parse_args()):
        print(line)
