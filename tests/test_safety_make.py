"""The Makefile passes user-given values (paths, sizes, switches) safely: a value is never pasted
into a shell line or Hydra's override grammar, and a yes/no switch given as 0 is off."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(shutil.which("make") is None, reason="needs make")


def make(*args: str) -> subprocess.CompletedProcess[str]:
    cmd = ["make", "--no-print-directory", "-C", str(ROOT), "NO_INSTALL=1", f"PY={sys.executable}", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def test_a_path_with_shell_code_runs_no_command_and_the_preflight_fails(tmp_path: Path):
    marker = tmp_path / "F"
    proc = make("preflight-table3", f"CIFAR10=x' ; touch {marker} ; echo '")
    assert not marker.exists(), "a make variable's value ran as a shell command"
    assert proc.returncode != 0
    assert "touch" in proc.stderr and "missing: CIFAR-10" in proc.stderr  # the value, read as a path


def test_a_path_with_an_apostrophe_reaches_the_preflight_whole(tmp_path: Path):
    odd = tmp_path / "it's data"
    odd.mkdir()
    proc = make("preflight-table3", f"CIFAR10={odd}")
    assert proc.returncode != 0
    assert f"in {odd})" in proc.stderr, proc.stderr  # named as given, not cut at the apostrophe


def test_reproduce_table3_reads_paths_from_the_environment_not_the_command_line():
    proc = make("-n", "reproduce-table3", "CIFAR10=/a b/it's;x", "N=5")
    assert proc.returncode == 0, proc.stderr
    assert "it's" not in proc.stdout and "'dataset.root=${oc.env:CIFAR10}'" in proc.stdout
    assert '"n_samples=$N"' in proc.stdout


@pytest.mark.parametrize("value", ["0", "false", "no", "off", ""])
def test_smoke_0_is_off(value: str):
    proc = make("-n", "reproduce-table3", f"SMOKE={value}")
    assert proc.returncode == 0, proc.stderr
    assert "smoke=true" not in proc.stdout


def test_smoke_1_is_on():
    proc = make("-n", "reproduce-table3", "SMOKE=1")
    assert proc.returncode == 0 and "smoke=true" in proc.stdout


def test_a_switch_neither_on_nor_off_is_refused_in_one_line():
    proc = make("-n", "reproduce-table3", "SMOKE=maybe")
    assert proc.returncode != 0 and "SMOKE=maybe: use 1 (on) or 0 (off)" in proc.stderr


def test_retrain_0_keeps_the_shipped_checkpoints():
    proc = make("-n", "reproduce-table1", "RETRAIN=0")
    assert proc.returncode == 0, proc.stderr
    assert "checkpoint_dirs=[" in proc.stdout and "retrain" not in proc.stdout


def test_an_unknown_table3_gan_is_refused_before_any_command():
    proc = make("-n", "reproduce-table3", "TABLE3_GANS=dcgan32 ;touch")
    assert proc.returncode != 0 and "unknown GAN ';touch'" in proc.stderr
    assert "ganmc" not in proc.stdout
