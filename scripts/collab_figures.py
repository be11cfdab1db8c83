"""Collaborative sampling, Figures 9 and 11 on digits (the paper's MNIST figures), for one seed.

Fig. 9: the generator's samples (row 1), refined with the raw D (row 2) and with the shaped D
(row 3), the same latents in every row. Fig. 11: the generator's samples, then for refinement at
the output, the middle and the input layer (the D shaped at the middle layer each time), the
refined samples and the absolute difference to the generator's (black: unchanged; white: a
change of the full range). The refinement is the
collab_fig10 sampler's (20 SGD steps of 0.1, median stopping rule) with the GAN and shaped D
found as `ganmc sample experiment=collab_fig10` finds them (shipped, cached or made now).

    python scripts/collab_figures.py --out results [--seed 0] [--steps 1000] [--n 16] [OVERRIDES...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from hydra import compose, initialize_config_module

from ganmc.config import register_configs
from ganmc.grid import as_float, save_grid
from ganmc.io import derive_seed
from ganmc.run.gans import build_dataset, obtain_gan, resolve_device
from ganmc.run.sampler import build_sampler
from ganmc.threads import apply_threads


def refined(cfg_overrides: list[str], z: torch.Tensor, seed: int) -> tuple[torch.Tensor, torch.Tensor, str | None]:
    """(generator's images of ``z``, the refined ones, the derived D's file or None) under the
    collab_fig10 sampler with ``cfg_overrides``."""
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        cfg = compose("sample", overrides=["experiment=collab_fig10", "gan=dcgan32", f"seed={seed}",
                                            "+sampler=collab_fig10", *cfg_overrides])
    apply_threads(cfg)
    device = resolve_device(str(cfg.device))
    dataset = build_dataset(cfg)
    gan, path = obtain_gan(cfg, dataset, device)
    sampler = build_sampler(cfg, gan, dataset, path)
    gen = torch.Generator().manual_seed(derive_seed(seed, "figure"))
    if sampler.use_median:
        sampler.estimate_median(gen)
    with torch.no_grad():
        before = gan.generator(z.to(device)).cpu()
    return before, sampler.refine(z, gen).samples.detach().cpu(), sampler.prep_stats.get("discriminator_checkpoint")


def difference(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """|after - before| in [0, 2], mapped to [-1, 1] for the grid's value range."""
    return (as_float(after) - as_float(before)).abs() - 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=1000, help="shaping iterations of the shaped D")
    parser.add_argument("--n", type=int, default=16, help="samples per row")
    args, overrides = parser.parse_known_args(argv)
    register_configs()
    z = torch.randn(args.n, 32, generator=torch.Generator().manual_seed(derive_seed(args.seed, "figure-z")))
    shaped = [f"sampler.discriminator.steps={args.steps}", *overrides]
    gen_x, raw, _ = refined(["sampler.discriminator.steps=0", *overrides], z, args.seed)
    _, good, shaped_file = refined(shaped, z, args.seed)
    fig9 = save_grid(torch.cat([as_float(gen_x), as_float(raw), as_float(good)]),
                     args.out / "collab_fig9.png", nrow=args.n, upscale=3)
    rows = [as_float(gen_x)]
    for layer in ("null", 2, 0):  # output, middle, input; the D shaped at the middle layer throughout
        _, x, _ = refined([f"gan.checkpoint={shaped_file}", "sampler.discriminator.steps=0", f"sampler.layer={layer}",
                           *overrides], z, args.seed)
        rows += [as_float(x), difference(gen_x, x)]
    fig11 = save_grid(torch.cat(rows), args.out / "collab_fig11.png", nrow=args.n, upscale=3)
    print(fig9, fig11, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
