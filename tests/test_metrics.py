"""Mode metrics and EMD against hand-built cases with known answers."""

from __future__ import annotations

import importlib
import math

import numpy as np
import pytest
import torch

from ganmc.errors import GanmcError
from ganmc.metrics import emd, mode_metrics

CENTRES = torch.tensor([[0.0, 0.0], [1.0, 0.0], [0.0, 1.0]])
STD = 0.01


def test_points_on_centres_are_all_high_quality():
    x = CENTRES.repeat(4, 1)
    m = mode_metrics(x, CENTRES, STD)
    assert m == {"modes_recovered": 3, "modes_total": 3, "hq_percent": 100.0, "hq_std": 0.0}


def test_known_mix_of_good_and_bad_points():
    good = torch.tensor([[0.03, 0.0], [1.0, 0.03]])  # 3 std from modes 0 and 1
    bad = torch.tensor([[0.5, 0.5], [0.0, 1.05]])  # far from all / 5 std from mode 2
    m = mode_metrics(torch.cat([good, bad]), CENTRES, STD)
    assert m["modes_recovered"] == 2
    assert m["hq_percent"] == 50.0
    # pooled per-coordinate std: sqrt(mean(0.03^2) / 2)
    assert math.isclose(m["hq_std"], math.sqrt(0.03**2 / 2), rel_tol=1e-6)  # float32 input


def test_threshold_is_inclusive_at_four_std_and_configurable():
    x = torch.tensor([[0.04, 0.0]])
    assert mode_metrics(x, CENTRES, STD)["hq_percent"] == 100.0
    assert mode_metrics(x, CENTRES, STD, threshold=3.0)["hq_percent"] == 0.0
    assert mode_metrics(x, CENTRES, STD, threshold=3.0)["hq_std"] is None


def test_emd_of_shifted_copy_equals_shift_length():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(400, 2))
    shift = np.array([0.3, 0.4])
    assert math.isclose(emd(x, x + shift), 0.5, rel_tol=1e-9)
    assert math.isclose(emd(x, x + shift, cost="sqeuclidean"), 0.25, rel_tol=1e-9)


def test_emd_is_zero_for_a_permutation_and_symmetric():
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(300, 2)), rng.normal(size=(300, 2)) + 1.0
    assert emd(x, x[rng.permutation(300)]) == pytest.approx(0.0, abs=1e-12)
    assert emd(x, y) == pytest.approx(emd(y, x), rel=1e-9)


def test_emd_exact_beyond_pot_default_iteration_cap():
    """n = 6,000 needs more than POT's default 100,000 iterations; the result stays exact."""
    rng = np.random.default_rng(2)
    x = rng.normal(size=(6000, 2))
    assert math.isclose(emd(x, x + np.array([0.0, 0.2])), 0.2, rel_tol=1e-9)


@pytest.mark.parametrize("cost", ["euclidean", "sqeuclidean"])
def test_emd_dense_and_lazy_solvers_reach_the_same_optimum(cost, monkeypatch):
    emd_module = importlib.import_module("ganmc.metrics.emd")  # the package exports the function emd

    rng = np.random.default_rng(3)
    x, y = rng.normal(size=(700, 2)), rng.normal(size=(500, 2)) + 0.5  # unequal sizes: fractional plan
    dense = emd(x, y, cost)
    monkeypatch.setattr(emd_module, "DENSE_PAIRS", 0)  # every solve lazy
    assert emd(x, y, cost) == pytest.approx(dense, rel=1e-12)


def test_emd_rejects_bad_input():
    with pytest.raises(GanmcError, match="cost"):
        emd(np.zeros((3, 2)), np.zeros((3, 2)), cost="manhattan")
    with pytest.raises(ValueError):
        emd(np.zeros((3, 2)), np.zeros((3, 3)))


def test_emd_floor_is_solved_once_and_cached(tmp_path, monkeypatch):
    """The real-vs-real floor depends on data, n, seed, cost and real set only: the second run reads it."""
    import ganmc.metrics.registry as pipeline
    from ganmc.data.synthetic import GaussianGrid
    from ganmc.metrics.settings import MetricSettings

    data = GaussianGrid("gaussians25")
    cfg = MetricSettings(metrics=("emd", "emd_floor"), emd_n=200, emd_cost="euclidean", hq_threshold=4.0)
    samples = data.sample(300, torch.Generator().manual_seed(1))
    first = pipeline.compute_metrics(samples, data, cfg, seed=3, cache_dir=tmp_path)
    assert len(list((tmp_path / "emd_floor").glob("*.json"))) == 1

    calls = []
    emd_module = importlib.import_module("ganmc.metrics.emd")  # (the package's ``emd`` is the function)

    for module in (pipeline, emd_module):  # the samples' EMD, the floor's
        monkeypatch.setattr(module, "emd", lambda x, y, cost: calls.append(cost) or 0.5)
    second = pipeline.compute_metrics(samples, data, cfg, seed=3, cache_dir=tmp_path)
    assert calls == ["euclidean"]  # only the samples' EMD was solved again
    assert second["emd_floor"] == first["emd_floor"] > 0
    other_seed = pipeline.compute_metrics(samples, data, cfg, seed=4, cache_dir=tmp_path)
    assert len(calls) == 3 and other_seed["emd_floor"] == 0.5  # another seed is another floor
