"""Issue 25, item 4: the Stacked MNIST table (per D size and training length, a row per sampler, the
papers' mode count and KL to uniform, paired Δ vs the generator, the published DCGAN rows, n per
row), its labelled sample grids, and the training-length table with its plot; unrelated records
are refused in one line."""

from __future__ import annotations

import csv
import json
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

PAPER = {"quarter": (["30.6 ± 20.7", "5.99 ± 0.42"], ["78.5 ± 17.6", "5.21 ± 0.19"]),
         "half": (["628.0 ± 140.9", "2.58 ± 0.75"], ["487.7 ± 34.6", "2.24 ± 0.15"])}


def _record(runs: Path, d_size: str, its: int, sampler: str, seed: int, metrics: dict, n: int = 25600,
            dataset: str = "stacked_mnist", data_config: dict | None = None) -> None:
    """A sampling record of the protocol's DCGAN as ganmc writes it (the parts the tables read)."""
    folder = runs / f"{d_size}-{its}-{sampler}-{seed}"
    folder.mkdir(parents=True)
    gan = {"name": "dcgan_stacked_mnist", "discriminator": {"d_size": d_size, "slope": 0.3},
           "train": {"iterations": its}}
    config = {"n_samples": n, "seed": seed, "dataset": data_config or {"name": dataset}, "gan": gan,
              "sampler": None if sampler == "generator" else {"_target_": sampler, "n_steps": 10}}
    record = {"command": "sample",
              "run": {"sampler": sampler, "dataset": dataset, "seed": seed, "gan": "dcgan_stacked_mnist",
                      "n_samples": n, "train_iterations": its},
              "metrics": {"stacked_threshold": 0.9, "classifier_accuracy": 0.9944, **metrics}, "stats": {},
              "config": config,
              "timing": {"evals_per_sample": {"G": 1.0 if sampler == "generator" else 3.0,
                                              "D": 0.0 if sampler == "generator" else 2.0},
                         "wall_seconds": 10.0, "sample_seconds": n * 2e-5, "started_at": 100.0 * seed,
                         "finished_at": 100.0 * seed + 10.0}}
    (folder / "record.json").write_text(json.dumps(record))
    np.save(folder / "samples.npy", np.full((20, 3, 28, 28), 40 * seed, dtype=np.uint8))


def _metrics(modes: float, kl: float, real: bool = False) -> dict:
    out = {"stacked_modes_argmax": modes, "stacked_kl_uniform": kl, "stacked_kl": kl + 0.01,
           "stacked_modes": modes / 2, "stacked_quality": 0.5}
    return {**out, **({k.replace("stacked_", "stacked_real_"): 1.0 for k in out} if real else {})}


def _sweep(runs: Path, half_n: int = 25600) -> None:
    """2 D sizes x 2 seeds x 3 samplers at 20,000 iterations; DDLS gains 10 and 11 modes on the two
    seeds (resolved), DRS moves KL by +0.1 and -0.1 (not resolved)."""
    for d_size, n in (("quarter", 25600), ("half", half_n)):
        for seed in (0, 1):
            _record(runs, d_size, 20000, "generator", seed, _metrics(100 + 20 * seed, 3.0 + 0.2 * seed, real=True), n)
            _record(runs, d_size, 20000, "drs_digits", seed, _metrics(100 + 20 * seed, 3.1), n)
            _record(runs, d_size, 20000, "ddls_digits", seed, _metrics(110 + 21 * seed, 3.0 + 0.2 * seed), n)


def _rows(path: Path) -> list[list[str]]:
    return list(csv.reader(path.open()))


