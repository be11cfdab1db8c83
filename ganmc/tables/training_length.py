"""DDLS against the GAN's training length and the chain's step, with exact-target diagnostics.

Rows: data set x sampler x training iterations. EMD differences to the generator are paired by
seed (same GAN, same real sample for EMD), reported as mean ± standard error over seeds.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganmc.record_schema import emd_sizes
from ganmc.tables.build import (
    Cell,
    Records,
    emd_protocols,
    emd_view,
    extra_set,
    group_records,
    mean_se,
    metric_cell,
    paired_delta,
    rank_in,
    sample_records,
    sir_text,
    target_cell,
    target_reliability,
    write_table,
)
from ganmc.tables.ddls import PAPER_ROW
from ganmc.tables.figures import Series, curve_panels
from ganmc.tables.labels import label
from ganmc.tables.uses import Uses, report

SETS = [("gaussians25", "25 Gaussians"), ("swissroll", "Swiss roll")]


def _steps(group: list[dict[str, Any]]) -> list[tuple[int, str | None]]:
    """(chain step, snapshot key) pairs of a DDLS group, the final step last (key None)."""
    keys = sorted({k for r in group for k in r.get("target_metrics", {}) if k.startswith("step_")})
    final = group[0]["config"]["sampler"]["n_steps"] if group[0]["config"].get("sampler") else 0
    return [(int(k[5:]), k) for k in keys if int(k[5:]) != final] + [(final, None)]


def _step_cell(group: list[dict[str, Any]], key: str | None, metric: str) -> Cell:
    return metric_cell(extra_set(group, key), metric)


@report("ddls_training_length", Uses(tuple(name for name, _ in SETS), ("emd",)))
def training_length(records: Records, out_dir: Path) -> list[Path]:
    """Main table, chain-step table and figures of ``experiment=ddls_training_length``."""
    main_rows: list[list[str]] = []
    step_rows: list[tuple[list[str], dict[int, str]]] = []
    written: list[Path] = []
    all_steps: set[int] = set()
    fig_len: list[list[tuple[str, Series]]] = [[], []]  # rows: EMD, then %HQ / mass TV
    fig_steps: list[list[tuple[str, Series]]] = [[], []]
    w2 = ("sqeuclidean", "iid") in emd_protocols(r for _, r in records)  # W2² columns when measured
    for dataset, title in SETS:
        recs = [r for _, r in sample_records(records, dataset)]
        if not recs:
            continue
        its = sorted({r["run"]["train_iterations"] for r in recs})
        by_sampler = group_records(recs, lambda r: r["run"]["sampler"])
        rank = rank_in(PAPER_ROW)
        order = sorted(by_sampler, key=lambda s: (rank(s.split("/")[-1]), s))
        base_by_it = group_records(by_sampler.get("generator", []), lambda r: r["run"]["train_iterations"])
        series: dict[str, Series] = {"emd": {}, "second": {}}
        second = "hq_percent" if dataset == "gaussians25" else "mass_tv"
        second_label, digits = ("%HQ", 1) if second == "hq_percent" else ("roll-bin mass TV", 3)
        for sampler in order:
            row_label = label(sampler)
            by_it = group_records(by_sampler[sampler], lambda r: r["run"]["train_iterations"], uniform="study")
            for key, metric in (("emd", "emd"), ("second", second)):
                cells = [metric_cell(by_it.get(i, []), metric) for i in its]
                series[key][row_label] = ([float(i) for i in its], [c.mean for c in cells], [c.std for c in cells])
            for it in its:
                group = by_it.get(it, [])
                if not group:
                    continue
                base = base_by_it.get(it, [])
                main_rows.append([
                    title, row_label, str(it),
                    metric_cell(group, "hq_percent").format(1), metric_cell(group, "modes_recovered").format(1),
                    metric_cell(group, "emd").format(4), mean_se(paired_delta(group, base, "emd")),
                    metric_cell(group, "emd_floor").format(4), metric_cell(group, "mass_tv").format(3),
                    target_cell(group, "mass_tv").format(3), target_reliability(group),
                    sir_text(group, "emd", 4),
                    *([metric_cell(emd_view(group, "sqeuclidean", "iid"), "emd").format(4),
                       mean_se(paired_delta(emd_view(group, "sqeuclidean", "iid"),
                                            emd_view(base, "sqeuclidean", "iid"), "emd"))] if w2 else []),
                    str(len(group)),
                ])
                if any(k.startswith("step_") for r in group for k in r.get("target_metrics", {})):
                    steps = _steps(group)
                    all_steps.update(s for s, _ in steps)
                    by_step = {s: k for s, k in steps}
                    head = [title, row_label, str(it)]
                    step_rows += [
                        (head + ["EMD"], {s: _step_cell(group, k, "emd").format(4) for s, k in by_step.items()}),
                        (head + ["Δ EMD vs generator (± SE)"],
                         {s: mean_se(paired_delta(group, base, "emd", k)) for s, k in by_step.items()}),
                        (head + [second_label],
                         {s: _step_cell(group, k, second).format(digits) for s, k in by_step.items()}),
                    ]
        fig_len[0].append((title, series["emd"]))
        fig_len[1].append((title, series["second"]))
        for it in its:
            emd_series, hq_series = _step_series(by_sampler, base_by_it.get(it, []), it, second)
            if emd_series:
                fig_steps[0].append((f"{title}, {it} it.", emd_series))
                fig_steps[1].append((f"{title}, {it} it.", hq_series))
    header = ["data", "method", "GAN iterations", "%HQ", "modes", "EMD", "Δ EMD vs generator (± SE)",
              "real-vs-real floor", "mode/bin mass TV", "target mass TV", "target ESS ≥ n (seeds)",
              "target EMD (SIR)", *(["EMD W2²", "Δ W2² vs generator (± SE)"] if w2 else []), "seeds"]
    n_emd = emd_sizes(r for _, r in records)
    caption = ("DDLS and baselines against WGAN-GP training length (one training run per seed; shorter "
               "lengths are its snapshots). EMD: exact W1 (POT) to fresh real samples, n = "
               f"{', '.join(map(str, n_emd))} per side; Δ EMD paired by seed (same GAN, same real sample), "
               "mean ± standard error over seeds. Mass TV: total variation between the mass per mode "
               "(25 Gaussians) or per bin along the roll (Swiss roll, 12 bins of its parameter) and the "
               "data's; for the samples, then for the exact target p_g·w estimated by importance "
               "resampling (reliable when the weights' ESS reaches n; the count says for how many seeds, "
               "† marks a target EMD with an unreliable estimate)."
               + (" EMD W2²: the same with the squared Euclidean cost." if w2 else ""))
    written += write_table(out_dir / "ddls_training_length", header, main_rows, caption)
    columns = sorted(all_steps)
    step_header = ["data", "method", "GAN iterations", "measure", *[f"step {c}" for c in columns]]
    step_table = [head + [cells.get(c, "–") for c in columns] for head, cells in step_rows]
    step_caption = ("DDLS chains measured along the way: EMD (mean ± std over seeds), its difference to the "
                    "generator paired by seed (± standard error), and %HQ (25 Gaussians) or the roll-bin "
                    "mass TV (Swiss roll). Step 0 is the generator's own sample.")
    written += write_table(out_dir / "ddls_training_length_steps", step_header, step_table, step_caption)
    if fig_len[0]:
        written.append(curve_panels(fig_len, "GAN training iterations",
                                    ["EMD (W1)", "%HQ (25 Gaussians) / roll-bin mass TV"],
                                    out_dir / "ddls_training_length.png", logx=True))
    if fig_steps[0]:
        wrapped = _wrap(fig_steps)
        written.append(curve_panels(wrapped, "Langevin step",
                                    ["EMD − generator's (± SE)", "%HQ / roll-bin mass TV"] * (len(wrapped) // 2),
                                    out_dir / "ddls_training_length_steps.png"))
    return written


def _step_series(by_sampler: dict[Any, list[dict[str, Any]]], base: list[dict[str, Any]], it: int,
                 second: str) -> tuple[Series, Series]:
    """Per DDLS sampler: EMD minus the generator's (paired by seed; mean ± SE) and the second
    metric (mean ± std) against the chain step, at training length ``it``."""
    emd_series: Series = {}
    hq_series: Series = {}
    for sampler, recs in by_sampler.items():
        group = [r for r in recs if r["run"]["train_iterations"] == it]
        if not group or not any(k.startswith("step_") for r in group for k in r.get("target_metrics", {})):
            continue
        steps = _steps(group)
        row_label = label(sampler)
        xs = [float(s) for s, _ in steps]
        deltas = [paired_delta(group, base, "emd", k) for _, k in steps]
        emd_series[row_label] = (xs, [c.mean for c in deltas], [c.std / max(c.n, 1) ** 0.5 for c in deltas])
        cells = [_step_cell(group, k, second) for _, k in steps]
        hq_series[row_label] = (xs, [c.mean for c in cells], [c.std for c in cells])
    return emd_series, hq_series


def _wrap(rows: list[list[tuple[str, Series]]]) -> list[list[tuple[str, Series]]]:
    """Interleave the EMD and second-metric panels, at most 5 panels a row."""
    out = []
    for start in range(0, len(rows[0]), 5):
        out.append(rows[0][start:start + 5])
        out.append(rows[1][start:start + 5])
    return out
