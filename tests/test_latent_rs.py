"""Latent rejection sampling: with a known w(z) the accepted latents follow prior x min(w, m);
training moves w towards the data; the weights are cached; end to end through the CLI."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
import torch
from analytic import Quadratic, identity_gan
from conftest import TINY_IMAGES
from helpers import error_line
from scipy import stats
from torch import nn

from ganmc.api import TensorData
from ganmc.context import SamplingContext
from ganmc.discriminators.reweight import WeightSchedule, latent_weights
from ganmc.models.mlp import MLPDiscriminator
from ganmc.samplers.latent_rs import LatentRSSampler

ALPHA = 3.0
TINY_W = ["sampler.train_steps=20", "sampler.n_critic=1", "sampler.train_batch=64", "sampler.width=16"]


class SkewWeight(nn.Module):
    """w(z) = 2 Phi(alpha z) on 1-D z: E_N(0,1) w = 1, w < 2, and N(0,1) x w is the skew normal."""

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return 1 + torch.erf(ALPHA * z[:, 0] / math.sqrt(2))


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def known(m: float) -> LatentRSSampler:
    sampler = LatentRSSampler(identity_gan(Quadratic(1.0, 0.0), dim=1), m=m, proposal_batch=4096)
    sampler.weights = SkewWeight()  # injected: no training
    return sampler


def target_law(m: float) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
    """N(0, 1) x min(w, m) on a fine grid: the grid, the normalised density and CDF (trapezoid
    rule), and the normalising constant E min(w, m)."""
    z = np.linspace(-8, 8, 160001)
    density = stats.norm.pdf(z) * np.minimum(2 * stats.norm.cdf(ALPHA * z), m)
    cdf = np.concatenate([[0.0], np.cumsum((density[1:] + density[:-1]) / 2 * np.diff(z))])
    return z, density / cdf[-1], cdf / cdf[-1], float(cdf[-1])


@pytest.mark.parametrize("m", [2.0, 1.0])
def test_accepted_latents_follow_prior_times_w(m):
    """m = 2 bounds w: the skew normal (mean delta sqrt(2/pi), delta = alpha/sqrt(1 + alpha^2));
    m = 1 clips w, and the law is N(0, 1) x min(w, 1). Rejection sampling draws exactly from it,
    so the 20,000 accepted latents pass a KS test (fixed seed; p > 0.001: a correct sampler
    fails one seed in a thousand, the prior itself is off by a KS distance of 0.3, p ~ 0) and
    the acceptance rate is E min(w, m) / m within 4 binomial standard errors."""
    n = 20000
    batch = known(m).sample_batch(n, gen())
    z = batch.latents[:, 0].numpy()
    grid, _, cdf, mass = target_law(m)
    assert stats.kstest(z, lambda v: np.interp(v, grid, cdf)).pvalue > 1e-3
    if m == 2.0:
        delta = ALPHA / math.sqrt(1 + ALPHA**2)
        assert abs(z.mean() - delta * math.sqrt(2 / math.pi)) < 4 * math.sqrt((1 - 2 * delta**2 / math.pi) / n)
    expected = mass / m
    proposed = n / batch.stats["acceptance_rate"]
    assert abs(batch.stats["acceptance_rate"] - expected) < 4 * math.sqrt(expected * (1 - expected) / proposed)
    assert batch.g_evals == n and batch.d_evals == 0  # G on the accepted latents only, no D


def test_the_declared_target_is_prior_times_clipped_w():
    """Importance weights min(w, m) of prior proposals give the law the rejection draws from."""
    for m in (2.0, 1.0):
        s = known(m)
        with torch.no_grad():
            z, x = s.propose(100000, gen(1))
            w = torch.softmax(s.target_log_weight(z, x), 0)
        grid, density, _, _ = target_law(m)
        mean = float(np.trapezoid(grid * density, grid))
        assert float((w * z[:, 0].double()).sum()) == pytest.approx(mean, abs=0.02)


def test_training_moves_w_towards_the_data_and_is_cached(tmp_path):
    """G(z) = z, z ~ N(0, 1), data N(1.5, 0.3^2): w learns to favour z near 1.5 over z near -1.5
    and to lift the prior's mean towards the data's; a second call loads the same file."""
    torch.manual_seed(0)
    gan = identity_gan(MLPDiscriminator(1, 32, 2), dim=1)
    data = TensorData(torch.randn(2000, 1, generator=gen(1)) * 0.3 + 1.5)
    ctx = SamplingContext(data, None, tmp_path, 0)
    schedule = WeightSchedule(train_steps=200, n_critic=3, train_batch=128, width=32, depth=2)
    w, path, info = latent_weights(gan, ctx, schedule, progress=False)
    assert not info["loaded"] and info["train_seconds"] > 0 and path.is_file()
    assert path.parent.name == "latent_weights" and "-lrs200-" in path.name
    z = torch.linspace(-4, 4, 801)[:, None]
    with torch.no_grad():
        prior_w = torch.exp(-0.5 * z[:, 0] ** 2) * w(z)
        assert float((prior_w * z[:, 0]).sum() / prior_w.sum()) > 0.5  # the prior's mean is 0
        assert float(w(torch.tensor([[1.5]]))) > 3 * float(w(torch.tensor([[-1.5]])))
    again, same, info2 = latent_weights(gan, ctx, schedule, progress=False)
    assert info2 == {"train_seconds": info["train_seconds"], "loaded": True} and same == path
    with torch.no_grad():
        assert torch.equal(again(z), w(z))
    other = latent_weights(gan, ctx, WeightSchedule(train_steps=200, n_critic=3, train_batch=128, width=32, depth=2,
                                                    m=2.0), progress=False)[1]
    assert other != path  # the schedule (m included) is part of the key


def test_latent_rs_runs_through_the_cli_on_the_default_gan_and_reuses_its_weights(run_cli, tmp_path):
    records = []
    for name in ("first", "second"):
        out = tmp_path / name
        code, _, err = run_cli("sample", "+sampler=latent_rs", *TINY_W, "n_samples=200", "device=cpu",
                               "metric.metrics=[modes]", "metric.target=true", "metric.sir_max_pool=2000", "plot=false",
                               f"hydra.run.dir={out}")
        assert code == 0, err
        records.append(json.loads((out / "record.json").read_text()))
    first, second = records
    assert first["run"]["sampler"] == "latent_rs" and first["timing"]["evals_per_sample"] == {"G": 1.0, "D": 0.0}
    assert 0 < first["stats"]["acceptance_rate"] <= 1 and first["stats"]["weights_train_seconds"] > 0
    assert not first["stats"]["weights_loaded"] and second["stats"]["weights_loaded"]
    assert second["stats"]["weights_checkpoint"] == first["stats"]["weights_checkpoint"]
    assert second["stats"]["weights_train_seconds"] == first["stats"]["weights_train_seconds"]
    assert first["metrics"]["hq_percent"] > 50 and first["target"]["pool"] >= 200


def test_latent_rs_runs_through_the_cli_on_an_image_gan(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY_IMAGES, "+sampler=latent_rs", *TINY_W, "sampler.train_batch=8",
                           f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert record["run"]["sampler"] == "latent_rs" and record["metrics"]["n"] == 24
    assert record["timing"]["evals_per_sample"] == {"G": 1.0, "D": 0.0}


@pytest.mark.parametrize("override, key", [("sampler.m=0", "sampler.m"), ("sampler.train_steps=0", "train_steps"),
                                           ("sampler.lr=-1", "sampler.lr"),
                                           ("sampler.discriminator.kind=calibrated", "discriminator.kind")])
def test_bad_latent_rs_options_are_one_line(run_cli, tmp_path, override, key):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", "+sampler=latent_rs", override, "n_samples=10", f"hydra.run.dir={out}")
    assert code != 0 and key in error_line(err) and not out.exists()
