"""MH-GAN: exactness with a perfect discriminator, vectorised = per-chain loop, calibration, config."""

from __future__ import annotations

import math

import pytest
import torch
from conftest import TINY
from mh_reference import round_loop, round_textbook, select_loop
from torch import nn

from ganmc.data.synthetic import GaussianMixture
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
from ganmc.models.prior import Prior
from ganmc.samplers import SamplingContext, mh
from ganmc.samplers.mh import fit_calibrator, select_vectorised
from ganmc.samplers.mhgan import MHGANSampler

TARGET = GaussianMixture("target", [[-1.0], [1.5]], std=0.3, weights=[0.8, 0.2])


class Identity1d(nn.Module):
    """G(z) = z: p_g is the N(0, 1) prior."""

    def __init__(self) -> None:
        super().__init__()
        self.scale = nn.Parameter(torch.ones(1))

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return z * self.scale


class LogRatio(nn.Module):
    """The optimal D's logit: log p_data(x) - log p_g(x), for TARGET against N(0, 1)."""

    def __init__(self) -> None:
        super().__init__()
        self.dummy = nn.Parameter(torch.zeros(1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = x.squeeze(-1).double()
        comps = torch.stack([torch.distributions.Normal(float(c), TARGET.std).log_prob(x)
                             for c in TARGET.centres[:, 0]], dim=1)
        log_pd = torch.logsumexp(comps + TARGET.weights.log(), dim=1)
        log_pg = torch.distributions.Normal(0.0, 1.0).log_prob(x)
        return (log_pd - log_pg).float()


def _perfect_gan() -> GAN:
    return GAN(Identity1d(), LogRatio(), Prior("normal", 1), "ns")


def test_perfect_discriminator_recovers_target():
    sampler = MHGANSampler(_perfect_gan(), k=100, score_calibration="none", n_calib=200)
    sampler.prepare(SamplingContext(TARGET))
    batch = sampler.sample_batch(3000, torch.Generator().manual_seed(0))
    x = batch.samples.squeeze(-1)
    # target: mean -0.5, 20% in the right mode; the generator alone: mean 0, 40% beyond 0.25
    assert abs(float(x.mean()) - (-0.5)) < 0.06
    assert abs(float((x > 0.25).double().mean()) - 0.2) < 0.03
    assert abs(float(x.std()) - math.sqrt(1.09)) < 0.06
    assert 0.05 < batch.stats["acceptance_rate"] < 1.0
    assert batch.stats["fallback_rate"] == 0.0
    # calibration set (100 real + 100 fake) x 2 sets, then one G and one D eval per proposal
    proposals = batch.stats["efficiency"] ** -1 * 3000
    assert batch.g_evals == pytest.approx(200 + proposals)


def _tiny_gan(seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    return GAN(MLPGenerator(2, 2, width=16, depth=2), MLPDiscriminator(2, width=16, depth=2),
               Prior("normal", 2), "ns")


@pytest.mark.parametrize("calibration", ["none", "isotonic", "logistic"])
def test_vectorised_equals_per_chain_loop(calibration, monkeypatch):
    data = GaussianMixture("m", [[0.0, 0.0], [1.0, 1.0]], std=0.3)
    out, used = {}, set()
    for impl, round_fn in (("vectorised", mh.round_vectorised), ("loop", round_loop), ("textbook", round_textbook)):
        def spy(*args, impl=impl, round_fn=round_fn):
            used.add(impl)
            return round_fn(*args)

        monkeypatch.setattr(mh, "round_vectorised", spy)  # run_chains's round: the reference under test
        sampler = MHGANSampler(_tiny_gan(), k=30, score_calibration=calibration, n_calib=400, max_restarts=3,
                               chunk=64)
        sampler.prepare(SamplingContext(data))
        out[impl] = sampler.sample_batch(40, torch.Generator().manual_seed(7))
    assert used == {"vectorised", "loop", "textbook"}
    a, b, c = out["vectorised"], out["loop"], out["textbook"]
    assert torch.equal(a.samples, b.samples)
    assert a.stats == b.stats and a.g_evals == b.g_evals and a.d_evals == b.d_evals
    # the textbook loop scores one proposal per call: the same chains, samples to float rounding
    torch.testing.assert_close(c.samples, a.samples, rtol=1e-5, atol=1e-6)
    assert a.stats == c.stats and a.g_evals == c.g_evals and a.d_evals == c.d_evals


def test_select_kernels_agree_and_start_from_the_real_score():
    gen = torch.Generator().manual_seed(3)
    init, props = torch.randn(200, generator=gen, dtype=torch.float64), torch.randn(200, 50, generator=gen)
    u = torch.rand(200, 50, generator=gen, dtype=torch.float64)
    iv, av = select_vectorised(init, props, u)
    il, al = select_loop(init, props, u)
    assert torch.equal(iv, il) and torch.equal(av, al)
    # a proposal scored far below the real init is never accepted; far above, always
    idx, _ = select_vectorised(torch.zeros(3, dtype=torch.float64), torch.full((3, 4), -50.0), u[:3, :4])
    assert (idx == -1).all()
    idx, acc = select_vectorised(torch.zeros(3, dtype=torch.float64), torch.full((3, 4), 50.0), u[:3, :4])
    # ... and between equal scores the ratio is 1: every move is accepted
    assert idx.tolist() == [3, 3, 3] and acc.tolist() == [4, 4, 4]


def test_calibrators_are_monotone_and_logistic_recovers_platt_scaling():
    gen = torch.Generator().manual_seed(0)
    # logits l ~ N(0, 2); true P(real | l) = sigmoid(0.5 l - 1)
    logit = 2 * torch.randn(20000, generator=gen)
    y = torch.rand(20000, generator=gen) < torch.sigmoid(0.5 * logit - 1)
    cal = fit_calibrator("logistic", logit[y], logit[~y])
    assert cal.a == pytest.approx(0.5, abs=0.05) and cal.b == pytest.approx(-1.0, abs=0.08)
    iso = fit_calibrator("isotonic", logit[y], logit[~y])
    grid = torch.linspace(-8, 8, 101)
    assert bool((iso(grid).diff() >= 0).all()) and bool(torch.isfinite(iso(grid)).all())
    with pytest.raises(GanmcError):
        fit_calibrator("beta", logit[y], logit[~y])


def test_mhgan_needs_data():
    with pytest.raises(GanmcError, match="needs real data"):
        MHGANSampler(_tiny_gan()).prepare(SamplingContext(None))


def test_mhgan_from_the_command_line(run_cli, tmp_path):
    import json

    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "dataset=imbal8", "gan=nsgan_mlp", "gan.train.snapshots=[]",
                           "metric=collab", "+sampler=mhgan", "sampler.k=5", "sampler.n_calib=100",
                           f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert record["run"]["sampler"] == "mhgan"
    assert {"good_percent", "kl", "js"} <= set(record["metrics"])
    assert {"acceptance_rate", "efficiency", "d_brier", "d_ece", "d_z_stat"} <= set(record["stats"])
    assert record["timing"]["evals_per_sample"]["D"] > 5
