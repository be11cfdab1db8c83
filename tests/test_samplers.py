"""Samplers against analytic targets: DDLS (ULA/MALA/extended), SIR, DRS, DOT."""

from __future__ import annotations

import math

import pytest
import torch
from analytic import Linear, Step, identity_gan

from ganmc.errors import GanmcError
from ganmc.samplers.base import SamplingContext
from ganmc.samplers.ddls import DDLSSampler
from ganmc.samplers.dot import DOTSampler
from ganmc.samplers.drs import DRSSampler, drs_score
from ganmc.samplers.generator import GeneratorSampler

A = [1.0, -0.5]  # with G(z) = z, d(x) = a.x and a normal prior, the DDLS target is N(a, I)


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_mala_matches_the_analytic_target():
    # at this step size ULA would be visibly biased (variance 1 / (1 - eps/4) = 1.25): MALA is not
    sampler = DDLSSampler(identity_gan(Linear(A)), step_size=0.8, n_steps=150, mala=True)
    batch = sampler.sample(4000, gen())
    x = batch.samples
    assert torch.allclose(x.mean(0), torch.tensor(A), atol=0.06)
    assert torch.allclose(x.var(0), torch.ones(2), atol=0.08)
    assert 0.5 < batch.stats["acceptance_rate"] < 1.0
    assert batch.g_evals / len(x) == pytest.approx(2 * 151 + 1)


def test_ula_with_small_steps_matches_and_large_steps_are_biased():
    small = DDLSSampler(identity_gan(Linear(A)), step_size=0.05, n_steps=300).sample(4000, gen())
    assert torch.allclose(small.samples.mean(0), torch.tensor(A), atol=0.06)
    assert torch.allclose(small.samples.var(0), torch.ones(2), atol=0.08)
    # ULA on a Gaussian target with step eps has stationary variance 1 / (1 - eps/4): bias visible
    big = DDLSSampler(identity_gan(Linear(A)), step_size=1.0, n_steps=300).sample(4000, gen())
    assert big.samples.var(0).mean() > 1.2


def test_temperature_scales_the_discriminator_term():
    x = DDLSSampler(identity_gan(Linear(A)), step_size=0.2, n_steps=150, mala=True,
                    temperature=2.0).sample(4000, gen()).samples
    assert torch.allclose(x.mean(0), torch.tensor(A) / 2, atol=0.06)


def test_extended_latent_target():
    """(z, z') ~ N(z)N(z')e^{a.(z + e z')}: x = z + e z' ~ N((1 + e^2) a, (1 + e^2) I)."""
    e = 0.5
    s = DDLSSampler(identity_gan(Linear(A)), step_size=0.2, n_steps=150, mala=True, extended_latent=True,
                    eps_x=e)
    x = s.sample(4000, gen()).samples
    assert torch.allclose(x.mean(0), (1 + e**2) * torch.tensor(A), atol=0.07)
    assert torch.allclose(x.var(0), torch.full((2,), 1 + e**2), atol=0.1)


def test_chains_are_independent():
    """A chain's path depends only on its own state and noise, not on the other chains."""
    gan = identity_gan(Linear(A))
    s = DDLSSampler(gan, step_size=0.1, n_steps=5, mala=True)
    z = torch.randn(6, 2, generator=gen(1))
    _, grad_all = s.energy_and_grad(z)
    _, grad_one = s.energy_and_grad(z[:1])
    assert torch.allclose(grad_all[:1], grad_one)
    assert torch.allclose(grad_all, z - torch.tensor(A))  # grad E = z - a


def test_ddls_rejects_bad_hyperparameters():
    with pytest.raises(GanmcError):
        DDLSSampler(identity_gan(Linear(A)), step_size=-1.0)
    with pytest.raises(GanmcError):
        DDLSSampler(identity_gan(Linear(A)), mala=True, noise_scale=0.0)


def test_drs_with_the_true_density_ratio_recovers_the_target():
    """p_g = N(0, I), ratio 1 on x_1 > 0 and 0.2 elsewhere: P_target(x_1 > 0) = 1 / 1.2."""
    s = DRSSampler(identity_gan(Step(0.2)), gamma_percentile=None, pilot_n=2000, proposal_batch=5000)
    batch = s.sample(10000, gen())
    frac = float((batch.samples[:, 0] > 0).double().mean())
    assert frac == pytest.approx(1 / 1.2, abs=0.015)
    assert batch.stats["acceptance_rate"] == pytest.approx(0.6, abs=0.02)  # E[w] / max w = 0.6


def test_drs_gamma_raises_acceptance_and_score_is_monotone():
    logits = torch.linspace(-5, 0, 11)
    f = drs_score(logits, 0.0, 1e-6, 0.0)
    assert bool((f[1:] > f[:-1]).all())
    plain = DRSSampler(identity_gan(Linear(A)), gamma_percentile=None, pilot_n=2000).sample(2000, gen())
    shifted = DRSSampler(identity_gan(Linear(A)), gamma_percentile=50.0, pilot_n=2000).sample(2000, gen())
    assert shifted.stats["acceptance_rate"] > plain.stats["acceptance_rate"]


def test_drs_gamma_per_batch_keeps_accepting_when_the_max_logit_jumps():
    """A steep D: later batches raise d_M far above the pilot's; with gamma taken per batch at
    the 95th percentile, at least ~5% x sigmoid(0) of each batch is still accepted."""
    steep = (50.0, 0.0)
    s = DRSSampler(identity_gan(Linear(steep)), gamma_percentile=95.0, pilot_n=200, proposal_batch=5000)
    batch = s.sample(2000, gen())
    assert s.max_logit > 50.0 * 2.5  # the pilot's max was exceeded while sampling
    assert batch.stats["acceptance_rate"] > 0.025
    # the accepted samples are the high-D ones: the top of x_1
    assert float(batch.samples[:, 0].mean()) > 1.5


def test_dot_moves_samples_toward_higher_d_and_stays_in_support():
    gan = identity_gan(Linear(A), prior="uniform")
    s = DOTSampler(gan, space="latent", n_steps=50, lr=0.05, k_pairs=1000)
    s.prepare(SamplingContext(None))
    assert s.k_eff == pytest.approx(math.hypot(*A), rel=1e-3)  # |a| for a linear d and G = id
    z0 = GeneratorSampler(gan).sample(2000, gen(3))
    moved = s.sample(2000, gen(3))
    d = gan.discriminator
    assert float(d(moved.samples).mean().detach()) > float(d(z0.samples).mean().detach()) + 0.1
    assert float(moved.latents.abs().max()) <= 1.0


def test_dot_target_space_moves_toward_higher_d():
    gan = identity_gan(Linear(A))
    s = DOTSampler(gan, space="target", n_steps=50, lr=0.05, k_pairs=1000)
    base = GeneratorSampler(gan).sample(1000, gen(4)).samples
    moved = s.sample(1000, gen(4)).samples
    assert float(gan.discriminator(moved).mean().detach()) > float(gan.discriminator(base).mean().detach())
