"""cs/fd with the data set's classifier, metric=image in the pipeline, and image run outputs."""

from __future__ import annotations

import json
import logging
import math
import re

import numpy as np
import pytest
import torch

from ganmc.data.images import Digits, to_float
from ganmc.data.synthetic import SwissRoll
from ganmc.errors import GanmcError
from ganmc.metrics.classifier import (
    CLASSIFIER,
    classifier_score,
    load_classifier,
    obtain_classifier,
)
from ganmc.metrics.fidelity import extract_features, fid_from_statistics, statistics
from ganmc.metrics.images import image_metrics
from ganmc.metrics.settings import ClassifierSettings, MetricSettings
from ganmc.record_schema import TARGET_SET

CLS = {"steps": 300, "lr": 5e-3, "batch_size": 64, "width": 16, "holdout": 0.1, "seed": 0}


def test_classifier_score_on_constructed_logits():
    # confident per-sample predictions, uniform over 10 classes: KL = log 10 for every x
    confident = 50.0 * torch.eye(10).repeat(20, 1)
    assert classifier_score(confident) == pytest.approx(10.0, rel=1e-6)
    # the same prediction for every x: p(y|x) = p(y), score 1
    assert classifier_score(torch.randn(1, 10).repeat(30, 1)) == pytest.approx(1.0, abs=1e-9)
    # uniform predictions: score 1 whatever the marginal
    assert classifier_score(torch.zeros(7, 10)) == pytest.approx(1.0, abs=1e-9)


@pytest.fixture(scope="module")
def digits8() -> Digits:
    return Digits(size=8)


def test_trained_classifier_is_cached_and_scores_real_data(digits8, tmp_path):
    path = obtain_classifier(digits8, tmp_path, **CLS)
    assert path.parent == tmp_path / "classifiers" and path.is_file()
    mtime = path.stat().st_mtime_ns
    assert obtain_classifier(digits8, tmp_path, **CLS) == path and path.stat().st_mtime_ns == mtime  # cached
    assert obtain_classifier(digits8, tmp_path, **{**CLS, "steps": 1}) != path  # settings are in the key
    net, payload = load_classifier(path)
    assert payload["record"]["holdout_accuracy"] > 0.85
    feats = extract_features(digits8.images, ["logits", "features"], CLASSIFIER,
                             feature_extractor_weights_path=str(path))
    with torch.no_grad():
        direct = net(to_float(digits8.images)).double()
    assert torch.allclose(feats["logits"], direct, atol=1e-4)  # torch-fidelity's path = the net's
    assert classifier_score(feats["logits"]) > 5  # real digits: confident and balanced
    noise = torch.rand(200, 1, 8, 8, generator=torch.Generator().manual_seed(0)) * 2 - 1
    assert classifier_score(extract_features(noise, ["logits"], CLASSIFIER,
                                             feature_extractor_weights_path=str(path))["logits"]) < 5
    same = statistics(feats["features"])
    assert abs(fid_from_statistics(same, same)) < 1e-6


def _metric_cfg(metrics: list[str], n_ref: int | None = None) -> MetricSettings:
    return MetricSettings(name="image", metrics=tuple(metrics), n_ref=n_ref, inception_weights=None,
                          feature_extractor="ganmc-tiny", batch_size=256, isc_splits=2,
                          classifier=ClassifierSettings(**CLS))


def test_image_metrics_of_real_data(digits8, tmp_path):
    real = to_float(digits8.images)
    out = image_metrics(real, digits8, _metric_cfg([]), tmp_path)  # all four
    assert out["cs"] > 5 and abs(out["fd"]) < 1e-4 and abs(out["fid"]) < 1e-4  # the set against itself
    assert math.isfinite(out["is"]) and out["n"] == len(real) and out["ref_n"] == len(real)
    blurred = torch.nn.functional.avg_pool2d(real, 3, 1, 1)
    worse = image_metrics(blurred, digits8, _metric_cfg([]), tmp_path, names=("cs", "fd"))
    assert worse["fd"] > 1.0 and worse["cs"] < out["cs"]
    assert set(image_metrics(real[:50], digits8, _metric_cfg([], n_ref=500), tmp_path, names=("fd",))) == \
        {"fd", "classifier", "n", "ref_n"}


def test_unlabelled_data_refuse_cs(tmp_path):
    from ganmc.data.images import ImageDataset

    data = ImageDataset("nolabels", torch.zeros(4, 1, 8, 8, dtype=torch.uint8))
    with pytest.raises(GanmcError, match="no labels"):
        image_metrics(torch.zeros(4, 1, 8, 8), data, _metric_cfg([]), tmp_path, names=("cs",))


def test_image_metric_config_is_typed(compose_cfg):
    cfg = compose_cfg("dataset=digits", "metric=image", "metric.metrics=[cs,fd]")
    assert list(cfg.metric.metrics) == ["cs", "fd"]
    with pytest.raises(Exception, match="emd_cost"):
        compose_cfg("metric=image", "metric.emd_cost=euclidean")  # a 2-D key is not in the image schema


