"""Issue 24, hostile inputs: each is one stderr line, a non-zero exit and no run folder, before any
compute (or, where the input is fine, a run that does what it says)."""

from __future__ import annotations

import io
import json
import logging
import pickle
import re
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY

from ganmc.errors import GanmcError

LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\]\[")
# A tiny DCGAN on 16-px digits (trains in a second).
DIGITS = ["dataset=digits", "dataset.size=16", "gan=dcgan32", "gan.latent_dim=8", "gan.generator.base_width=4",
          "gan.discriminator.base_width=4", "gan.train.iterations=2", "gan.train.batch_size=8",
          "gan.train.grid_every=0", "device=cpu", "n_samples=40", "batch_size=16", "metric=image", "plot=false"]


def refused(result: tuple[int, str, str], out: Path, cache_dir: Path | None = None) -> str:
    """The one error line of a refused run (exit 1, nothing on stdout, no run folder, nothing trained)."""
    code, stdout, err = result
    lines = [ln for ln in err.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
    assert code == 1 and stdout == "" and len(lines) == 1, f"exit {code}, stderr:\n{err}"
    assert not out.exists(), "a refused run left its folder"
    if cache_dir is not None:
        assert not list(cache_dir.glob("checkpoints/*.pt")), "a refused run trained a GAN"
    return lines[0]


@pytest.fixture
def no_sampling(monkeypatch: pytest.MonkeyPatch) -> None:
    """Sampling is a test failure (the old code started an endless one)."""
    from ganmc.samplers.base import Sampler

    def fail(*args: object, **kwargs: object) -> None:
        raise AssertionError("sampling started")

    monkeypatch.setattr(Sampler, "sample", fail)


def test_absurd_n_samples_is_refused_by_the_budget_and_by_memory(run_cli, tmp_path, no_sampling):
    out = tmp_path / "run"
    line = refused(run_cli("sample", "n_samples=1000000000000", "device=cpu", f"hydra.run.dir={out}"), out)
    assert "about 2e+12 G and D evaluations (2 per sample x 1000000000000 samples)" in line
    assert "raise max_evals" in line
    # confirmed past max_evals: 8 TB of float32 samples fit no machine's memory
    line = refused(run_cli("sample", "n_samples=1000000000000", "max_evals=1e14", "device=cpu",
                           f"hydra.run.dir={out}"), out)
    assert "n_samples=1000000000000 keeps 1000000000000 x 2 float32 values, about 7.28 TiB" in line
    assert "of memory is available: lower n_samples" in line


def test_sample_size_counts_uint8_images_against_free_disk(tmp_path, monkeypatch):
    import ganmc.resources as resources
    from ganmc.data import Digits

    digits = Digits(size=8)  # 64 values a sample, kept as uint8
    monkeypatch.setattr(resources, "available_memory", lambda: 10**12)
    monkeypatch.setattr(resources, "free_disk", lambda folder: 6400)
    resources.check_sample_size(100, digits, tmp_path)  # 6,400 bytes: fits exactly
    with pytest.raises(GanmcError, match=r"keeps 101 x 64 uint8 values, about 6.31 KiB for samples.npy, but the "
                                         r"disk of .* has 6.25 KiB free"):
        resources.check_sample_size(101, digits, tmp_path)


def test_emd_n_above_n_samples_is_said_in_a_warning(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "metric.emd_n=1000000000", f"hydra.run.dir={out}")
    assert code == 0, err
    assert "[WARNING] - metric.emd_n=1000000000 is more than n_samples=300: the EMD uses all 300 samples" in err
    assert json.loads((out / "record.json").read_text())["metrics"]["emd_n"] == 300


def test_max_evals_must_be_positive(run_cli, tmp_path, cache_dir):
    out = tmp_path / "run"
    line = refused(run_cli("sample", *TINY, "max_evals=-1", f"hydra.run.dir={out}"), out, cache_dir)
    assert line == "ganmc sample: error: max_evals must be positive, got -1.0"


def test_threads_beyond_the_maximum_are_refused(run_cli, tmp_path, cache_dir, monkeypatch):
    real = torch.set_num_threads

    def guard(n: int) -> None:  # the old code passed 100000 on, and torch crashed the process
        assert n <= 1024, f"torch.set_num_threads({n})"
        real(n)

    monkeypatch.setattr(torch, "set_num_threads", guard)
    out = tmp_path / "run"
    line = refused(run_cli("sample", *TINY, "threads=100000", f"hydra.run.dir={out}"), out, cache_dir)
    assert "threads must be positive and at most 1024 (or null: automatic), got 100000" in line


def test_a_metric_named_on_the_command_line_must_apply(run_cli, tmp_path, cache_dir):
    out = tmp_path / "run"
    line = refused(run_cli("sample", *DIGITS, "metric.metrics=[stacked_modes]", f"hydra.run.dir={out}"), out,
                   cache_dir)
    assert "metric 'stacked_modes' does not apply to dataset=digits: it needs stacked digits" in line
    assert line.endswith("the metrics for dataset=digits are is, fid, cs, fd")
    # a config file's list (one list serves a sweep's data sets) still skips what does not apply:
    # metric=collab lists modes, mass_tv, collab, and the swiss roll has no modes
    code, _, err = run_cli("sample", *TINY, "dataset=swissroll", "metric=collab", f"hydra.run.dir={out}")
    assert code == 0, err
    assert list(json.loads((out / "record.json").read_text())["metrics"]) == ["mass_tv"]


def test_a_listed_metric_that_does_not_apply_is_skipped_with_its_reason(caplog, monkeypatch):
    from ganmc.data import SwissRoll
    from ganmc.metrics.registry import _SKIP_LOGGED, compute_metrics
    from ganmc.metrics.settings import MetricSettings

    logger = logging.getLogger("ganmc.metrics.registry")  # in-process runs configure logging
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])
    _SKIP_LOGGED.discard(("swissroll", "collab"))
    roll = SwissRoll("swissroll")  # a config file's list (one list for a sweep's data sets): skipped
    with caplog.at_level("INFO", logger="ganmc.metrics.registry"):
        out = compute_metrics(roll.sample(50, torch.Generator().manual_seed(0)), roll,
                              MetricSettings(metrics=("collab", "mass_tv"), hq_threshold=4.0), 0)
    assert "mass_tv" in out and "good_percent" not in out
    assert ("skipping metric collab: it does not apply to dataset=swissroll (it needs a mixture with modes "
            "and weights)") in caplog.text


