"""Tables from records: aggregation, the three formats, paper reports, sweep resume."""

from __future__ import annotations

import csv
import json
import math
from pathlib import Path

import numpy as np
import pytest
from conftest import TINY

from ganmc.errors import GanmcError
from ganmc.record_schema import TARGET_SET
from ganmc.tables.build import cell, extra_set, sir_text, write_table
from ganmc.tables.ddls import table1, table2
from ganmc.tables.records import find_records


def test_cell_is_mean_and_sample_std():
    c = cell([1.0, 2.0, 3.0, None, float("nan")])
    assert c.n == 3 and c.mean == 2.0 and math.isclose(c.std, 1.0)
    assert c.format(1) == "2.0 ± 1.0"
    assert cell([]).format() == "n/a"


def test_write_table_writes_three_formats(tmp_path):
    paths = write_table(tmp_path / "t", ["method", "x"], [["a_b", "1 ± 2"], ["c", "50%"]], "cap")
    assert sorted(p.suffix for p in paths) == [".csv", ".md", ".tex"]
    assert list(csv.reader((tmp_path / "t.csv").open()))[1] == ["a_b", "1 ± 2"]
    tex = (tmp_path / "t.tex").read_text()
    assert r"a\_b" in tex and r"$\pm$" in tex and r"50\%" in tex
    assert "| c | 50% |" in (tmp_path / "t.md").read_text()


def test_write_table_puts_the_variants_below_and_in_their_own_files(tmp_path):
    """A paper table's protocol variants: a second table below the first in stem.md, and stem_variants.*."""
    paths = write_table(tmp_path / "t", ["method", "x"], [["a", "1"]], "main cap",
                        (["method", "y", "z"], [["a", "2", "3"]], "variants cap"))
    assert [p.name for p in paths] == ["t.md", "t.csv", "t.tex", "t_variants.md", "t_variants.csv", "t_variants.tex"]
    md = (tmp_path / "t.md").read_text()
    assert md.index("| a | 1 |") < md.index("variants cap") < md.index("| a | 2 | 3 |")
    assert list(csv.reader((tmp_path / "t.csv").open())) == [["method", "x"], ["a", "1"]]
    assert list(csv.reader((tmp_path / "t_variants.csv").open())) == [["method", "y", "z"], ["a", "2", "3"]]
    assert "variants cap" not in (tmp_path / "t.tex").read_text()
    assert "variants cap" in (tmp_path / "t_variants.tex").read_text()


def _record(tmp: Path, sampler: str, seed: int, dataset: str, metrics: dict) -> None:
    folder = tmp / f"{dataset}-{sampler}-{seed}"
    folder.mkdir(parents=True)
    record = {"command": "sample",
              "run": {"sampler": sampler, "dataset": dataset, "seed": seed, "train_iterations": 4000,
                      "gan": "wgan_gp_mlp"},
              "metrics": metrics, "timing": {"evals_per_sample": {"G": 1.0, "D": 0.0}},
              "config": {"dataset": {"_target_": "ganmc.data.synthetic.GaussianGrid", "name": "g"}
                         if dataset == "gaussians25" else
                         {"_target_": "ganmc.data.synthetic.SwissRoll", "name": "s"}}}
    (folder / "record.json").write_text(json.dumps(record))
    np.save(folder / "samples.npy", np.zeros((10, 2), dtype=np.float32))


