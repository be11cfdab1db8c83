"""The Python API (ganmc.api): your own GAN, the CLI's sampler presets on it, the metrics, and the
contracts checked on your nets before any sampling (ganmc.models.contracts)."""

from __future__ import annotations

import copy
import re
from pathlib import Path

import numpy as np
import pytest
import torch
from helpers import one_line_error
from torch import nn

import ganmc

ROOT = Path(__file__).resolve().parents[1]
# Presets for images only, or whose D derivation is sized for the digits figure.
IMAGE_ONLY = {"collab_fig10", "collab_mnist"}


class Flat(nn.Module):
    """A net whose output row is reshaped by ``fn`` (to build D's of any output shape)."""

    def __init__(self, net: nn.Module, fn) -> None:
        super().__init__()
        self.net, self.fn = net, fn

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fn(self.net(x))


def mlp(inp: int, out: int, seed: int) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(inp, 32), nn.ReLU(), nn.Linear(32, out))


@pytest.fixture
def nets() -> tuple[nn.Module, nn.Module]:
    """Plain-torch G (2 -> 2) and D (2 -> logits (n, 1)), untrained."""
    return mlp(2, 2, 0), mlp(2, 1, 1)


def test_public_api_is_exported_from_the_package():
    for name in ("GAN", "sample", "measure", "presets", "load_gan"):
        assert name in dir(ganmc) and getattr(ganmc, name) is not None
    assert "ddls" in ganmc.presets() and "generator" in ganmc.presets()


def test_docs_example_runs_as_written(cache_dir):
    text = (ROOT / "docs" / "own-gan.md").read_text()
    section = text.split("## Python API", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S).group(1)
    scope: dict = {}
    exec(compile(code, "docs/own-gan.md", "exec"), scope)
    out, metrics = scope["out"], scope["metrics"]
    assert out.samples.shape == (2000, 2) and out.latents.shape == (2000, 2)
    assert torch.isfinite(out.samples).all() and out.g_evals > 0 and out.d_evals > 0
    assert isinstance(metrics, dict) and {"modes_recovered", "hq_percent", "emd"} <= set(metrics)


def _point_presets() -> list[str]:
    return [name for name in ganmc.presets() if not name.endswith("_digits") and name not in IMAGE_ONLY]


@pytest.mark.parametrize("preset", _point_presets())
def test_every_2d_sampler_preset_runs_through_the_api(preset, nets, cache_dir):
    gan = ganmc.GAN.from_modules(*nets, latent_dim=2)
    out = ganmc.sample(gan, preset, n=64, seed=0, data="gaussians25", smoke=True)
    assert out.samples.shape == (64, 2) and torch.isfinite(out.samples).all()


@pytest.mark.parametrize("preset", ["generator", "ddls"])
def test_api_samples_equal_the_cli_samples_bit_for_bit(preset, run_cli, tmp_path):
    """The shipped default GAN, the same preset and seed: samples.npy of `ganmc sample` equals
    ganmc.sample's output."""
    out = tmp_path / "run"
    code, _, err = run_cli("sample", f"+sampler={preset}", "n_samples=300", "seed=3", "device=cpu",
                           "metric.metrics=[modes]", "plot=false", f"hydra.run.dir={out}")
    assert code == 0, err
    gan = ganmc.load_gan("device=cpu", "seed=3")
    api = ganmc.sample(gan, preset, n=300, seed=3)
    cli = np.load(out / "samples.npy")
    assert cli.shape == (300, 2) and np.array_equal(cli, api.samples.numpy())
    assert not np.array_equal(cli, ganmc.sample(gan, preset, n=300, seed=4).samples.numpy())  # the seed matters


def test_ddls_from_python_is_the_cli_preset_not_the_class_defaults(nets, cache_dir):
    gan = ganmc.GAN.from_modules(*nets, latent_dim=2)
    cold = ganmc.sample(gan, "ddls", n=32, seed=0)
    unit = ganmc.sample(gan, "ddls_unit", n=32, seed=0)
    assert cold.g_evals == 32 * (2 * 21 + 1)  # the preset's 20 steps, not the class's 100
    assert unit.g_evals == 32 * (2 * 101 + 1)


def test_sampler_overrides_reach_the_preset_and_bad_ones_are_one_line(nets, cache_dir):
    gan = ganmc.GAN.from_modules(*nets, latent_dim=2)
    assert ganmc.sample(gan, "ddls", n=8, n_steps=3).g_evals == 8 * (2 * 4 + 1)
    one_line_error(lambda: ganmc.sample(gan, "ddls", n=8, no_such_key=1), "no_such_key")
    one_line_error(lambda: ganmc.sample(gan, "no_such_sampler", n=8), "unknown sampler preset", "ddls")


@pytest.mark.parametrize("preset", ["ddls_cal", "mhgan", "collab"])
def test_a_sampler_that_needs_data_says_so_without_it(preset, nets, cache_dir):
    gan = ganmc.GAN.from_modules(*nets, latent_dim=2)
    one_line_error(lambda: ganmc.sample(gan, preset, n=16, smoke=True), "needs real data", "data=")


