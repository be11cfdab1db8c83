"""Fast defaults: the exact-target estimate is opt-in (on for the experiments whose tables report
it), ``--help`` describes every key without importing torch, and a long CPU training says so."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from conftest import TINY

import ganmc.training as training
from ganmc.common import bar_disable, enum_value
from ganmc.config import ImageMetricConfig, MetricConfig, RunConfig, ShapingConfig, TableConfig
from ganmc.record_schema import TARGET_SET
from ganmc.run.gans import build_dataset, obtain_gan

ROOT = Path(__file__).resolve().parents[1]
# The experiments behind tables that report the exact target (table1, table2, sweep,
# ddls_training_length), or count its cost (table3 and its rehearsal, digits' seconds per run).
TARGET_ON = ["table1", "table2", "ddls_sweep", "ddls_temperature", "ddls_training_length", "table3", "digits",
             "digits_fid", "collab_fig10"]
TARGET_OFF = ["demo", "collab_fig4", "collab_table1", "pareto_gaussians25", "pareto_imbal8", "pareto_stacked",
              "stacked_digits", "stacked_mnist", "stacked_mnist_training"]


def test_a_plain_run_estimates_no_target_and_metric_target_turns_it_on(run_cli, tmp_path):
    args = [*TINY, "+sampler=ddls", "sampler.n_steps=2", "metric.metrics=[modes]"]
    code, _, err = run_cli("sample", *args, f"hydra.run.dir={tmp_path / 'plain'}")
    assert code == 0, err
    plain = json.loads((tmp_path / "plain" / "record.json").read_text())
    assert plain["target"] is None and TARGET_SET not in plain["target_metrics"]
    assert "target" not in plain["timing"]["phases"] and plain["config"]["metric"]["target"] is False
    code, _, err = run_cli("sample", *args, "metric.target=true", f"hydra.run.dir={tmp_path / 'target'}")
    assert code == 0, err
    asked = json.loads((tmp_path / "target" / "record.json").read_text())
    assert asked["target"]["pool"] >= 10 * 300 and "hq_percent" in asked["target_metrics"][TARGET_SET]
    assert asked["metrics"] == plain["metrics"]  # the samples' own numbers do not depend on it


def test_target_without_a_pool_is_refused_in_one_line(run_cli, tmp_path):
    code, out, err = run_cli("sample", *TINY, "metric.target=true", "metric.sir_factor=0",
                             f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 1 and out == ""
    assert "metric.target=true needs metric.sir_factor >= 1" in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run" / "record.json").exists()


def test_target_metrics_restrict_what_the_targets_set_measures(run_cli, tmp_path):
    args = [*TINY, "+sampler=ddls", "sampler.n_steps=2", "metric.metrics=[modes,mass_tv,emd]", "metric.target=true"]
    code, _, err = run_cli("sample", *args, "metric.target_metrics=[mass_tv]", f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 0, err
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    assert "emd" in record["metrics"] and "emd" not in record["target_metrics"][TARGET_SET]
    assert "mass_tv" in record["target_metrics"][TARGET_SET]
    code, out, err = run_cli("sample", *args, "metric.target_metrics=[collab]", f"hydra.run.dir={tmp_path / 'bad'}")
    assert code == 1 and "metric.target_metrics names ['collab'], not in metric.metrics" in err
    assert len(err.strip().splitlines()) == 1 and not (tmp_path / "bad").exists()


@pytest.mark.parametrize("experiment", ["table2", "ddls_training_length", "ddls_temperature"])
def test_table2_measures_only_what_it_reads_of_the_target(compose_cfg, experiment):
    cfg = compose_cfg(f"experiment={experiment}")
    want = ["modes", "mass_tv"] if experiment == "table2" else None  # the others' tables show the target's EMD
    assert (None if cfg.metric.target_metrics is None else list(cfg.metric.target_metrics)) == want


@pytest.mark.parametrize("experiment", ["table2", "ddls_training_length", "ddls_temperature", "conditional"])
def test_table_experiments_measure_the_emd_on_every_sample(compose_cfg, experiment):
    """Plain runs cap the EMD at 2,000 samples; the tables' protocols (Table 2 at 5,000, the
    training-length study at 2,500) must not inherit that cap silently."""
    cfg = compose_cfg(f"experiment={experiment}")
    assert cfg.metric.emd_n == cfg.n_samples and cfg.n_samples > 2000


# (main cost, extra protocols) each table reads: Table 2 solves one OT per run (VARIANTS=1 adds the
# rest); the studies built on its config keep W1 as their main EMD, with W2² beside it.
EMD_PROTOCOLS = {"table2": ("sqeuclidean", []),
                 "ddls_training_length": ("euclidean", ["sqeuclidean/iid"]),
                 "ddls_temperature": ("euclidean", ["sqeuclidean/iid", "sqeuclidean/stratified"]),
                 "pareto_gaussians25": ("euclidean", ["sqeuclidean/iid"])}


@pytest.mark.parametrize("experiment", EMD_PROTOCOLS)
def test_experiments_measure_the_emd_protocols_their_tables_read(compose_cfg, experiment):
    cfg = compose_cfg(f"experiment={experiment}")
    assert (enum_value(cfg.metric.emd_cost), list(cfg.metric.emd_also)) == EMD_PROTOCOLS[experiment]


@pytest.mark.parametrize("experiment", TARGET_ON + TARGET_OFF)
def test_experiments_keep_the_target_where_their_tables_read_it(compose_cfg, experiment):
    cfg = compose_cfg(f"experiment={experiment}")
    assert cfg.metric.target is (experiment in TARGET_ON)
    assert cfg.metric.sir_factor == (5 if cfg.metric.name == "image" else 10)  # the pools the records had


def test_every_key_of_the_run_metric_shape_and_table_schemas_is_described():
    for schema in (RunConfig, MetricConfig, ImageMetricConfig, ShapingConfig, TableConfig):
        bare = [f.name for f in dataclasses.fields(schema) if not f.metadata.get("help")]
        assert not bare, f"{schema.__name__}: no description for {bare}"


_DRIVER = """
import io, sys
from contextlib import redirect_stdout
from ganmc.cli import main
for command in ("sample", "train", "shape", "table"):
    text = io.StringIO()
    with redirect_stdout(text):
        code = main([command, "--help"])
    print(f"=== {command} {code}"); print(text.getvalue())
