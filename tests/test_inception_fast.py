"""The fast Inception pass against torch-fidelity's stock forward (random weights with
torch-fidelity's keys and shapes: no real weights offline), and the streamed statistics against
torch.cov and torch-fidelity's IS on the same features."""

from __future__ import annotations

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3
from torch_fidelity.interpolate_compat_tensorflow import interpolate_bilinear_2d_like_tensorflow1x
from torch_fidelity.metric_isc import (
    KEY_METRIC_ISC_MEAN,
    KEY_METRIC_ISC_STD,
    isc_features_to_metric,
)

from ganmc.data.images import ImageDataset, to_float
from ganmc.errors import GanmcError
from ganmc.io import sha256_json
from ganmc.metrics.classifier import classifier_score
from ganmc.metrics.fidelity import (
    INCEPTION,
    extract_features,
    fidelity_metrics,
    reference_statistics,
    stream_metrics,
    uint8_batches,
)
from ganmc.metrics.images import image_metrics, image_references
from ganmc.metrics.inception_fast import (
    FEATURES,
    FastInception,
    random_inception,
    resize_like_tensorflow1x,
)
from ganmc.metrics.settings import MetricSettings
from ganmc.metrics.streaming import RunningInceptionScore, RunningMoments

ROOT = Path(__file__).resolve().parents[1]


def images(n: int, size: int, seed: int) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(seed),
                         dtype=torch.uint8)


