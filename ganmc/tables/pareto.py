"""Quality per unit of compute: every sampler at several budgets beside the generator, per data
set and GAN, against G+D evaluations per sample and seconds; the Pareto front and the best
sampler at each budget, with the seeds' error."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganmc.record_schema import emd_sizes
from ganmc.tables.build import (
    Cell,
    Records,
    delta_text,
    emd_view,
    group_records,
    metric_cell,
    mixed_settings,
    paired_delta,
    rank_in,
    sample_counts,
    write_table,
)
from ganmc.tables.figures import Series, curve_panels
from ganmc.tables.images import method
from ganmc.tables.labels import label
from ganmc.tables.records import run_time
from ganmc.tables.uses import Uses, report

Quality = tuple[str, str, int, bool]  # (metric key, column title, digits, higher is better)
# Per data set: its title, the quality metrics shown, and the one that ranks samplers (first).
SETS: dict[str, tuple[str, list[Quality]]] = {
    "gaussians25": ("25 Gaussians", [("emd", "EMD W1", 4, False), ("emd_w2", "EMD W2²", 4, False),
                                     ("hq_percent", "%HQ", 1, True), ("modes_recovered", "modes", 1, True)]),
    "imbal8": ("imbalanced 8 Gaussians", [("js", "JS", 4, False), ("kl", "KL", 4, False),
                                          ("good_percent", "good %", 1, True), ("emd", "EMD W1", 4, False),
                                          ("emd_w2", "EMD W2²", 4, False)]),
    "stacked_digits": ("stacked digits", [("stacked_kl", "KL", 3, False), ("stacked_modes", "modes", 1, True),
                                          ("stacked_quality", "quality", 3, True)]),
}
ORDER = ["generator", "drs", "mhgan", "ddls", "collab", "collab_reject", "dot", "dgflow", "dgflow_2d", "latent_rs"]
TIERS = (1, 10, 100, 1_000, 10_000, 100_000)  # budgets (G+D evaluations per sample) of the best-at-budget table

Key = tuple[str, str, int, str, str]  # (data set, GAN, training iterations, sampler preset, budget)


def _view(record: dict[str, Any]) -> dict[str, Any]:
    """The record with W2² (iid real set) as the metric ``emd_w2``."""
    w2 = emd_view([record], "sqeuclidean", "iid")[0]["metrics"]["emd"]
    return {**record, "metrics": {**record.get("metrics", {}), "emd_w2": w2}}


def _cost(group: list[dict[str, Any]]) -> tuple[float, float]:
    """(mean G+D evaluations per sample, mean seconds of the prepare and sample phases); a run that
    loaded latent_rs's weight network from the cache is charged the seconds its training took."""
    evals = [r["timing"]["evals_per_sample"]["G"] + r["timing"]["evals_per_sample"]["D"] for r in group]
    phases = [r["timing"].get("phases", {}) for r in group]
    seconds = [p.get("prepare", 0.0) + p.get("sample", r["timing"].get("sample_seconds", 0.0)) + _cached_seconds(r)
               for p, r in zip(phases, group)]
    return float(np.mean(evals)), float(np.mean(seconds))


def _cached_seconds(record: dict[str, Any]) -> float:
    """The training seconds of a latent_rs weight network the run loaded from the cache (0 when
    it trained it in its own prepare phase, or when the file does not say)."""
    stats = record.get("stats", {})
    seconds = float(stats.get("weights_train_seconds", 0.0)) if stats.get("weights_loaded") else 0.0
    return seconds if np.isfinite(seconds) else 0.0


def _groups(records: Records) -> dict[Key, list[dict[str, Any]]]:
    """Records by (data set, GAN, iterations, sampler, budget); the budget names the sampler
    settings that differ between the runs of one sampler preset (e.g. ``n_steps=20``); a preset's
    budgets by cost (evaluations per sample, then seconds: latent_rs's differ in seconds only)."""
    recs = [_view(r) for _, r in records if r.get("command") == "sample" and r["run"]["dataset"] in SETS]
    by_preset = group_records(recs, lambda r: (r["run"]["dataset"], r["run"]["gan"], r["run"]["train_iterations"],
                                               r["run"]["sampler"]))
    groups: dict[Key, list[dict[str, Any]]] = {}
    for (data, gan, its, sampler), group in by_preset.items():
        knobs = mixed_settings(group)
        for b, part in group_records(group, lambda r, ks=tuple(knobs): _budget(r, ks), uniform="pareto table").items():
            groups[(data, gan, its, sampler, b)] = part
    rank = rank_in(ORDER)
    return dict(sorted(groups.items(), key=lambda kv: (list(SETS).index(kv[0][0]), kv[0][1], kv[0][2],
                                                       rank(method(kv[0][3])), kv[0][3], *_cost(kv[1]))))


def _budget(record: dict[str, Any], knobs: tuple[str, ...]) -> str:
    """The record's values of the sampler settings ``knobs``: 'n_steps=20'."""
    return ", ".join(f"{k}={record['config']['sampler'][k]}" for k in knobs)


def _name(key: Key) -> str:
    return label(key[3]) + (f" ({key[4]})" if key[4] else "")


def _better(a: Cell, b: Cell, higher: bool) -> bool:
    return a.mean > b.mean if higher else a.mean < b.mean


