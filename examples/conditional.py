"""A class-conditional GAN through ganmc: G(z, y) and D(x, y).

Two small MLPs with a label embedding, trained with plain PyTorch on the 25 Gaussians with the
mode index as the label (seconds on one CPU thread), wrapped with ``ganmc.GAN.from_modules(...,
num_classes=25)`` and sampled at uniform labels by the generator alone, DDLS, DRS and MH-GAN
(each sampler runs at each label on G(., y) and D(., y)); then at one label. ``label_match`` is
the share of samples at their label's mode. The nets are saved as TorchScript for the CLI:

    python examples/conditional.py [OUT_DIR]     # default out/examples/conditional-gan
    ganmc sample gan.checkpoint_format=torchscript gan.checkpoint=OUT_DIR gan.num_classes=25 \\
        +sampler=drs sampler_labels=7

(``checkpoints/own/gaussians25-cgan/`` is this script's output, shipped.)
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

import ganmc

K = 25  # classes: the modes of the 25 Gaussians, in ganmc's order (row-major over the grid)
CENTRES = torch.cartesian_prod((torch.arange(5.0) - 2) * 2, (torch.arange(5.0) - 2) * 2) / 2.828
STD = 0.05 / 2.828


class Conditional(nn.Module):
    """An MLP on (input, embedding of the label y): G(z, y) -> points, D(x, y) -> logits (n, 1)."""

    def __init__(self, out: int, width: int = 64) -> None:
        super().__init__()
        self.embed = nn.Embedding(K, 8)
        self.net = nn.Sequential(nn.Linear(2 + 8, width), nn.ReLU(), nn.Linear(width, width), nn.ReLU(),
                                 nn.Linear(width, out))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.net(torch.cat([x, self.embed(y)], dim=1))


def train(iterations: int = 1000, batch: int = 256, seed: int = 0) -> tuple[nn.Module, nn.Module]:
    """A non-saturating conditional GAN: real points of mode y against G(z, y), both labelled y."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    G, D = Conditional(2), Conditional(1)
    opt_g = torch.optim.Adam(G.parameters(), lr=1e-3, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(D.parameters(), lr=1e-3, betas=(0.5, 0.9))
    for _ in range(iterations):
        y = torch.randint(K, (batch,), generator=gen)
        real = CENTRES[y] + STD * torch.randn(batch, 2, generator=gen)
        fake = G(torch.randn(batch, 2, generator=gen), y)
        loss_d = F.softplus(-D(real, y)).mean() + F.softplus(D(fake.detach(), y)).mean()
        opt_d.zero_grad()
        loss_d.backward()
        opt_d.step()
        loss_g = F.softplus(-D(fake, y)).mean()
        opt_g.zero_grad()
        loss_g.backward()
        opt_g.step()
    return G.eval(), D.eval()


def main(out_dir: Path) -> None:
    torch.set_num_threads(1)
    start = time.perf_counter()
    G, D = train()
    print(f"trained G(z, y) and D(x, y) in {time.perf_counter() - start:.1f} s")
    gan = ganmc.GAN.from_modules(G, D, latent_dim=2, prior="normal", d_output="logit", num_classes=K)
    print(f"{'sampler':<10} {'modes':>5} {'%HQ':>6} {'EMD':>7} {'label_match':>12}")
    for name in ("generator", "ddls", "drs", "mhgan"):
        # labels drawn uniformly (the default); data: each class's real points for MH-GAN
        out = ganmc.sample(gan, name, n=2000, seed=0, data="gaussians25")
        m = ganmc.measure(out.samples, dataset="gaussians25", metrics=["modes", "emd"], labels=out.labels)
        print(f"{name:<10} {m['modes_recovered']:>5} {m['hq_percent']:>6.1f} {m['emd']:>7.4f} "
              f"{m['label_match']:>12.3f}")
    out = ganmc.sample(gan, "drs", n=500, seed=0, labels=7)  # one label for every sample
    mean = out.samples.mean(dim=0).tolist()
    print(f"drs at label 7: mean ({mean[0]:.3f}, {mean[1]:.3f}), mode 7 at "
          f"({CENTRES[7, 0]:.3f}, {CENTRES[7, 1]:.3f})")
    out_dir.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(G), str(out_dir / "generator.pt"))
    torch.jit.save(torch.jit.script(D), str(out_dir / "discriminator.pt"))
    print(f"saved {out_dir}/generator.pt and discriminator.pt ({time.perf_counter() - start:.1f} s in all); "
          f"from the CLI: ganmc sample gan.checkpoint_format=torchscript gan.checkpoint={out_dir} "
          f"gan.num_classes={K} +sampler=drs sampler_labels=7")


if __name__ == "__main__":
    main(Path(sys.argv[1]) if len(sys.argv) > 1 else Path("out/examples/conditional-gan"))
