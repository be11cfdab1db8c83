"""DGflow against its equation on a 1-D GAN whose D logit is known in closed form (G(z) = z,
z ~ N(0, 1), d(x) = -a x^2/2 + b x), then end to end through the CLI."""

from __future__ import annotations

import json
import math

import pytest
import torch
from analytic import Quadratic, identity_gan
from conftest import TINY_IMAGES
from helpers import error_line

from ganmc.samplers.dgflow import DGflowSampler

A, B = 1.0, 1.0
# The factor of grad d in the authors' code (clear-nus/DGflow dgflow.py, `_velocity`), per divergence.
FACTOR = {"kl": lambda d: torch.ones_like(d), "js": lambda d: 1 / (1 + 1 / d.exp()), "logd": lambda d: 1 / (1 + d.exp())}


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def sampler(**hparams) -> DGflowSampler:
    return DGflowSampler(identity_gan(Quadratic(A, B), dim=1), **hparams)


@pytest.mark.parametrize("divergence", ["kl", "js", "logd"])
@pytest.mark.parametrize("gamma", [0.01, 0.0])
def test_one_step_is_the_papers_update_with_the_same_noise_draw(divergence, gamma):
    """z1 = z0 + eta s(d) grad d + sqrt(2 eta gamma) xi, hand-computed, with the sampler's own
    draws: z0 from the prior, then xi, both from the generator it is given (on the CPU)."""
    eta = 0.1
    out = sampler(divergence=divergence, step_size=eta, noise=gamma, n_steps=1).sample_batch(64, gen())
    g = gen()
    z0 = torch.randn(64, 1, generator=g)
    xi = torch.randn(64, 1, generator=g)
    d = -0.5 * A * z0**2 + B * z0
    expected = z0 + eta * FACTOR[divergence](d) * (B - A * z0) + math.sqrt(2 * eta * gamma) * xi
    assert torch.allclose(out.latents, expected, atol=1e-6)
    assert torch.equal(out.samples, out.latents)  # G is the identity
    assert out.g_evals == 64 * 3 and out.d_evals == 64 * 2  # G and D forward + backward, then G(z1)


def test_the_kl_chain_reaches_the_stationary_law_of_its_sde():
    """With d quadratic the KL step is an AR(1): z' = (1 - eta a) z + eta b + sqrt(2 eta gamma) xi,
    whose stationary law is N(b/a, gamma / (a (1 - eta a / 2))) exactly (the SDE's, eta -> 0, is
    N(b/a, gamma/a) = e^(d/gamma) normalised). From N(0, 1), 300 steps of 0.05 leave a start
    bias of 0.95^300 < 1e-6. Tolerance: 4 standard errors over 20,000 chains (mean: 0.02; the
    variance's, 4 var sqrt(2/n): 0.029), far below what a wrong noise scale (sqrt(eta gamma):
    variance 0.26) or a missing drift factor would move."""
    eta, gamma, n = 0.05, 0.5, 20000
    z = sampler(step_size=eta, noise=gamma, n_steps=300).sample_batch(n, gen(1)).latents[:, 0].double()
    mean, var = B / A, gamma / (A * (1 - eta * A / 2))
    assert abs(float(z.mean()) - mean) < 4 * math.sqrt(var / n)
    assert abs(float(z.var()) - var) < 4 * var * math.sqrt(2 / (n - 1))


def test_the_declared_target_is_the_sdes_stationary_law():
    """Importance weights of prior proposals, log w = d/gamma - log p0: the weighted mean and
    variance are N(b/a, gamma/a)'s (200,000 proposals: ESS about 1e5, standard errors < 0.004)."""
    gamma = 0.5
    s = sampler(noise=gamma)
    with torch.no_grad():
        z, x = s.propose(200000, gen(2))
        w = torch.softmax(s.target_log_weight(z, x), 0)
    z = z[:, 0].double()
    mean = float((w * z).sum())
    assert mean == pytest.approx(B / A, abs=0.02)
    assert float((w * (z - mean) ** 2).sum()) == pytest.approx(gamma / A, abs=0.02)
    assert sampler(noise=0.0).target_log_weight(z[:, None], x) is None  # a deterministic flow has none


def test_dgflow_runs_through_the_cli_on_the_default_gan_with_its_target(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", "+sampler=dgflow", "sampler.n_steps=3", "sampler.step_size=0.001",
                           "n_samples=200", "device=cpu", "metric.metrics=[modes]", "metric.target=true",
                           "metric.sir_max_pool=2000", "plot=false", f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert record["run"]["sampler"] == "dgflow" and record["config"]["sampler"]["divergence"] == "kl"
    assert record["timing"]["evals_per_sample"] == {"G": 7.0, "D": 6.0}
    assert record["metrics"]["hq_percent"] > 50 and record["target"]["pool"] >= 200


def test_dgflow_runs_through_the_cli_on_an_image_gan(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY_IMAGES, "+sampler=dgflow", "sampler.n_steps=2", "sampler.divergence=js",
                           f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert record["run"]["sampler"] == "dgflow" and record["metrics"]["n"] == 24 and record["metrics"]["cs"] >= 1


@pytest.mark.parametrize("override, key", [("sampler.divergence=hellinger", "divergence"),
                                           ("sampler.step_size=0", "step_size"), ("sampler.noise=-0.1", "noise"),
                                           ("sampler.n_steps=-1", "n_steps")])
def test_bad_dgflow_options_are_one_line(run_cli, tmp_path, override, key):
    out = tmp_path / "run"
    code, stdout, err = run_cli("sample", "+sampler=dgflow", override, "n_samples=10", f"hydra.run.dir={out}")
    assert code != 0 and key in error_line(err) and not out.exists()
