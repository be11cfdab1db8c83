"""Every sampler on 4-D image tensors: a tiny DCGAN on 16 px digits, a handful of samples."""

from __future__ import annotations

import pytest
import torch

from ganmc.models.gan import build_gan
from ganmc.run import build_dataset, build_sampler
from ganmc.samplers import SAMPLERS as REGISTRY
from ganmc.samplers.target import estimate_target
from ganmc.settings import gan_config

TINY_DCGAN = ["dataset=digits", "dataset.size=16", "gan=dcgan32", "gan.latent_dim=8",
              "gan.generator.base_width=4", "gan.discriminator.base_width=4", "device=cpu"]

SAMPLERS = {
    "generator": [],
    "ddls": ["sampler.n_steps=3"],
    "ddls_mala_ext": ["sampler.n_steps=3", "sampler.mala=true",
                      "sampler.extended_latent=true"],
    "ddls_cal": ["sampler.n_steps=2", "sampler.discriminator.steps=2",
                 "sampler.discriminator.batch=8"],
    "drs": ["sampler.pilot_n=64", "sampler.proposal_batch=32"],
    "dot": ["sampler.n_steps=3", "sampler.k_pairs=16"],
    "dot_target": ["sampler.n_steps=3", "sampler.k_pairs=16", "sampler.space=target"],
    "mhgan": ["sampler.k=4", "sampler.n_calib=32"],
    "collab": ["sampler.n_steps=3", "sampler.n_real=32", "sampler.layer=2"],
    "collab_reject": ["sampler.n_steps=2", "sampler.n_real=32", "sampler.layer=1", "sampler.k=3"],
}
CONFIG = {"ddls_mala_ext": "ddls", "dot_target": "dot"}


@pytest.mark.parametrize("name", sorted(REGISTRY))
def test_every_registered_sampler_runs_on_images_at_its_smoke_budget(compose_cfg, name):
    """Driven by the registry: a new sampler (its config preset of the same name) is covered here."""
    cfg = compose_cfg(*TINY_DCGAN, f"+sampler={name}", "smoke=true")
    dataset = build_dataset(cfg)
    sampler = build_sampler(cfg, build_gan(gan_config(cfg), dataset.shape, 0).eval(), dataset, None)
    batch = sampler.sample(5, torch.Generator().manual_seed(1), batch_size=4)
    assert batch.samples.shape == (5, 1, 16, 16) and bool(torch.isfinite(batch.samples).all())


@pytest.mark.parametrize("name", sorted(SAMPLERS))
def test_every_sampler_runs_on_images(compose_cfg, name):
    cfg = compose_cfg(*TINY_DCGAN, f"+sampler={CONFIG.get(name, name)}", *SAMPLERS[name])
    dataset = build_dataset(cfg)
    gan = build_gan(gan_config(cfg), dataset.shape, 0).eval()
    sampler = build_sampler(cfg, gan, dataset, None)
    batch = sampler.sample(6, torch.Generator().manual_seed(1), batch_size=4)
    assert batch.samples.shape == (6, 1, 16, 16)
    assert bool(torch.isfinite(batch.samples).all())
    assert float(batch.samples.abs().max()) <= 1.0 + 1e-4 or name in ("dot_target", "ddls_mala_ext")
    target = estimate_target(sampler, 6, torch.Generator().manual_seed(2), 2, 0)  # the SIR estimate on images
    extras = list(batch.extra.values()) + ([target[0]] if target is not None else [])
    assert (target is not None) == name.startswith(("generator", "ddls", "drs", "mhgan"))
    for extra in extras:
        assert extra.shape == (6, 1, 16, 16) and bool(torch.isfinite(extra).all())
    assert all(torch.isfinite(torch.tensor(float(v))) for v in batch.stats.values())
    if batch.latents is not None:
        assert batch.latents.shape[0] == 6