def test_table1_and_table2_from_records(tmp_path):
    runs = tmp_path / "runs"
    for seed, hq in enumerate([60.0, 80.0]):
        _record(runs, "generator", seed, "gaussians25", {"modes_recovered": 25, "hq_percent": hq, "hq_std": 0.02,
                                                         "emd": 0.05, "emd_floor": 0.03})
        _record(runs, "ddls_cal", seed, "gaussians25", {"modes_recovered": 25, "hq_percent": hq + 10, "hq_std": 0.02,
                                                        "emd": 0.04, "emd_floor": 0.03})
        _record(runs, "generator", seed, "swissroll", {"emd": 0.02, "emd_floor": 0.01, "emd[sqeuclidean/iid]": 0.004})
    out = tmp_path / "results"
    written = table1(find_records(runs), out)
    assert {p.name for p in written} == {f"table1{v}.{e}" for v in ("", "_variants") for e in ("md", "csv", "tex")} \
        | {"table1.png"}
    rows = list(csv.reader((out / "table1.csv").open()))
    assert rows[0] == ["method", "modes (paper)", "modes (ours)", "%HQ (paper)", "%HQ (ours)",  # the paper's shape
                       "Δ %HQ vs generator (± SE)", "seeds"]
    gen = next(r for r in rows if r[0] == "generator only")
    assert gen[4] == "70.0 ± 14.1" and gen[5] == "–" and gen[6] == "2"
    ddls = next(r for r in rows if r[0] == "DDLS (calibrated D)")
    assert ddls[3] == "98 ± 2" and ddls[5] == "+10.0 ± 0.0 *"  # paired by seed: +10 on each
    more = list(csv.reader((out / "table1_variants.csv").open()))  # the columns the paper's table lacks
    assert more[0][:4] == ["method", "HQ std (paper)", "HQ std (ours)", "Δ %HQ vs paper"]
    assert {"%HQ of exact target (SIR)", "mode mass TV", "target mode mass TV", "G evals/sample"} <= set(more[0])
    assert next(r for r in more if r[0] == "generator only")[3] == "+0.0"  # paper's generator: 70
    md = (out / "table1.md").read_text()
    assert md.index("| Δ %HQ vs generator") < md.index("DDLS Table 1, extra columns") < md.index("| HQ std (paper)")
    table2(find_records(runs), out)
    rows2 = list(csv.reader((out / "table2.csv").open()))
    assert rows2[0] == ["method", "data", "EMD (paper)", "W2² (ours)", "W2² floor",  # the closest protocol measured
                        "W2² Δ vs generator (± SE)", "seeds"]
    gen2 = next(r for r in rows2 if r[:2] == ["generator only", "Swiss roll"])
    assert gen2[3] == "0.00400 ± 0.00000"  # the extra protocol, read by its key
    ddls2 = next(r for r in rows2 if r[:2] == ["DDLS (calibrated D)", "25 Gaussians"])
    assert ddls2[3] == "n/a" and ddls2[6] == "2"
    more2 = list(csv.reader((out / "table2_variants.csv").open()))  # the other protocols
    assert "W1 (ours)" in more2[0] and "W2² (ours)" not in more2[0] and "W2², stratified real (ours)" not in more2[0]
    assert next(r for r in more2 if r[:2] == ["generator only", "Swiss roll"])[more2[0].index("W1 (ours)")] == \
        "0.0200 ± 0.0000"
    assert next(r for r in more2 if r[:2] == ["DDLS (calibrated D)", "25 Gaussians"])[
        more2[0].index("W1 Δ vs generator (± SE)")] == "-0.0100 ± 0.0000"
    for name in ("table1", "table2"):  # every caption: data, GAN, n, seeds, and what ± is
        captions = [line for line in (out / f"{name}.md").read_text().splitlines() if line.startswith("DDLS")]
        assert len(captions) == 2
        for caption in captions:
            for words in ("25 Gaussians", "GAN wgan_gp_mlp trained 4000 iterations", "n = ",
                          "seeds 0, 1 (one GAN each)", "mean ± std over seeds"):
                assert words in caption, (name, words, caption)
        assert "Δ %HQ vs generator: paired by seed (same GAN), mean ± standard error" in captions[0] or name != "table1"
        assert all("Δ vs generator: paired by seed (same GAN, same real sample), mean ± standard error" in c
                   for c in captions) or name != "table2"


@pytest.mark.parametrize("name", ["table1", "table2"])
def test_paper_tables_have_the_papers_shape_in_at_most_8_columns(tmp_path, name):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        for sampler in ("generator", "ddls", "dgflow"):
            for dataset in ("gaussians25", "swissroll"):
                _record(runs, sampler, seed, dataset, {"modes_recovered": 25, "hq_percent": 90.0, "hq_std": 0.02,
                                                       "emd": 0.05, "emd_floor": 0.03, "emd[sqeuclidean/iid]": 0.01,
                                                       "emd[sqeuclidean/stratified]": 0.01})
    (table1 if name == "table1" else table2)(find_records(runs), tmp_path / "out")
    main = list(csv.reader((tmp_path / "out" / f"{name}.csv").open()))
    more = list(csv.reader((tmp_path / "out" / f"{name}_variants.csv").open()))
    assert len(main[0]) <= 8 and all(len(r) == len(main[0]) for r in main)
    keys = 1 if name == "table1" else 2  # method (, data)
    assert [r[:keys] for r in more[1:]] == [r[:keys] for r in main[1:]]  # the same rows, the other columns
    assert not {"mode mass TV", "W1 (ours)", "W1 floor", "W2², stratified real (ours)", "G evals/sample"} & set(main[0])


