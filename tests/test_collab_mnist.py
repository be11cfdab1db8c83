"""The collaborative paper's MNIST study on real MNIST (experiment=collab_mnist): its settings, the
GAN it loads being the one `make collab-mnist-gans` trains, the metrics' classifier, the make
targets, the report's refusals and reference rows, and (slow) the whole chain at a tiny budget."""

from __future__ import annotations

import csv
import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from hydra import compose, initialize_config_module

from ganmc.data.fetch import idx_bytes
from ganmc.metrics.classifier import SHIPPED, SHIPPED_CLASSIFIERS
from ganmc.metrics.images import classifier_file
from ganmc.models.checkpoint import cache_path
from ganmc.models.gan import build_gan
from ganmc.run.gans import build_dataset
from ganmc.settings import checkpoint_spec, gan_config, metric_settings
from ganmc.tables.collab_fig10 import LOGGED

ROOT = Path(__file__).resolve().parents[1]
needs_make = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def _fake_mnist(folder: Path, n: int = 256) -> Path:
    """MNIST's two training IDX files holding ``n`` random 28 px images and labels."""
    rng = np.random.default_rng(0)
    folder.mkdir(parents=True)
    (folder / "train-images-idx3-ubyte").write_bytes(idx_bytes(rng.integers(0, 256, (n, 28, 28), dtype=np.uint8)))
    (folder / "train-labels-idx1-ubyte").write_bytes(idx_bytes(rng.integers(0, 10, n, dtype=np.uint8)))
    return folder


def _make(*args: str, env: dict[str, str] | None = None, timeout: int = 60) -> subprocess.CompletedProcess[str]:
    cmd = ["make", "--no-print-directory", "-C", str(ROOT), *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)


# --- the experiment -------------------------------------------------------------------------------
def test_experiment_has_the_papers_settings(compose_cfg):
    cfg = compose_cfg("experiment=collab_mnist", "+sampler=collab_mnist")
    assert cfg.dataset.name == "mnist" and cfg.dataset.size == 28 and cfg.gan.name == "nsgan_mnist"
    assert cfg.gan.train.iterations == 4685 and cfg.gan.train.batch_size == 64 and cfg.gan.latent_dim == 62
    s = cfg.sampler
    assert (s.layer, s.n_steps, s.step_size, s.eta) == (2, 20, 0.1, "median")  # the paper's text
    d = s.discriminator
    assert (d.kind.value, d.steps, d.lr, d.batch) == ("shaped", 2000, 1e-5, 64)  # the authors' shaping
    assert list(cfg.metric.metrics) == ["cs", "fd"] and cfg.metric.n_ref is None and cfg.n_samples == 5000
    gen = build_gan(gan_config(cfg), (1, 28, 28), 0).generator.eval()
    with torch.no_grad():  # layer 2 is the 128x7x7 feature map the authors refine
        assert gen.forward_to(torch.zeros(3, 62), 2).shape == (3, 128, 7, 7)


def test_the_sweep_is_five_seeds_on_the_authors_logged_grid(cache_dir):
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        cfg = compose("sample", overrides=["experiment=collab_mnist"], return_hydra_config=True)
    params = cfg.hydra.sweeper.params
    assert params["seed"] == "0,1,2,3,4" and params["+sampler"] == "collab_mnist"
    steps = [int(v) for v in params["sampler.discriminator.steps"].split(",")]
    assert steps == sorted(LOGGED["mnist"].refined) and steps[0] == 0  # raw D, then the table's reference rows


def test_the_experiment_loads_the_gans_collab_mnist_gans_trains(compose_cfg):
    line = re.search(r"^CMNIST_GANS = (.*)$", (ROOT / "Makefile").read_text(), re.M).group(1)
    train = [o for o in line.split() if not o.startswith("seed=")]
    assert "gan=nsgan_mnist" in train and "seed=0,1,2,3,4" in line
    for seed in (0, 4):
        trained = cache_path(checkpoint_spec(compose_cfg(*train, f"seed={seed}", config="train")))
        sampled = compose_cfg("experiment=collab_mnist", "+sampler=collab_mnist", f"seed={seed}")
        loaded = cache_path(checkpoint_spec(sampled))
        assert trained.name == loaded.name and trained.name.startswith(f"mnist-nsgan_mnist-it4685-s{seed}-")


