"""Your own GAN through ganmc's Python API.

Two small MLPs trained with plain PyTorch on the 25 Gaussians (seconds on one CPU thread), then
wrapped with ``ganmc.GAN.from_modules`` and sampled with the generator alone, DDLS, DRS and
MH-GAN (the presets of ``ganmc/conf/sampler/``), each measured with ganmc's metrics: a table on
stdout and a figure of the four sample sets.

    python examples/own_gan.py [OUT_DIR]     # the figure: OUT_DIR/own_gan.png (default out/examples)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import ganmc

SAMPLERS = ("generator", "ddls", "drs", "mhgan")


def real_batch(n: int, gen: torch.Generator) -> torch.Tensor:
    """The 25 Gaussians as ganmc's ``dataset=gaussians25`` draws them: centres 2*{-2..2}^2 and
    std 0.05, everything divided by 2.828."""
    ticks = (torch.arange(5.0) - 2) * 2
    centres = torch.cartesian_prod(ticks, ticks) / 2.828
    return centres[torch.randint(25, (n,), generator=gen)] + 0.05 / 2.828 * torch.randn(n, 2, generator=gen)


def mlp(inp: int, out: int) -> nn.Module:
    return nn.Sequential(nn.Linear(inp, 128), nn.ReLU(), nn.Linear(128, 128), nn.ReLU(), nn.Linear(128, out))


def train(iterations: int = 2000, batch: int = 256, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """A non-saturating GAN: G maps N(0, I) latents (2-D) to points, D points to logits (n, 1)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    G, D = mlp(2, 2), mlp(2, 1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.0, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.0, 0.9))
    for _ in range(iterations):
        fake = G(torch.randn(batch, 2, generator=gen))
        loss_d = F.softplus(-D(real_batch(batch, gen))).mean() + F.softplus(D(fake.detach())).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(fake)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return G, D


def main(out_dir: Path) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    G, D = train()
    print(f"trained G and D in {time.perf_counter() - start:.1f} s")
    gan = ganmc.GAN.from_modules(G, D, latent_dim=2, prior="normal", d_output="logit")
    print(f"{'sampler':<10} {'modes':>5} {'%HQ':>6} {'EMD':>7} {'G+D evals/sample':>17}")
    results = {}
    for name in SAMPLERS:
        # data: real points for the samplers that read them (MH-GAN's calibration and chain starts)
        out = ganmc.sample(gan, name, n=2000, seed=0, data="gaussians25")
        m = ganmc.measure(out.samples, dataset="gaussians25", metrics=["modes", "emd"])
        results[name] = out.samples
        cost = (out.g_evals + out.d_evals) / len(out)
        print(f"{name:<10} {m['modes_recovered']:>5} {m['hq_percent']:>6.1f} {m['emd']:>7.4f} {cost:>17.0f}")
    save_figure(results, out_dir / "own_gan.png")
    print(f"figure: {out_dir / 'own_gan.png'} ({time.perf_counter() - start:.1f} s in all)")


def save_figure(results: dict[str, torch.Tensor], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    real = real_batch(2000, torch.Generator().manual_seed(1))
    fig, axes = plt.subplots(1, len(results), figsize=(4 * len(results), 4), sharex=True, sharey=True)
    for ax, (name, samples) in zip(axes, results.items()):
        ax.scatter(real[:, 0], real[:, 1], s=2, c="lightgrey")
        ax.scatter(samples[:, 0], samples[:, 1], s=2)
        ax.set_title(name)
        ax.set_aspect("equal")
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80, bbox_inches="tight")
    plt.close(fig)


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/examples"))