def test_unknown_or_misplaced_metric_names_fail_before_any_compute():
    from ganmc.metrics.registry import check_metric

    digits = Digits(size=8)
    for names, match in [(["cs", "fdd"], "unknown metric 'fdd'"), (["fd", "emd"], "set metric=image")]:
        with pytest.raises(GanmcError, match=match):
            check_metric(digits, MetricSettings(metrics=tuple(names)))
    with pytest.raises(GanmcError, match="set metric=synthetic"):
        check_metric(SwissRoll("swissroll"), MetricSettings(metrics=("emd", "fid")))
    # the right metric config already chosen: the hint names the metrics that fit, not metric=...
    from ganmc.metrics.registry import METRICS

    images = ", ".join(name for name, metric in METRICS.items() if metric.data == "images")
    assert images.startswith("is, fid, cs, fd")
    with pytest.raises(GanmcError, match=re.escape(f"list metrics for images in metric.metrics ({images})")):
        check_metric(digits, MetricSettings(name="image", metrics=("emd",)))
    with pytest.raises(GanmcError, match=r"list metrics for 2-D points in metric.metrics \(modes, "):
        check_metric(SwissRoll("swissroll"), MetricSettings(name="synthetic", metrics=("fid",)))


def test_a_metric_that_does_not_apply_is_skipped_with_a_log_line(caplog, monkeypatch):
    from ganmc.metrics import registry as measure
    from ganmc.metrics.registry import compute_metrics

    monkeypatch.setattr(measure, "_SKIP_LOGGED", set())  # logged once per process: earlier tests may have
    # earlier in-process runs configure logging (Hydra): listen on the module's logger itself
    logger = logging.getLogger("ganmc.metrics.registry")
    monkeypatch.setattr(logger, "disabled", False)
    monkeypatch.setattr(logger, "handlers", [*logger.handlers, caplog.handler])  # restored afterwards

    roll = SwissRoll("swissroll")
    with caplog.at_level("INFO", logger="ganmc.metrics.registry"):
        out = compute_metrics(roll.sample(50, torch.Generator().manual_seed(0)), roll,
                              MetricSettings(metrics=("modes", "mass_tv")), 0)
    assert "modes_recovered" not in out and "mass_tv" in out
    assert "skipping metric modes: it does not apply to dataset=swissroll" in caplog.text


TINY_RUN = ["dataset=digits", "dataset.size=16", "gan=dcgan32", "gan.latent_dim=8", "gan.generator.base_width=4",
            "gan.discriminator.base_width=4", "gan.train.iterations=2", "gan.train.batch_size=8",
            "gan.train.grid_every=0", "device=cpu", "n_samples=40", "batch_size=16", "metric=image",
            "metric.metrics=[cs,fd]", "metric.classifier.steps=30", "metric.classifier.width=8"]


def test_sample_on_images_end_to_end(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY_RUN, "+sampler=ddls", "sampler.n_steps=2", "metric.target=true", "metric.sir_factor=2",
                           "sampler.snapshot_every=1", f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert {"cs", "fd", "n", "ref_n"} <= record["metrics"].keys() and record["metrics"]["n"] == 40
    assert record["metrics"]["fd"] > 0 and 1 <= record["metrics"]["cs"] <= 10
    assert "cs" in record["target_metrics"][TARGET_SET]
    samples = np.load(out / "samples.npy")
    assert samples.dtype == np.uint8 and samples.shape == (40, 1, 16, 16)
    from PIL import Image

    with Image.open(out / "samples.png") as img:  # a grid of the 40 16-px images, 6 a row, 2 px padding
        assert img.size == (6 * 18 + 2, 7 * 18 + 2)
    with Image.open(out / "before_after.png") as img:  # before, after, |difference|: 3 rows of 16
        assert img.size == (16 * 18 + 2, 3 * 18 + 2)
    # snapshots every step: metric against Langevin step; step 0 is the generator's own sample
    assert {"step_0000", "step_0001", "step_0002", TARGET_SET} == set(record["target_metrics"])
    code, _, err = run_cli("table", "ddls_steps", f"records={tmp_path}", f"out_dir={tmp_path / 'res'}")
    assert code == 0, err
    table = (tmp_path / "res" / "ddls_steps.md").read_text()
    assert "| fd | digits | dcgan32 | ddls |" in table and "2: " in table
    assert (tmp_path / "res" / "ddls_steps_cs.png").is_file() and (tmp_path / "res" / "ddls_steps_fd.png").is_file()


def test_image_data_with_2d_metric_is_one_line_error(run_cli, tmp_path):
    code, _, err = run_cli("sample", *[o for o in TINY_RUN if not o.startswith("metric")], "metric=synthetic",
                           f"hydra.run.dir={tmp_path / 'r'}")
    assert code != 0 and "set metric=image" in err and "Traceback" not in err