def test_cs_and_fd_use_the_shipped_mnist_classifier(compose_cfg, tmp_path):
    root = _fake_mnist(tmp_path / "mnist")
    cfg = compose_cfg("experiment=collab_mnist", "+sampler=collab_mnist", f"dataset.root={root}")
    dataset = build_dataset(cfg)
    assert dataset.shape == (1, 28, 28)
    found = classifier_file(dataset, metric_settings(cfg.metric).classifier, tmp_path / "cache")
    assert found == SHIPPED_CLASSIFIERS / SHIPPED["mnist"]
    assert not (tmp_path / "cache").exists()  # nothing trained


# --- make targets -----------------------------------------------------------------------------------
@needs_make
@pytest.mark.parametrize("jobs", ["1", "2"])
def test_collab_mnist_gans_trains_five_seeds_resumably_and_ships_them(jobs):
    proc = _make("-n", "collab-mnist-gans", "NO_INSTALL=1", f"JOBS={jobs}")
    assert proc.returncode == 0, proc.stderr
    cmd = proc.stdout
    assert "train -m dataset=mnist dataset.size=28 gan=nsgan_mnist seed=0,1,2,3,4" in cmd
    assert "threads=1" in cmd and f"hydra.launcher.n_jobs={jobs}" in cmd
    assert "cp \"$f\" out/collab-mnist-cache/resume/" in cmd  # states committed under checkpoints/resume/
    assert "for f in out/collab-mnist-cache/checkpoints/mnist-nsgan_mnist-*.pt" in cmd and "checkpoints/" in cmd
    assert "checkpoint_dirs" not in cmd  # the shipped checkpoints are looked up: finished seeds are skipped


@needs_make
def test_reproduce_collab_mnist_follows_the_runs_results_and_retrain_conventions():
    proc = _make("-n", "reproduce-collab-mnist", "NO_INSTALL=1", "RUNS=/r", "RESULTS=/res")
    assert proc.returncode == 0, proc.stderr
    cmd = proc.stdout
    assert "shape experiment=collab_mnist hydra.mode=RUN sampler=collab_mnist" in cmd
    assert "'shape.snapshots=[400,800,1200,1600]'" in cmd and "hydra.run.dir=/r/collab_mnist_shape/{}" in cmd
    assert cmd.count("hydra.sweep.dir=/r/collab_mnist") == 2 and "+sampler=generator" in cmd
    assert "table collab_mnist records=/r/collab_mnist out_dir=/res" in cmd
    assert "collab_figures.py --experiment collab_mnist --out /res" in cmd
    assert cmd.count(f"checkpoint_dirs=[{ROOT}/checkpoints]") == 4
    retrain = _make("-n", "reproduce-collab-mnist", "NO_INSTALL=1", "RETRAIN=1").stdout
    assert retrain.count("'checkpoint_dirs=[]'") == 4 and "out/retrain-runs/collab_mnist" in retrain


# --- the report -------------------------------------------------------------------------------------
def _record(runs: Path, sampler: str, seed: int, cs: float, fd: float, steps: int | None = None,
            n: int = 500, **settings: object) -> None:
    config = {"n_samples": n, "dataset": {"name": "mnist", "size": 28}, "gan": {"name": "nsgan_mnist", "train": {"iterations": 4685}},
              "metric": {"name": "image"}, "sampler": None}
    if sampler != "generator":
        config["sampler"] = {"_target_": "ganmc.samplers.collab.CollabSampler", "layer": 2, "n_steps": 20,
                             "step_size": 0.1, "eta": "median",
                             "discriminator": {"kind": "shaped", "steps": steps, "lr": 1e-5, "batch": 64}, **settings}
    folder = runs / f"{sampler}-{steps}-{seed}-{len(list(runs.glob('*'))) if runs.exists() else 0}"
    folder.mkdir(parents=True)
    record = {"command": "sample", "run": {"sampler": sampler, "dataset": "mnist", "seed": seed, "gan": "nsgan_mnist",
                                           "n_samples": n},
              "metrics": {"cs": cs, "fd": fd, "n": n}, "stats": {}, "config": config,
              "timing": {"evals_per_sample": {"G": 1.0, "D": 1.0}, "wall_seconds": 1.0}}
    (folder / "record.json").write_text(json.dumps(record))


def _study(runs: Path) -> None:
    for seed in (0, 1):
        _record(runs, "generator", seed, 8.0, 3.0)
        for steps, fd in ((0, 3.5), (400, 2.5)):
            _record(runs, "collab_mnist", seed, 9.0 + seed, fd - seed, steps)


