"""DDLS Table 3 (CIFAR-10, 50,000 samples, IS and FID): the preflight check of ``make
reproduce-table3``. Nothing here computes: it looks for the files the run needs and, for every
missing one, prints one line naming it and the config key (and make variable) to set; then it
reads the files it found (:mod:`ganmc.tables.table3_checks`) and prints one line per bad one: a
truncated or corrupt CIFAR-10 archive or batch, ``--nref`` above the number of training images,
Inception weights that are not torch-fidelity's keys and shapes, a checkpoint that does not
load into the GAN Table 3 builds.

Run: ``python -m ganmc.tables.table3 --cifar10 DIR --inception FILE --checkpoint GAN=PATH ...
[--nref N]``; exit status 0 when everything is there and sound, 2 otherwise.
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


@dataclass
class Bad:
    """One piece that is there but unusable: what it is, what is wrong, and the setting to fix."""

    what: str
    problem: str
    key: str
    make_var: str

    def line(self) -> str:
        return f"bad: {self.what}: {self.problem} ({self.key}, make {self.make_var}=...)"


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
              gans: Sequence[str] = tuple(GANS), nref: int | None = None,
              contents: bool = True) -> list[Missing | Bad]:
    """Every missing (then, with ``contents``, every bad) piece of a Table 3 run over ``gans``
    with ``nref`` reference images; an empty list means ready."""
    missing: list[Missing | Bad] = []
    found: list[tuple[str, Path]] = []  # (what, path) of the files that exist, read below
    if not cifar10:
        missing.append(Missing("CIFAR-10 training data", "not set", "dataset.root=DIR", "CIFAR10",
                               "a folder with cifar-10-python.tar.gz or cifar-10-batches-py/ "
                               "(www.cs.toronto.edu/~kriz/cifar.html)"))
    elif not _cifar_ok(Path(cifar10).expanduser()):
        missing.append(Missing("CIFAR-10 training data", f"no cifar-10-python.tar.gz or cifar-10-batches-py/"
                               f"data_batch_1..5 in {cifar10}", "dataset.root=DIR", "CIFAR10",
                               "get cifar-10-python.tar.gz from www.cs.toronto.edu/~kriz/cifar.html"))
    else:
        found.append(("cifar10", Path(cifar10).expanduser()))
    weights = Path(inception).expanduser() if inception else default_inception()
    if not weights.is_file():
        missing.append(Missing("Inception weights for IS/FID", f"looked for {weights}",
                               "metric.inception_weights=PATH", "INCEPTION",
                               f"copy torch-fidelity's {INCEPTION_FILE} there from a machine with internet access"))
    else:
        found.append(("inception", weights))
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
        else:
            found.append((gan, Path(path).expanduser()))
    if nref is not None and nref <= 0:
        missing.append(Bad(f"NREF={nref}", "the number of reference images must be positive",
                           "metric.n_ref=N", "NREF"))
    return missing + (_read_found(found, nref) if contents else [])


def _read_found(found: list[tuple[str, Path]], nref: int | None) -> list[Missing | Bad]:
    """One :class:`Bad` per found file whose contents the run could not use."""
    from ganmc.tables import table3_checks as checks

    bad: list[Missing | Bad] = []
    for name, path in found:
        if name == "cifar10":
            n_images, problems = checks.check_cifar(path)
            bad += [Bad("CIFAR-10 training data", p, "dataset.root=DIR", "CIFAR10") for p in problems]
            if n_images is not None and nref is not None and nref > n_images:
                bad.append(Bad(f"NREF={nref}", f"exceeds the {n_images} images of CIFAR-10 at {path}",
                               f"metric.n_ref<={n_images}", "NREF"))
        elif name == "inception":
            problem = checks.check_inception(path)
            if problem:
                bad.append(Bad("Inception weights for IS/FID", problem, "metric.inception_weights=PATH",
                               "INCEPTION"))
        else:
            what, var, fmt, _ = GANS[name]
            problem = checks.check_checkpoint(name, fmt, path)
            if problem:
                bad.append(Bad(what, problem, f"gan.checkpoint=PATH with gan={name}", var))
    return bad


def _nref(text: str) -> int | None:
    if not text.strip():
        return None
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"NREF must be a whole number, got '{text}'") from None


def main(argv: list[str] | None = None) -> int:
    """Print one line per missing or bad piece (stderr) and return 2, or print 'ready' and return 0."""
    parser = argparse.ArgumentParser(prog="python -m ganmc.tables.table3", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--cifar10", default="", help="dataset.root: folder of CIFAR-10's python files")
    parser.add_argument("--inception", default="", help="metric.inception_weights: torch-fidelity's Inception file")
    parser.add_argument("--checkpoint", action="append", default=[], metavar="GAN=PATH",
                        help="gan.checkpoint of one GAN (dcgan32, wgan_gp_dcgan32, sngan_resnet32)")
    parser.add_argument("--gans", default=" ".join(GANS), help="the GANs to run, space-separated")
    parser.add_argument("--nref", type=_nref, default=None, metavar="N",
                        help="metric.n_ref: real images behind the reference statistics (empty: not checked)")
    parser.add_argument("--files-only", action="store_true", help="only look for the files, do not read them")
    args = parser.parse_args(argv)
    checkpoints: dict[str, str | None] = {}
    for item in args.checkpoint:
        gan, _, path = item.partition("=")
        checkpoints[gan.strip()] = path.strip() or None
    problems = preflight(args.cifar10 or None, args.inception or None, checkpoints, args.gans.split(),
                         args.nref, contents=not args.files_only)
    for m in problems:
        print(m.line(), file=sys.stderr)
    if problems:
        print(f"table3: {len(problems)} missing or bad piece(s); nothing was computed", file=sys.stderr)
        return 2
    print("table3 preflight: data, Inception weights and checkpoints found" +
          ("" if args.files_only else " and read"))
    return 0


if __name__ == "__main__":
    sys.exit(main())