def test_stacked_mnist_table_rows_paired_deltas_and_published_rows(tmp_path):
    from ganmc.tables.records import find_records
    from ganmc.tables.stacked_mnist import stacked_mnist

    runs = tmp_path / "runs"
    _sweep(runs)
    written = stacked_mnist(find_records(runs), tmp_path / "out")
    assert {p.name for p in written} >= {"stacked_mnist.md", "stacked_mnist_diagnostics.md",
                                         "dcgan_stacked_mnist-quarter-it20000.png",
                                         "dcgan_stacked_mnist-half-it20000.png"}
    header, *rows = _rows(tmp_path / "out" / "stacked_mnist.csv")
    assert header == ["D size", "iterations", "method", "modes (higher better)",  # the papers' shape
                      "KL to uniform (lower better)", "Δ modes vs generator", "Δ KL to uniform vs generator", "n × seeds"]
    col = {name: i for i, name in enumerate(header)}
    assert [(r[0], r[1], r[2]) for r in rows] == [
        (d, its, method) for d in ("D = 1/4 G", "D = 1/2 G") for its, method in [
            ("500000", "DCGAN, Metz et al. 2017, Unrolled GAN: published"),
            ("500000", "DCGAN, Lin et al. 2018, PacGAN Table 3: published"),
            ("20000", "real data (same n)"), ("20000", "generator only"), ("20000", "DRS"), ("20000", "DDLS")]]
    more_header, *more = _rows(tmp_path / "out" / "stacked_mnist_variants.csv")  # the other metrics and cost
    assert more_header == ["D size", "iterations", "method", "n", "KL to data (lower better)",
                           "confident modes (higher better)", "quality (higher better)", "Δ KL to data vs generator",
                           "Δ confident modes vs generator", "Δ quality vs generator", "G evals/sample",
                           "D evals/sample", "ms/sample", "seeds"]
    assert [r[:3] for r in more] == [r[:3] for r in rows if "published" not in r[2]]  # no published rows
    extra = {name: i for i, name in enumerate(more_header)}
    modes = col["modes (higher better)"]
    for block, extras, d_size in ((rows[:6], more[:4], "quarter"), (rows[6:], more[4:], "half")):
        metz, lin = PAPER[d_size]
        assert block[0][3:] == [*metz, "–", "–", "25,600 × –"] and block[1][3:] == [*lin, "–", "–", "25,600 × 50"]
        assert block[2][modes] == "1.0 ± 0.0"  # the real data row: stacked_real_modes_argmax
        assert extras[0][extra["KL to data (lower better)"]] == "1.000 ± 0.000"  # stacked_real_kl
        generator, drs, ddls = block[3:]
        assert generator[modes] == "110.0 ± 14.1" and generator[col["Δ modes vs generator"]] == "–"
        assert ddls[col["Δ modes vs generator"]] == "+10.5 ± 0.5 *"  # paired by seed: +10, +11
        assert drs[col["Δ KL to uniform vs generator"]] == "+0.000 ± 0.100"  # +0.1 and -0.1: no star
        assert ddls[col["n × seeds"]] == "25,600 × 2"
        ddls_more = extras[3]
        assert ddls_more[extra["Δ confident modes vs generator"]] == "+5.2 ± 0.2 *"
        assert ddls_more[extra["G evals/sample"]] == "3.0" and ddls_more[extra["ms/sample"]] == "0.0200"
        assert ddls_more[extra["n"]] == "25,600" and ddls_more[extra["seeds"]] == "2"
    run_header, *run_rows = _rows(tmp_path / "out" / "stacked_mnist_runs.csv")  # each run's own values
    assert run_header[:6] == ["D size", "iterations", "n", "method", "seed", "stacked_modes_argmax"]
    assert [r[:6] for r in run_rows if r[3] == "DDLS"] == [
        [d, "20000", "25600", "DDLS", str(seed), str(110 + 21 * seed)] for d in ("D = 1/4 G", "D = 1/2 G") for seed in (0, 1)]
    md = (tmp_path / "out" / "stacked_mnist.md").read_text()
    caption, variants = (line for line in md.splitlines() if line.startswith("Stacked MNIST"))
    assert variants.startswith("Stacked MNIST, other metrics and cost") and "KL to data:" in variants
    for text in (caption, variants):  # data, GAN, n, seeds and what ± is, in both
        assert "n = 25,600 samples per run (the protocol's)" in text and "GAN: dcgan_stacked_mnist" in text
        assert "trained 20,000 iterations, where the papers train 500,000: a deviation" in text
        assert "mean ± std over seeds" in text and "± standard error" in text and "seeds 0, 1" in text
    assert "Metz et al. 2017" in caption and "Lin et al. 2018, PacGAN Table 3 (50 trials" in caption
    assert md.index("| DDLS |") < md.index(variants) < md.index("| ms/sample |")


