"""Your own nets from the CLI: a TorchScript folder (``gan.checkpoint_format=torchscript``) or
a factory of yours (``gan.factory=package.module:function``), both wrapped by
:meth:`GAN.from_modules`, so the same contracts are checked as on a GAN built in Python.

A TorchScript folder holds ``generator.pt`` and ``discriminator.pt``, each written by
``torch.jit.save``; they are read by ``torch.jit.load`` (TorchScript code, no pickled Python
objects). The config gives what the files do not: ``gan.latent_dim``, ``gan.prior``,
``gan.d_output`` (``logit``, ``probability`` or ``critic``) and, for class-conditional nets
G(z, y) and D(x, y), ``gan.num_classes``. A factory is a function of yours, called with no
arguments, that returns ``(generator, discriminator)``: it runs your code.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import torch

from ganmc.common import enum_value
from ganmc.data.classes import parse_labels
from ganmc.errors import CheckpointError, GanmcError, first_line
from ganmc.models.contracts import check_num_classes
from ganmc.models.gan import GAN
from ganmc.models.schemas import GanConfig
from ganmc.weights import load_torchscript

TORCHSCRIPT_FILES = ("generator.pt", "discriminator.pt")


def check_own_config(gan: GanConfig, sampler_labels: Any, n_samples: int) -> None:
    """``gan.factory``, ``gan.d_output`` and ``gan.num_classes`` only where they take effect;
    ``sampler_labels`` (plain values) valid for ``gan.num_classes`` and ``n_samples``."""
    if gan.factory and gan.checkpoint:
        raise GanmcError(f"gan.factory={gan.factory} and gan.checkpoint={gan.checkpoint} are both set: "
                         "a factory returns the trained nets itself, unset one of them")
    own = gan.factory or enum_value(gan.checkpoint_format) == "torchscript"
    if not own and enum_value(gan.d_output) != "logit":
        raise GanmcError(f"gan.d_output={enum_value(gan.d_output)} applies to nets of your own (gan.factory, "
                         "gan.checkpoint_format=torchscript); ganmc's nets return what gan.loss says: unset it")
    if not own and gan.num_classes is not None:
        raise GanmcError(f"gan.num_classes={gan.num_classes} applies to nets of your own (gan.factory, "
                         "gan.checkpoint_format=torchscript); ganmc's nets are unconditional: unset it")
    num_classes = check_num_classes(gan.num_classes, "gan.num_classes")
    parse_labels(sampler_labels, num_classes, int(n_samples), "sampler_labels")


def own_gan_name(gan_cfg: GanConfig) -> str | None:
    """How records name nets of your own (``factory MODULE:FUNCTION``, ``torchscript FOLDER``);
    None for ganmc's nets."""
    if gan_cfg.factory:
        return f"factory {gan_cfg.factory}"
    if enum_value(gan_cfg.checkpoint_format) == "torchscript":
        return f"torchscript {Path(str(gan_cfg.checkpoint)).name}"
    return None


def torchscript_folder(path: str | Path) -> Path:
    """``path`` when it is a folder holding both TorchScript files; else one line saying what is missing."""
    folder = Path(path).expanduser()
    name = f"gan.checkpoint={path}"
    fix = (f"with gan.checkpoint_format=torchscript give a folder holding {' and '.join(TORCHSCRIPT_FILES)} "
           "(each written by torch.jit.save)")
    if not folder.is_dir():
        raise CheckpointError(f"{name} {'is a file, not a folder' if folder.exists() else 'does not exist'}: {fix}")
    missing = [f for f in TORCHSCRIPT_FILES if not (folder / f).is_file()]
    if missing:
        raise CheckpointError(f"{name} lacks {', '.join(missing)}: {fix}")
    return folder


def _from_modules(gan_cfg: GanConfig, generator: torch.nn.Module, discriminator: torch.nn.Module,
                  data_shape: int | Sequence[int]) -> GAN:
    return GAN.from_modules(generator, discriminator, latent_dim=int(gan_cfg.latent_dim),
                            prior=enum_value(gan_cfg.prior), d_output=enum_value(gan_cfg.d_output),
                            data_shape=data_shape, num_classes=gan_cfg.num_classes)


def load_torchscript_gan(folder: Path, gan_cfg: GanConfig, data_shape: int | Sequence[int]) -> GAN:
    """The TorchScript G and D in ``folder`` (see :func:`torchscript_folder`), on the CPU, checked."""
    nets = []
    for name in TORCHSCRIPT_FILES:
        nets.append(load_torchscript(folder / name, "a TorchScript file written by torch.jit.save", CheckpointError))
    return _from_modules(gan_cfg, nets[0], nets[1], data_shape)


def from_factory(spec: str, gan_cfg: GanConfig, data_shape: int | Sequence[int]) -> tuple[GAN, Path]:
    """The nets ``package.module:function`` returns (it is called with no arguments: your code
    runs), checked; and the module's file (hashed into the run record as a checkpoint is)."""
    module_name, sep, attr = spec.partition(":")
    if not sep or not module_name or not attr:
        raise GanmcError(f"gan.factory={spec}: expected package.module:function")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise GanmcError(f"gan.factory={spec}: cannot import {module_name} ({exc}): "
                         "put its folder on PYTHONPATH") from None
    fn = getattr(module, attr, None)
    if not callable(fn):
        raise GanmcError(f"gan.factory={spec}: {module_name} has no function {attr}")
    try:
        nets = fn()
    except Exception as exc:  # your code: any error, said in one line naming the factory
        raise GanmcError(f"gan.factory={spec} failed ({type(exc).__name__}): {first_line(exc)}") from None
    if not isinstance(nets, tuple | list) or len(nets) != 2:
        raise GanmcError(f"gan.factory={spec} returned {type(nets).__name__}: expected (generator, discriminator)")
    source = getattr(module, "__file__", None)
    if not source:
        raise GanmcError(f"gan.factory={spec}: {module_name} has no source file")
    return _from_modules(gan_cfg, nets[0], nets[1], data_shape), Path(source)
