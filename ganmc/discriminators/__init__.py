"""Discriminators derived from a trained GAN's D (calibrated, shaped), with their cache; latent_rs's
weight network (:mod:`ganmc.discriminators.reweight`), trained against a critic copied from D,
shares that cache.

Below the samplers: a sampler names the D it needs (:class:`DerivedD`) and
:class:`ganmc.samplers.base.Sampler` derives it once in ``prepare``.
"""

from ganmc.discriminators.derive import DerivedD, calibrated, derive, derived_file, shaped
from ganmc.discriminators.finetune import FakeFn, finetune_discriminator

__all__ = ["DerivedD", "FakeFn", "calibrated", "derive", "derived_file", "finetune_discriminator", "shaped"]