def test_data_given_as_a_tensor_feeds_a_calibrated_d(nets, cache_dir):
    gan = ganmc.GAN.from_modules(*nets, latent_dim=2)
    real = torch.randn(500, 2, generator=torch.Generator().manual_seed(0)) + 3
    out = ganmc.sample(gan, "drs_cal", n=32, data=real, smoke=True)
    assert out.samples.shape == (32, 2) and torch.isfinite(out.samples).all()


def test_ddls_on_an_n_by_1_d_equals_ddls_on_the_same_d_returning_n(nets, cache_dir):
    """(n, 1) logits are read as (n,): no silent broadcasting of the energy to (n, n)."""
    g, d = nets
    column = ganmc.sample(ganmc.GAN.from_modules(g, d, latent_dim=2), "ddls_unit", n=64, seed=0)
    flat = ganmc.GAN.from_modules(g, Flat(d, lambda s: s[:, 0]), latent_dim=2)
    assert torch.equal(column.samples, ganmc.sample(flat, "ddls_unit", n=64, seed=0).samples)
    assert column.samples.abs().max() < 100


def test_a_d_with_two_outputs_per_sample_is_refused(nets):
    g, _ = nets
    one_line_error(lambda: ganmc.GAN.from_modules(g, mlp(2, 2, 1), latent_dim=2),
                    r"^D \(the Sequential module\) returned shape \(8, 2\)", r"\(8,\) or \(8, 1\)")


def test_a_g_of_the_wrong_output_size_is_refused(nets):
    _, d = nets
    one_line_error(lambda: ganmc.GAN.from_modules(mlp(2, 3, 0), d, latent_dim=2, data_shape=2),
                    r"G returned samples of shape \(3,\)", r"data are of shape \(2,\)")
    # without data_shape, D is where the mismatch shows: named, with the shape it got
    one_line_error(lambda: ganmc.GAN.from_modules(mlp(2, 3, 0), d, latent_dim=2),
                    r"^D \(the Sequential module\) failed on a probe batch of shape \(8, 3\)")
    one_line_error(lambda: ganmc.GAN.from_modules(mlp(3, 2, 0), d, latent_dim=2),
                    r"^G \(the Sequential module\) failed on a probe batch of shape \(8, 2\)")


def test_a_g_of_the_wrong_output_size_for_the_data_is_refused_by_sample(cache_dir):
    gan = ganmc.GAN.from_modules(mlp(2, 3, 0), mlp(3, 1, 1), latent_dim=2)  # consistent, but 3-D
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, data="gaussians25"), r"shape \(3,\)", r"\(2,\)")


def test_a_nan_producing_d_is_refused(nets):
    g, d = nets
    one_line_error(lambda: ganmc.GAN.from_modules(g, Flat(d, lambda s: s * float("nan")), latent_dim=2),
                    r"^D \(the Flat module\) returned NaN/inf")
    one_line_error(lambda: ganmc.GAN.from_modules(Flat(g, lambda x: x / 0.0), d, latent_dim=2),
                    r"^G \(the Flat module\) returned NaN/inf")


def test_bad_d_output_prior_and_dtype_are_refused(nets):
    g, d = nets
    one_line_error(lambda: ganmc.GAN.from_modules(g, d, latent_dim=2, d_output="score"), "d_output", "logit")
    one_line_error(lambda: ganmc.GAN.from_modules(g, d, latent_dim=2, prior="cauchy"), "prior", "normal")
    one_line_error(lambda: ganmc.GAN.from_modules(copy.deepcopy(g).double(), d, latent_dim=2), r"^G .*torch.float64", "float32")
    one_line_error(lambda: ganmc.GAN.from_modules(g, Flat(d, lambda s: s + 5), latent_dim=2, d_output="probability"),
                    r"outside \[0, 1\]")


def test_a_critic_is_read_as_a_wgan_critic(nets):
    assert ganmc.GAN.from_modules(*nets, latent_dim=2, d_output="critic").loss == "wgan_gp"
    assert ganmc.GAN.from_modules(*nets, latent_dim=2, d_output="logit").loss == "ns"


def test_a_probability_d_gives_the_ddls_samples_of_its_logit_d(nets, cache_dir):
    g, d = nets
    logit = ganmc.sample(ganmc.GAN.from_modules(g, d, latent_dim=2), "ddls_unit", n=64, seed=0)
    prob_gan = ganmc.GAN.from_modules(g, Flat(d, torch.sigmoid), latent_dim=2, d_output="probability")
    prob = ganmc.sample(prob_gan, "ddls_unit", n=64, seed=0)
    assert torch.allclose(logit.samples, prob.samples, atol=1e-4)


def test_g_and_d_on_different_devices_are_refused(nets):
    g, d = nets
    one_line_error(lambda: ganmc.GAN.from_modules(copy.deepcopy(g).to("meta"), d, latent_dim=2),
                    r"^G is on meta but D on cpu", "one device")


def test_the_probe_updates_no_batch_norm_statistics(nets):
    _, d = nets
    g = nn.Sequential(nn.Linear(2, 8), nn.BatchNorm1d(8), nn.Linear(8, 2)).train()
    before = g[1].running_mean.clone()
    gan = ganmc.GAN.from_modules(g, d, latent_dim=2)
    assert torch.equal(g[1].running_mean, before) and not gan.generator.training