def test_samplers_the_paper_lacks_come_last_marked_not_in_the_paper(tmp_path):
    """DGflow (authors' and 2-D step) and latent RS rows follow the paper's methods in both tables,
    their paper cells say so (not '–', which means a paper value is missing), and so do captions."""
    runs = tmp_path / "runs"
    samplers = ["latent_rs", "dgflow_2d", "ddls", "dgflow", "generator", "dot"]  # not in row order
    for seed in (0, 1):
        for sampler in samplers:
            for dataset in ("gaussians25", "swissroll"):
                _record(runs, sampler, seed, dataset, {"modes_recovered": 25, "hq_percent": 90.0, "hq_std": 0.02,
                                                       "emd": 0.05, "emd_floor": 0.03})
    out = tmp_path / "results"
    table1(find_records(runs), out)
    rows = list(csv.reader((out / "table1.csv").open()))
    more = list(csv.reader((out / "table1_variants.csv").open()))
    assert [r[0] for r in rows[1:]] == ["generator only", "DOT", "DDLS (raw D, cold chain)",
                                        "DGflow (authors' step η 0.1)", "DGflow (2-D step η 0.001)", "latent RS"]
    head = rows[0]
    for row in rows[1:]:
        ours = row[0].startswith(("DGflow", "latent RS"))
        extra = next(r for r in more[1:] if r[0] == row[0])
        paper = [row[head.index(c)] for c in ("modes (paper)", "%HQ (paper)")] + [extra[1]]  # HQ std (paper)
        assert (paper == ["not in the paper"] * 3) if ours else ("not in the paper" not in paper)
        assert row[head.index("%HQ (ours)")] == "90.0 ± 0.0"
        if ours:
            assert extra[more[0].index("Δ %HQ vs paper")] == "–"  # no paper value to differ from
    assert rows[2][1:4:2] == ["–", "–"]  # DOT: in the paper, not in its Table 1
    assert "'not in the paper': a method the DDLS paper does not run" in (out / "table1.md").read_text()
    table2(find_records(runs), out)
    rows2 = list(csv.reader((out / "table2.csv").open()))
    assert [r[0] for r in rows2[1::2]] == [r[0] for r in rows[1:]]
    paper2 = {(r[0], r[1]): r[rows2[0].index("EMD (paper)")] for r in rows2[1:]}
    assert paper2[("latent RS", "Swiss roll")] == paper2[("DGflow (2-D step η 0.001)", "25 Gaussians")] == \
        "not in the paper"
    assert paper2[("DOT", "Swiss roll")] == "0.020 ± 0.006" and paper2[("generator only", "Swiss roll")] != "–"
    assert "'not in the paper'" in (out / "table2.md").read_text()
    paper_only = [pr for pr in find_records(runs) if pr[1]["run"]["sampler"] in ("generator", "ddls")]
    table1(paper_only, tmp_path / "paper_only")
    assert "not in the paper" not in (tmp_path / "paper_only" / "table1.md").read_text()


def test_the_exact_target_is_read_under_its_new_and_its_old_key():
    """Records name the run-level target estimate '@target' (apart from any sampler's names);
    records written before the rename ('sir') still give the target's columns."""
    target = {"reliable": True, "ess": 10_000.0}
    new = {"target_metrics": {TARGET_SET: {"emd": 0.1}}, "target": target}
    old = {"target_metrics": {"sir": {"emd": 0.3}}, "target": target}
    assert [r["metrics"]["emd"] for r in extra_set([new, old], TARGET_SET)] == [0.1, 0.3]
    assert sir_text([new, old], "emd", 2) == "0.20 ± 0.14"
    sampler_set = {"target_metrics": {"sir": {"emd": 0.5}}, "target": None}  # a sampler's own set named "sir"
    assert extra_set([sampler_set], TARGET_SET) == [{"metrics": {}}]


