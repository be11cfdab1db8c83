"""Stacked digits: the data set's modes and weights, the mode metrics on hand-built cases, and the
per-channel classifier on real stacked digits."""

from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from ganmc.data.stacked import N_MODES, StackedDigits, mode_weights, split_modes
from ganmc.data.synthetic import stratified_counts
from ganmc.errors import GanmcError
from ganmc.metrics.classifier import (
    joint_log_probs,
    load_classifier,
    obtain_classifier,
    stacked_forward,
)
from ganmc.metrics.stacked import channel_probs, stacked_metrics

GEOMETRIC = [0.7 ** d for d in range(10)]


def one_hot_probs(modes: torch.Tensor, confidence: float = 1.0) -> torch.Tensor:
    """Per-channel probabilities (n, 3, 10) putting ``confidence`` on each channel's digit of ``modes``."""
    digits = split_modes(modes)
    probs = torch.full((len(modes), 3, 10), (1 - confidence) / 9, dtype=torch.float64)
    probs.scatter_(2, digits.unsqueeze(2), confidence)
    return probs


def test_mode_weights_uniform_and_product():
    w = mode_weights(None)
    assert w.shape == (N_MODES,) and torch.allclose(w, torch.full_like(w, 1e-3))
    w = mode_weights(GEOMETRIC)
    p = torch.tensor(GEOMETRIC, dtype=torch.float64) / sum(GEOMETRIC)
    assert float(w.sum()) == pytest.approx(1.0, abs=1e-12)
    assert float(w[123]) == pytest.approx(float(p[1] * p[2] * p[3]), rel=1e-12)  # mode 123 = digits (1, 2, 3)
    assert float(w[0] / w[999]) == pytest.approx(float((p[0] / p[9]) ** 3), rel=1e-9)


@pytest.mark.parametrize("bad", [[1.0] * 9, [1.0] * 9 + [0.0], [1.0] * 9 + [float("nan")], [1.0] * 9 + [-1.0]])
def test_bad_digit_weights_are_refused(bad):
    with pytest.raises(GanmcError, match="digit_weights"):
        mode_weights(bad)


def test_mode_counts_sum_and_round():
    w = mode_weights(GEOMETRIC)
    counts = stratified_counts(w, 20_000)
    assert int(counts.sum()) == 20_000
    assert float((counts - w * 20_000).abs().max()) < 1.0


def test_too_small_pool_is_refused():
    with pytest.raises(GanmcError, match="n_images"):
        StackedDigits(n_images=999)


@pytest.mark.parametrize("weights", [None, GEOMETRIC])
def test_pool_channels_are_real_digits_of_the_mode(weights):
    data = StackedDigits(size=8, n_images=5000, digit_weights=weights)
    assert data.images.shape == (5000, 3, 8, 8) and data.images.dtype == torch.uint8
    counts = torch.bincount(data.labels, minlength=N_MODES)
    assert torch.equal(counts, stratified_counts(data.weights, 5000))  # mode counts follow the weights
    digits = data.channel_data
    flat = digits.images[:, 0].reshape(len(digits), -1)
    labels = split_modes(data.labels[:100])
    for i in range(100):  # each channel is one of the 1,797 digits, of the label its mode says
        for c in range(3):
            match = (flat == data.images[i, c].reshape(1, -1)).all(1)
            assert bool(match.any()) and bool((digits.labels[match] == labels[i, c]).all())


