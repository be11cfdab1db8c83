"""Stacked-digit tables (1,000 modes): the mode metrics per GAN, training length and sampler (mean ±
std over seeds, paired Δ vs the generator ± SE), the real data's values at the same n, the
samplers' diagnostics, and one grid of samples per GAN. :func:`stacked_table` builds them for any
:class:`Layout`; ``stacked_digits`` is one, ``stacked_mnist`` (ganmc/tables/stacked_mnist.py) another."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

import numpy as np
import torch

from ganmc.grid import save_labelled_rows
from ganmc.record_schema import n_samples
from ganmc.tables.build import (
    Records,
    delta_text,
    evals_cells,
    group_records,
    metric_cell,
    paired_delta,
    rank_in,
    sample_counts,
    sample_records,
    write_csv,
    write_table,
)
from ganmc.tables.grids import grid_rows
from ganmc.tables.images import method
from ganmc.tables.labels import label
from ganmc.tables.records import run_time
from ganmc.tables.uses import Uses, report

Metric = tuple[str, str, int, bool]  # (record key, column title, digits, higher is better)
METRICS: list[Metric] = [("stacked_modes", "modes", 1, True), ("stacked_kl", "KL", 3, False),
                         ("stacked_quality", "quality", 3, True)]
DIAGNOSTICS = [("acceptance_rate", "acceptance"), ("efficiency", "efficiency"),
               ("restarts_per_chain", "restarts/chain"), ("fallback_rate", "fallback rate"), ("d_ece", "D ECE"),
               ("energy_final", "final energy"), ("mean_steps", "mean steps")]
DIAGNOSTICS_TEXT = ("acceptance rate and efficiency (outputs per proposal) of the rejection samplers, MH chains "
                    "restarted for accepting nothing and those that returned their last proposal (fallback), "
                    "MH-GAN's D calibration error (ECE), DDLS's final energy, refinement steps taken (collab).")
ORDER = ["generator", "drs", "mhgan", "ddls_cold", "ddls", "ddls_cal", "collab", "collab_reject", "dot", "dgflow",
         "latent_rs"]  # methods
REAL = "real data (same n)"
OTHERS = ", other metrics and cost"  # how a variants table's caption begins, after the data's name


class Gan(NamedTuple):
    """A table's GAN: rows sort by ``order``, its sample grid is ``file``-itN.png, its cell ``label``."""

    order: tuple[Any, ...]
    file: str
    label: str


Row = list[str]
Recs = list[dict[str, Any]]


@dataclass(frozen=True)
class Layout:
    """What one stacked report shows beyond the shared rows: its GAN column, metrics (the first
    ``headline`` in the main table, the papers' shape; the rest in ``<name>_variants``), cost
    columns of the variants table (``cost_cells`` of a row's records), main-table rows printed above
    a GAN's own (``published``: published numbers) and captions (``caption`` of the table's records,
    for the main table, or for the variants when its second argument is true)."""

    title: str
    gan_column: str
    metrics: list[Metric]
    gan_of: Callable[[dict[str, Any]], Gan]
    cost_header: list[str]
    cost_cells: Callable[[Recs], list[str]]
    caption: Callable[[Recs, bool], str]
    diagnostics_caption: str
    published: Callable[[Gan], list[Row]] = lambda gan: []
    headline: int = 2


Key = tuple[Gan, int, int, str]  # (GAN, training iterations, samples per run, sampler)
Groups = dict[Key, list[tuple[Path, dict[str, Any]]]]


def iterations(record: dict[str, Any]) -> int:
    """The GAN's training iterations from the record's config (0 when unrecorded)."""
    return int(record.get("config", {}).get("gan", {}).get("train", {}).get("iterations", 0))


def _groups(records: Records, dataset: str, layout: Layout) -> Groups:
    """Records by (GAN, length, n, sampler): a GAN's rows at its largest n first."""
    groups = group_records(sample_records(records, dataset),
                           lambda pr: (layout.gan_of(pr[1]), iterations(pr[1]), n_samples(pr[1]) or 0,
                                       pr[1]["run"]["sampler"]),
                           uniform=layout.title)
    rank = rank_in(ORDER)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], -kv[0][2], rank(method(kv[0][3])),
                                                       kv[0][3])))