@report("pareto", Uses(tuple(SETS), tuple(dict.fromkeys(q[0] for _, qs in SETS.values() for q in qs))))
def pareto(records: Records, out_dir: Path) -> list[Path]:
    """``pareto.{md,csv,tex}`` (every point), ``pareto_best.*`` (the best sampler within each
    budget) and ``pareto_<data>.png`` (quality against evaluations and seconds)."""
    groups = _groups(records)
    width = max(len(q) for _, q in SETS.values())
    rows, best_rows, written = [], [], []
    for data, (title, qualities) in SETS.items():
        gans = dict.fromkeys((k[1], k[2]) for k in groups if k[0] == data)
        fig_rows: list[list[tuple[str, Series]]] = [[], []]
        for gan, its in gans:
            points = {k: g for k, g in groups.items() if k[:3] == (data, gan, its)}
            base = next((g for k, g in points.items() if k[3] == "generator"), [])
            key, _, digits, higher = qualities[0]
            cells = {k: metric_cell(g, key) for k, g in points.items()}
            costs = {k: _cost(g) for k, g in points.items()}
            front = {k for k in points if cells[k].n and not any(
                costs[o][0] <= costs[k][0] and cells[o].n and _better(cells[o], cells[k], higher)
                for o in points if o != k)}
            for k, g in points.items():
                rows.append([title, f"{gan} {its:,} it.", _name(k), f"{costs[k][0]:,.1f}", f"{costs[k][1]:.2f}",
                             *[metric_cell(g, q).format(d) for q, _, d, _ in qualities],
                             *["–"] * (width - len(qualities)),
                             "–" if k[3] == "generator" or not base else delta_text(paired_delta(g, base, key), digits),
                             "✓" if k in front else "", str(len(g))])
            for tier in TIERS:
                within = [k for k in points if costs[k][0] <= tier * 1.0001 and cells[k].n]
                if not within or (tier > TIERS[0] and all(costs[k][0] <= tier / 10 for k in points)):
                    continue
                k = max(within, key=lambda x: cells[x].mean if higher else -cells[x].mean)
                best_rows.append([title, f"{gan} {its:,} it.", f"≤ {tier:,}", _name(k), f"{costs[k][0]:,.1f}",
                                  cells[k].format(digits),
                                  "–" if k[3] == "generator" or not base
                                  else delta_text(paired_delta(points[k], base, key), digits)])
            for x in (0, 1):  # row 0: against evaluations, row 1: against seconds
                fig_rows[x].append((f"{title}, {gan} {its:,} it.", _series(points, cells, costs, x)))
        if any(fig_rows[0]):
            written.append(curve_panels(fig_rows, ["G+D evaluations per sample", "seconds per run (prepare + sample)"],
                                        [f"{qualities[0][1]} ({'higher' if qualities[0][3] else 'lower'} better)"] * 2,
                                        out_dir / f"pareto_{data}.png", logx=True))
    recs = [r for g in groups.values() for r in g]
    header = ["data", "GAN", "sampler (budget)", "G+D evals/sample", "seconds (prepare + sample)",
              *[f"quality {i + 1}" for i in range(width)], "Δ first quality vs generator", "Pareto", "seeds"]
    legend = "; ".join(f"{t}: " + ", ".join(f"{q[1]} ({'↑' if q[3] else '↓'})" for q in qs) for t, qs in SETS.values())
    emd_n = ", ".join(f"{n:,}" for n in emd_sizes(recs))
    caption = (f"Quality per unit of compute, mean ± std over seeds (n = {sample_counts(recs)} samples per run; "
               f"EMD: exact OT between {emd_n or '–'} of them and as many iid real points). "
               f"Quality columns in order — {legend}; the first ranks the samplers. Cost: G and D evaluations "
               "per output sample in sampling (every proposal, chain step and gradient step counted), and "
               "seconds of the run's prepare (e.g. D calibration; latent RS: training its weight network, "
               "train_steps, also when loaded from the cache) and sample phases. Δ: paired by seed against the generator ± standard error, * "
               "beyond 2 SE. Pareto ✓: no cheaper (or equally cheap) point of the same GAN has a better mean "
               f"first quality.{_wall(recs)}")
    written += write_table(out_dir / "pareto", header, rows, caption)
    written += write_table(out_dir / "pareto_best", ["data", "GAN", "budget (G+D evals/sample)", "best sampler",
                                                     "its cost", "first quality", "Δ vs generator"], best_rows,
                           "The best sampler (by the data set's first quality: 25 Gaussians EMD W1, imbalanced 8 "
                           "Gaussians JS, stacked digits KL) among the points of pareto.md costing at most each "
                           "budget, mean ± std over seeds, Δ paired vs the generator ± SE (* beyond 2 SE).")
    return written


def _series(points: dict[Key, list[dict[str, Any]]], cells: dict[Key, Cell],
            costs: dict[Key, tuple[float, float]], x: int) -> Series:
    """One curve per sampler preset: the first quality (mean ± std) against cost ``x`` (0: evaluations, 1: seconds)."""
    series: Series = {}
    for k in sorted(points, key=lambda k: costs[k][x]):
        xs, means, stds = series.setdefault(label(k[3]), ([], [], []))
        if cells[k].n:
            xs.append(costs[k][x])
            means.append(cells[k].mean)
            stds.append(cells[k].std)
    return series


def _wall(recs: list[dict[str, Any]]) -> str:
    """The runs' summed wall time and the elapsed time from the first start to the last finish."""
    t = run_time(recs)
    if t.elapsed is None:
        return ""
    per_run = f", {t.threads} thread(s) per run" if t.threads else ""
    return (f" The runs took {t.summed:.1f} min summed over {t.runs} runs, "
            f"{t.elapsed:.1f} min from the first start to the last finish (from the records{per_run}).")