def test_metrics_all_modes_one_mode_and_known_kl():
    w = mode_weights(None)
    every = stacked_metrics(one_hot_probs(torch.arange(N_MODES)), w)
    assert every["stacked_modes"] == 1000 and every["stacked_kl"] == pytest.approx(0.0, abs=1e-12)
    assert every["stacked_quality"] == 1.0
    one = stacked_metrics(one_hot_probs(torch.full((50,), 123)), w)
    assert one["stacked_modes"] == 1 and one["stacked_kl"] == pytest.approx(math.log(1000), rel=1e-12)
    half = stacked_metrics(one_hot_probs(torch.tensor([0, 1] * 20)), w)
    assert half["stacked_kl"] == pytest.approx(math.log(500), rel=1e-12)  # 1/2 log((1/2)/(1/1000)) twice
    skew = mode_weights(GEOMETRIC)  # KL to non-uniform weights: sum p log(p / w)
    p = torch.tensor([0.25, 0.75], dtype=torch.float64)
    want = float((p * (p / skew[[7, 42]]).log()).sum())
    got = stacked_metrics(one_hot_probs(torch.tensor([7] + [42] * 3)), skew)
    assert got["stacked_kl"] == pytest.approx(want, rel=1e-12)


def test_unconfident_samples_count_for_kl_not_for_modes_or_quality():
    w = mode_weights(None)
    probs = one_hot_probs(torch.arange(N_MODES), confidence=0.6)
    out = stacked_metrics(probs, w, threshold=0.9)
    assert out["stacked_modes"] == 0 and out["stacked_quality"] == 0.0
    assert out["stacked_kl"] == pytest.approx(0.0, abs=1e-12)
    assert stacked_metrics(probs, w, threshold=0.5)["stacked_modes"] == 1000
    mixed = torch.cat([one_hot_probs(torch.arange(10)), one_hot_probs(torch.arange(10, 40), 0.6)])
    assert stacked_metrics(mixed, w, threshold=0.9)["stacked_quality"] == pytest.approx(0.25)


def test_joint_log_probs_is_the_product_of_channels():
    logp = torch.log_softmax(torch.randn(5, 3, 10, dtype=torch.float64), dim=2)
    joint = joint_log_probs(logp)
    assert joint.shape == (5, 1000)
    assert torch.allclose(joint.exp().sum(1), torch.ones(5, dtype=torch.float64))
    assert torch.allclose(joint[:, 472], logp[:, 0, 4] + logp[:, 1, 7] + logp[:, 2, 2])


@pytest.fixture(scope="module")
def stacked_and_classifier(tmp_path_factory) -> tuple[StackedDigits, Path]:
    """Stacked digits at the experiment's size and the digits classifier at the default settings."""
    data = StackedDigits(size=16, n_images=50000)
    return data, obtain_classifier(data.channel_data, tmp_path_factory.mktemp("cache"))


@pytest.mark.slow  # trains the classifier at its default settings: 1-2 minutes idle, far more on busy cores
def test_classifier_labels_real_stacked_digits(stacked_and_classifier):
    data, path = stacked_and_classifier
    net, payload = load_classifier(path)
    assert payload["record"]["holdout_accuracy"] >= 0.95
    probs = channel_probs(data.images, net)
    modes = (probs.argmax(2) * torch.tensor([100, 10, 1])).sum(1)
    assert float((modes == data.labels).double().mean()) >= 0.95  # all three channels right
    out = stacked_metrics(probs, data.weights)
    assert out["stacked_modes"] == 1000  # every mode found in the 50,000 real images
    assert out["stacked_kl"] < 0.05
    feats, logp = stacked_forward(net, data.sample(4, torch.Generator().manual_seed(0)))
    assert feats.shape == (4, 3 * 64) and torch.allclose(logp.exp().sum(2), torch.ones(4, 3), atol=1e-5)
    assert F.softmax(joint_log_probs(logp), 1).shape == (4, 1000)


