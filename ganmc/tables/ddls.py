"""The DDLS paper's synthetic tables (Tables 1 and 2) and figures, from records only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np

from ganmc.tables.build import Cell, group_records, metric_cell, write_table
from ganmc.tables.figures import scatter_grid

Records = list[tuple[Path, dict[str, Any]]]

# Paper values: (mean, std) from REFERENCE.md / the DDLS paper.
PAPER_T1 = {
    "generator": {"modes_recovered": (24.8, 0.2), "hq_percent": (70.0, 9.0), "hq_std": (0.11, 0.01)},
    "drs": {"modes_recovered": (24.8, 0.2), "hq_percent": (90.0, 2.0), "hq_std": (0.10, 0.01)},
    "ddls": {"modes_recovered": (24.8, 0.2), "hq_percent": (98.0, 2.0), "hq_std": (0.10, 0.01)},
}
PAPER_T2 = {  # EMD: (25 Gaussians, Swiss roll)
    "generator": ((0.043, 0.004), (0.026, 0.003)),
    "dot": ((0.052, 0.010), (0.020, 0.006)),
    "ddls": ((0.036, 0.004), (0.020, 0.005)),
}
# Our sampler presets -> (row label, paper row).
LABELS = {
    "generator": ("generator only", "generator"),
    "drs": ("DRS (raw D)", "drs"),
    "drs_cal": ("DRS (calibrated D)", "drs"),
    "dot": ("DOT", "dot"),
    "ddls": ("DDLS (raw D)", "ddls"),
    "ddls_cal": ("DDLS (calibrated D)", "ddls"),
}


def _fmt(value: tuple[float, float] | None, digits: int) -> str:
    return "–" if value is None else f"{value[0]:.{digits}f} ± {value[1]:.{digits}f}"


def _diff(ours: Cell, paper: tuple[float, float] | None, digits: int) -> str:
    if paper is None or ours.n == 0:
        return "–"
    return f"{ours.mean - paper[0]:+.{digits}f}"


def _sample_records(records: Records, dataset: str) -> Records:
    return [(p, r) for p, r in records if r.get("command") == "sample" and r["run"]["dataset"] == dataset]


def _by_sampler(records: Records) -> dict[str, list[dict[str, Any]]]:
    groups = group_records((r for _, r in records), lambda r: r["run"]["sampler"])
    order = list(LABELS) + sorted(k for k in groups if k not in LABELS)
    return {k: groups[k] for k in order if k in groups}


def _samples(records: Records, sampler: str, seed: int = 0) -> np.ndarray | None:
    for path, r in records:
        if r["run"]["sampler"] == sampler and r["run"]["seed"] == seed and (path.parent / "samples.npy").is_file():
            return np.load(path.parent / "samples.npy")
    return None


def _sir(group: list[dict[str, Any]], metric: str) -> Cell:
    return metric_cell([{"metrics": r.get("target_metrics", {}).get("sir", {})} for r in group], metric)


def _wall(records: Records) -> str:
    """Summed wall time of the runs behind a table and, when the records carry start and finish
    times, the elapsed time from the first start to the last finish (runs may overlap)."""
    timings = [r.get("timing", {}) for _, r in records]
    total = sum(t.get("wall_seconds", 0.0) for t in timings)
    text = f"{total / 60:.1f} min summed over {len(records)} runs"
    if timings and all("started_at" in t and "finished_at" in t for t in timings):
        elapsed = max(t["finished_at"] for t in timings) - min(t["started_at"] for t in timings)
        threads = sorted({r.get("provenance", {}).get("cpu_threads") for _, r in records} - {None})
        text += (f", {elapsed / 60:.1f} min elapsed"
                 + (f" ({'/'.join(map(str, threads))} thread(s) per run)" if threads else ""))
    return text


def _iterations(records: Records) -> str:
    its = sorted({r["run"]["train_iterations"] for _, r in records})
    return ", ".join(str(i) for i in its)


def table1(records: Records, out_dir: Path) -> list[Path]:
    """Table 1: recovered modes, % high quality, std of HQ samples on 25 Gaussians."""
    recs = _sample_records(records, "gaussians25")
    header = ["method", "modes (paper)", "modes (ours)", "%HQ (paper)", "%HQ (ours)", "Δ %HQ",
              "HQ std (paper)", "HQ std (ours)", "%HQ of exact target (SIR)", "G evals/sample",
              "D evals/sample", "seeds"]
    rows = []
    for sampler, group in _by_sampler(recs).items():
        label, paper_key = LABELS.get(sampler, (sampler, None))
        paper = PAPER_T1.get(paper_key or "")
        hq = metric_cell(group, "hq_percent")
        sir = _sir(group, "hq_percent")
        evals = [r["timing"]["evals_per_sample"] for r in group]
        rows.append([
            label,
            _fmt(paper and paper["modes_recovered"], 1), metric_cell(group, "modes_recovered").format(1),
            _fmt(paper and paper["hq_percent"], 0), hq.format(1), _diff(hq, paper and paper["hq_percent"], 1),
            _fmt(paper and paper["hq_std"], 2), metric_cell(group, "hq_std").format(4),
            sir.format(1) if sir.n else "–",
            f"{np.mean([e['G'] for e in evals]):.1f}", f"{np.mean([e['D'] for e in evals]):.1f}",
            str(len(group)),
        ])
    caption = ("DDLS Table 1, 25 Gaussians, 10,000 samples per seed, mean ± std over seeds (each seed "
               f"trains its own WGAN-GP for {_iterations(recs)} iterations). HQ = within 4 std of the "
               "nearest centre. HQ std: pooled per-coordinate std of HQ samples in data units (data std "
               "0.0177); the paper's 0.11 is in unstated units. "
               f"Sampling and metrics took {_wall(recs)} (from the records).")
    written = write_table(out_dir / "table1", header, rows, caption)
    panels = [("real", _real(recs)), *[(LABELS.get(s, (s,))[0], _samples(recs, s)) for s in _by_sampler(recs)]]
    written.append(scatter_grid([("25 Gaussians (seed 0)", panels)], out_dir / "table1.png"))
    return written


def _real(recs: Records) -> np.ndarray | None:
    """Real samples for the figure: drawn afresh from the records' data set config, seed 0."""
    if not recs:
        return None
    import torch
    from hydra.utils import instantiate

    dataset = instantiate(recs[0][1]["config"]["dataset"])
    return dataset.sample(5000, torch.Generator().manual_seed(0)).numpy()


