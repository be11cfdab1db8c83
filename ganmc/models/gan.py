"""A trained (or trainable) GAN: generator, discriminator, prior, and how they were built."""

from __future__ import annotations

from dataclasses import dataclass

import torch
from hydra.utils import instantiate
from omegaconf import DictConfig
from torch import nn

from ganmc.models.prior import Prior


@dataclass
class GAN:
    """Generator, discriminator and latent prior of one GAN, on one device."""

    generator: nn.Module
    discriminator: nn.Module
    prior: Prior
    loss: str

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


def build_gan(gan_cfg: DictConfig, data_dim: int, seed: int) -> GAN:
    """Build freshly initialised nets from config; initialisation is seeded by ``seed``."""
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = instantiate(gan_cfg.generator, latent_dim=gan_cfg.latent_dim, out_dim=data_dim)
        discriminator = instantiate(gan_cfg.discriminator, in_dim=data_dim)
    prior = Prior(str(getattr(gan_cfg.prior, "value", gan_cfg.prior)), int(gan_cfg.latent_dim))
    loss = str(getattr(gan_cfg.loss, "value", gan_cfg.loss))
    return GAN(generator, discriminator, prior, loss)