def test_stacked_mnist_caption_says_each_rows_n_when_they_differ(tmp_path):
    from ganmc.tables.records import find_records
    from ganmc.tables.stacked_mnist import stacked_mnist

    runs = tmp_path / "runs"
    _sweep(runs, half_n=2560)
    stacked_mnist(find_records(runs), tmp_path / "out")
    header, *rows = _rows(tmp_path / "out" / "stacked_mnist.csv")
    n = header.index("n × seeds")
    assert [r[n] for r in rows if r[2] == "DDLS"] == ["25,600 × 2", "2,560 × 2"]
    caption = (tmp_path / "out" / "stacked_mnist.md").read_text().split("\n", 1)[0]
    assert "n differs between rows (2,560, 25,600 samples per run; column n × seeds gives each row's n and its number of seeds" in caption


def test_stacked_mnist_generator_at_the_protocols_n_above_samplers_paired_at_a_smaller_n(tmp_path):
    """The generator alone at 25,600 and every sampler (with the generator) at 2,560: a block per n,
    each with its real-data row, Δ paired with the generator of the same n."""
    from ganmc.tables.records import find_records
    from ganmc.tables.stacked_mnist import stacked_mnist

    runs = tmp_path / "runs"
    for seed in (0, 1):
        _record(runs / "full", "quarter", 20000, "generator", seed, _metrics(300, 2.0, real=True), 25600)
        _record(runs / "small", "quarter", 20000, "generator", seed, _metrics(100 + seed, 3.0, real=True), 2560)
        _record(runs / "small", "quarter", 20000, "ddls_digits", seed, _metrics(110 + 2 * seed, 2.9), 2560)
    stacked_mnist(find_records(runs), tmp_path / "out")
    header, *rows = _rows(tmp_path / "out" / "stacked_mnist.csv")
    col = {name: i for i, name in enumerate(header)}
    ours = [(r[2], r[col["n × seeds"]], r[col["modes (higher better)"]], r[col["Δ modes vs generator"]]) for r in rows[2:]]
    assert ours == [("real data (same n)", "–", "1.0 ± 0.0", "–"), ("generator only", "25,600 × 2", "300.0 ± 0.0", "–"),
                    ("real data (same n)", "–", "1.0 ± 0.0", "–"), ("generator only", "2,560 × 2", "100.5 ± 0.7", "–"),
                    ("DDLS", "2,560 × 2", "111.0 ± 1.4", "+10.5 ± 0.5 *")]


def test_stacked_mnist_grid_has_a_labelled_row_per_sampler_under_a_real_row(tmp_path):
    from ganmc.tables.records import find_records
    from ganmc.tables.stacked_mnist import stacked_mnist

    runs = tmp_path / "runs"
    data = {"_target_": "ganmc.data.stacked.StackedDigits", "name": "stacked_mnist", "size": 28, "n_images": 1000}
    for sampler in ("generator", "drs_digits", "ddls_digits"):
        _record(runs, "quarter", 1000, sampler, 0, _metrics(10, 5.0, real=sampler == "generator"), data_config=data)
    written = stacked_mnist(find_records(runs), tmp_path / "out")
    grid = next(p for p in written if p.suffix == ".png")
    image = np.asarray(Image.open(grid).convert("L"))
    assert image.shape[0] == 4 * (28 + 4)  # real data, generator, DRS, DDLS: one 28 px row each
    assert image.shape[1] >= 400 + 50  # the samples at least 400 px wide, the labels left of them
    real, generator = image[:32, -400:], image[32:64, -400:]
    assert real.std() > 10 and generator.std() < real.std()  # real digits above the flat fake samples


@pytest.mark.parametrize("report", ["stacked_mnist", "stacked_mnist_training"])
def test_stacked_mnist_reports_refuse_unrelated_records_in_one_line(run_cli, tmp_path, report):
    runs = tmp_path / "runs"
    for seed in (0, 1):  # stacked digits runs, and Stacked MNIST runs of a sampler (no generator-only run)
        _record(runs, "quarter", 1000, "generator", seed, {"stacked_modes": 5, "stacked_kl": 1.0},
                dataset="stacked_digits")
        if report == "stacked_mnist_training":
            _record(runs, "quarter", 1000, "drs_digits", seed, _metrics(10, 5.0))
    out = tmp_path / "out"
    code, stdout, err = run_cli("table", report, f"records={runs}", f"out_dir={out}")
    assert code != 0 and stdout == "" and err.count("\n") == 1, err
    assert "no usable records" in err and "on stacked_mnist" in err
    assert not out.exists() or not any(out.iterdir())