def span_minutes(recs: Recs) -> tuple[float, float]:
    """(wall minutes from the first run's start to the last one's end, minutes summed over runs)."""
    t = run_time(recs)
    return (float("nan") if t.elapsed is None else t.elapsed), t.summed


def smoke_text(recs: Recs) -> str:
    """The caption's warning when any record is a smoke run."""
    return (" SMOKE RUN: every sampler at its smallest budget (smoke=true), not a result."
            if any(r.get("config", {}).get("smoke") for r in recs) else "")


def _grid_rows(groups: Groups, gan: Gan, its: int, cache: dict[str, torch.Tensor | None]) -> list[tuple[str, Any]]:
    """One GAN's grid rows (:func:`grid_rows`) at the n that most samplers ran, in the table's order."""
    sizes = [n for (g, i, n, _) in groups if (g, i) == (gan, its)]
    size = max(sizes, key=lambda n: (sizes.count(n), -n))
    return grid_rows({sampler: group for (g, i, n, sampler), group in groups.items() if (g, i, n) == (gan, its, size)},
                     cache)


def _run_rows(groups: Groups, layout: Layout) -> tuple[Row, list[Row]]:
    """Every run's own values (a row per record, in the table's order, seeds ascending): what a
    single ``ganmc sample`` run can be checked against."""
    header = [layout.gan_column, "iterations", "n", "method", "seed", *(key for key, _, _, _ in layout.metrics),
              "run folder"]
    rows = []
    for (gan, its, n, sampler), group in groups.items():
        for path, r in sorted(group, key=lambda pr: pr[1]["run"]["seed"]):
            rows.append([gan.label, str(its), str(n), label(sampler), str(r["run"]["seed"]),
                         *(str(r["metrics"].get(key, "")) for key, _, _, _ in layout.metrics), path.parent.name])
    return header, rows


def _titles(metrics: list[Metric]) -> list[str]:
    """Column titles of the metrics, then of their paired Δs vs the generator."""
    return ([f"{title} ({'higher' if higher else 'lower'} better)" for _, title, _, higher in metrics]
            + [f"Δ {title} vs generator" for _, title, _, _ in metrics])


def _cells(group: Recs, base: Recs, sampler: str, metrics: list[Metric]) -> Row:
    """A row's metrics (mean ± std over seeds), then their paired Δs vs the generator (± SE)."""
    return ([metric_cell(group, key).format(d) for key, _, d, _ in metrics]
            + ["–" if sampler == "generator" or not base else delta_text(paired_delta(group, base, key), d)
               for key, _, d, _ in metrics])


def stacked_table(records: Records, out_dir: Path, name: str, dataset: str, layout: Layout) -> list[Path]:
    """The report's table in the papers' shape (the headline metrics, their Δs and n; published rows)
    with its other metrics and cost in ``<name>_variants``, each run's values, the diagnostics
    table and one labelled sample grid per (GAN, length)."""
    groups = _groups(records, dataset, layout)
    recs = [r for group in groups.values() for _, r in group]
    main, rest = layout.metrics[:layout.headline], layout.metrics[layout.headline:]
    header = [layout.gan_column, "iterations", "method", *_titles(main), "n × seeds"]
    more = [layout.gan_column, "iterations", "method", "n", *_titles(rest), *layout.cost_header]
    rows: list[Row] = []
    more_rows: list[Row] = []
    diag_rows: list[Row] = []
    seen: set[Gan] = set()
    for (gan, its, n, sampler), group in groups.items():
        if gan not in seen:
            seen.add(gan)
            rows += layout.published(gan)
        group_recs = [r for _, r in group]
        base = [r for _, r in groups.get((gan, its, n, "generator"), [])]
        ids = [gan.label, str(its), label(sampler)]
        if sampler == "generator":  # the real data at the same n first: the floor of every column
            real = [[metric_cell(group_recs, key.replace("stacked_", "stacked_real_")).format(d)
                     for key, _, d, _ in metrics] for metrics in (main, rest)]
            rows.append([*ids[:2], REAL, *real[0], *["–"] * (len(main) + 1)])
            more_rows.append([*ids[:2], REAL, "–", *real[1], *["–"] * (len(more) - 4 - len(rest))])
        rows.append([*ids, *_cells(group_recs, base, sampler, main), f"{sample_counts(group_recs)} × {len(group_recs)}"])
        more_rows.append([*ids, sample_counts(group_recs), *_cells(group_recs, base, sampler, rest),
                          *layout.cost_cells(group_recs)])
        cells = [metric_cell(group_recs, key) for key, _ in DIAGNOSTICS]
        if any(c.n for c in cells):
            diag_rows.append([*ids, *(c.format(3) if c.n else "–" for c in cells)])
    cache: dict[str, torch.Tensor | None] = {}
    grids = {(gan, its): _grid_rows(groups, gan, its, cache) for gan, its, _, _ in groups}  # before writing
    written = write_table(out_dir / name, header, rows, layout.caption(recs, False),
                          (more, more_rows, layout.caption(recs, True)))
    written.append(write_csv(out_dir / f"{name}_runs.csv", *_run_rows(groups, layout)))
    diag_header = [layout.gan_column, "iterations", "method", *(title for _, title in DIAGNOSTICS)]
    written += write_table(out_dir / f"{name}_diagnostics", diag_header, diag_rows, layout.diagnostics_caption)
    for (gan, its), rows_of_grid in grids.items():
        if rows_of_grid:
            written.append(save_labelled_rows(rows_of_grid, out_dir / f"{name}_samples" / f"{gan.file}-it{its}.png"))
    return written


