"""Exact-target diagnostics: ESS, mass per region, total variation, SIR and its reliability flag."""

from __future__ import annotations

import math

import pytest
import torch
from analytic import Linear, identity_gan

from ganmc.data.synthetic import GaussianGrid, GaussianMixture, SwissRoll
from ganmc.metrics.target import effective_sample_size, region_masses, total_variation
from ganmc.samplers.ddls import DDLSSampler
from ganmc.samplers.generator import GeneratorSampler
from ganmc.samplers.target import estimate_target

A = [1.0, -0.5]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_ess_of_hand_computed_weights():
    assert effective_sample_size(torch.zeros(4)) == pytest.approx(4.0)
    assert effective_sample_size(torch.tensor([0.0, -math.inf, -math.inf])) == pytest.approx(1.0)
    # w = 1, 2, 3: (1 + 2 + 3)^2 / (1 + 4 + 9) = 36 / 14
    assert effective_sample_size(torch.log(torch.tensor([1.0, 2.0, 3.0])) + 7.0) == pytest.approx(36 / 14)


def test_region_masses_and_total_variation_by_hand():
    regions = torch.tensor([0, 0, 1, 2])
    assert torch.allclose(region_masses(regions, None, 4), torch.tensor([0.5, 0.25, 0.25, 0.0], dtype=torch.float64))
    weighted = region_masses(regions, torch.log(torch.tensor([1.0, 1.0, 2.0, 4.0])), 3)
    assert torch.allclose(weighted, torch.tensor([0.25, 0.25, 0.5], dtype=torch.float64))
    assert total_variation(torch.tensor([0.5, 0.5]), torch.tensor([0.9, 0.1])) == pytest.approx(0.4)
    with pytest.raises(ValueError):
        total_variation(torch.ones(2), torch.ones(3))


def test_mixture_regions_are_nearest_centres():
    data = GaussianMixture("m", [[0.0, 0.0], [1.0, 0.0]], 0.1, [0.3, 0.7])
    assert data.regions(torch.tensor([[0.1, 0.0], [0.9, 0.2], [0.45, 0.0]])).tolist() == [0, 1, 0]
    assert torch.allclose(data.region_masses(), torch.tensor([0.3, 0.7], dtype=torch.float64))


def test_swiss_roll_bins_follow_the_roll():
    roll = SwissRoll("swissroll", noise=0.25)
    t = torch.linspace(SwissRoll.T_MIN + 0.01, SwissRoll.T_MAX - 0.01, 600, dtype=torch.float64)
    on_curve = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1) / roll.scale
    expected = ((t - SwissRoll.T_MIN) / (SwissRoll.T_MAX - SwissRoll.T_MIN) * roll.n_bins).long()
    assert torch.equal(roll.regions(on_curve.float()), expected)
    masses = roll.region_masses()  # t is uniform: about equal mass per bin, noise aside
    assert masses.sum().item() == pytest.approx(1.0)
    assert float((masses - 1 / roll.n_bins).abs().max()) < 0.02


def test_cold_ddls_target_is_the_tempered_gaussian():
    """noise_scale s: exp(-E/s^2) with E = |z|^2/2 - a.z is N(a, s^2 I); SIR and MALA both reach it."""
    s = 0.5
    sampler = DDLSSampler(identity_gan(Linear(A)), step_size=0.05, n_steps=200, noise_scale=s, mala=True)
    sir, info = estimate_target(sampler, 3000, gen(), 200, 0)
    assert torch.allclose(sir.mean(0), torch.tensor(A), atol=0.06)
    assert torch.allclose(sir.var(0), torch.full((2,), s**2), atol=0.04)
    assert info["ess"] > 3000 and info["reliable"]
    chain = sampler.sample(3000, gen(1)).samples
    assert torch.allclose(chain.mean(0), torch.tensor(A), atol=0.05)
    assert torch.allclose(chain.var(0), torch.full((2,), s**2), atol=0.04)


def test_reliability_flag_flips_when_the_pool_is_too_small():
    data = GaussianGrid("gaussians25")
    peaked = DDLSSampler(identity_gan(Linear([2.0, 0.0])), n_steps=0)  # ESS ~ pool * e^-4
    _, small = estimate_target(peaked, 500, gen(), 2, 4000, data)
    assert small["pool"] == 4000 and not small["reliable"] and small["ess"] < 500
    _, grown = estimate_target(peaked, 500, gen(), 2, 1 << 17, data)
    assert grown["pool"] > 4000 and grown["ess"] >= 500 and grown["reliable"]
    assert len(grown["masses"]) == 25 and sum(grown["masses"]) == pytest.approx(1.0)
    # the tilt moves mass to the right-hand modes: the target's mode weights are off the data's
    assert grown["mass_tv"] > grown["generator_mass_tv"]


def test_generator_target_is_the_generator_and_samplers_without_one_give_none():
    data = GaussianGrid("gaussians25")
    _, info = estimate_target(GeneratorSampler(identity_gan(Linear(A))), 400, gen(), 10, 10**6, data)
    assert info["pool"] == 4000 and info["ess"] == pytest.approx(4000) and info["reliable"]
    assert info["mass_tv"] == pytest.approx(info["generator_mass_tv"])
    optimiser = DDLSSampler(identity_gan(Linear(A)), noise_scale=0.0)
    assert estimate_target(optimiser, 100, gen(), 10, 10**6, data) is None
    assert estimate_target(GeneratorSampler(identity_gan(Linear(A))), 100, gen(), 0, 10**6, data) is None


def test_the_pool_stays_within_its_cap_for_any_n():
    """n larger than the cap (e.g. n_samples=5,000,000): the pool is capped, the estimate flagged."""
    data = GaussianGrid("gaussians25")
    sir, info = estimate_target(GeneratorSampler(identity_gan(Linear(A))), 3000, gen(), 10, 2000, data)
    assert info["pool"] == 2000 and not info["reliable"] and len(sir) == 3000