def _stacked_record(runs: Path, gan: str, its: int, sampler: str, seed: int, metrics: dict,
                    discriminator: dict | None = None, dataset: str = "stacked_digits") -> None:
    folder = runs / f"{gan}-{its}-{sampler}-{seed}-{(discriminator or {}).get('steps', 'x')}"
    folder.mkdir(parents=True)
    config = {"n_samples": 2000, "dataset": {"name": dataset}, "gan": {"name": gan, "train": {"iterations": its}},
              "sampler": None if sampler == "generator" else {"_target_": sampler, "discriminator": discriminator}}
    record = {"command": "sample", "run": {"sampler": sampler, "dataset": dataset, "seed": seed, "gan": gan,
                                           "n_samples": 2000},
              "metrics": metrics, "stats": {}, "config": config,
              "timing": {"evals_per_sample": {"G": 1.0, "D": 0.0}, "wall_seconds": 10.0,
                         "started_at": 100.0 * seed, "finished_at": 100.0 * seed + 10.0}}
    (folder / "record.json").write_text(__import__("json").dumps(record))
    __import__("numpy").save(folder / "samples.npy", __import__("numpy").zeros((20, 3, 16, 16), dtype="uint8"))


def test_stacked_table_paired_deltas_real_row_and_grid(tmp_path):
    import csv

    from ganmc.tables.records import find_records
    from ganmc.tables.stacked import stacked_digits

    runs = tmp_path / "runs"
    for seed in range(3):
        real = {"stacked_real_modes": 900, "stacked_real_kl": 0.2, "stacked_real_quality": 0.94}
        _stacked_record(runs, "dcgan16", 1000, "generator", seed,
                        {"stacked_modes": 400 + seed, "stacked_kl": 1.0, "stacked_quality": 0.5, **real})
        _stacked_record(runs, "dcgan16", 1000, "ddls_digits", seed,  # +10 modes on every seed: resolved
                        {"stacked_modes": 410 + seed, "stacked_kl": 1.0 + 0.1 * (seed - 1), "stacked_quality": 0.5})
    written = stacked_digits(find_records(runs), tmp_path / "out")
    assert {p.name for p in written} >= {"stacked_digits.md", "stacked_digits_variants.csv",
                                         "stacked_digits_diagnostics.md", "dcgan16-it1000.png"}
    rows = list(csv.reader((tmp_path / "out" / "stacked_digits.csv").open()))
    assert rows[0] == ["GAN", "iterations", "method", "modes (higher better)", "KL (lower better)",  # the papers' shape
                       "Δ modes vs generator", "Δ KL vs generator", "n × seeds"]
    assert [r[2] for r in rows[1:]] == ["real data (same n)", "generator only", "DDLS"]
    assert rows[1][3:] == ["900.0 ± 0.0", "0.200 ± 0.000", "–", "–", "–"]
    ddls = rows[3]
    assert ddls[5:] == ["+10.0 ± 0.0 *", "+0.000 ± 0.058", "2,000 × 3"]  # KL: not resolved, no star
    more = list(csv.reader((tmp_path / "out" / "stacked_digits_variants.csv").open()))  # quality and cost
    assert more[0] == ["GAN", "iterations", "method", "n", "quality (higher better)", "Δ quality vs generator",
                       "G evals/sample", "D evals/sample", "seconds/run", "seeds"]
    assert [r[2:6] for r in more[1:]] == [["real data (same n)", "–", "0.940 ± 0.000", "–"],
                                          ["generator only", "2,000", "0.500 ± 0.000", "–"],
                                          ["DDLS", "2,000", "0.500 ± 0.000", "+0.000 ± 0.000"]]
    assert more[3][-1] == "3"
    md = (tmp_path / "out" / "stacked_digits.md").read_text()
    caption, variants = (line for line in md.splitlines() if line.startswith("Stacked digits"))
    assert variants.startswith("Stacked digits, other metrics and cost") and "Quality:" in variants
    for text in (caption, variants):  # data, GAN, n, seeds and what ± is, in both
        for words in ("GAN dcgan16 trained 1,000 iterations", "n = 2,000 samples per run", "seeds 0, 1, 2",
                      "mean ± std over seeds", "± standard error"):
            assert words in text, (words, text)


