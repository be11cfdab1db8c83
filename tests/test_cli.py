"""The ``ganmc`` command: outputs of a run, sweeps, tables, and one-line errors on bad input."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY

LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\]\[")  # ganmc's log lines (on stderr)
METRICS = {"modes_recovered", "hq_percent", "hq_std", "emd", "emd_n", "emd_cost"}


def _one_error_line(err: str, log_lines: int = 0) -> str:
    """The error line on stderr; besides it, at most ``log_lines`` log lines (phases that ran)."""
    lines = [ln for ln in err.splitlines() if ln.strip()]
    errors = [ln for ln in lines if not LOG_LINE.match(ln)]
    assert len(errors) == 1 and len(lines) <= 1 + log_lines, f"expected one error line on stderr, got:\n{err}"
    return errors[0]


def test_sample_writes_record_samples_and_plot(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "plot=true", f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert METRICS <= set(record["metrics"])
    assert record["metrics"]["emd_n"] == 300 and record["metrics"]["emd_cost"] == "euclidean"
    assert record["config"]["n_samples"] == 300 and record["config"]["sampler"] is None
    prov = record["provenance"]
    assert len(prov["checkpoint_sha256"]) == 64 and prov["packages"]["torch"] and prov["device"] == "cpu"
    assert record["timing"]["evals_per_sample"] == {"G": 1.0, "D": 0.0}
    assert record["timing"]["wall_seconds"] > 0
    samples = np.load(out / "samples.npy")
    assert samples.shape == (300, 2) and np.isfinite(samples).all()
    assert (out / "samples.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_swissroll_has_emd_but_no_mode_metrics(run_cli, tmp_path):
    out = tmp_path / "run"
    # modes named on the command line would be refused (issue 24): a config file's list skips it
    code, _, err = run_cli("sample", *TINY, "dataset=swissroll", "metric.metrics=[mass_tv,emd,emd_floor]", f"hydra.run.dir={out}")
    assert code == 0, err
    metrics = json.loads((out / "record.json").read_text())["metrics"]
    assert "hq_percent" not in metrics and metrics["emd"] > 0 and metrics["emd_floor"] > 0


def test_sweep_writes_one_record_per_job(run_cli, tmp_path):
    sweep = tmp_path / "sweep"
    code, _, err = run_cli("sample", "-m", *TINY, "seed=0,1", f"hydra.sweep.dir={sweep}")
    assert code == 0, err
    records = sorted(sweep.glob("*/record.json"))
    assert len(records) == 2
    seeds = {json.loads(p.read_text())["run"]["seed"] for p in records}
    assert seeds == {0, 1}
    code, out, err = run_cli("table", f"records={sweep}")
    assert code == 0, err
    assert out.count("| generator | gaussians25 | wgan_gp_mlp |") == 2


def test_train_caches_and_says_so(run_cli, tmp_path, cache_dir):
    code, _, err = run_cli("train", *TINY, f"hydra.run.dir={tmp_path / 'a'}")
    assert code == 0, err
    first = json.loads((tmp_path / "a" / "record.json").read_text())
    assert first["cached"] is False and Path(first["checkpoint"]).is_file()
    assert Path(first["checkpoint"]).parent == cache_dir / "checkpoints"
    code, _, _ = run_cli("train", *TINY, f"hydra.run.dir={tmp_path / 'b'}")
    assert code == 0 and json.loads((tmp_path / "b" / "record.json").read_text())["cached"] is True


def _corrupt(tmp_path: Path) -> Path:
    path = tmp_path / "corrupt.pt"
    path.write_bytes(b"\x00garbage")
    return path


def _other_arch(tmp_path: Path, run_cli) -> Path:
    code, _, err = run_cli("train", *TINY, "gan.generator.width=8", f"hydra.run.dir={tmp_path / 't'}")
    assert code == 0, err
    return Path(json.loads((tmp_path / "t" / "record.json").read_text())["checkpoint"])


@pytest.mark.parametrize(
    "make_args, message",
    [
        (lambda tmp, run: ["dataset=nosuchdata"], "nosuchdata"),
        (lambda tmp, run: ["n_samples=many"], "n_samples"),
        (lambda tmp, run: ["n_samples=-5"], "n_samples must be positive"),
        (lambda tmp, run: ["n_sampels=5"], "n_sampels"),
        (lambda tmp, run: [f"gan.checkpoint={tmp / 'missing.pt'}"], "does not exist"),
        (lambda tmp, run: [f"gan.checkpoint={_corrupt(tmp)}"], "corrupt"),
        (lambda tmp, run: [f"gan.checkpoint={_other_arch(tmp, run)}"], "does not match the configured architecture"),
    ],
    ids=["unknown-option", "wrong-type", "negative-size", "typo", "missing-ckpt", "corrupt-ckpt", "arch-mismatch"],
)
def test_bad_input_is_one_line_nonzero_and_writes_nothing(run_cli, tmp_path, make_args, message):
    out = tmp_path / "run"
    args = make_args(tmp_path, run_cli)
    code, _, err = run_cli("sample", *TINY, *args, f"hydra.run.dir={out}")
    assert code != 0
    line = _one_error_line(err)
    assert line.startswith("ganmc sample: error:") and message in line
    assert not out.exists()


def test_nan_in_the_chain_is_an_error(run_cli, tmp_path, cache_dir):
    """A GAN whose generator outputs NaN is reported in one line, with no files written."""
    code, _, err = run_cli("train", *TINY, f"hydra.run.dir={tmp_path / 't'}")
    ckpt = Path(json.loads((tmp_path / "t" / "record.json").read_text())["checkpoint"])
    payload = torch.load(ckpt, weights_only=True)
    for key in payload["generator"]:
        payload["generator"][key] = torch.full_like(payload["generator"][key], float("nan"))
    torch.save(payload, ckpt)
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, f"hydra.run.dir={out}")
    assert code != 0 and "NaN" in _one_error_line(err, log_lines=3) and not out.exists()


def test_unknown_command():
    from ganmc.cli import main

    assert main(["smaple"]) == 2


def test_console_script_runs_from_any_directory(tmp_path, cache_dir):
    """The installed ``ganmc`` entry point, as a subprocess, from an unrelated folder."""
    exe = Path(sys.executable).with_name("ganmc")
    assert exe.exists(), "ganmc console script not installed next to the interpreter"
    env = {**os.environ, "GANMC_CACHE": str(cache_dir)}
    proc = subprocess.run([str(exe), "sample", *TINY, "hydra.run.dir=out/x"], cwd=tmp_path,
                          capture_output=True, text=True, env=env, timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert {"record.json", "samples.npy"} <= {p.name for p in (tmp_path / "out" / "x").iterdir()}
    help_text = subprocess.run([str(exe), "sample", "--help"], capture_output=True, text=True,
                               cwd=tmp_path, env=env, timeout=300).stdout
    for group in ("dataset:", "gan:", "metric:", "sampler:", "experiment:"):
        assert group in help_text


def test_a_typo_without_plus_gets_a_hint_that_works(run_cli, tmp_path):
    """Hydra's own hint (append with '+') fails again on the typed config: ganmc says what is wrong."""
    code, _, err = run_cli("sample", "sampler.step_size=0.1", f"hydra.run.dir={tmp_path / 'a'}")
    assert code == 1 and "no sampler is chosen: add +sampler=NAME" in err and "+sampler.step_size" not in err
    code, _, err = run_cli("sample", "gan.train.iterationz=5", f"hydra.run.dir={tmp_path / 'b'}")
    assert code == 1 and "unknown config key gan.train.iterationz: check the spelling" in err
    assert "To append" not in err and not (tmp_path / "a").exists() and not (tmp_path / "b").exists()
