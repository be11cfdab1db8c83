"""Training speed of the Tables' WGAN-GP MLP: ganmc's loop against a bare loop of the same maths.

    OMP_NUM_THREADS=1 python scripts/bench_training.py [--iterations 100] [--out results/bench_training.md]

Times ``train_gan`` (the config of Tables 1-2: G and D 256 wide, batch 256, 5 critic steps with
gradient penalty) and a hand-written loop doing the same arithmetic, alternately, and prints the
ratio; then splits one bare iteration into its parts (critic forward passes, the gradient penalty's
double backward, the critic's backward and Adam step, the generator step) to say where the time goes.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from hydra.utils import instantiate

from ganmc.config import register_configs
from ganmc.io import write_atomic
from ganmc.models.gan import build_gan, data_shape
from ganmc.settings import gan_config
from ganmc.training import train_gan


def _config():
    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        return compose("sample", overrides=["gan.train.iterations=2500"])


def bare_loop(gan, centres: torch.Tensor, std: float, iterations: int, parts: dict[str, float] | None = None) -> None:
    """The same arithmetic as ``train_gan`` without its bookkeeping; ``parts`` accumulates seconds."""
    g, d = gan.generator, gan.discriminator
    opt_g = torch.optim.Adam(g.parameters(), 5e-4, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(d.parameters(), 5e-4, betas=(0.5, 0.9))
    clock = {"t": time.perf_counter()}

    def tick(name: str) -> None:
        if parts is not None:
            now = time.perf_counter()
            parts[name] = parts.get(name, 0.0) + now - clock["t"]
            clock["t"] = now

    for _ in range(iterations):
        for _ in range(5):
            real = centres[torch.randint(len(centres), (256,))] + std * torch.randn(256, 2)
            with torch.no_grad():
                fake = g(torch.randn(256, 2))
            alpha = torch.rand(256, 1)
            x_hat = (alpha * real + (1 - alpha) * fake).requires_grad_(True)
            tick("data and G forward (no grad)")
            d_real, d_fake, d_hat = d(real), d(fake), d(x_hat)
            tick("D forward x3")
            (grad,) = torch.autograd.grad(d_hat.sum(), x_hat, create_graph=True)
            loss = d_fake.mean() - d_real.mean() + 0.1 * ((grad.norm(dim=1) - 1) ** 2).mean()
            tick("gradient-penalty gradient (create_graph)")
            opt_d.zero_grad(set_to_none=True)
            loss.backward()
            tick("D backward (double backward through the penalty)")
            opt_d.step()
            tick("D Adam step")
        loss_g = -d(g(torch.randn(256, 2))).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        tick("G step (forward, backward, Adam)")


def _time(fn: Callable[[], None]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args()
    cfg = _config()
    dataset = instantiate(cfg.dataset)
    gan_cfg = gan_config(cfg)
    train_cfg = replace(gan_cfg.train, iterations=args.iterations)
    ours, bare = [], []
    for r in range(args.repeats):  # alternate, so load changes hit both alike
        gan = build_gan(gan_cfg, data_shape(dataset), r)
        ours.append(_time(lambda gan=gan, r=r: train_gan(gan, dataset, train_cfg, r, progress=False)))
        gan = build_gan(gan_cfg, data_shape(dataset), r)
        bare.append(_time(lambda gan=gan: bare_loop(gan, dataset.centres, dataset.std, args.iterations)))
    parts: dict[str, float] = {}
    bare_loop(build_gan(gan_cfg, data_shape(dataset), 0), dataset.centres, dataset.std, args.iterations, parts)
    total = sum(parts.values())
    ms = 1000.0 / args.iterations
    lines = [f"# Training speed (torch {torch.__version__}, {torch.get_num_threads()} thread(s), "
             f"{args.iterations} iterations x {args.repeats} repeats, best of each)", "",
             "| loop | ms / iteration |", "|---|---|",
             f"| ganmc `train_gan` | {min(ours) * ms:.1f} |", f"| bare loop, same maths | {min(bare) * ms:.1f} |",
             f"| ratio ganmc / bare | {min(ours) / min(bare):.3f} |", "",
             "| part of a bare iteration | ms | share |", "|---|---|---|"]
    lines += [f"| {name} | {sec * ms:.1f} | {100 * sec / total:.0f} % |" for name, sec in parts.items()]
    text = "\n".join(lines) + "\n"
    print(text)
    if args.out is not None:
        write_atomic(args.out, lambda tmp: tmp.write_text(text))


if __name__ == "__main__":
    main()