def test_a_row_whose_seeds_ran_different_settings_fails(tmp_path):
    """A stale record (an older preset left in the folder) must not be averaged into a row."""
    runs = tmp_path / "runs"
    for seed, steps in enumerate([20, 100]):
        _record(runs, "ddls", seed, "gaussians25", {"modes_recovered": 25, "hq_percent": 90.0, "hq_std": 0.02})
        path = runs / f"gaussians25-ddls-{seed}" / "record.json"
        record = json.loads(path.read_text())
        record["config"]["sampler"] = {"n_steps": steps, "step_size": 0.002}
        path.write_text(json.dumps(record))
    with pytest.raises(GanmcError, match=r"row \(4000, 'ddls'\) differ in sampler.n_steps"):
        table1(find_records(runs), tmp_path / "out")
    assert not (tmp_path / "out").exists()


def _set_n(runs: Path, name: str, n: int) -> Path:
    path = runs / name / "record.json"
    record = json.loads(path.read_text())
    record["config"]["n_samples"] = n
    path.write_text(json.dumps(record))
    return path


def test_a_row_mixing_sample_sizes_fails_naming_the_files(tmp_path):
    runs = tmp_path / "runs"
    for seed in (0, 1):
        _record(runs, "generator", seed, "gaussians25", {"modes_recovered": 25, "hq_percent": 90.0, "hq_std": 0.02})
    stale = _set_n(runs, "gaussians25-generator-1", 2000)
    _set_n(runs, "gaussians25-generator-0", 5000)
    with pytest.raises(GanmcError, match=r"differ in n_samples \(.*" + str(stale.parent.name)):
        table1(find_records(runs), tmp_path / "out")


def test_a_paired_difference_across_protocols_fails_naming_both_files(tmp_path):
    """Table 2's paired Δ must not subtract an n = 2,000 generator run from an n = 5,000 DDLS run."""
    runs = tmp_path / "runs"
    for sampler in ("generator", "ddls"):
        _record(runs, sampler, 0, "gaussians25", {"emd": 0.05, "emd_floor": 0.03})
    gen = _set_n(runs, "gaussians25-generator-0", 2000)
    ddls = _set_n(runs, "gaussians25-ddls-0", 5000)
    with pytest.raises(GanmcError, match="paired difference of emd") as err:
        table2(find_records(runs), tmp_path / "out")
    assert str(gen) in str(err.value) and str(ddls) in str(err.value) and "n_samples" in str(err.value)


def test_interrupted_sweep_resumes(run_cli, tmp_path):
    sweep = tmp_path / "sweep"
    args = ["sample", "-m", *TINY, "seed=0,1", f"hydra.sweep.dir={sweep}", "hydra.sweep.subdir=s${seed}"]
    assert run_cli(*args)[0] == 0
    first = (sweep / "s0" / "record.json").stat().st_mtime_ns
    (sweep / "s1" / "record.json").unlink()  # as if the sweep had been interrupted
    assert run_cli(*args)[0] == 0
    assert (sweep / "s0" / "record.json").stat().st_mtime_ns == first  # skipped
    assert (sweep / "s1" / "record.json").is_file()  # recomputed
    # a new config into folders holding another config's records: refused, unless asked to overwrite
    assert run_cli(*args[:-1], "hydra.sweep.subdir=s${seed}", "n_samples=200")[0] != 0
    assert json.loads((sweep / "s0" / "record.json").read_text())["run"]["n_samples"] == 300
    assert run_cli(*args[:-1], "hydra.sweep.subdir=s${seed}", "n_samples=200", "overwrite=true")[0] == 0
    assert json.loads((sweep / "s0" / "record.json").read_text())["run"]["n_samples"] == 200


def test_sweep_report_tables_and_plots_metric_against_parameter(tmp_path):
    runs = tmp_path / "runs"
    for step, hq in [(0.001, 90.0), (0.01, 80.0), (0.1, 50.0)]:
        for seed in (0, 1):
            folder = runs / f"{step}-{seed}"
            folder.mkdir(parents=True)
            record = {"command": "sample", "run": {"sampler": "ddls", "dataset": "g", "seed": seed},
                      "metrics": {"hq_percent": hq + seed},
                      "config": {"seed": seed, "sampler": {"step_size": step, "n_steps": 300}}}
            (folder / "record.json").write_text(json.dumps(record))
    from ganmc.tables.sweep import sweep

    written = sweep(find_records(runs), tmp_path / "out", name="ddls_step", metrics=("hq_percent",))
    assert {p.name for p in written} >= {"ddls_step.md", "ddls_step_hq_percent.png"}
    rows = list(csv.reader((tmp_path / "out" / "ddls_step.csv").open()))
    assert rows[0] == ["sampler.step_size", "hq_percent", "seeds"]
    assert ["0.001", "90.500 ± 0.707", "2"] in rows


