"""A trained (or trainable) GAN: generator, discriminator, prior, and how they were built."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import torch
from hydra.utils import instantiate
from torch import nn

from ganmc.common import enum_value
from ganmc.models.contracts import Given, LayeredG, checked_modules
from ganmc.models.prior import Prior
from ganmc.models.schemas import GanConfig


@dataclass
class GAN:
    """Generator, discriminator and latent prior of one GAN, on one device. A class-conditional
    GAN (``num_classes`` set) has G(z, y) and D(x, y), labels y in 0..num_classes-1."""

    generator: nn.Module
    discriminator: nn.Module
    prior: Prior
    loss: str
    num_classes: int | None = None

    @classmethod
    def from_modules(cls, generator: nn.Module, discriminator: nn.Module, latent_dim: int, prior: str = "normal",
                     d_output: str = "logit", data_shape: int | Sequence[int] | None = None,
                     num_classes: int | None = None) -> GAN:
        """A GAN of your own nets, checked before any sampling (:mod:`ganmc.models.contracts`).

        ``generator`` maps latents (n, latent_dim) from the ``prior`` (``normal`` or ``uniform``
        on [-1, 1]^d) to samples (n, dim) or (n, C, H, W) (of ``data_shape`` when given);
        ``discriminator`` maps samples to (n,) or (n, 1) scores: a ``logit``, a ``probability``
        (turned into its logit) or a WGAN ``critic``. ``num_classes=K``: a class-conditional GAN,
        ``generator(z, y)`` and ``discriminator(x, y)`` with ``y`` a LongTensor (n,) of class indices
        in 0..K-1. A broken contract is one GanmcError line.
        """
        g, d, latent, loss = checked_modules(generator, discriminator, latent_dim, prior, d_output, data_shape,
                                             num_classes)
        return cls(g, d, latent, loss, num_classes)

    def given(self, label: int) -> GAN:
        """This class-conditional GAN at class ``label``: G(z) = G(z, label), D(x) = D(x, label),
        an unconditional GAN (sharing the nets) that every sampler runs on as on any other."""
        if self.num_classes is None or not 0 <= label < self.num_classes:
            raise ValueError(f"label {label} for a GAN of num_classes={self.num_classes}")
        generator = LayeredG(Given(self.generator, label))
        return GAN(generator, Given(self.discriminator, label), self.prior, self.loss).eval()

    def with_d_copy(self) -> GAN:
        """This GAN with a copy of D to fine-tune (G shared). The copy's parameters are leaves: a
        deep-copied TorchScript module's are not, and an optimiser refuses them."""
        d = copy.deepcopy(self.discriminator)
        for p in d.parameters():
            if not p.is_leaf:
                p.detach_().requires_grad_(True)
        return GAN(self.generator, d, self.prior, self.loss, self.num_classes)

    def to(self, device: torch.device | str) -> GAN:
        self.generator.to(device)
        self.discriminator.to(device)
        return self

    def eval(self) -> GAN:
        """Eval mode for both nets: sampling never updates batch-norm statistics."""
        self.generator.eval()
        self.discriminator.eval()
        return self

    @property
    def device(self) -> torch.device:
        for module in (self.generator, self.discriminator):
            for tensor in (*module.parameters(), *module.buffers()):
                return tensor.device
        return torch.device("cpu")


def data_shape(dataset: Any) -> int | tuple[int, ...]:
    """What :func:`build_gan` needs of a data set: its image ``shape`` if it has one, else ``dim``."""
    shape = getattr(dataset, "shape", None)
    return tuple(int(v) for v in shape) if shape is not None else int(dataset.dim)


def build_gan(gan_cfg: GanConfig, data_dim: int | Sequence[int], seed: int) -> GAN:
    """Build freshly initialised nets from the resolved ``gan`` config; initialisation is seeded by ``seed``.

    Vector data (``data_dim`` an int) give the nets ``out_dim``/``in_dim``; image data
    (``data_dim`` a shape (C, H, W)) give them ``out_shape``/``in_shape``.
    """
    if isinstance(data_dim, int) or len(data_dim) == 1:
        dim = int(data_dim) if isinstance(data_dim, int) else int(data_dim[0])
        g_kwargs, d_kwargs = {"out_dim": dim}, {"in_dim": dim}
    else:
        shape = tuple(int(v) for v in data_dim)
        g_kwargs, d_kwargs = {"out_shape": shape}, {"in_shape": shape}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = instantiate(gan_cfg.generator, latent_dim=gan_cfg.latent_dim, **g_kwargs)
        discriminator = instantiate(gan_cfg.discriminator, **d_kwargs)
    prior = Prior(enum_value(gan_cfg.prior), int(gan_cfg.latent_dim))
    loss = enum_value(gan_cfg.loss)
    return GAN(generator, discriminator, prior, loss)