def test_report_puts_the_authors_logged_values_beside_ours(run_cli, tmp_path):
    _study(tmp_path / "runs")
    code, _, err = run_cli("table", "collab_mnist", f"records={tmp_path / 'runs'}", f"out_dir={tmp_path / 'out'}")
    assert code == 0, err
    rows = list(csv.reader((tmp_path / "out" / "collab_mnist.csv").open()))
    assert [r[:3] for r in rows[1:5]] == [["generator alone", "–", "ours"], ["generator alone", "–", "authors' log"],
                                         ["raw", "0", "ours"], ["raw", "0", "authors' log"]]
    ours_400, logged_400 = rows[5], rows[6]
    assert ours_400[:3] == ["shaped", "400", "ours"] and ours_400[6] == "-1.000 ± 0.000 *"  # paired Δ fd
    assert logged_400[3:7] == ["9.239", "2.383", "+0.064", "-0.223"]  # the log's own Δ to its raw D
    assert [r[1] for r in rows[7:]] == ["800", "1200", "1600", "2000"]  # the log's other lengths
    caption = (tmp_path / "out" / "collab_mnist.md").read_text().splitlines()[0]
    for words in ("real MNIST", "20 SGD steps of 0.1 at generator layer 2", "n = 500", "prints no numbers",
                  "4,685 iterations"):
        assert words in caption, caption
    assert (tmp_path / "out" / "collab_mnist.png").stat().st_size > 0
    versus = list(csv.reader((tmp_path / "out" / "collab_mnist_variants.csv").open()))
    assert versus[0] == ["D", "shaping iterations", "Δ cs vs generator", "Δ fd vs generator", "seeds"]
    # seed 0: cs 9 - 8, seed 1: 10 - 8 -> mean +1.5 ± SE 0.5; fd (3.5 - s) - 3 -> +0.5 - s: 0.0 ± 0.5
    assert versus[1] == ["raw", "0", "+1.500 ± 0.500 *", "+0.000 ± 0.500", "2"]
    assert versus[2][:4] == ["shaped", "400", "+1.500 ± 0.500 *", "-1.000 ± 0.500"]


@pytest.mark.parametrize("stale, mixed", [
    (lambda runs: _record(runs, "collab_mnist", 2, 9.0, 2.0, 400, n_steps=50), "sampler.n_steps"),  # in a row
    (lambda runs: _record(runs, "generator", 2, 8.0, 3.0, n=5000), "n_samples"),  # in the generator row
    (lambda runs: [_record(runs, "collab_mnist", s, 9.0, 2.0, 800, layer=1) for s in (0, 1)], "sampler.layer"),  # rows
])
def test_report_refuses_records_of_mixed_settings(run_cli, tmp_path, stale, mixed):
    runs = tmp_path / "runs"
    _study(runs)
    stale(runs)
    code, out, err = run_cli("table", "collab_mnist", f"records={runs}", f"out_dir={tmp_path / 'out'}")
    assert code == 1 and out == "" and err.count("\n") == 1 and mixed in err, err
    assert not (tmp_path / "out").exists() or not any((tmp_path / "out").iterdir())  # nothing written


# --- the whole chain, at a tiny budget --------------------------------------------------------------
@needs_make
@pytest.mark.slow  # ~2 min on one loaded thread: trains two 4-iteration GANs, 8 sampling runs, the grids
def test_make_reproduce_collab_mnist_smoke_writes_the_table_and_figures(tmp_path):
    cache = tmp_path / "cache"
    _fake_mnist(cache / "data" / "mnist")
    stamp = tmp_path / "stamp"
    stamp.touch()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GANMC_CACHE": str(cache), "OMP_NUM_THREADS": "1"}
    results = tmp_path / "results"
    proc = _make("reproduce-collab-mnist", "SMOKE=1", "JOBS=1", "JOB_THREADS=threads=1", f"VENV={sys.prefix}",
                 f"STAMP={stamp}", f"RUNS={tmp_path / 'runs'}", f"RESULTS={results}", env=env, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    names = {p.name for p in results.iterdir()}
    assert names == {f"collab_mnist.{ext}" for ext in ("md", "csv", "tex", "png")} | {
        "collab_mnist_fig9.png", "collab_mnist_fig11.png"}
    rows = [r for r in csv.reader((results / "collab_mnist.csv").open()) if r[2] == "ours"]
    assert [(r[0], r[1], r[-1]) for r in rows] == [("generator alone", "–", "2"), ("raw", "0", "2"),
                                                  ("shaped", "2", "2"), ("shaped", "4", "2")]
    import matplotlib.image as mpimg

    fig9, fig11 = (mpimg.imread(results / f"collab_mnist_{f}.png") for f in ("fig9", "fig11"))
    assert fig11.shape[0] == 2 * fig9.shape[0]  # labelled rows of 4: real, generator, 2 refined; real, generator, 3 x 2
    assert min(fig9.shape[1], fig11.shape[1]) >= 800  # enlarged to be read