print("torch imported:", "torch" in sys.modules)
"""


def test_help_describes_each_key_without_importing_torch(tmp_path, run_cli):
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    proc = subprocess.run([sys.executable, "-c", _DRIVER], cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = proc.stdout
    assert "torch imported: False" in out
    sample = out.split("=== sample 0")[1].split("=== train 0")[0]
    assert re.search(r"^  n_samples +samples drawn and measured.*\[10000\]$", sample, re.M)
    assert re.search(r"^  metric\.target +estimate the exact target.*\[false\]$", sample, re.M)
    assert re.search(r"^  sampler +.*\+sampler=NAME", sample, re.M) and "ddls_cal" in sample
    assert re.search(r"^  shape\.median_every ", out.split("=== shape 0")[1], re.M)
    assert re.search(r"^  records +the folder", out.split("=== table 0")[1], re.M)
    code, out, err = run_cli("sample", "n_samples=7", "--cfg", "job")  # Hydra's composed config, still there
    assert code == 0 and "n_samples: 7" in out, err


def _notices(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.getMessage().startswith("training on the CPU will take")]


def test_a_long_cpu_training_says_how_long_how_to_resume_and_what_is_shipped(compose_cfg, caplog, monkeypatch):
    tiny = compose_cfg(*TINY, "gan.train.iterations=20", "gan.train.snapshots=[]")
    with caplog.at_level(logging.INFO, logger="ganmc.training"):
        obtain_gan(tiny, build_dataset(tiny), torch.device("cpu"))
    assert not _notices(caplog)  # a few seconds: nothing to say
    ticks = [r.getMessage() for r in caplog.records if r.getMessage().startswith("training: iteration")]
    assert ticks and all(re.search(r"\(\d+ s, ~\d+ s left\)$", t) for t in ticks)  # no terminal: ETA in the log
    caplog.clear()
    monkeypatch.setattr(training, "NOTICE_SECONDS", 1e-6)  # as if each iteration took minutes
    long = compose_cfg(*TINY, "gan.train.iterations=20", "gan.train.snapshots=[]", "seed=1")
    with caplog.at_level(logging.INFO, logger="ganmc.training"):
        obtain_gan(long, build_dataset(long), torch.device("cpu"))
    (notice,) = _notices(caplog)
    assert f"({20 - 1 - training.TIMED_ITERATIONS} iterations left at" in notice
    assert "Ctrl-C stops it and the same command resumes from the last state saved" in notice
    assert str(Path(str(long.cache_dir)).expanduser() / "resume") in notice
    assert "shipped instead" in notice and "gan.train.iterations=2500,5000,10000,20000 seed=0,1,2,3,4" in notice


def test_progress_bars_follow_tqdms_own_switch(monkeypatch):
    monkeypatch.delenv("TQDM_DISABLE", raising=False)
    assert bar_disable(True) is None and bar_disable(False) is True  # None: on a terminal only
    monkeypatch.setenv("TQDM_DISABLE", "1")
    assert bar_disable(True) is True
