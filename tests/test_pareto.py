"""The quality-per-compute report: budgets read from the records, costs, the Pareto front and the
best sampler within each budget."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

from ganmc.errors import GanmcError
from ganmc.tables.pareto import pareto
from ganmc.tables.records import find_records


def _record(root: Path, sampler: str, seed: int, emd: float, evals: float, steps: int | None = None) -> None:
    folder = root / f"{sampler}-{steps}-{seed}"
    folder.mkdir(parents=True)
    record = {"command": "sample",
              "run": {"sampler": sampler, "dataset": "gaussians25", "gan": "wgan_gp_mlp", "seed": seed,
                      "train_iterations": 2500},
              "metrics": {"emd": emd, "emd_cost": "euclidean", "emd[sqeuclidean/iid]": emd / 2, "hq_percent": 50.0},
              "timing": {"evals_per_sample": {"G": evals / 2, "D": evals / 2}, "wall_seconds": 3.0,
                         "started_at": 0.0, "finished_at": 3.0, "phases": {"prepare": 0.5, "sample": 1.5}},
              "config": {"n_samples": 100, "sampler": None if steps is None else {"n_steps": steps, "step_size": 0.1}}}
    (folder / "record.json").write_text(json.dumps(record))


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def test_points_front_and_best_within_budget(tmp_path):
    runs = tmp_path / "runs"
    for seed, noise in enumerate([0.0, 0.002]):
        _record(runs, "generator", seed, 0.100 + noise, 1.0)
        _record(runs, "ddls", seed, 0.090 + noise, 10.0, steps=5)  # cheaper and better: on the front
        _record(runs, "ddls", seed, 0.095 + noise, 40.0, steps=20)  # dearer and worse: dominated
        _record(runs, "dot", seed, 0.080 + noise, 200.0, steps=100)  # dearest and best: on the front
    written = pareto(find_records(runs), tmp_path / "out")
    assert {p.name for p in written} >= {"pareto.md", "pareto.csv", "pareto_best.csv", "pareto_gaussians25.png"}
    rows = _rows(tmp_path / "out" / "pareto.csv")
    head, body = rows[0], {r[2]: r for r in rows[1:]}
    assert set(body) == {"generator only", "DDLS (raw D, cold chain) (n_steps=5)",
                         "DDLS (raw D, cold chain) (n_steps=20)", "DOT"}
    ddls5 = body["DDLS (raw D, cold chain) (n_steps=5)"]
    assert ddls5[head.index("G+D evals/sample")] == "10.0" and ddls5[head.index("seconds (prepare + sample)")] == "2.00"
    assert ddls5[head.index("quality 1")] == "0.0910 ± 0.0014"  # EMD W1, then W2² read from its key
    assert ddls5[head.index("quality 2")] == "0.0455 ± 0.0007"
    assert ddls5[head.index("Δ first quality vs generator")].startswith("-0.0100")
    front = {name for name, r in body.items() if r[head.index("Pareto")] == "✓"}
    assert front == {"generator only", "DDLS (raw D, cold chain) (n_steps=5)", "DOT"}
    best = {r[2]: r[3] for r in _rows(tmp_path / "out" / "pareto_best.csv")[1:]}
    assert best == {"≤ 1": "generator only", "≤ 10": "DDLS (raw D, cold chain) (n_steps=5)",
                    "≤ 100": "DDLS (raw D, cold chain) (n_steps=5)", "≤ 1,000": "DOT"}


def test_a_point_mixing_protocols_is_refused_naming_the_file(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        _record(runs, "ddls", seed, 0.09, 10.0, steps=5)
    path = runs / "ddls-5-1" / "record.json"
    record = json.loads(path.read_text())
    record["config"]["n_samples"] = 5000  # a stale run of another size under the same budget
    path.write_text(json.dumps(record))
    with pytest.raises(GanmcError, match="differ in n_samples") as err:
        pareto(find_records(runs), tmp_path / "out")
    assert str(path) in str(err.value)


def test_dgflow_and_latent_rs_follow_the_seed_papers_samplers_and_latent_rs_pays_its_training(tmp_path):
    """Rows: generator, the seed papers' samplers, then DGflow and latent RS by budget; a latent RS
    run that loaded its weight network from the cache is charged the seconds the training took."""
    runs = tmp_path / "runs"
    for seed in (0, 1):
        _record(runs, "latent_rs", seed, 0.09, 1.0, steps=1000)  # the budget knob's value in the folder name
        _record(runs, "latent_rs", seed, 0.095, 1.0, steps=100)
        _record(runs, "latent_rs", seed, 0.092, 1.0, steps=300)  # its folder sorts after 1000's
        _record(runs, "dgflow_2d", seed, 0.09, 101.0, steps=25)
        _record(runs, "dot", seed, 0.09, 22.0, steps=5)
        _record(runs, "generator", seed, 0.1, 1.0)
        for steps, loaded in ((1000, True), (300, True), (100, False)):
            path = runs / f"latent_rs-{steps}-{seed}" / "record.json"
            record = json.loads(path.read_text())
            record["config"]["sampler"] = {"train_steps": steps, "m": 3.0}
            record["stats"] = {"weights_loaded": loaded, "weights_train_seconds": steps / 25}
            path.write_text(json.dumps(record))
    pareto(find_records(runs), tmp_path / "out")
    rows = _rows(tmp_path / "out" / "pareto.csv")
    head, names = rows[0], [r[2] for r in rows[1:]]
    assert names == ["generator only", "DOT", "DGflow (2-D step η 0.001)", "latent RS (train_steps=100)",
                     "latent RS (train_steps=300)", "latent RS (train_steps=1000)"]  # equal evaluations: by seconds
    seconds = {r[2]: r[head.index("seconds (prepare + sample)")] for r in rows[1:]}
    assert seconds["latent RS (train_steps=1000)"] == "42.00"  # 0.5 + 1.5 + the loaded file's 40 s
    assert seconds["latent RS (train_steps=100)"] == "2.00"  # trained in its own prepare phase
