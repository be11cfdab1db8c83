"""Collaborative sampling, Figure 10 on digits: cs and fd of refined samples against the number of
discriminator-shaping iterations (0: the raw D), beside the generator alone, from records."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ganmc.tables.build import (
    Records,
    delta_text,
    group_records,
    metric_cell,
    paired_delta,
    sample_counts,
    sample_records,
    write_table,
)
from ganmc.tables.figures import curve_panels
from ganmc.tables.uses import Uses, report

METRICS = [("cs", "cs (higher better)", 3), ("fd", "fd (lower better)", 3)]


def _shaping_steps(record: dict[str, Any]) -> int | None:
    """The record's shaping iterations (0: raw D); None for the generator alone."""
    sampler = record.get("config", {}).get("sampler")
    if sampler is None:
        return None
    d = sampler.get("discriminator") or {}
    return 0 if d.get("kind") != "shaped" else int(d.get("steps", 0))


@report("collab_fig10", lambda a: Uses((a["dataset"],), tuple(k for k, _, _ in METRICS)))
def collab_fig10(records: Records, out_dir: Path, name: str = "collab_fig10", dataset: str = "digits") -> list[Path]:
    """Table and figure: per shaping length, cs and fd mean ± std over seeds, paired Δ to the raw D."""
    recs = sample_records(records, dataset)
    gen = [r for _, r in recs if r["run"]["sampler"] == "generator"]
    groups = group_records([pr for pr in recs if pr[1]["run"]["sampler"] != "generator"],
                           lambda pr: _shaping_steps(pr[1]), uniform="collab_fig10 table")
    groups = {k: [r for _, r in v] for k, v in sorted(groups.items())}
    raw = groups.get(0, [])
    header = ["D", "shaping iterations", *(t for _, t, _ in METRICS), *(f"Δ {k} vs raw D" for k, _, _ in METRICS),
              "seeds"]
    rows = [["generator alone", "–", *(metric_cell(gen, k).format(d) for k, _, d in METRICS),
             *(["–"] * len(METRICS)), str(len(gen))]] if gen else []
    for steps, group in groups.items():
        deltas = ["–" if steps == 0 or not raw else delta_text(paired_delta(group, raw, k)) for k, _, _ in METRICS]
        rows.append(["raw" if steps == 0 else "shaped", str(steps),
                     *(metric_cell(group, k).format(d) for k, _, d in METRICS), *deltas, str(len(group))])
    every = [r for _, r in recs]
    caption = (f"Collaborative sampling, Figure 10 on digits: refinement (20 SGD steps of 0.1 at the generator's "
               f"middle layer, median stopping rule) with D shaped for the given iterations (0: the raw D), "
               f"n = {sample_counts(every)} samples per run, mean ± std over seeds; Δ: paired difference to the "
               f"raw D ± standard error, * beyond 2 SE.")
    written = write_table(out_dir / name, header, rows, caption)
    if groups:
        xs = list(groups)
        panels = []
        for key, title, _ in METRICS:
            cells = [metric_cell(groups[s], key) for s in xs]
            series = {"refined (collab)": (xs, [c.mean for c in cells], [c.std for c in cells])}
            if gen:
                g = metric_cell(gen, key)
                series["generator alone"] = (xs, [g.mean] * len(xs), [g.std] * len(xs))
            panels.append([(title, series)])
        written.append(curve_panels(panels, "discriminator-shaping iterations", [t for _, t, _ in METRICS],
                                    out_dir / f"{name}.png"))
    return written
