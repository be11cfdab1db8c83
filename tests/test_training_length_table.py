"""The DDLS training-length report: paired differences, chain steps, diagnostics, files."""

from __future__ import annotations

import csv
import json
from pathlib import Path

from ganmc.tables.records import find_records
from ganmc.tables.training_length import training_length


def _record(root: Path, sampler: str, seed: int, iterations: int, emd: float, steps: dict | None = None,
            target: dict | None = None) -> None:
    folder = root / f"{sampler.replace('/', '-')}-{iterations}-{seed}"
    folder.mkdir(parents=True)
    record = {"command": "sample",
              "run": {"sampler": sampler, "dataset": "gaussians25", "seed": seed, "train_iterations": iterations},
              "metrics": {"emd": emd, "hq_percent": 50.0 + seed, "modes_recovered": 25, "mass_tv": 0.04,
                          "emd_floor": 0.05, "emd_n": 2500},
              "target_metrics": {k: {"emd": v, "hq_percent": 60.0, "mass_tv": 0.05} for k, v in (steps or {}).items()},
              "target": target,
              "config": {"sampler": {"n_steps": 300} if steps else None}}
    (folder / "record.json").write_text(json.dumps(record))


def test_study_pairs_differences_by_seed_and_tabulates_chain_steps(tmp_path):
    runs = tmp_path / "runs"
    for seed, base in enumerate([0.10, 0.20, 0.30]):
        for it in (1000, 5000):
            _record(runs, "generator", seed, it, base)
            target = {"ess": 2000.0 + seed * 1000, "reliable": seed > 0, "mass_tv": 0.3, "n": 2500}
            # DDLS is 0.01 below its own seed's generator at every seed: the paired SE is 0
            _record(runs, "study/ddls", seed, it, base - 0.01,
                    {"step_0000": base, "step_0010": base - 0.02}, target)
    written = training_length(find_records(runs), tmp_path / "out")
    names = {p.name for p in written}
    assert {"ddls_training_length.md", "ddls_training_length.csv", "ddls_training_length_steps.csv",
            "ddls_training_length.png", "ddls_training_length_steps.png"} <= names
    rows = list(csv.DictReader((tmp_path / "out" / "ddls_training_length.csv").open()))
    cold = [r for r in rows if r["method"] == "DDLS (raw D, cold chain)"]
    assert [r["GAN iterations"] for r in cold] == ["1000", "5000"]
    assert cold[0]["Δ EMD vs generator (± SE)"] == "-0.0100 ± 0.0000"
    assert cold[0]["target ESS ≥ n (seeds)"] == "2/3 (min ESS 2,000)"
    steps = list(csv.DictReader((tmp_path / "out" / "ddls_training_length_steps.csv").open()))
    delta = next(r for r in steps if r["measure"].startswith("Δ EMD") and r["GAN iterations"] == "1000")
    assert delta["step 0"] == "+0.0000 ± 0.0000" and delta["step 10"] == "-0.0200 ± 0.0000"
    assert delta["step 300"] == "-0.0100 ± 0.0000"
    assert "EMD W2²" not in rows[0]  # no record measured W2²: no column


def test_study_shows_w2_beside_w1_when_the_records_hold_it(tmp_path):
    runs = tmp_path / "runs"
    for seed, base in enumerate([0.10, 0.20]):
        _record(runs, "generator", seed, 2500, base)
        _record(runs, "study/ddls", seed, 2500, base - 0.01)
    for path in runs.glob("*/record.json"):  # W2² as `metric.emd_also=[sqeuclidean/iid]` records it
        record = json.loads(path.read_text())
        ddls = record["run"]["sampler"] != "generator"
        record["metrics"]["emd[sqeuclidean/iid]"] = 0.03 + 0.002 * ddls + 0.01 * record["run"]["seed"]
        path.write_text(json.dumps(record))
    training_length(find_records(runs), tmp_path / "out")
    rows = list(csv.DictReader((tmp_path / "out" / "ddls_training_length.csv").open()))
    cold = next(r for r in rows if r["method"] == "DDLS (raw D, cold chain)")
    assert cold["EMD W2²"] == "0.0370 ± 0.0071" and cold["Δ W2² vs generator (± SE)"] == "+0.0020 ± 0.0000"


def test_demo_report_shows_generator_first_with_a_figure(tmp_path):
    import numpy as np

    from ganmc.tables.demo import demo

    for sampler, hq in (("ddls", 97.5), ("generator", 93.0)):
        folder = tmp_path / "runs" / sampler
        folder.mkdir(parents=True)
        record = {"command": "sample", "run": {"sampler": sampler, "dataset": "gaussians25", "seed": 0,
                                               "n_samples": 10, "train_iterations": 10000},
                  "metrics": {"hq_percent": hq, "modes_recovered": 25, "emd": 0.07, "emd_floor": 0.05,
                              "mass_tv": 0.03},
                  "timing": {"wall_seconds": 3.0},
                  "config": {"gan": {"name": "wgan_gp_mlp"},
                             "dataset": {"_target_": "ganmc.data.synthetic.GaussianGrid", "name": "gaussians25"}}}
        (folder / "record.json").write_text(json.dumps(record))
        np.save(folder / "samples.npy", np.zeros((10, 2), dtype=np.float32))
    written = demo(find_records(tmp_path / "runs"), tmp_path / "out")
    assert {p.name for p in written} == {"demo.md", "demo.csv", "demo.tex", "demo.png"}
    rows = list(csv.DictReader((tmp_path / "out" / "demo.csv").open()))
    assert [r["method"] for r in rows] == ["generator only", "DDLS (raw D, cold chain)"]
    assert rows[1]["%HQ"] == "97.5" and "10,000 training iterations" in (tmp_path / "out" / "demo.md").read_text()
