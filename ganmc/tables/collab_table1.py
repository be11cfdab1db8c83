"""Collaborative sampling, Table 1: which D diagnostic predicts the gain of the rejection step?

Records: MH-GAN runs on imbal8 (collab metrics) whose D was fine-tuned for different numbers
of iterations (``sampler.discriminator.steps``, kind ``calibrated``), each carrying the diagnostics of the D it used
(``d_z_stat``, ``d_ece``, ``d_brier``), and generator-only runs of the same seeds. The gain of
the rejection step is MH minus generator on good %, KL and JS (negative is an improvement for
KL and JS). For each diagnostic, Pearson's and Spearman's correlation with each gain over all
(seed, iterations) points, with two-sided p-values (scipy), beside the paper's values.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

from scipy import stats

from ganmc.errors import GanmcError
from ganmc.tables.build import write_table
from ganmc.tables.uses import Uses, report

DIAGNOSTICS = [("d_z_stat", "Z (Dawid)"), ("d_ece", "ECE"), ("d_brier", "Brier")]
GAINS = [("good_percent", "ΔGood"), ("kl", "ΔKL"), ("js", "ΔJS")]
# Liu et al. 2020, Table 1: (Pearson, p, Spearman, p) per gain, rows Z, ECE, BS.
PAPER = {
    "d_z_stat": [(0.02, 0.72, 0.11, 0.52), (0.15, 0.30, -0.01, 0.37), (0.07, 0.41, -0.06, 0.35)],
    "d_ece": [(-0.18, 0.54, -0.16, 0.55), (0.32, 0.25, 0.20, 0.42), (0.31, 0.35, 0.24, 0.47)],
    "d_brier": [(-0.68, 0.01, -0.72, 0.01), (0.51, 0.04, 0.46, 0.12), (0.77, 0.00, 0.77, 0.00)],
}


def _method(record: dict[str, Any]) -> str:
    run = record.get("run", {})
    return str(run.get("method", run.get("sampler")))


def _is_collab(record: dict[str, Any]) -> bool:
    run = record.get("run", {})
    return record.get("command") == "sample" and run.get("dataset") == "imbal8" and "js" in record.get("metrics", {})


def gain_points(records: list[dict[str, Any]]) -> list[dict[str, float]]:
    """One point per MH-GAN record with diagnostics: its fine-tuning steps, diagnostics and gains."""
    base = {r["run"].get("seed"): r["metrics"] for r in records
            if _is_collab(r) and _method(r) == "generator"}
    points = []
    for r in records:
        if not _is_collab(r) or _method(r) != "mhgan" or "d_brier" not in r.get("stats", {}):
            continue
        seed = r["run"].get("seed")
        if seed not in base:
            raise GanmcError(f"collab_table1: MH-GAN record of seed {seed} has no generator record of that seed")
        d = r.get("config", {}).get("sampler", {}).get("discriminator", {})
        steps = d.get("steps", 0) if d.get("kind") == "calibrated" else 0
        point = {"seed": float(seed), "finetune_steps": float(steps)}
        point.update({k: float(r["stats"][k]) for k, _ in DIAGNOSTICS})
        point.update({f"delta_{k}": float(r["metrics"][k]) - float(base[seed][k]) for k, _ in GAINS})
        points.append(point)
    return sorted(points, key=lambda p: (p["seed"], p["finetune_steps"]))


def correlations(points: list[dict[str, float]], diag: str, gain: str) -> tuple[float, float, float, float]:
    """Pearson r, p and Spearman rho, p of ``diag`` against ``delta_<gain>`` (nan when undefined)."""
    pairs = [(p[diag], p[f"delta_{gain}"]) for p in points if math.isfinite(p[diag]) and math.isfinite(p[f"delta_{gain}"])]
    xs, ys = [a for a, _ in pairs], [b for _, b in pairs]
    if len(pairs) < 3 or len(set(xs)) < 2 or len(set(ys)) < 2:
        return (math.nan,) * 4
    pr, pp = stats.pearsonr(xs, ys)
    sr, sp = stats.spearmanr(xs, ys)
    return float(pr), float(pp), float(sr), float(sp)


def _fmt(r: float, p: float) -> str:
    return "n/a" if math.isnan(r) else f"{r:.2f} ({p:.2f})"


@report("collab_table1", Uses(("imbal8",), ("d_brier",), _is_collab, "(MH-GAN runs with D diagnostics beside generator runs)"))
def collab_table1(records: list[tuple[Path, dict[str, Any]]], out_dir: Path) -> list[Path]:
    """Write ``collab_table1.{md,csv,tex}`` (correlations) and ``collab_table1_points.*`` (the data)."""
    points = gain_points([r for _, r in records])
    if not points:
        raise GanmcError("collab_table1: no MH-GAN records with D diagnostics on imbal8 among the records")
    header = ["diagnostic"] + [f"{title} {kind}" for _, title in GAINS for kind in ("Pearson", "Spearman")] \
        + ["paper " + title for _, title in GAINS]
    rows = []
    for diag, name in DIAGNOSTICS:
        cells, paper = [], []
        for (gain, _), ref in zip(GAINS, PAPER[diag]):
            pr, pp, sr, sp = correlations(points, diag, gain)
            cells += [_fmt(pr, pp), _fmt(sr, sp)]
            paper.append(f"{ref[0]:.2f} ({ref[1]:.2f}) / {ref[2]:.2f} ({ref[3]:.2f})")
        rows.append([name, *cells, *paper])
    seeds = sorted({int(p["seed"]) for p in points})
    caption = (f"Correlation (p-value) between D diagnostics and the gain of the MH rejection step (MH minus "
               f"generator) over {len(points)} discriminators (fine-tuning steps x seeds {seeds}); imbalanced "
               "8 Gaussians, NS-GAN at 1k iterations. Paper: Pearson / Spearman. Paper's claim: only Brier "
               "correlates significantly (p <= 0.05).")
    written = write_table(Path(out_dir) / "collab_table1", header, rows, caption)
    keys = ["seed", "finetune_steps"] + [k for k, _ in DIAGNOSTICS] + [f"delta_{k}" for k, _ in GAINS]
    data = [[str(int(p[k])) if k in ("seed", "finetune_steps") else f"{p[k]:.4f}" for k in keys] for p in points]
    written += write_table(Path(out_dir) / "collab_table1_points", keys, data,
                           "Per-discriminator diagnostics and rejection-step gains behind collab_table1.")
    return written