def _digits_cost(recs: Recs) -> list[str]:
    return [*evals_cells(recs), f"{np.mean([r['timing']['wall_seconds'] for r in recs]):.0f}", str(len(recs))]


def seeds_text(recs: Recs) -> str:
    """The records' seeds, ascending: '0, 1, 2'."""
    return ", ".join(map(str, sorted({r["run"]["seed"] for r in recs})))


def _digits_caption(recs: Recs, variants: bool) -> str:
    """The stacked digits captions: the setting (data, GANs, n, seeds, what ± is), then the columns
    of the main table (modes, KL) or of the variants (quality, cost)."""
    span, summed = span_minutes(recs)
    threshold = sorted({r["metrics"].get("stacked_threshold") for r in recs} - {None})
    accuracy = metric_cell(recs, "classifier_accuracy")
    its = ", ".join(f"{i:,}" for i in sorted({iterations(r) for r in recs}))
    setting = (f"Stacked digits{OTHERS if variants else ''} (three scikit-learn digits as R, G, B: 1,000 modes), GAN "
               f"{', '.join(sorted({r['run']['gan'] for r in recs}))} trained {its} iterations (one GAN per seed), "
               f"n = {sample_counts(recs)} samples per run, seeds {seeds_text(recs)}; cells: mean ± std over seeds; "
               f"Δ: paired difference to the generator by seed ± standard error, * beyond 2 SE. Real data row: the "
               f"same metrics of as many real images. ")
    confident = (f"three channels all get top probability ≥ {', '.join(map(str, threshold)) or '?'} from a digits "
                 f"CNN (hold-out accuracy {accuracy.format(3)}) applied per channel")
    if variants:
        return (setting + f"Quality: share of samples whose {confident}. Cost: G and D evaluations per sample, "
                "seconds per run." + smoke_text(recs))
    return (setting + f"Modes: modes with a sample whose {confident}; KL(generated mode histogram ‖ data's mode "
            f"weights), every sample at its most likely mode. Quality and cost: the variants table. Sweep wall time "
            f"{span:.1f} min ({summed:.1f} min summed over {len(recs)} runs)." + smoke_text(recs))


DIGITS = Layout(
    title="stacked digits table", gan_column="GAN", metrics=METRICS,
    gan_of=lambda r: Gan((r["run"]["gan"],), r["run"]["gan"], r["run"]["gan"]),
    cost_header=["G evals/sample", "D evals/sample", "seconds/run", "seeds"], cost_cells=_digits_cost,
    caption=_digits_caption,
    diagnostics_caption="Sampler diagnostics on stacked digits, mean ± std over seeds: " + DIAGNOSTICS_TEXT)


@report("stacked_digits", lambda a: Uses((a["dataset"],), tuple(k for k, _, _, _ in METRICS)))
def stacked_digits(records: Records, out_dir: Path, name: str = "stacked_digits",
                   dataset: str = "stacked_digits") -> list[Path]:
    """The stacked digits table, its diagnostics table and per-GAN sample grids."""
    return stacked_table(records, out_dir, name, dataset, DIGITS)