def test_sweep_caption_without_a_baseline_still_names_data_gan_n_seeds_and_spread(tmp_path):
    from ganmc.tables.sweep import _caption

    records = [{"run": {"sampler": "ddls_cal", "dataset": "gaussians25", "gan": "wgan_gp_mlp", "seed": 0,
                        "n_samples": 10000, "train_iterations": 2500},
                "metrics": {"emd_n": 10000, "emd_cost": "euclidean", "emd_real_set": "iid"}}]
    text = _caption(["sampler.step_size"], records, baseline=False)
    for part in ("sampler ddls_cal", "gaussians25", "wgan_gp_mlp (2,500 training iterations)", "n = 10,000",
                 "seeds 0 (one seed: no spread)", "W1, n = 10,000 per side", "No generator baseline"):
        assert part in text, part
    two = [records[0], {**records[0], "run": {**records[0]["run"], "seed": 1}}]
    assert "mean ± std over seeds" in _caption(["x"], two, baseline=True)
    assert "mean ± standard error (SE)" in _caption(["x"], two, baseline=True)


def test_sweep_names_a_swept_group_once_and_orders_numbers_by_value():
    from ganmc.tables.sweep import _order, swept_keys

    recs = [{"config": {"dataset": {"name": n, "std": s}, "sampler": {"temperature": t}, "seed": 0}}
            for n, s in (("a", 0.1), ("b", None)) for t in (2.0, 16.0)]
    assert swept_keys(recs) == ["dataset.name", "sampler.temperature"]
    assert sorted(["16.0", "2.0", "'x'"], key=_order) == ["2.0", "16.0", "'x'"]


def test_sweep_over_sampler_presets_is_keyed_on_their_names():
    from ganmc.tables.sweep import swept_keys

    def rec(name: str, sampler: dict | None, seed: int = 0) -> dict:
        return {"run": {"sampler": name}, "config": {"seed": seed, "sampler": sampler}}

    recs = [rec("ddls", {"_target_": "ganmc.samplers.ddls.DDLSSampler", "n_steps": 20, "step_size": 0.01}),
            rec("ddls_long", {"_target_": "ganmc.samplers.ddls.DDLSSampler", "n_steps": 100, "step_size": 0.01}),
            rec("drs", {"_target_": "ganmc.samplers.drs.DRSSampler", "pilot_n": 10}),
            rec("generator", None)]
    assert swept_keys(recs) == ["run.sampler"]  # no class paths, no fields only some presets have
    assert swept_keys(recs[:2]) == ["run.sampler", "sampler.n_steps"]  # a field both have: shown
    assert swept_keys([rec("ddls", {"n_steps": 1}, s) for s in (0, 1)]) == []  # seeds are repeats


def test_table_time_sums_runs_and_gives_elapsed_when_runs_overlap():
    from ganmc.tables.ddls import _wall

    runs = [(None, {"timing": {"wall_seconds": 60.0, "started_at": 1000.0, "finished_at": 1060.0},
                    "provenance": {"cpu_threads": 1}}),
            (None, {"timing": {"wall_seconds": 120.0, "started_at": 1000.0, "finished_at": 1120.0},
                    "provenance": {"cpu_threads": 1}})]
    assert _wall(runs) == "3.0 min summed over 2 runs, 2.0 min elapsed (1 thread(s) per run)"
    assert _wall([(None, {"timing": {"wall_seconds": 30.0}})]) == "0.5 min summed over 1 runs"


def test_run_time_gives_elapsed_only_when_every_record_has_its_times():
    from ganmc.tables.pareto import _wall
    from ganmc.tables.records import run_time

    timed = [{"timing": {"wall_seconds": 60.0, "started_at": 0.0, "finished_at": 90.0}, "provenance": {"cpu_threads": 2}},
             {"timing": {"wall_seconds": 30.0, "started_at": 30.0, "finished_at": 60.0}, "provenance": {"cpu_threads": 1}}]
    t = run_time(timed)
    assert (t.summed, t.runs, t.elapsed, t.threads) == (1.5, 2, 1.5, "1/2")
    untimed = run_time([*timed, {"timing": {"wall_seconds": 60.0}}])
    assert (untimed.summed, untimed.runs, untimed.elapsed, untimed.threads) == (2.5, 3, None, "1/2")
    assert _wall([*timed, {"timing": {"wall_seconds": 60.0}}]) == ""  # no span to state
