"""DDLS Table 3 (CIFAR-10, 50,000 samples, IS and FID): the preflight check of ``make
reproduce-table3``. Nothing here computes: it only looks for the files the run needs and, for
every missing one, prints one line naming it and the config key (and make variable) to set.

Run: ``python -m ganmc.tables.table3 --cifar10 DIR --inception FILE --checkpoint GAN=PATH ...``;
exit status 0 when everything is there, 2 otherwise.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

# The GANs of Table 3 (config name -> (what, make variable, checkpoint format, where to get it)).
GANS: dict[str, tuple[str, str, str, str]] = {
    "dcgan32": ("DCGAN CIFAR-10 checkpoint", "DCGAN_CKPT", "ganmc",
                "train one with `ganmc train gan=dcgan32 dataset=cifar10` on a GPU"),
    "wgan_gp_dcgan32": ("WGAN-GP CIFAR-10 checkpoint", "WGAN_CKPT", "ganmc",
                        "train one with `ganmc train gan=wgan_gp_dcgan32 dataset=cifar10` on a GPU"),
    "sngan_resnet32": ("SN-GAN ResNet32 CIFAR-10 checkpoint (G and D)", "SNGAN_CKPT", "pytorch_gan_collections",
                       "pytorch-gan-collections' SNGAN_CIFAR10 model.pt ({'net_G', 'net_D', ...})"),
}
CIFAR_FILES = [f"data_batch_{i}" for i in range(1, 6)]
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"  # torch-fidelity's file name


@dataclass
class Missing:
    """One missing piece: what it is, where it was looked for, and how to supply it."""

    what: str
    looked: str
    key: str
    make_var: str
    how: str

    def line(self) -> str:
        return (f"missing: {self.what} ({self.looked}): set {self.key} (make {self.make_var}=...); {self.how}")


def _cifar_ok(root: Path) -> bool:
    if root.is_file():
        return root.name.endswith(".tar.gz")
    if (root / "cifar-10-python.tar.gz").is_file():
        return True
    folder = root if (root / CIFAR_FILES[0]).is_file() else root / "cifar-10-batches-py"
    return all((folder / f).is_file() for f in CIFAR_FILES)


def default_inception() -> Path:
    """torch-fidelity's usual location of the Inception weights ($TORCH_HOME/hub/checkpoints)."""
    import os

    torch_home = Path(os.environ.get("TORCH_HOME", Path(os.environ.get("XDG_CACHE_HOME", "~/.cache")) / "torch"))
    return torch_home.expanduser() / "hub" / "checkpoints" / INCEPTION_FILE


def preflight(cifar10: str | None, inception: str | None, checkpoints: dict[str, str | None],
              gans: Sequence[str] = tuple(GANS)) -> list[Missing]:
    """Every missing piece of a Table 3 run over ``gans``; an empty list means ready."""
    missing: list[Missing] = []
    if not cifar10:
        missing.append(Missing("CIFAR-10 training data", "not set", "dataset.root=DIR", "CIFAR10",
                               "a folder with cifar-10-python.tar.gz or cifar-10-batches-py/ "
                               "(www.cs.toronto.edu/~kriz/cifar.html)"))
    elif not _cifar_ok(Path(cifar10).expanduser()):
        missing.append(Missing("CIFAR-10 training data", f"no cifar-10-python.tar.gz or cifar-10-batches-py/"
                               f"data_batch_1..5 in {cifar10}", "dataset.root=DIR", "CIFAR10",
                               "get cifar-10-python.tar.gz from www.cs.toronto.edu/~kriz/cifar.html"))
    weights = Path(inception).expanduser() if inception else default_inception()
    if not weights.is_file():
        missing.append(Missing("Inception weights for IS/FID", f"looked for {weights}",
                               "metric.inception_weights=PATH", "INCEPTION",
                               f"copy torch-fidelity's {INCEPTION_FILE} there from a machine with internet access"))
    for gan in gans:
        if gan not in GANS:
            known = ", ".join(GANS)
            missing.append(Missing(f"a known GAN (got '{gan}')", f"known: {known}", "gan=NAME", "TABLE3_GANS",
                                   "list only known GANs"))
            continue
        what, var, fmt, how = GANS[gan]
        path = checkpoints.get(gan)
        key = f"gan.checkpoint=PATH with gan={gan}" + (f" gan.checkpoint_format={fmt}" if fmt != "ganmc" else "")
        if not path:
            missing.append(Missing(what, "not set", key, var, how))
        elif not Path(path).expanduser().is_file():
            missing.append(Missing(what, f"{path} does not exist", key, var, how))
    return missing


def main(argv: list[str] | None = None) -> int:
    """Print one line per missing piece (stderr) and return 2, or print 'ready' and return 0."""
    parser = argparse.ArgumentParser(prog="python -m ganmc.tables.table3", description=__doc__)
    parser.add_argument("--cifar10", default="", help="dataset.root: folder of CIFAR-10's python files")
    parser.add_argument("--inception", default="", help="metric.inception_weights: torch-fidelity's Inception file")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="GAN=PATH",
                        help="gan.checkpoint of one GAN (dcgan32, wgan_gp_dcgan32, sngan_resnet32)")
    parser.add_argument("--gans", default=" ".join(GANS), help="the GANs to run, space-separated")
    args = parser.parse_args(argv)
    checkpoints: dict[str, str | None] = {}
    for item in args.checkpoint:
        gan, _, path = item.partition("=")
        checkpoints[gan.strip()] = path.strip() or None
    missing = preflight(args.cifar10 or None, args.inception or None, checkpoints, args.gans.split())
    for m in missing:
        print(m.line(), file=sys.stderr)
    if missing:
        print(f"table3: {len(missing)} missing piece(s); nothing was computed", file=sys.stderr)
        return 2
    print("table3 preflight: data, Inception weights and checkpoints found")
    return 0


if __name__ == "__main__":
    sys.exit(main())
