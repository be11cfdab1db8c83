"""Stacked digits (1,000 modes): modes found, KL to the mode weights and quality per GAN,
training length and sampler (mean ± std over seeds, paired Δ vs the generator ± SE), the real
data's values at the same n, the samplers' diagnostics, and one grid of samples per GAN."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmc.grid import save_grid
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
    write_table,
)
from ganmc.tables.images import method
from ganmc.tables.labels import label
from ganmc.tables.uses import Uses, report

METRICS = [("stacked_modes", "modes", 1, True), ("stacked_kl", "KL", 3, False), ("stacked_quality", "quality", 3, True)]
DIAGNOSTICS = [("acceptance_rate", "acceptance"), ("efficiency", "efficiency"),
               ("restarts_per_chain", "restarts/chain"), ("fallback_rate", "fallback rate"), ("d_ece", "D ECE"),
               ("energy_final", "final energy"), ("mean_steps", "mean steps")]
GRID_N = 16  # samples per sampler in the grids
ORDER = ["generator", "drs", "mhgan", "ddls_cold", "ddls", "ddls_cal", "collab", "collab_reject", "dot"]  # methods

Key = tuple[str, int, str]  # (GAN, training iterations, sampler)


def _iterations(record: dict[str, Any]) -> int:
    return int(record.get("config", {}).get("gan", {}).get("train", {}).get("iterations", 0))


def _groups(records: Records, dataset: str) -> dict[Key, list[tuple[Path, dict[str, Any]]]]:
    groups = group_records(sample_records(records, dataset),
                           lambda pr: (pr[1]["run"]["gan"], _iterations(pr[1]), pr[1]["run"]["sampler"]),
                           uniform="stacked digits table")
    rank = rank_in(ORDER)
    return dict(sorted(groups.items(), key=lambda kv: (kv[0][0], kv[0][1], rank(method(kv[0][2])), kv[0][2])))


def _span_minutes(recs: list[dict[str, Any]]) -> tuple[float, float]:
    """(wall minutes from the first run's start to the last one's end, minutes summed over runs)."""
    t = [r["timing"] for r in recs if "started_at" in r.get("timing", {})]
    if not t:
        return float("nan"), float("nan")
    return ((max(x["finished_at"] for x in t) - min(x["started_at"] for x in t)) / 60,
            sum(x["wall_seconds"] for x in t) / 60)


def _grid(groups: dict[Key, list[tuple[Path, dict[str, Any]]]], gan: str, its: int, target: Path) -> Path | None:
    """One row of the first :data:`GRID_N` samples of seed 0 per sampler of (gan, its), in the
    table's order (generator first); the DDLS and DOT chains start from the generator's latents."""
    rows = []
    for (g, i, _sampler), group in groups.items():
        if (g, i) != (gan, its):
            continue
        npy = next((p.parent / "samples.npy" for p, r in group if r["run"]["seed"] == 0), None)
        if npy is not None and npy.is_file():
            arr = np.load(npy)[:GRID_N]
            if len(arr) == GRID_N:
                rows.append(torch.from_numpy(arr))
    return save_grid(torch.cat(rows), target, nrow=GRID_N, upscale=3) if rows else None


@report("stacked_digits", lambda a: Uses((a["dataset"],), tuple(k for k, _, _, _ in METRICS)))
def stacked_digits(records: Records, out_dir: Path, name: str = "stacked_digits",
                   dataset: str = "stacked_digits") -> list[Path]:
    """The stacked digits table, its diagnostics table and per-GAN sample grids."""
    groups = _groups(records, dataset)
    recs = [r for group in groups.values() for _, r in group]
    header = ["GAN", "iterations", "method"]
    for _, title, _, higher in METRICS:
        header.append(f"{title} ({'higher' if higher else 'lower'} better)")
    header += [f"Δ {title} vs generator" for _, title, _, _ in METRICS]
    header += ["G evals/sample", "D evals/sample", "seconds/run", "seeds"]
    rows, diag_rows, written = [], [], []
    for (gan, its, sampler), group in groups.items():
        group_recs = [r for _, r in group]
        base = [r for _, r in groups.get((gan, its, "generator"), [])]
        if sampler == "generator":  # the real data at the same n first: the floor of every column
            row = [gan, str(its), "real data (same n)"]
            row += [metric_cell(group_recs, key.replace("stacked_", "stacked_real_")).format(d) for key, _, d, _ in METRICS]
            rows.append(row + ["–"] * (len(header) - len(row)))
        row = [gan, str(its), label(sampler)]
        row += [metric_cell(group_recs, key).format(d) for key, _, d, _ in METRICS]
        row += ["–" if sampler == "generator" or not base else delta_text(paired_delta(group_recs, base, key), d)
                for key, _, d, _ in METRICS]
        row += [*evals_cells(group_recs), f"{np.mean([r['timing']['wall_seconds'] for r in group_recs]):.0f}",
                str(len(group_recs))]
        rows.append(row)
        cells = [metric_cell(group_recs, key) for key, _ in DIAGNOSTICS]
        if any(c.n for c in cells):
            diag_rows.append([gan, str(its), label(sampler), *(c.format(3) if c.n else "–" for c in cells)])
    span, summed = _span_minutes(recs)
    threshold = sorted({r["metrics"].get("stacked_threshold") for r in recs} - {None})
    accuracy = metric_cell(recs, "classifier_accuracy")
    caption = (f"Stacked digits (three scikit-learn digits as R, G, B: 1,000 modes), n = "
               f"{sample_counts(recs)} samples per run, mean ± std over seeds; modes: modes with a sample whose "
               f"three channels all get top probability ≥ {', '.join(map(str, threshold)) or '?'} from a digits CNN "
               f"(hold-out accuracy {accuracy.format(3)}) applied per channel; KL(generated mode histogram ‖ data's "
               f"mode weights), every sample at its most likely mode; quality: share of such confident samples. "
               f"Δ: paired difference to the generator over seeds ± standard error, * beyond 2 SE. "
               f"Real data row: the same metrics of as many real images. Sweep wall time {span:.1f} min "
               f"({summed:.1f} min summed over {len(recs)} runs)."
               + (" SMOKE RUN: every sampler at its smallest budget (smoke=true), not a result."
                  if any(r.get("config", {}).get("smoke") for r in recs) else ""))
    written += write_table(out_dir / name, header, rows, caption)
    diag_header = ["GAN", "iterations", "method", *(title for _, title in DIAGNOSTICS)]
    written += write_table(out_dir / f"{name}_diagnostics", diag_header, diag_rows,
                           "Sampler diagnostics on stacked digits, mean ± std over seeds: acceptance rate and "
                           "efficiency (outputs per proposal) of the rejection samplers, MH chains restarted "
                           "for accepting nothing and those that returned their last proposal (fallback), "
                           "MH-GAN's D calibration error (ECE), DDLS's final energy, refinement steps taken (collab).")
    for gan, its in dict.fromkeys((g, i) for g, i, _ in groups):
        grid = _grid(groups, gan, its, out_dir / f"{name}_samples" / f"{gan}-it{its}.png")
        if grid is not None:
            written.append(grid)
    return written
