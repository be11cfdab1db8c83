"""Long end-to-end runs (``make test-slow``): not part of the default test run."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import TINY


@pytest.mark.slow
def test_two_job_sweep_through_submitit_local(tmp_path, cache_dir):
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    exe = Path(sys.executable).with_name("ganmc")
    sweep = tmp_path / "sweep"
    proc = subprocess.run(
        [str(exe), "sample", "-m", *TINY, "seed=0,1", "hydra/launcher=submitit_local",
         "hydra.launcher.timeout_min=10", f"hydra.sweep.dir={sweep}"],
        capture_output=True, text=True, timeout=900, env={**os.environ, "GANMC_CACHE": str(cache_dir)})
    assert proc.returncode == 0, proc.stderr
    seeds = {json.loads(p.read_text())["run"]["seed"] for p in sweep.glob("*/record.json")}
    assert seeds == {0, 1}
