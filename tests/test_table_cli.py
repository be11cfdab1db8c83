"""Issue 10, `ganmc table` and readable output: no accidental overwrite, one-line errors on
records of the wrong shape, listings that show counts as integers and what a sweep varied,
log lines on stderr, --help without internal groups."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from conftest import TINY

ROOT = Path(__file__).resolve().parents[1]


def _record(root: Path, name: str, step: float | None, modes: int, hq: float = 50.0) -> None:
    folder = root / name
    folder.mkdir(parents=True)
    record = {"command": "sample", "run": {"sampler": "ddls", "dataset": "gaussians25", "gan": "wgan_gp_mlp",
                                           "seed": 0},
              "metrics": {"modes_recovered": modes, "hq_percent": hq, "emd_n": 10000},
              "config": {"seed": 0, "dataset": {"name": "gaussians25"}, "n_samples": 10000,
                         "sampler": {"_target_": "ganmc.samplers.ddls.DDLSSampler", "step_size": step}}}
    (folder / "record.json").write_text(json.dumps(record))


def test_zero_records_is_an_error_and_writes_nothing(run_cli, tmp_path):
    (tmp_path / "empty").mkdir()
    for args in (["table1"], ["sweep"], []):
        out = tmp_path / "out"
        code, stdout, err = run_cli("table", *args, f"records={tmp_path / 'empty'}", f"out_dir={out}")
        assert code != 0 and stdout == "" and not out.exists()
        assert err.count("\n") == 1 and "no sampling records under" in err


def test_default_out_dir_is_not_results(compose_cfg):
    assert compose_cfg(config="table").out_dir == "out/tables"


def test_every_makefile_table_target_names_its_out_dir():
    """Paper tables go to $(RESULTS) (results/, or out/retrain-results with RETRAIN=1); the demo's
    table to out/demo: every `ganmc table` line says where."""
    lines = [ln for ln in (ROOT / "Makefile").read_text().splitlines() if "$(GANMC) table" in ln]
    demo = [ln for ln in lines if "table demo" in ln]
    assert demo and all("out_dir=out/demo" in ln for ln in demo), demo
    papers = [ln for ln in lines if ln not in demo]
    assert len(papers) >= 8 and all("out_dir=$(RESULTS)" in ln for ln in papers), papers


@pytest.mark.parametrize("record, why", [
    ([1, 2], "a JSON list"),
    ({"command": "sample", "run": {}, "metrics": {"emd": [0.1]}}, "metric 'emd' is not a number"),
    ({"command": "sample", "metrics": {}}, "without 'run'"),
    ({"command": "sample", "run": {}, "metrics": {}, "config": "x"}, "'config' is a str"),
], ids=["list", "nested-metric", "no-run", "config-string"])
def test_records_of_the_wrong_shape_are_one_line_naming_the_file(run_cli, tmp_path, record, why):
    path = tmp_path / "runs" / "0" / "record.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(record))
    _record(tmp_path / "runs", "1", 0.01, 25)
    code, _, err = run_cli("table", "sweep", f"records={tmp_path / 'runs'}", f"out_dir={tmp_path / 'out'}")
    assert code != 0 and err.count("\n") == 1 and str(path) in err and why in err
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("report", ["table1", "table2", "sweep"])
def test_a_truncated_record_is_refused_naming_the_file(run_cli, tmp_path, report):
    """A record cut short (a full disk, a copy interrupted) stops the table instead of vanishing from it."""
    _record(tmp_path / "runs", "1", 0.01, 25)
    path = tmp_path / "runs" / "0" / "record.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps({"command": "sample", "run": {}, "metrics": {}})[:25])
    code, _, err = run_cli("table", report, f"records={tmp_path / 'runs'}", f"out_dir={tmp_path / 'out'}")
    assert code != 0 and err.count("\n") == 1 and f"record {path} cannot be read" in err
    assert not (tmp_path / "out").exists()


def test_listing_shows_counts_as_integers_and_swept_values(run_cli, tmp_path):
    runs = tmp_path / "runs"
    for i, (step, modes) in enumerate([(0.001, 24), (0.01, 25), (0.1, 23)]):
        _record(runs, str(i), step, modes)
    code, out, err = run_cli("table", f"records={runs}")
    assert code == 0, err
    head, _, *rows = out.strip().splitlines()
    cols = [c.strip() for c in head.strip("|").split("|")]
    assert "sampler.step_size" in cols and "sampler._target_" not in cols and "n_samples" not in cols
    cells = [dict(zip(cols, (c.strip() for c in row.strip("|").split("|")))) for row in rows]
    assert [c["sampler.step_size"] for c in cells] == ["0.001", "0.01", "0.1"]
    assert [c["modes_recovered"] for c in cells] == ["24", "25", "23"] and cells[0]["emd_n"] == "10000"
    assert not re.search(r"\b2[345]\.000\b", out)


def test_sweep_report_prints_counts_as_integers(run_cli, tmp_path):
    runs = tmp_path / "runs"
    _record(runs, "a", 0.01, 24)
    _record(runs, "b", 0.1, 25)
    code, _, err = run_cli("table", "sweep", f"records={runs}", f"out_dir={tmp_path / 'out'}")
    assert code == 0, err
    md = (tmp_path / "out" / "sweep.md").read_text()
    assert "| 0.01 | 50.000 | 24 | 1 |" in md and "24.000" not in md


def test_logs_go_to_stderr_with_a_line_per_phase(run_cli, tmp_path):
    code, out, err = run_cli("sample", *TINY, f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 0 and out == f"{tmp_path / 'run'}\n"  # stdout: the run folder, nothing else
    for phase in ("training wgan_gp_mlp", "sampling 300 with generator", "computing metrics", "solving exact EMD"):
        assert phase in err


def test_help_hides_internal_schema_groups(run_cli):
    code, out, _ = run_cli("sample", "--help")
    assert code == 0 and "dataset: " in out and "sampler: " in out and "schema/" not in out