def test_training_length_table_mean_se_published_rows_and_plot(tmp_path):
    from ganmc.tables.records import find_records
    from ganmc.tables.stacked_mnist_training import stacked_mnist_training

    runs = tmp_path / "runs"
    for seed, (modes, kl) in enumerate([(10, 4.0), (20, 4.2), (60, 4.4)]):  # mean 30 ± 15.3 (SE), 4.2 ± 0.115
        _record(runs, "quarter", 1000, "generator", seed, _metrics(modes, kl, real=True))
        _record(runs, "quarter", 1000, "ddls_digits", seed, _metrics(999, 0.1))  # not the generator: left out
        _record(runs, "quarter", 5000, "generator", seed, _metrics(200 + seed, 2.0, real=True))
        _record(runs, "half", 1000, "generator", seed, _metrics(300, 1.5, real=True))
    written = stacked_mnist_training(find_records(runs), tmp_path / "out")
    assert {p.name for p in written} == {f"stacked_mnist_training.{e}" for e in ("md", "csv", "tex", "png")}
    header, *rows = _rows(tmp_path / "out" / "stacked_mnist_training.csv")
    assert header[:5] == ["D size", "iterations", "source", "modes (higher better)", "KL to uniform (lower better)"]
    assert [r[:5] for r in rows] == [
        ["D = 1/4 G", "1000", "ours: generator alone", "30.0 ± 15.3", "4.200 ± 0.115"],
        ["D = 1/4 G", "5000", "ours: generator alone", "201.0 ± 0.6", "2.000 ± 0.000"],
        ["D = 1/4 G", "500000", "DCGAN, Metz et al. 2017, Unrolled GAN: published", *PAPER["quarter"][0]],
        ["D = 1/4 G", "500000", "DCGAN, Lin et al. 2018, PacGAN Table 3: published", *PAPER["quarter"][1]],
        ["D = 1/2 G", "1000", "ours: generator alone", "300.0 ± 0.0", "1.500 ± 0.000"],
        ["D = 1/2 G", "500000", "DCGAN, Metz et al. 2017, Unrolled GAN: published", *PAPER["half"][0]],
        ["D = 1/2 G", "500000", "DCGAN, Lin et al. 2018, PacGAN Table 3: published", *PAPER["half"][1]]]
    assert rows[0][-2:] == ["25,600", "3"]
    caption = (tmp_path / "out" / "stacked_mnist_training.md").read_text().split("\n", 1)[0]
    assert "mean ± standard error over seeds" in caption and "the papers train 500,000" in caption
    png = Image.open(tmp_path / "out" / "stacked_mnist_training.png")
    assert png.format == "PNG" and png.size[0] > 600


def test_stacked_mnist_fid_table_rows_and_caption(tmp_path):
    """FID beside the papers' modes and KL, a row per sampler; the caption names the weights, n and reference."""
    from ganmc.tables.images import stacked_mnist_fid
    from ganmc.tables.records import find_records

    runs = tmp_path / "runs"
    fid = {"fid_ref_n": 1000, "inception_weights": "inception-2015-12-05-fid-helper-x.pth"}
    _record(runs, "half", 20000, "generator", 0, {**_metrics(500, 1.0), "fid": 30.0, **fid}, 1000)
    _record(runs, "half", 20000, "collab_digits", 0, {**_metrics(520, 0.9), "fid": 27.5, **fid}, 1000)
    stacked_mnist_fid(find_records(runs), tmp_path / "out")
    header, *rows = _rows(tmp_path / "out" / "stacked_mnist_fid.csv")
    assert header[:5] == ["GAN", "method", "FID", "modes", "KL to uniform"]
    assert [r[1:5] for r in rows] == [["generator only", "30.00", "500.0", "1.000"],
                                      ["refinement (collab)", "27.50", "520.0", "0.900"]]
    caption = (tmp_path / "out" / "stacked_mnist_fid.md").read_text().split("\n", 1)[0]
    assert "fid-helper" in caption and "against 1,000 real images" in caption and "n = 1000 samples per run" in caption
    assert "d_size half" in caption
