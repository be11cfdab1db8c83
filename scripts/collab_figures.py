"""Collaborative sampling, Figures 9 and 11 (the paper's MNIST figures) of one seed, for a Fig. 10 study:
``--experiment collab_fig10`` (digits; collab_fig9.png, collab_fig11.png) or ``collab_mnist`` (real
MNIST; collab_mnist_fig9.png, collab_mnist_fig11.png).

Both grids are labelled row by row, open with a row of real images, and are enlarged (nearest
neighbour) to at least 800 px. Fig. 9: the generator's samples, refined with the raw D and with
the shaped D, the same latents in every row. Fig. 11: the generator's samples, then for
refinement at the output, the middle and the input layer (the D shaped at the middle layer each
time), the refined samples and the absolute difference to the generator's (black: unchanged;
white: a change of the full range). The refinement is the study's sampler preset (the experiment's
``+sampler``; 20 SGD steps of 0.1, median stopping rule), its D shaped ``--steps`` iterations (default:
the preset's), with the GAN and shaped D found as ``ganmc sample experiment=NAME`` finds them
(shipped, cached or made now).

    python scripts/collab_figures.py --out results [--experiment collab_fig10] [--seed 0] [--steps N]
        [--n 16] [OVERRIDES...]
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import torch
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from ganmc.config import register_configs
from ganmc.errors import GanmcError
from ganmc.grid import as_float, save_labelled_rows
from ganmc.io import derive_seed
from ganmc.run.gans import build_dataset, obtain_gan, resolve_device
from ganmc.run.sampler import build_sampler
from ganmc.threads import apply_threads

# The figures' file stems per study (the digits study keeps the names it was published under).
STEMS = {"collab_fig10": "collab"}
WIDTH = 800  # the grids' least width in pixels (images enlarged by nearest neighbour)


def _compose(experiment: str, overrides: list[str], hydra: bool = False) -> DictConfig:
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        return compose("sample", overrides=[f"experiment={experiment}", *overrides], return_hydra_config=hydra)


def study_sampler(experiment: str) -> str:
    """The sampler preset the Fig. 10 experiment sweeps (its one ``+sampler``)."""
    params = _compose(experiment, [], hydra=True).hydra.sweeper.params or {}
    preset = str(params.get("+sampler", ""))
    if not preset or "," in preset:
        raise GanmcError(f"experiment={experiment} is not a Fig. 10 study: it sweeps no single +sampler "
                         f"(got {preset or 'none'!r}); use collab_fig10 or collab_mnist")
    return preset


def _study_cfg(experiment: str, overrides: list[str], seed: int) -> DictConfig:
    """The study's config at ``seed`` with its sampler preset and ``overrides``."""
    return _compose(experiment, [f"seed={seed}", f"+sampler={study_sampler(experiment)}", *overrides])


def refined(experiment: str, cfg_overrides: list[str], n: int, seed: int
            ) -> tuple[torch.Tensor, torch.Tensor, str | None, int]:
    """(generator's images of the seed's ``n`` figure latents, the refined ones, the derived D's file
    or None, the image size) under the study's sampler with ``cfg_overrides``."""
    cfg = _study_cfg(experiment, cfg_overrides, seed)
    apply_threads(cfg)
    device = resolve_device(cfg)
    dataset = build_dataset(cfg)
    gan, path = obtain_gan(cfg, dataset, device)
    sampler = build_sampler(cfg, gan, dataset, path)
    z = gan.prior.sample(n, torch.Generator().manual_seed(derive_seed(seed, "figure-z")))
    gen = torch.Generator().manual_seed(derive_seed(seed, "figure"))
    if sampler.use_median:
        sampler.estimate_median(gen)
    with torch.no_grad():
        before = gan.generator(z.to(device)).cpu()
    after = sampler.refine(z, gen).samples.detach().cpu()
    return before, after, sampler.prep_stats.get("discriminator_checkpoint"), int(before.shape[-1])


def real_images(experiment: str, overrides: list[str], n: int, seed: int) -> torch.Tensor:
    """``n`` real images of the study's data set (a fixed draw of the seed), for the grids' first row."""
    cfg = _study_cfg(experiment, overrides, seed)
    return build_dataset(cfg).sample(n, torch.Generator().manual_seed(derive_seed(seed, "figure-real")))


def difference(before: torch.Tensor, after: torch.Tensor) -> torch.Tensor:
    """|after - before| in [0, 2], mapped to [-1, 1] for the grid's value range."""
    return (as_float(after) - as_float(before)).abs() - 1.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--experiment", default="collab_fig10", help="the Fig. 10 study: collab_fig10 or collab_mnist")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--steps", type=int, default=None,
                        help="shaping iterations of the shaped D (default: the study's sampler preset's)")
    parser.add_argument("--n", type=int, default=16, help="samples per row")
    args, overrides = parser.parse_known_args(argv)
    register_configs()
    try:
        return _draw(args, overrides)
    except GanmcError as exc:
        print(f"collab_figures: error: {exc}", file=sys.stderr)
        return 1


def _draw(args: argparse.Namespace, overrides: list[str]) -> int:
    exp, stem = args.experiment, STEMS.get(args.experiment, args.experiment)
    shaped = [] if args.steps is None else [f"sampler.discriminator.steps={args.steps}"]
    gen_x, raw, _, _ = refined(exp, ["sampler.discriminator.steps=0", *overrides], args.n, args.seed)
    _, good, shaped_file, _ = refined(exp, [*shaped, *overrides], args.n, args.seed)
    real = ("real data", real_images(exp, overrides, args.n, args.seed))
    # the same latents in every row
    fig9 = save_labelled_rows([real, ("generator", as_float(gen_x)), ("refined, raw D", as_float(raw)),
                               ("refined, shaped D", as_float(good))], args.out / f"{stem}_fig9.png", WIDTH)
    rows = [real, ("generator", as_float(gen_x))]
    for layer, where in (("null", "output"), (2, "layer 2"), (0, "input")):  # the D shaped at layer 2 throughout
        _, x, _, _ = refined(exp, [f"gan.checkpoint={shaped_file}", "sampler.discriminator.steps=0",
                                   f"sampler.layer={layer}", *overrides], args.n, args.seed)
        rows += [(f"refined at {where}", as_float(x)), ("|difference|", difference(gen_x, x))]
    fig11 = save_labelled_rows(rows, args.out / f"{stem}_fig11.png", WIDTH)
    print(fig9, fig11, sep="\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
