"""Discriminator fine-tuning (calibration): learns log p_data/p_g, leaves the parent intact."""

from __future__ import annotations

import torch
from analytic import identity_gan

from ganmc.data import GaussianMixture
from ganmc.discriminators import finetune_discriminator
from ganmc.models.mlp import MLPDiscriminator


def test_finetuned_logit_estimates_the_log_density_ratio():
    """p_g = N(0, I), p_data = N(m, I): log p_data/p_g = m.x - |m|^2/2, linear in x."""
    torch.manual_seed(0)
    gan = identity_gan(MLPDiscriminator(2, width=32, depth=2))
    before = [p.clone() for p in gan.discriminator.parameters()]
    data = GaussianMixture("shifted", [[1.0, 0.0]], std=1.0)
    tuned, history = finetune_discriminator(
        gan, data, lambda n, g: gan.prior.sample(n, g), steps=400, lr=3e-3, batch_size=512,
        generator=torch.Generator().manual_seed(0), progress=False)
    assert all(torch.equal(p, q) for p, q in zip(before, gan.discriminator.parameters()))  # parent intact
    x = torch.tensor([[-1.0, 0.0], [0.0, 0.0], [1.0, 0.0], [2.0, 0.0], [0.5, 1.0]])
    with torch.no_grad():
        logit = tuned.discriminator(x)
    expected = x[:, 0] - 0.5
    assert torch.allclose(logit, expected, atol=0.3), (logit, expected)
    assert history[-1]["bce"] < history[0]["bce"]