def test_a_repeated_emd_protocol_is_solved_once(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "metric.emd_also=[sqeuclidean/iid,sqeuclidean/iid,euclidean/iid]",
                           f"hydra.run.dir={out}")
    assert code == 0, err
    assert err.count("solving exact EMD (sqeuclidean cost, iid real set)") == 1
    assert "metric.emd_also lists sqeuclidean/iid more than once: measured once" in err
    assert "metric.emd_also: euclidean/iid is the main protocol" in err
    metrics = json.loads((out / "record.json").read_text())["metrics"]
    assert "emd[sqeuclidean/iid]" in metrics and "emd[euclidean/iid]" not in metrics


def _cifar_tar(path: Path, cut: float = 1.0) -> None:
    """A CIFAR-10-shaped archive (5 small train batches), its bytes cut to the fraction ``cut``."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for i in range(1, 6):
            rng = np.random.default_rng(i)
            blob = pickle.dumps({b"data": rng.integers(0, 256, (64, 3072), dtype=np.uint8), b"labels": [0] * 64})
            member = tarfile.TarInfo(f"cifar-10-batches-py/data_batch_{i}")
            member.size = len(blob)
            tar.addfile(member, io.BytesIO(blob))
    raw = buf.getvalue()
    path.write_bytes(raw[:int(len(raw) * cut)])


@pytest.mark.parametrize("broken, expect", [
    ("partial", "cifar-10-batches-py lacks data_batch_2, data_batch_3, data_batch_4, data_batch_5"),
    ("garbage", "cifar-10-python.tar.gz cannot be read as cifar-10-python.tar.gz, a gzipped tar (ReadError"),
    ("truncated", "cifar-10-python.tar.gz cannot be read as cifar-10-python.tar.gz, a gzipped tar (EOFError"),
])
def test_broken_cifar10_files_are_named(run_cli, tmp_path, broken, expect):
    root = tmp_path / "cifar"
    root.mkdir()
    if broken == "partial":  # one batch of an extraction cut short
        (root / "cifar-10-batches-py").mkdir()
        (root / "cifar-10-batches-py" / "data_batch_1").write_bytes(pickle.dumps({b"data": [], b"labels": []}))
    elif broken == "garbage":
        (root / "cifar-10-python.tar.gz").write_bytes(b"<html>404 not found</html>")
    else:
        _cifar_tar(root / "cifar-10-python.tar.gz", cut=0.5)
    out = tmp_path / "run"
    line = refused(run_cli("sample", "dataset=cifar10", f"dataset.root={root}", "gan=dcgan32", "metric=image",
                           "device=cpu", f"hydra.run.dir={out}"), out)
    assert line.startswith(f"ganmc sample: error: dataset cifar10: {root}/") and expect in line


def test_a_cifar10_batch_with_fewer_labels_than_images_is_named(tmp_path):
    from ganmc.data import CIFAR10

    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):
        blob = {b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * (3 if i == 4 else 4)}
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps(blob))
    with pytest.raises(GanmcError, match=r"data_batch_4 is not a CIFAR-10 python batch: 3 labels for 4 images"):
        CIFAR10(root=str(tmp_path))


@pytest.mark.parametrize("args, expect", [
    (["gan=dcgan32"], "gan=dcgan32 is a GAN for images (DCGANGenerator) but dataset=gaussians25 holds 2-D "
                      "points: choose a GAN for 2-D points (e.g. gan=wgan_gp_mlp)"),
    (["dataset=digits", "gan=wgan_gp_mlp", "metric=image"],
     "gan=wgan_gp_mlp is a GAN for 2-D points (MLPGenerator) but dataset=digits holds images: choose a GAN "
     "for images (e.g. gan=dcgan32)"),
], ids=["image-gan-on-points", "mlp-gan-on-images"])
def test_a_gan_for_the_other_kind_of_data_is_refused(run_cli, tmp_path, cache_dir, args, expect):
    out = tmp_path / "run"
    line = refused(run_cli("train", *args, "device=cpu", f"hydra.run.dir={out}"), out, cache_dir)
    assert line == f"ganmc train: error: {expect}"


@pytest.mark.parametrize("args, expect", [
    (["+sampler=ddls", "sampler.n_steps=-3"], "sampler.n_steps=-3: ddls needs n_steps >= 0"),
    (["+sampler=ddls", "sampler.step_decay=2"], "sampler.step_decay=2.0: ddls needs step_decay in (0, 1]"),
    (["+sampler=ddls", "sampler.snapshot_steps=[50]", "sampler.n_steps=10"],
     "sampler.snapshot_steps=[50]: ddls needs snapshot_steps within 0..n_steps=10"),
    (["+sampler=mhgan", "sampler.k=0"], "sampler.k=0: mhgan needs k >= 1"),
    (["+sampler=drs", "sampler.eps=0"], "sampler.eps=0.0: drs needs eps > 0"),
    (["+sampler=dot", "sampler.k_pairs=1"], "sampler.k_pairs=1: dot needs k_pairs > 1"),
    (["+sampler=collab", "sampler.n_real=0"], "sampler.n_real=0: collab needs n_real >= 1"),
    (["+sampler=drs", "sampler.discriminator.lr=-1"],
     "sampler.discriminator.lr=-1.0: sampler.discriminator needs lr > 0"),
], ids=["ddls-n-steps", "ddls-step-decay", "ddls-snapshots", "mhgan-k", "drs-eps", "dot-k-pairs", "collab-n-real",
        "discriminator-lr"])
def test_sampler_range_errors_name_the_key_and_its_value(run_cli, tmp_path, cache_dir, args, expect):
    out = tmp_path / "run"
    line = refused(run_cli("sample", *TINY, *args, f"hydra.run.dir={out}"), out, cache_dir)
    assert line == f"ganmc sample: error: {expect}"


def test_integer_mixture_centres_are_accepted(run_cli, tmp_path, compose_cfg):
    from ganmc.run.gans import build_dataset

    cfg = compose_cfg("dataset=mixture", "dataset.centres=[[0,0],[1,1]]", "dataset.std=0.1")
    assert torch.equal(build_dataset(cfg).centres, torch.tensor([[0.0, 0.0], [1.0, 1.0]]))
    for bad in ("[[0,zero],[1,1]]", "[[0,0],[1]]"):
        cfg = compose_cfg("dataset=mixture", f"dataset.centres={bad}", "dataset.std=0.1")
        with pytest.raises(GanmcError, match="centres must be a non-empty list of points of one length"):
            build_dataset(cfg)
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "dataset=mixture", "dataset.centres=[[0,0],[1,1]]", "dataset.std=0.1",
                           "metric.metrics=[modes]", f"hydra.run.dir={out}")
    assert code == 0, err
    assert json.loads((out / "record.json").read_text())["metrics"]["modes_total"] == 2
