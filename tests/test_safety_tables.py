"""Issue 24, tables: a report refuses records it cannot use before writing anything; a sweep's
rows follow the overrides Hydra recorded, with a paired generator baseline; a report's name
cannot lead its files out of out_dir."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest

ALL_REPORTS = ["demo", "table1", "table2", "pareto", "sweep", "ddls_training_length", "ddls_steps", "table3",
               "digits", "collab_fig4", "collab_table1", "collab_fig10", "collab_mnist", "stacked_digits", "stacked_mnist",
               "stacked_mnist_training"]
# Reports of 2-D runs (25 Gaussians: %HQ, modes, EMD) get image runs; every other report gets 2-D runs.
TWO_D = {"demo", "table1", "table2", "pareto", "sweep", "ddls_training_length"}


def _write(folder: Path, record: dict, overrides: list[str] | None = None) -> None:
    folder.mkdir(parents=True)
    (folder / "record.json").write_text(json.dumps(record))
    if overrides is not None:
        (folder / ".hydra").mkdir()
        (folder / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))


def _run(sampler: str, seed: int, dataset: str, metrics: dict, sampler_cfg: dict | None = None) -> dict:
    """A sampling record as ganmc writes it, in the parts the tables read."""
    return {"command": "sample",
            "run": {"sampler": sampler, "method": sampler, "dataset": dataset, "gan": "wgan_gp_mlp", "seed": seed,
                    "n_samples": 300, "train_iterations": 6},
            "metrics": metrics, "stats": {}, "target_metrics": {}, "target": None,
            "timing": {"wall_seconds": 1.0, "started_at": 0.0, "finished_at": 1.0,
                       "evals_per_sample": {"G": 1.0, "D": 0.0}},
            "config": {"seed": seed, "n_samples": 300, "threads": 1, "dataset": {"name": dataset},
                       "gan": {"name": "wgan_gp_mlp", "train": {"iterations": 6}},
                       "metric": {"name": "synthetic", "emd_n": None}, "sampler": sampler_cfg}}


@pytest.mark.parametrize("report", ALL_REPORTS)
def test_a_report_without_usable_records_refuses_and_leaves_existing_tables_untouched(run_cli, tmp_path, report):
    """`ganmc table digits records=<2-D runs> out_dir=results` replaced the committed digits table
    with an empty one (exit 0); every report now says what it takes and what it found, and writes nothing."""
    runs = tmp_path / "runs"
    for seed in (0, 1):
        if report in TWO_D:  # image runs: nothing a 2-D report can use
            _write(runs / f"img{seed}", _run("ddls", seed, "digits", {"cs": 8.0, "fd": 1.0}))
        else:
            _write(runs / f"g{seed}", _run("generator", seed, "gaussians25",
                                            {"hq_percent": 70.0, "modes_recovered": 25, "emd": 0.05}))
    results = tmp_path / "results"
    results.mkdir()
    committed = {results / f"{report}.md": "the committed table\n", results / f"{report}.csv": "a,b\n1,2\n"}
    for path, text in committed.items():
        path.write_text(text)
    code, out, err = run_cli("table", report, f"records={runs}", f"out_dir={results}")
    assert code != 0 and out == "" and err.count("\n") == 1, err
    assert "no usable records" in err and "it takes" in err
    assert ("on digits" if report in TWO_D else "on gaussians25") in err.split("found", 1)[1]  # what it found
    assert sorted(results.iterdir()) == sorted(committed)
    assert all(path.read_text() == text for path, text in committed.items())


def test_sweep_rows_follow_the_recorded_overrides_with_a_paired_generator_baseline(run_cli, tmp_path):
    """A DDLS step-size sweep beside generator runs was one row ('ddls', seeds 6) averaging three
    step sizes; now one row per recorded setting, a generator baseline row and paired Δ ± SE."""
    runs = tmp_path / "runs"
    for seed in (0, 1):
        for i, step in enumerate([0.01, 0.03, 0.1]):
            cfg = {"_target_": "ganmc.samplers.ddls.DDLSSampler", "step_size": step, "n_steps": 20}
            _write(runs / "ddls" / f"{i}-{seed}",
                   _run("ddls", seed, "gaussians25", {"hq_percent": 50.0 + 10 * i + seed, "emd": 0.05}, cfg),
                   ["n_samples=300", "threads=1", "+sampler=ddls", "sampler.n_steps=20", f"sampler.step_size={step}",
                    f"seed={seed}"])
        _write(runs / "generator" / str(seed),
               _run("generator", seed, "gaussians25", {"hq_percent": 40.0 + 3 * seed, "emd": 0.06}),
               ["n_samples=300", "threads=1", f"seed={seed}"])
    out = tmp_path / "out"
    code, _, err = run_cli("table", "sweep", f"records={runs}", f"out_dir={out}")
    assert code == 0, err
    rows = list(csv.DictReader((out / "sweep.csv").open()))
    assert [(r["method"], r["sampler.step_size"], r["seeds"]) for r in rows] == [
        ("generator (baseline)", "–", "2"), ("DDLS (raw D, cold chain)", "0.01", "2"),
        ("DDLS (raw D, cold chain)", "0.03", "2"), ("DDLS (raw D, cold chain)", "0.1", "2")]
    assert rows[1]["hq_percent"] == "50.500 ± 0.707"
    # paired by seed: (50 - 40, 51 - 43) -> mean 9, SE 1 (unpaired, the spread would be wider)
    assert rows[1]["Δ hq_percent vs generator (± SE)"] == "+9.000 ± 1.000 *"
    assert rows[0]["Δ hq_percent vs generator (± SE)"] == "–"
    caption = (out / "sweep.md").read_text().splitlines()[0]
    for words in ("gaussians25", "wgan_gp_mlp", "n = 300", "seeds 0, 1", "standard error"):
        assert words in caption, caption
    assert (out / "sweep_hq_percent.png").is_file()  # step size: the x axis
    # older records (no overrides.yaml): the resolved configs still keep the three settings apart
    for path in runs.rglob("overrides.yaml"):
        path.unlink()
    code, _, err = run_cli("table", "sweep", f"records={runs}", f"out_dir={tmp_path / 'old'}")
    assert code == 0, err
    old = list(csv.DictReader((tmp_path / "old" / "sweep.csv").open()))
    assert [r["sampler.step_size"] for r in old] == ["–", "0.01", "0.03", "0.1"]


def test_a_report_name_cannot_write_outside_out_dir(run_cli, tmp_path):
    runs = tmp_path / "runs"
    _write(runs / "0", _run("generator", 0, "gaussians25", {"hq_percent": 70.0, "emd": 0.05}))
    out = tmp_path / "a" / "b" / "out"
    for name in ("../../escape", str(tmp_path / "abs"), "x/y", "digits.old"):
        code, _, err = run_cli("table", "sweep", f"records={runs}", f"out_dir={out}", f"report.name={name}")
        assert code != 0 and err.count("\n") == 1 and "not a plain file stem" in err, err
    assert not (tmp_path / "a").exists() and not list(tmp_path.glob("abs*"))