def table2(records: Records, out_dir: Path) -> list[Path]:
    """Table 2: EMD to the true distribution on 25 Gaussians and Swiss roll, with the floor."""
    header = ["method"]
    sets = [("gaussians25", "25 Gaussians", 0), ("swissroll", "Swiss roll", 1)]
    for _, title, _ in sets:
        header += [f"{title} EMD (paper)", f"{title} EMD (ours)", f"{title} Δ", f"{title} real-vs-real floor"]
    per_set = {name: _by_sampler(_sample_records(records, name)) for name, _, _ in sets}
    samplers = list(dict.fromkeys(s for groups in per_set.values() for s in groups))
    rows = []
    for sampler in samplers:
        label, paper_key = LABELS.get(sampler, (sampler, None))
        row = [label]
        for name, _, i in sets:
            group = per_set[name].get(sampler, [])
            paper = PAPER_T2[paper_key][i] if paper_key in PAPER_T2 else None
            ours = metric_cell(group, "emd")
            row += [_fmt(paper, 3), ours.format(4), _diff(ours, paper, 4), metric_cell(group, "emd_floor").format(4)]
        rows.append(row)
    ns = sorted({r["metrics"].get("emd_n") for _, r in _sample_records(records, "gaussians25")
                 + _sample_records(records, "swissroll") if "emd" in r.get("metrics", {})})
    caption = ("DDLS Table 2: EMD (exact OT, POT, Euclidean cost W1) between generated samples and "
               f"fresh real samples, n = {', '.join(str(n) for n in ns)} per side, mean ± std over seeds. "
               "The floor is the EMD between two independent real draws of the same size: no sampler "
               "can go below it, so differences smaller than its spread cannot be read. "
               f"Sampling and metrics took {_wall(_sample_records(records, 'gaussians25') + _sample_records(records, 'swissroll'))} "
               "(from the records).")
    written = write_table(out_dir / "table2", header, rows, caption)
    fig_rows = []
    for name, title, _ in sets:
        recs = _sample_records(records, name)
        fig_rows.append((title, [("real", _real(recs)), *[(LABELS.get(s, (s,))[0], _samples(recs, s))
                                                           for s in per_set[name]]]))
    written.append(scatter_grid(fig_rows, out_dir / "table2.png"))
    return written


def progress(records: Records, out_dir: Path) -> list[Path]:
    """%HQ and EMD against training iterations for each sampler (a figure the papers lack)."""
    from ganmc.tables.figures import curves

    recs = _sample_records(records, "gaussians25")
    groups = _by_sampler(recs)
    its = sorted({r["run"]["train_iterations"] for _, r in recs})
    header = ["method", *[f"{i} it. %HQ" for i in its], *[f"{i} it. EMD" for i in its]]
    rows, series_hq, series_emd = [], {}, {}
    for sampler, group in groups.items():
        label = LABELS.get(sampler, (sampler,))[0]
        by_it = group_records(group, lambda r: r["run"]["train_iterations"])
        hq = [metric_cell(by_it.get(i, []), "hq_percent") for i in its]
        emd = [metric_cell(by_it.get(i, []), "emd") for i in its]
        rows.append([label, *(c.format(1) for c in hq), *(c.format(4) for c in emd)])
        series_hq[label] = ([float(i) for i in its], [c.mean for c in hq], [c.std for c in hq])
        series_emd[label] = ([float(i) for i in its], [c.mean for c in emd], [c.std for c in emd])
    caption = ("25 Gaussians: quality against WGAN-GP training iterations, mean ± std over seeds; "
               "where discriminator-driven sampling helps and where it stops helping.")
    written = write_table(out_dir / "table1_progress", header, rows, caption)
    written.append(curves(series_hq, "generator training iterations", "% high quality",
                          out_dir / "table1_progress_hq.png"))
    if any(not np.isnan(m) for s in series_emd.values() for m in s[1]):
        written.append(curves(series_emd, "generator training iterations", "EMD (W1)",
                              out_dir / "table1_progress_emd.png"))
    return written
