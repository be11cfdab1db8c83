"""A sweep that lost a job never ends in success: every job without a record is named and the
sweep exits non-zero, whatever the launcher; a job cancelled by its scheduler (SIGTERM) fails as
a job, so that a launcher without accounting learns it ended."""

from __future__ import annotations

import os
import signal

import pytest
from conftest import TINY
from hydra import compose, initialize_config_module

import ganmc.cli as cli
from ganmc.config import register_configs
from ganmc.run import commands


def test_a_sweep_with_a_failed_job_exits_non_zero_and_names_it(run_cli, tmp_path):
    sweep = tmp_path / "sweep"
    code, _, err = run_cli("sample", "-m", *TINY, "n_samples=300,0", f"hydra.sweep.dir={sweep}")
    assert code == 1
    line = err.strip().splitlines()[-1]
    assert "1 of 2 sweep jobs ended without a record: #1 n_samples=0" in line, err
    assert str(sweep / "1") in line and "n_samples must be positive" in line
    assert (sweep / "0" / "record.json").is_file()


def test_a_job_that_returns_without_a_record_fails_the_sweep(run_cli, tmp_path, monkeypatch):
    real = commands.run_sample

    def lossy(cfg, folder):  # a job that ends "well" but writes nothing, as a killed worker's
        if int(cfg.seed) != 1:
            real(cfg, folder)

    monkeypatch.setattr(commands, "run_sample", lossy)
    sweep = tmp_path / "sweep"
    code, _, err = run_cli("sample", "-m", *TINY, "seed=0,1,2", f"hydra.sweep.dir={sweep}")
    assert code == 1, err
    assert "1 of 3 sweep jobs ended without a record: #1 seed=1" in err
    assert "run the same command again" in err


def test_a_sweep_whose_jobs_all_wrote_records_exits_zero(run_cli, tmp_path):
    code, _, err = run_cli("sample", "-m", *TINY, "seed=0,1", f"hydra.sweep.dir={tmp_path / 's'}")
    assert code == 0, err and "without a record" not in err


@pytest.mark.skipif(not hasattr(signal, "SIGTERM"), reason="needs SIGTERM")
def test_a_worker_job_cancelled_by_sigterm_fails_as_an_exception(monkeypatch):
    """In a launcher's worker (main() did not run there), SIGTERM stops the job with an
    Exception (submitit then records the job as failed) and the worker's handler is restored."""
    monkeypatch.setenv(cli.MAIN_PID_VAR, "1")  # main() ran in another process
    before = signal.getsignal(signal.SIGTERM)

    def cancelled(cfg):
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(cli.JobCancelled, match="job cancelled"):
        cli._job(cancelled)(None)
    assert signal.getsignal(signal.SIGTERM) == before


def test_sigterm_in_the_main_process_stays_an_interrupt(monkeypatch):
    monkeypatch.setenv(cli.MAIN_PID_VAR, str(os.getpid()))

    def cancelled(cfg):
        os.kill(os.getpid(), signal.SIGTERM)

    with pytest.raises(cli.Terminated):
        cli._job(cancelled)(None)


@pytest.mark.parametrize("command", ["sample", "train", "shape"])
def test_every_command_sweeps_with_the_checking_sweeper(command, cache_dir):
    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        cfg = compose(command, return_hydra_config=True)
    assert cfg.hydra.sweeper._target_.endswith("ganmc_sweeper.GanmcSweeper")


def test_an_empty_sweep_folder_is_refused_before_anything_is_written(run_cli, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    code, _, err = run_cli("sample", "-m", *TINY, "seed=0,1", "hydra.sweep.dir=")
    assert code == 1 and "hydra.sweep.dir is empty" in err
    assert not [p.name for p in tmp_path.iterdir() if p.name != "cache"]  # no multirun.yaml here