@pytest.fixture(scope="module")
def weights(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("inception") / "random-inception.pth"
    random_inception(str(path))
    return str(path)


@pytest.fixture(autouse=True)
def one_thread():
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def test_resize_is_torch_fidelitys_bit_for_bit():
    for dtype in (torch.float32, torch.float64):
        for shape in ((2, 3, 32, 32), (1, 3, 8, 8), (1, 3, 28, 20), (1, 3, 299, 299), (1, 3, 1, 1), (1, 3, 400, 310)):
            x = torch.randint(0, 256, shape, generator=torch.Generator().manual_seed(shape[2]), dtype=torch.uint8)
            x = x.to(dtype)
            stock = interpolate_bilinear_2d_like_tensorflow1x(x, size=(299, 299), align_corners=False)
            assert torch.equal(resize_like_tensorflow1x(x, 299), stock), (dtype, shape)


def test_fast_features_equal_stock(weights):
    stock = FeatureExtractorInceptionV3(INCEPTION, list(FEATURES), feature_extractor_weights_path=weights)
    x = images(3, 32, 0)  # noise, a flat grey, a gradient: features that differ
    x[1] = 40
    x[2] = torch.linspace(0, 255, 32).round().to(torch.uint8).view(1, 1, 32)
    with torch.no_grad():
        want = dict(zip(FEATURES, stock(x)))
    got = dict(zip(FEATURES, FastInception(stock)(x)))
    for name in FEATURES:
        assert got[name].dtype == torch.float32 and got[name].shape == want[name].shape
        assert (got[name] - want[name]).abs().max() < 1e-4, name
    # non-trivial: features differ between images and are not tiny
    assert want["2048"].std(0).mean() > 0.1 and want["logits_unbiased"].std(0).mean() > 0.1
    # only what is asked for, in that order; a subset stops early
    sub = FastInception(stock, ["192", "64"])(x)
    assert torch.equal(sub[0], got["192"]) and torch.equal(sub[1], got["64"])
    with pytest.raises(GanmcError, match="uint8"):
        FastInception(stock)(x.float())


@pytest.mark.skipif(not torch.cuda.is_available(), reason="no CUDA device")
def test_fast_pass_and_streaming_run_on_cuda(weights):
    stock = FeatureExtractorInceptionV3(INCEPTION, ["2048", "logits_unbiased"], feature_extractor_weights_path=weights)
    x = images(2, 32, 4)
    with torch.no_grad():
        want = stock(x)
    tf32 = torch.backends.cudnn.allow_tf32
    torch.backends.cudnn.allow_tf32 = False  # TF32 convs round to ~1e-3, on the stock pass as well
    try:
        got = FastInception(stock).to("cuda")(x.cuda())
        streamed = stream_metrics(x, INCEPTION, 1, "cuda", "2048", "logits_unbiased", 1,
                                  feature_extractor_weights_path=weights)
    finally:
        torch.backends.cudnn.allow_tf32 = tf32
    for g, w in zip(got, want):
        assert g.device.type == "cuda" and (g.cpu() - w).abs().max() < 1e-4
    assert (streamed["stats"]["mu"] - want[0].double().mean(0)).abs().max() < 1e-4
    assert math.isfinite(streamed["is"][0])


def test_fid_only_weights_give_features_and_nan_logits(weights, tmp_path):
    state = torch.load(weights, weights_only=True)
    state["fc.weight"].fill_(float("nan"))
    state["fc.bias"].fill_(float("nan"))
    torch.save(state, tmp_path / "fid-only.pth")
    stock = FeatureExtractorInceptionV3(INCEPTION, ["2048"], feature_extractor_weights_path=str(tmp_path / "fid-only.pth"))
    feats, logits = FastInception(stock, ["2048", "logits_unbiased"])(images(1, 16, 1))
    assert feats.isfinite().all() and logits.isnan().all()


def test_inception_metrics_stream_uint8_and_float_alike(weights, tmp_path):
    x = images(4, 16, 2)
    data = ImageDataset("noise", x)
    kw = {"feature_extractor_weights_path": weights}
    out = fidelity_metrics(x, data, tmp_path, fid=False, batch_size=2, isc_splits=2, **kw)  # FID: sqrtm 2048^2, slow
    stock = FeatureExtractorInceptionV3(INCEPTION, ["logits_unbiased"], feature_extractor_weights_path=weights)
    with torch.no_grad():
        logits = stock(x)[0]
    want = isc_features_to_metric(logits, splits=2, shuffle=True, rng_seed=2020)
    assert out["is"] == pytest.approx(want[KEY_METRIC_ISC_MEAN], rel=1e-5)
    assert out["is_std"] == pytest.approx(want[KEY_METRIC_ISC_STD], rel=1e-3, abs=1e-6)
    ref = reference_statistics(data, 4, tmp_path, "2048", batch_size=2, **kw)
    key = sha256_json({"data": data.fingerprint(), "n": 4, "extractor": INCEPTION, "layer": "2048",
                       "kwargs": {"feature_extractor_weights_path": Path(weights).name}, "pass": "fast1"})[:16]
    assert (tmp_path / "fidelity" / f"noise-{INCEPTION}-2048-n4-{key}.pt").is_file()  # new pass, new key
    # float in [-1, 1]: the same pass, the same numbers (against the reference of the same images)
    got = stream_metrics(to_float(x), INCEPTION, 2, "cpu", "2048", "logits_unbiased", 2, **kw)
    assert torch.equal(got["stats"]["mu"], ref["mu"]) and torch.equal(got["stats"]["sigma"], ref["sigma"])
    assert got["is"] == (out["is"], out["is_std"])


def test_running_moments_equal_torch_cov():
    g = torch.Generator().manual_seed(0)
    f = 1000.0 + torch.randn(203, 7, generator=g, dtype=torch.float64) @ torch.randn(7, 7, generator=g,
                                                                                    dtype=torch.float64)
    m = RunningMoments()
    for chunk in f.split([50, 1, 100, 52]):
        m.update(chunk)
    got = m.result()
    assert torch.allclose(got["mu"], f.mean(0), rtol=1e-12, atol=0)
    cov = torch.cov(f.T)
    assert ((got["sigma"] - cov).abs().max() / cov.abs().max()) < 1e-9
    with pytest.raises(GanmcError):
        RunningMoments().result()


@pytest.mark.parametrize("n,splits", [(103, 10), (64, 1), (7, 3), (5, 10)])
def test_running_inception_score_equals_torch_fidelity(n, splits):
    logits = 3 * torch.randn(n, 12, generator=torch.Generator().manual_seed(n), dtype=torch.float64)
    run = RunningInceptionScore(n, splits)
    for chunk in logits.split(4):
        run.update(chunk.float())
    mean, std = run.result()
    want = isc_features_to_metric(logits.float(), splits=splits, shuffle=True, rng_seed=2020)
    if n < splits:  # empty splits: NaN in torch-fidelity, NaN here
        assert math.isnan(want[KEY_METRIC_ISC_MEAN]) and math.isnan(mean)
        return
    assert mean == pytest.approx(want[KEY_METRIC_ISC_MEAN], rel=1e-9)
    assert std == pytest.approx(want[KEY_METRIC_ISC_STD], rel=1e-9, abs=1e-12)
    one = RunningInceptionScore(n, 1, shuffle=False)
    one.update(logits)
    assert one.result()[0] == pytest.approx(classifier_score(logits), rel=1e-9)  # cs: one split
    short = RunningInceptionScore(n + 1, splits)
    short.update(logits)
    with pytest.raises(GanmcError, match="saw"):
        short.result()


def test_batches_convert_per_batch():
    grey = torch.rand(5, 1, 4, 4, generator=torch.Generator().manual_seed(0)) * 2 - 1
    u8 = torch.cat(list(uint8_batches(grey, 2)))
    assert torch.equal(torch.cat(list(uint8_batches(to_float(u8), 3))), u8)  # float -> uint8 per batch
    tiny = {"extractor": "ganmc-tiny", "batch_size": 2}
    assert torch.equal(extract_features(u8, ["pooled"], **tiny)["pooled"],
                       extract_features(to_float(u8), ["pooled"], **tiny)["pooled"])
    with pytest.raises(GanmcError, match="no images"):
        extract_features(torch.zeros(0, 3, 4, 4, dtype=torch.uint8), ["pooled"], "ganmc-tiny")


def test_image_references_fill_the_cache_image_metrics_reads(tmp_path):
    data = ImageDataset("noise", images(40, 8, 3))
    cfg = MetricSettings(n_ref=None, inception_weights=None, feature_extractor="ganmc-tiny", batch_size=16,
                         isc_splits=2)
    image_references(data, cfg, tmp_path, names=("is", "fid"))
    files = list((tmp_path / "fidelity").glob("noise-ganmc-tiny-pooled-n40-*.pt"))
    assert len(files) == 1
    ref = torch.load(files[0], weights_only=True)
    torch.save({"mu": ref["mu"] + 1.0, "sigma": ref["sigma"]}, files[0])  # poisoned: proof it is read
    out = image_metrics(data.images, data, cfg, tmp_path, names=("fid",))  # uint8 samples
    assert out["fid"] == pytest.approx(16.0, rel=1e-6) and out["n"] == out["ref_n"] == 40


def test_benchmark_script_prints_ratios(capsys):
    spec = importlib.util.spec_from_file_location("bench_inception", ROOT / "scripts" / "bench_inception.py")
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    bench.main(["--images", "2", "--threads", "1", "--sizes", "16"])
    out = capsys.readouterr().out
    assert "ratio fast/stock float32, 1 thread(s), 16 px:" in out and "load average" in out
    ratio = float(out.split("ratio fast/stock float32, 1 thread(s), 16 px: ")[1].split("x")[0])
    assert ratio > 0 and np.isfinite(ratio)