def test_stacked_rows_put_dgflow_and_latent_rs_after_the_seed_papers_samplers(tmp_path):
    import csv

    from ganmc.tables.records import find_records
    from ganmc.tables.stacked import stacked_digits

    runs = tmp_path / "runs"
    for sampler in ("latent_rs_digits", "dgflow_digits", "dot_digits", "ddls_digits", "generator"):
        for seed in range(2):
            _stacked_record(runs, "dcgan16", 5000, sampler, seed,
                            {"stacked_modes": 400, "stacked_kl": 1.0, "stacked_quality": 0.5})
    stacked_digits(find_records(runs), tmp_path / "out")
    for name in ("stacked_digits", "stacked_digits_variants"):
        rows = list(csv.reader((tmp_path / "out" / f"{name}.csv").open()))
        assert [r[2] for r in rows[1:]] == ["real data (same n)", "generator only", "DDLS", "DOT", "DGflow",
                                            "latent RS"]


def test_fig10_table_groups_by_shaping_iterations(tmp_path):
    import csv

    from ganmc.tables.collab_fig10 import collab_fig10
    from ganmc.tables.records import find_records

    runs = tmp_path / "runs"
    for seed in range(2):
        _stacked_record(runs, "dcgan32", 1000, "generator", seed, {"cs": 8.0, "fd": 1.0}, dataset="digits")
        for steps, cs in [(0, 7.0), (100, 8.5)]:
            _stacked_record(runs, "dcgan32", 1000, "collab_fig10", seed, {"cs": cs + seed, "fd": 1.0},
                            {"kind": "shaped", "steps": steps}, dataset="digits")
    written = collab_fig10(find_records(runs), tmp_path / "out")
    assert {p.name for p in written} == {f"collab_fig10{v}.{e}" for v in ("", "_variants") for e in ("md", "csv", "tex")} \
        | {"collab_fig10.png"}
    rows = list(csv.reader((tmp_path / "out" / "collab_fig10.csv").open()))
    assert [r[:2] for r in rows[1:]] == [["generator alone", "–"], ["raw", "0"], ["shaped", "100"]]
    assert rows[3][4] == "+1.500 ± 0.000 *"
    versus = list(csv.reader((tmp_path / "out" / "collab_fig10_variants.csv").open()))  # against the generator
    assert [r[:3] for r in versus[1:]] == [["raw", "0", "-0.500 ± 0.500"], ["shaped", "100", "+1.000 ± 0.500"]]


@pytest.mark.parametrize("gan,its", [("dcgan16", 1000), ("wgan_gp_dcgan16", 2000)])
def test_shipped_stacked_gans_load_without_training(run_cli, tmp_path, gan, its):
    import numpy as np

    out = tmp_path / "run"
    code, _, err = run_cli("sample", "dataset=stacked_digits", f"gan={gan}", f"gan.train.iterations={its}", "seed=4",
                           "n_samples=50", "metric.metrics=[]", "plot=false", f"hydra.run.dir={out}")
    assert code == 0, err
    assert "loading shipped GAN" in err and "training" not in err
    assert np.load(out / "samples.npy").shape == (50, 3, 16, 16)


@pytest.mark.slow  # trains the digits classifier (cached afterwards)
def test_the_pacgan_command_of_the_readme(run_cli, tmp_path):
    import json

    out = tmp_path / "run"
    code, _, err = run_cli("sample", "dataset=stacked_digits", "gan=dcgan16", "gan.train.iterations=5000", "seed=0",
                           "n_samples=26000", "metric.metrics=[stacked_modes,stacked_kl]", f"hydra.run.dir={out}")
    assert code == 0, err
    assert "loading shipped GAN" in err and "no trained GAN" not in err
    metrics = json.loads((out / "record.json").read_text())["metrics"]
    assert 0 < metrics["stacked_modes"] <= 1000 and metrics["stacked_kl"] > metrics["stacked_real_kl"] >= 0
    assert "stacked_quality" not in metrics  # only what was asked (and its real-data floor)
