"""Table 3 end to end on stand-in files: the reduced chain (SN-GAN, generator and DDLS, tiny n)
through ``scripts/gpu_check.py --dry-run``, which runs the rehearsal (stand-ins, the very ``make
reproduce-table3``) and the GPU checks on the CPU; the full rehearsal is ``slow``."""

from __future__ import annotations

import csv
import importlib.util
import json
import re
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]


def script(name: str):
    spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module


def rows(path: Path) -> list[dict[str, str]]:
    with path.open() as fh:
        return list(csv.DictReader(fh))


def test_reduced_chain_and_gpu_check_dry_run(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    results = sorted(p.name for p in (ROOT / "results").iterdir())
    assert script("gpu_check").main(["--dry-run", "--out", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    rehearsal = tmp_path / "rehearsal"
    table = rows(rehearsal / "results" / "table3.csv")
    assert [(r["GAN"], r["method"]) for r in table] == [("sngan_resnet32", "generator only"),
                                                        ("sngan_resnet32", "DDLS (raw D, cold chain)")]
    assert all(float(r["FID (ours)"]) > 0 and float(r["IS (ours)"]) >= 1 for r in table)
    assert (rehearsal / "results" / "table3.tex").is_file() and "SMOKE RUN" in (rehearsal / "results" / "table3.md").read_text()
    for record in rehearsal.rglob("record.json"):
        r = json.loads(record.read_text())
        assert r["config"]["smoke"] and r["run"]["n_samples"] == 10
        assert set(r["timing"]["phases"]) >= {"load", "prepare", "sample", "target", "reference", "metrics"}
        assert r["timing"]["peak_rss_mb"]["metrics"] >= r["timing"]["peak_rss_mb"]["load"] > 0
        samples = np.load(record.parent / "samples.npy")
        assert samples.dtype == np.uint8 and samples.shape == (10, 3, 32, 32)
    # the GPU check's table: the rehearsal's rows, the DDLS step and determinism
    text = (tmp_path / "gpu_check.md").read_text()
    assert text.strip() in out.strip()
    assert "Table 3 run, generator" in text and "Table 3 run, ddls" in text and "DDLS step, fp32" in text
    # generator and DDLS, each with and without deterministic kernels (on a CPU both are deterministic)
    assert text.count("same seed: bit-identical") == 4 and text.count("other seed: differs") == 4
    assert text.count("deterministic=true") == 2 and text.count("deterministic=false") == 2
    # the step's own FLOPs (forward, backward to the latent) are 2/3 of a full forward + backward's
    step, bare = map(float, re.search(r"step ([\d.]+) GFLOP/image \(bare ([\d.]+)\)", text).groups())
    assert 0.6 < step / bare < 0.72
    assert sorted(p.name for p in (ROOT / "results").iterdir()) == results  # nothing under results/


@pytest.mark.slow
def test_full_rehearsal(tmp_path: Path, capsys: pytest.CaptureFixture[str]):
    """`make rehearse-table3`'s run: three GANs (DCGAN and WGAN-GP trained on the stand-ins), five samplers."""
    assert script("rehearse_table3").main(["--out", str(tmp_path)]) == 0
    table = rows(tmp_path / "results" / "table3.csv")
    assert len(table) == 15 and {r["GAN"] for r in table} == {"dcgan32", "wgan_gp_dcgan32", "sngan_resnet32"}
    assert all(r["FID (ours)"] not in ("", "n/a") for r in table)
    assert "rehearse-table3: complete in" in capsys.readouterr().out
