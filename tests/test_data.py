"""Synthetic data sets: protocol geometry, weights, reproducibility, fingerprints."""

from __future__ import annotations

import math

import numpy as np
import pytest
import torch
from sklearn.datasets import make_swiss_roll

from ganmc.data import GaussianGrid, GaussianMixture, GaussianRing, SwissRoll
from ganmc.errors import GanmcError
from ganmc.metrics.modes import assign_modes


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def test_grid_geometry_matches_protocol():
    ds = GaussianGrid("g")
    assert ds.centres.shape == (25, 2)
    assert math.isclose(float(ds.centres.max()), 4 / 2.828, rel_tol=1e-6)
    assert math.isclose(ds.std, 0.05 / 2.828, rel_tol=1e-9)
    x = ds.sample(50_000, gen())
    idx, dist = assign_modes(x, ds.centres)
    # per-coordinate std of points around their centre equals the configured std
    assert math.isclose(float((dist**2).mean() / 2) ** 0.5, ds.std, rel_tol=0.02)
    counts = torch.bincount(idx, minlength=25).double() / len(x)
    assert torch.allclose(counts, torch.full((25,), 0.04, dtype=torch.float64), atol=0.006)


def test_imbalanced_ring_weights_and_radius():
    ds = GaussianRing("r", n_modes=8, scale=10.0, std_factor=0.02, n_major=2, major_ratio=0.9)
    assert torch.allclose(ds.centres.norm(dim=1), torch.full((8,), 10 / 1.414), rtol=1e-5)
    assert math.isclose(ds.std, 0.02 * 10 / 1.414, rel_tol=1e-9)
    idx, _ = assign_modes(ds.sample(40_000, gen()), ds.centres)
    freq = torch.bincount(idx, minlength=8).double() / 40_000
    assert abs(freq[0] - 0.45) < 0.01 and abs(freq[1] - 0.45) < 0.01
    assert torch.allclose(freq[2:], torch.full((6,), 0.1 / 6, dtype=torch.float64), atol=0.005)


def test_swissroll_matches_scikit_learn_in_distribution():
    ours = SwissRoll("s").sample(20_000, gen()).double().numpy()
    x, _ = make_swiss_roll(20_000, noise=0.25, random_state=0)
    theirs = x[:, [0, 2]] / 7.5
    assert np.allclose(ours.mean(0), theirs.mean(0), atol=0.03)
    assert np.allclose(ours.std(0), theirs.std(0), atol=0.03)
    radius_ours, radius_theirs = np.linalg.norm(ours, axis=1), np.linalg.norm(theirs, axis=1)
    assert np.allclose(np.quantile(radius_ours, [0.1, 0.5, 0.9]),
                       np.quantile(radius_theirs, [0.1, 0.5, 0.9]), atol=0.03)
    assert SwissRoll("s").centres is None


def test_sampling_is_reproducible_and_seed_dependent():
    ds = GaussianGrid("g")
    assert torch.equal(ds.sample(100, gen(3)), ds.sample(100, gen(3)))
    assert not torch.equal(ds.sample(100, gen(3)), ds.sample(100, gen(4)))


def test_fingerprint_tracks_the_distribution():
    assert GaussianGrid("a").fingerprint() == GaussianGrid("b").fingerprint()
    assert GaussianGrid("a").fingerprint() != GaussianGrid("a", std=0.1).fingerprint()


def test_mixture_validates_its_input():
    with pytest.raises(GanmcError, match="weights"):
        GaussianMixture("m", [[0, 0], [1, 1]], 0.1, weights=[1.0])
    with pytest.raises(GanmcError, match="std"):
        GaussianMixture("m", [[0, 0]], -1.0)
    ds = GaussianMixture("m", [[0, 0], [10, 10]], 0.1, weights=[0.0, 1.0])
    assert bool((ds.sample(100, gen()) > 5).all())
