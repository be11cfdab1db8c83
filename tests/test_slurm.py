"""Sweeps through a real SLURM cluster (``make test-slurm``): a one-node cluster on this machine
(scripts/slurm_local.sh, root; slurm-wlm and munge installed with apt-get when absent), Hydra's
submitit SLURM launcher, a finished sweep and its table, then a sweep with a job cancelled
mid-run (``scancel``) that fails the sweep, naming the job, leaves no partial record, and
completes when run again."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]
SCRIPT = ROOT / "scripts" / "slurm_local.sh"
GANMC = Path(sys.executable).with_name("ganmc")
COMMANDS = ("slurmctld", "slurmd", "sbatch", "munged")


def _why_no_cluster() -> str | None:
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root: the one-node SLURM cluster's daemons (slurmctld, slurmd, munged) run as root"
    if not all(shutil.which(d) for d in COMMANDS) and not shutil.which("apt-get"):
        return "slurm-wlm and munge are not installed and there is no apt-get to install them"
    return None


@pytest.fixture(scope="module")
def slurm_env(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, str]]:
    """A one-node cluster for this module; the environment its clients (and ganmc) need."""
    why = _why_no_cluster()
    if why:
        pytest.skip(why)
    pytest.importorskip("hydra_plugins.hydra_submitit_launcher")
    cluster = tmp_path_factory.mktemp("slurm")
    try:
        start = subprocess.run(["bash", str(SCRIPT), "start", str(cluster)], capture_output=True,
                               text=True, timeout=600)
        assert start.returncode == 0, start.stderr
        assert f"export SLURM_CONF={cluster}/slurm.conf" in start.stdout
        # PYTHONPATH: the sweep and its jobs import this checkout's ganmc, whatever the venv holds.
        path = os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))
        yield {**os.environ, "SLURM_CONF": str(cluster / "slurm.conf"), "PYTHONPATH": path}
    finally:
        stop = subprocess.run(["bash", str(SCRIPT), "stop", str(cluster)], capture_output=True,
                              text=True, timeout=120)
        assert stop.returncode == 0, stop.stderr
        assert not list(cluster.glob("*.pid")), "a daemon's pid file is left: not stopped"


def _sweep(sweep: Path, *extra: str) -> list[str]:
    """``ganmc sample -m`` of 3 tiny 2-D runs (seeds 0, 1, 2), one CPU each, through SLURM; the
    GAN cache is the environment's GANMC_CACHE (sbatch passes the environment on to the jobs)."""
    return [str(GANMC), "sample", "-m", *TINY, *extra, "seed=0,1,2", "threads=1",
            f"hydra.sweep.dir={sweep}", "hydra/launcher=submitit_slurm", "hydra.launcher.partition=debug",
            "hydra.launcher.cpus_per_task=1", "hydra.launcher.timeout_min=10",
            f"hydra.launcher.submitit_folder={sweep.parent / (sweep.name + '-submitit')}/%j"]


def _records(sweep: Path) -> dict[int, dict]:
    """The sweep's records by job number; each must be a whole record (JSON with metrics)."""
    out = {}
    for path in sweep.glob("*/record.json"):
        record = json.loads(path.read_text())
        assert "metrics" in record, path
        out[int(path.parent.name)] = record
    return out


def _queue(env: dict[str, str]) -> list[tuple[str, str]]:
    """(job id, state) of every job in the queue (array tasks as JOBID_TASK)."""
    out = subprocess.run(["squeue", "-h", "-o", "%i %T"], capture_output=True, text=True, env=env,
                         check=True, timeout=30).stdout
    return [tuple(line.split()) for line in out.splitlines() if line.strip()]


@pytest.mark.slow
def test_three_job_sweep_through_slurm(tmp_path, slurm_env):
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    env = {**slurm_env, "GANMC_CACHE": str(cache)}
    proc = subprocess.run(_sweep(sweep), capture_output=True, text=True, timeout=300, env=env)
    assert proc.returncode == 0, proc.stderr[-4000:]
    records = _records(sweep)
    assert {n: r["run"]["seed"] for n, r in records.items()} == {0: 0, 1: 1, 2: 2}
    # The jobs ran through SLURM (not in the sweep's own process), with this very Python.
    logs = list(sweep.parent.glob("sweep-submitit/*/*_log.err"))
    assert len(logs) == 3, logs
    assert all((sweep / str(n) / "samples.npy").is_file() for n in range(3))
    submission = next(sweep.parent.glob("sweep-submitit/*/*_submission.sh")).read_text()
    assert "#SBATCH --partition=debug" in submission and "#SBATCH --cpus-per-task=1" in submission
    python = re.search(r"(\S+) -u -m submitit\.core\._submit", submission).group(1)
    assert Path(python).parent.resolve() == GANMC.parent.resolve(), python  # the venv's Python
    assert len(list(cache.glob("checkpoints/*.pt"))) == 3  # GANMC_CACHE reached the jobs
    table = subprocess.run([str(GANMC), "table", "sweep", f"records={sweep}", f"out_dir={tmp_path / 'out'}",
                            "report.name=slurm"], capture_output=True, text=True, timeout=120, env=env)
    assert table.returncode == 0, table.stderr[-4000:]
    assert (tmp_path / "out" / "slurm.md").is_file(), table.stdout


@pytest.mark.slow
def test_cancelled_job_leaves_no_partial_record_and_the_rerun_completes(tmp_path, slurm_env):
    # Longer training (about 10 s a job) so that a job can be cancelled in the middle of it.
    sweep, cache = tmp_path / "sweep", tmp_path / "cache"
    env = {**slurm_env, "GANMC_CACHE": str(cache)}
    cmd = _sweep(sweep, "gan.train.iterations=1000")
    log_path = tmp_path / "first.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT, env=env)
    try:
        # A running job in the middle of training its GAN (holding the GAN's cache lock): cancel it.
        victim, deadline = None, time.monotonic() + 120
        while victim is None:
            assert time.monotonic() < deadline, "no job got to training:\n" + log_path.read_text()[-4000:]
            assert proc.poll() is None, "the sweep ended first:\n" + log_path.read_text()[-4000:]
            for job, state in _queue(env):
                run_log = sweep / job.partition("_")[2] / "sample.log"
                if state == "RUNNING" and "_" in job and run_log.is_file() \
                        and "training: iteration" in run_log.read_text():
                    victim = job
                    break
            time.sleep(0.3)
        subprocess.run(["scancel", victim], check=True, env=env, timeout=30)
        number = int(victim.partition("_")[2])
        # The cancelled job stops at once (SIGTERM ends a ganmc job as a failure, which submitit
        # records even without accounting), the others finish, and the sweep fails on its own,
        # naming the job without a record: no Ctrl-C needed, with or without sacct.
        code = proc.wait(timeout=180)
        assert code != 0, log_path.read_text()[-4000:]
        last = log_path.read_text().strip().splitlines()[-1]
        assert f"1 of 3 sweep jobs ended without a record: #{number} seed={number}" in last, last
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    first = _records(sweep)  # every record.json present is whole
    assert number not in first, f"job {victim} was cancelled, yet wrote its record"
    assert set(first) == {0, 1, 2} - {number}
    # The same sweep again: the finished jobs are skipped, the cancelled one runs to its record.
    again = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert again.returncode == 0, again.stderr[-4000:]
    records = _records(sweep)
    assert {n: r["run"]["seed"] for n, r in records.items()} == {0: 0, 1: 1, 2: 2}
    for n, record in first.items():
        assert records[n] == record, f"job {n} ran again instead of being skipped"
        assert "skipping" in (sweep / str(n) / "sample.log").read_text()
