"""Foreign checkpoints mapped onto ganmc architectures (``gan.checkpoint_format=...``).

``pytorch_gan_collections``: one ``model.pt`` holding ``{'net_G', 'net_D', ...}`` (optimisers,
step and hyperparameters beside them) from w86763777/pytorch-gan-collections, whose SN-GAN
ResNet32 (``ResGenerator32`` / ``ResDiscriminator32``) has the module layout of
:mod:`ganmc.models.sngan`. The key mapping renames prefixes only:

====================================  =============================
theirs (``net_G``)                     ours (``SNGANGenerator``)
====================================  =============================
``linear.*``                           ``blocks.0.0.*``
``blocks.{i}.*`` (i = 0, 1, 2)         ``blocks.{i+1}.*``
``output.*``                           ``blocks.4.*``
theirs (``net_D``)                     ours (``SNGANDiscriminator``)
``model.{i}.*`` (i = 0..3)             ``blocks.{i}.*``
``linear.*``                           ``linear.*``
====================================  =============================

Spectral-norm state (``weight_orig``, ``weight_u``, ``weight_v``) keeps its names; a leading
``module.`` (``nn.DataParallel``) is stripped. Files are read by ganmc's one loader
(:func:`ganmc.weights.load_weights`: ``weights_only=True``), so a checkpoint can never run code,
and every tensor's key and shape is checked before it loads.

``studiogan``: StudioGAN's CIFAR-10 SN-GAN checkpoints are class-conditional (conditional
batch norm in G, a projection discriminator), which the unconditional SN-GAN here cannot
hold; the format is recognised and refused with a one-line error.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import torch

from ganmc.errors import CheckpointError
from ganmc.models.gan import GAN
from ganmc.models.sngan import SNGANDiscriminator, SNGANGenerator
from ganmc.weights import load_weights, state_mismatch

FORMATS = ("ganmc", "pytorch_gan_collections", "studiogan", "torchscript")

# (their pattern, our replacement) per net, tried in order; first match wins.
_PGC_G = [(r"^linear\.", "blocks.0.0."), (r"^output\.", "blocks.4.")]
_PGC_D = [(r"^model\.(\d+)\.", r"blocks.\1."), (r"^linear\.", "linear.")]


def _pgc_g_key(key: str) -> str:
    m = re.match(r"^blocks\.(\d+)\.(.*)$", key)
    if m:
        return f"blocks.{int(m.group(1)) + 1}.{m.group(2)}"
    for pattern, repl in _PGC_G:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key)
    return key


def _pgc_d_key(key: str) -> str:
    for pattern, repl in _PGC_D:
        if re.match(pattern, key):
            return re.sub(pattern, repl, key)
    return key


def _strip_module(state: Mapping[str, torch.Tensor]) -> dict[str, torch.Tensor]:
    return {k[len("module."):] if k.startswith("module.") else k: v for k, v in state.items()}


def from_pytorch_gan_collections(payload: Mapping[str, Any]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    """(G, D) state dicts in ganmc's naming from a pytorch-gan-collections checkpoint dict."""
    g = {_pgc_g_key(k): v for k, v in _strip_module(payload["net_G"]).items()}
    d = {_pgc_d_key(k): v for k, v in _strip_module(payload["net_D"]).items()}
    return g, d


def _g_theirs(key: str) -> str:
    """Our generator key -> pytorch-gan-collections' (inverse of :func:`_pgc_g_key`)."""
    m = re.match(r"^blocks\.(\d+)\.(.+)$", key)
    if m is None:
        return key
    i, rest = int(m.group(1)), m.group(2)
    if i == 0:
        return "linear." + rest.split(".", 1)[-1]
    return "output." + rest if i == 4 else f"blocks.{i - 1}.{rest}"


def _d_theirs(key: str) -> str:
    """Our discriminator key -> pytorch-gan-collections' (inverse of :func:`_pgc_d_key`)."""
    return re.sub(r"^blocks\.", "model.", key)


def _load_part(module: torch.nn.Module, state: dict[str, torch.Tensor], path: Path, part: str,
               theirs: Callable[[str], str]) -> None:
    problem = state_mismatch(state, module.state_dict(), theirs)
    if problem and problem.startswith("tensor "):
        raise CheckpointError(f"checkpoint {path}: {part} {problem} (check gan.latent_dim and channels)")
    if problem:
        raise CheckpointError(f"checkpoint {path}: its {part} does not match the SN-GAN ResNet32 layout ({problem})")
    module.load_state_dict(state, strict=True)


def load_pytorch_gan_collections(path: Path, gan: GAN) -> GAN:
    """Load ``model.pt`` of pytorch-gan-collections into ``gan`` (an SN-GAN ResNet32)."""
    if not isinstance(gan.generator, SNGANGenerator) or not isinstance(gan.discriminator, SNGANDiscriminator):
        raise CheckpointError("gan.checkpoint_format=pytorch_gan_collections loads SN-GAN ResNet32 checkpoints: "
                              "use gan=sngan_resnet32")
    payload = load_weights(path, "checkpoint", CheckpointError)
    nets = [payload.get(k) for k in ("net_G", "net_D")] if isinstance(payload, dict) else []
    if not nets or not all(isinstance(n, Mapping) and all(isinstance(k, str) for k in n) for n in nets):
        keys = sorted(map(str, payload))[:6] if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(f"checkpoint {path} is not a pytorch-gan-collections model.pt "
                              f"(needs 'net_G' and 'net_D', found {keys})")
    g, d = from_pytorch_gan_collections(payload)
    _load_part(gan.generator, g, path, "net_G", _g_theirs)
    _load_part(gan.discriminator, d, path, "net_D", _d_theirs)
    return gan


def load_foreign(path: str | Path, fmt: str, gan: GAN) -> GAN:
    """Load a checkpoint of format ``fmt`` into the freshly built ``gan``; return it."""
    path = Path(path)
    if fmt == "pytorch_gan_collections":
        return load_pytorch_gan_collections(path, gan)
    if fmt == "studiogan":
        raise CheckpointError("gan.checkpoint_format=studiogan: StudioGAN's CIFAR-10 SN-GAN checkpoints are "
                              "class-conditional, which ganmc's unconditional SN-GAN cannot load yet: "
                              "use a pytorch_gan_collections or ganmc checkpoint")
    raise CheckpointError(f"unknown gan.checkpoint_format '{fmt}': use one of {', '.join(FORMATS)}")
