"""Table 3 preflight (every missing file named with its config key, before any compute), the
table3/digits experiment configs, and the image table builder."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ganmc.tables.images import digits, table3
from ganmc.tables.table3 import GANS, main, preflight

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture
def no_torch_home(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch-home"))


def test_preflight_names_every_missing_piece(no_torch_home, capsys):
    assert main([]) == 2
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.startswith("missing:")]
    assert len(lines) == 2 + len(GANS)  # data, Inception weights, one checkpoint per GAN
    assert "dataset.root=DIR" in err and "make CIFAR10=" in err
    assert "metric.inception_weights=PATH" in err and "weights-inception-2015-12-05-6726825d.pth" in err
    for gan, (_, var, _, _) in GANS.items():
        assert f"gan={gan}" in err and f"make {var}=" in err
    assert "gan.checkpoint_format=pytorch_gan_collections" in err
    assert "nothing was computed" in err


def test_preflight_names_the_missing_files_and_passes_when_all_exist(tmp_path, no_torch_home, capsys):
    cifar = tmp_path / "cifar" / "cifar-10-batches-py"
    cifar.mkdir(parents=True)
    for i in range(1, 5):  # data_batch_5 missing
        (cifar / f"data_batch_{i}").write_bytes(b"x")
    weights = tmp_path / "inception.pth"
    ckpts = {g: tmp_path / f"{g}.pt" for g in GANS}
    args = ["--cifar10", str(cifar.parent), "--inception", str(weights),
            *[a for g, p in ckpts.items() for a in ("--checkpoint", f"{g}={p}")]]
    assert main(args) == 2
    err = capsys.readouterr().err
    assert str(cifar.parent) in err and str(weights) in err
    assert all(str(p) in err for p in ckpts.values())
    (cifar / "data_batch_5").write_bytes(b"x")
    weights.write_bytes(b"w")
    for p in list(ckpts.values())[:2]:
        p.write_bytes(b"c")
    found = {g: str(p) for g, p in ckpts.items()}
    missing = preflight(str(cifar.parent), str(weights), found, contents=False)
    assert [m.make_var for m in missing] == ["SNGAN_CKPT"]  # only the absent checkpoint
    assert preflight(str(cifar.parent), str(weights), found, gans=["dcgan32", "wgan_gp_dcgan32"],
                     contents=False) == []
    assert main([*args, "--gans", "dcgan32 wgan_gp_dcgan32", "--files-only"]) == 0
    # read, the placeholder files are bad: one line per batch, the weights and each checkpoint
    capsys.readouterr()
    assert main([*args, "--gans", "dcgan32 wgan_gp_dcgan32"]) == 2
    bad = [line for line in capsys.readouterr().err.splitlines() if line.startswith("bad:")]
    assert len(bad) == 5 + 1 + 2 and all("make " in line for line in bad)


@pytest.mark.skipif(shutil.which("make") is None, reason="no make")
def test_make_reproduce_table3_fails_before_any_compute(tmp_path):
    stamp = tmp_path / "stamp"
    stamp.touch()
    env = {**os.environ, "PYTHONPATH": str(REPO), "TORCH_HOME": str(tmp_path / "th")}
    proc = subprocess.run(["make", "-s", "reproduce-table3", f"VENV={sys.prefix}", f"STAMP={stamp}",
                           f"RUNS={tmp_path / 'runs'}", f"RESULTS={tmp_path / 'results'}"],
                          cwd=REPO, env=env, capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert proc.stderr.count("missing:") == 2 + len(GANS)
    assert not (tmp_path / "runs").exists() and not (tmp_path / "results").exists()


def test_experiment_configs_compose(compose_cfg):
    t3 = compose_cfg("experiment=table3", "+sampler=ddls_cal")
    assert t3.n_samples == 50000 and list(t3.metric.metrics) == ["is", "fid"]
    assert t3.dataset.name == "cifar10" and t3.metric.n_ref == 50000 and t3.gan.name == "sngan_resnet32"
    dg = compose_cfg("experiment=digits", "gan=wgan_gp_dcgan32", "+sampler=collab_digits")
    assert dg.dataset.size == 16 and dg.gan.loss.value == "wgan_gp" and dg.gan.generator.base_width == 16
    assert list(dg.metric.metrics) == ["cs", "fd"] and dg.sampler.layer == 2
    for preset in ("drs_digits", "mhgan_digits", "ddls_digits"):
        assert compose_cfg("experiment=digits", f"+sampler={preset}").sampler._target_.startswith("ganmc.samplers")


def _record(run_dir: Path, gan: str, sampler: str, seed: int, metrics: dict[str, float], dataset: str) -> None:
    run_dir.mkdir(parents=True)
    record = {"command": "sample", "run": {"gan": gan, "sampler": sampler, "dataset": dataset, "seed": seed},
              "metrics": {**metrics, "n": 100}, "timing": {"evals_per_sample": {"G": 1.0, "D": 1.0},
                                                          "wall_seconds": 3.0}}
    (run_dir / "record.json").write_text(json.dumps(record))
    np.save(run_dir / "samples.npy", np.zeros((4, 1, 8, 8), dtype=np.uint8))


def test_image_tables_from_records(tmp_path):
    from ganmc.tables.records import find_records

    for seed, cs in ((0, 8.0), (1, 9.0)):
        _record(tmp_path / "r" / f"g{seed}", "dcgan32", "generator", seed, {"cs": cs, "fd": 2.0}, "digits")
        _record(tmp_path / "r" / f"d{seed}", "dcgan32", "ddls_digits", seed, {"cs": 9.5, "fd": 1.0}, "digits")
    _record(tmp_path / "r" / "s", "sngan_resnet32", "ddls", 0, {"is": 9.0, "fid": 16.0}, "cifar10")
    records = find_records(tmp_path / "r")
    written = digits(records, tmp_path / "out")
    md = (tmp_path / "out" / "digits.md").read_text()
    assert "| dcgan32 | generator only | 8.50 ± 0.71 | 2.000 ± 0.000 | n/a |" in md
    assert "| dcgan32 | DDLS | 9.50 ± 0.00 |" in md and "sngan" not in md
    assert tmp_path / "out" / "digits_samples" / "dcgan32.png" in written  # one labelled grid per GAN
    order = (tmp_path / "out" / "digits_order.md").read_text()
    # cs: DDLS 9.5 ± 0 vs generator 8.5 ± 0.71 -> apart by more than a std; fd: lower is better
    assert "| dcgan32 | cs (higher better) | DDLS > generator only |" in order
    assert "| dcgan32 | fd (lower better) | DDLS > generator only |" in order
    assert "DDLS > MH-GAN > DRS > generator" in order  # the papers' order in the caption
    table3(records, tmp_path / "out")
    md3 = (tmp_path / "out" / "table3.md").read_text()
    assert "| sngan_resnet32 | DDLS (raw D, cold chain) | 9.05 | 9.00 |" in md3  # the paper's IS beside ours


def test_image_table_puts_dgflow_and_latent_rs_after_the_seed_papers_samplers(tmp_path):
    from ganmc.tables.records import find_records

    for seed in (0, 1):
        for sampler in ("latent_rs_digits", "dgflow_digits", "collab_digits", "generator"):
            _record(tmp_path / "r" / f"{sampler}{seed}", "dcgan32", sampler, seed, {"cs": 8.0, "fd": 2.0}, "digits")
    digits(find_records(tmp_path / "r"), tmp_path / "out")
    md = (tmp_path / "out" / "digits.md").read_text()
    assert [line.split(" | ")[1] for line in md.splitlines() if line.startswith("| dcgan32")] == \
        ["generator only", "refinement (collab)", "DGflow", "latent RS"]


def test_image_table_grid_has_a_real_row_and_a_labelled_row_per_sampler(tmp_path):
    """The digits grid: real data first (16 images), then generator and DDLS (4 images each), 8 px
    enlarged by the smallest whole factor that makes the 16-image row reach 400 px
    (3: 16 x (24 + 2) + 2 = 418), rows 24 + 2 x 2 = 28 px high, label margin left."""
    from PIL import Image

    from ganmc.tables.records import find_records

    for sampler in ("generator", "ddls_digits"):
        _record(tmp_path / "r" / sampler, "dcgan32", sampler, 0, {"cs": 8.0, "fd": 2.0}, "digits")
        record = json.loads((tmp_path / "r" / sampler / "record.json").read_text())
        record["config"] = {"dataset": {"_target_": "ganmc.data.Digits", "size": 8, "channels": 1}}
        (tmp_path / "r" / sampler / "record.json").write_text(json.dumps(record))
    digits(find_records(tmp_path / "r"), tmp_path / "out")
    grid = Image.open(tmp_path / "out" / "digits_samples" / "dcgan32.png")
    width, height = grid.size
    assert height == 3 * (8 * 3 + 2 * 2) and width > 418
    real_row = np.asarray(grid.convert("L"))[: 8 * 3, -418:]
    assert real_row.std() > 0  # the real digits, not the all-black samples of the records
