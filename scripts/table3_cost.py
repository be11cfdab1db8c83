"""What Table 3 costs, per phase, and what 50,000 samples per run would cost: from the records of
rehearsals on stand-in files (``scripts/rehearse_table3.py``) and a few measurements in one process.

    python scripts/table3_cost.py run OUT [--ns 64 256 512]   # the rehearsals and measurements
    python scripts/table3_cost.py report OUT DEST.md            # the report from what run wrote

``run``: the full rehearsal (``make rehearse-table3``'s, into OUT/full); the SN-GAN generator at
each n (samples = reference images, the presets' target estimate) into OUT/n{n}; then
OUT/measured.json: FLOPs per image (torch's FlopCounterMode) of G, D, a DDLS step and Inception,
seconds per image of each on this CPU, and Inception images/s at 1 and 2 threads, fast vs stock
(``scripts/bench_inception.py``). ``report`` fits seconds and peak memory against n and
extrapolates each sampler's Table 3 run (its preset's evaluations per sample) to 50,000 samples.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import torch

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import bench_inception  # noqa: E402
import gpu_check  # noqa: E402
import rehearse_table3  # noqa: E402

from ganmc.common import enum_value  # noqa: E402
from ganmc.metrics.inception_fast import FastInception  # noqa: E402

PHASES = ("load", "prepare", "sample", "target", "reference", "metrics")
SAMPLERS = ("generator", "drs", "mhgan", "ddls", "ddls_cal")
FULL = 50_000


def measure(standin: Path, threads: int, batch: int = 16) -> dict[str, Any]:
    """FLOPs and CPU seconds per image of G, D, a DDLS step and Inception; Inception img/s."""
    torch.set_num_threads(threads)
    gan, ddls = gpu_check.sngan(standin, torch.device("cpu"), "ddls")
    z = torch.randn(batch, gan.prior.dim, generator=torch.Generator().manual_seed(0))
    x = gan.generator(z).detach()
    inception = FastInception(bench_inception.load(str(standin.parent.parent / rehearse_table3.INCEPTION_FILE)),
                              bench_inception.LAYERS)
    images = ((x.clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8)
    cpu = torch.device("cpu")
    work = {"G": lambda: gan.generator(z), "D": lambda: gan.discriminator(x),
            "DDLS step": lambda: ddls.energy_and_grad(z), "Inception": lambda: inception(images)}
    out: dict[str, Any] = {"threads": threads, "batch": batch, "flops": {}, "seconds": {}}
    for name, fn in work.items():
        with torch.enable_grad() if name == "DDLS step" else torch.no_grad():
            out["flops"][name] = gpu_check.count_flops(fn) / batch
            out["seconds"][name] = gpu_check.timed(fn, cpu, 3) / batch
    out["load"] = os.getloadavg()[0]
    out["inception_bench"] = bench_inception.bench(None, 16, [32], [1, 2], 16, float64=False)
    return out


def run(out: Path, ns: list[int], parts: list[str]) -> None:
    """The ``parts`` of the study (``full``, ``n``, ``measure``), each into its folder under ``out``."""
    if "full" in parts:
        t0 = time.perf_counter()
        rehearse_table3.main(["--out", str(out / "full")])
        (out / "full" / "rehearsal.json").write_text(json.dumps({"seconds": time.perf_counter() - t0}))
    for n in ns if "n" in parts else []:
        rehearse_table3.main(["--out", str(out / f"n{n}"), "--n", str(n), "--nref", str(n), "--gans", "sngan_resnet32",
                              "--samplers", "generator", "--no-smoke", "--per-batch", str(max(200, -(-n // 5)))])
    if "measure" in parts:
        standin = next((out / "full" / "files").rglob("model.pt"))
        measured = {"threads_2": measure(standin, 2), "threads_1": measure(standin, 1)}
        (out / "measured.json").write_text(json.dumps(measured, indent=1))


def records(folder: Path) -> list[dict[str, Any]]:
    return [json.loads(p.read_text()) for p in sorted(folder.rglob("record.json"))]


def fit(ns: list[int], ys: list[float]) -> tuple[float, float]:
    """(intercept, slope) of the least-squares line through (n, y)."""
    slope, intercept = np.polyfit(np.asarray(ns, float), np.asarray(ys, float), 1)
    return float(intercept), float(slope)


def presets() -> dict[str, Any]:
    """Each Table 3 sampler's preset (experiment=table3 +sampler=NAME)."""
    from hydra import compose, initialize_config_module

    from ganmc.config import register_configs

    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        return {s: compose("sample", overrides=["experiment=table3", f"+sampler={s}"]) for s in SAMPLERS}


def evals(name: str, cfg: Any, drs_acceptance: float) -> dict[str, float]:
    """Forward-equivalent G and D evaluations per sample at a 50,000-sample run (a backward
    counts as one more), from the preset: sampling, plus one-time work spread over 50,000."""
    s, m = cfg.sampler, cfg.metric
    once = 0.0 if enum_value(s.discriminator.kind) == "raw" else s.discriminator.steps * s.discriminator.batch / FULL
    factor = m.sir_factor if m.target else 0  # the exact-target estimate's proposals (table3: on)
    target = {"G": factor, "D": 0 if name == "generator" else factor}
    if name == "generator":
        own = {"G": 1.0, "D": 0.0}
    elif name == "drs":
        own = {"G": 1 / drs_acceptance + s.pilot_n / FULL, "D": 1 / drs_acceptance + s.pilot_n / FULL}
    elif name == "mhgan":
        own = {"G": s.k + s.n_calib / 2 / FULL, "D": s.k + 1 + s.n_calib / FULL}
    else:  # DDLS: every step a forward and backward of G and D
        own = {"G": 2 * (s.n_steps + 1) + 1, "D": 2 * (s.n_steps + 1)}
    # a derived D: per step, G on a batch of fakes and D forward + backward on real and fake
    return {"G": own["G"] + target["G"] + once, "D": own["D"] + target["D"] + 4 * once}


def report(out: Path, dest: Path) -> None:
    measured = json.loads((out / "measured.json").read_text())
    m2 = measured["threads_2"]
    ns = sorted(int(p.name[1:]) for p in out.glob("n*") if p.name[1:].isdigit())
    runs = {n: records(out / f"n{n}")[0] for n in ns}
    lines = ["# Table 3 rehearsal: cost per phase, memory, and 50,000 samples", ""]
    full = json.loads((out / "full" / "rehearsal.json").read_text())
    full_recs = records(out / "full" / "runs")
    lines += [f"`make rehearse-table3` (stand-ins; DCGAN, WGAN-GP and SN-GAN × generator, DRS, MH-GAN, DDLS, "
              f"DDLS (cal) at N = 64, NREF = 128, SMOKE=1): {len(full_recs)} runs, complete Table 3, "
              f"{full['seconds']:.0f} s on this machine (2 cores, torch at 2 threads, load "
              f"{m2['load']:.1f} when measured).", ""]
    lines += ["## Seconds and peak memory per phase (SN-GAN stand-in, generator, samples = reference images)", "",
              "| n | " + " | ".join(f"{p} s" for p in PHASES) + " | wall s | peak RSS MiB (after load → end) |",
              "|---" * (len(PHASES) + 3) + "|"]
    for n, r in runs.items():
        t, rss = r["timing"]["phases"], r["timing"]["peak_rss_mb"]
        lines.append(f"| {n:,} | " + " | ".join(f"{t.get(p, 0.0):.1f}" for p in PHASES)
                     + f" | {r['timing']['wall_seconds']:.1f} | {rss['load']:.0f} → {max(rss.values()):.0f} |")
    slopes = {p: fit(ns, [runs[n]["timing"]["phases"].get(p, 0.0) for n in ns]) for p in PHASES}
    peaks = {n: max(runs[n]["timing"]["peak_rss_mb"].values()) for n in ns}
    batch = int(runs[ns[-1]]["config"]["eval_batch"])
    full_batches = [n for n in ns if 5 * n >= batch]  # the target estimate's G batches at eval_batch
    lines += ["", "Least-squares lines through the three n (seconds = a + b·n):", "",
              "| phase | a (s) | b (ms per sample) | at 50,000 (h, this CPU) |", "|---|---|---|---|"]
    lines += [f"| {p} | {a:.1f} | {b * 1e3:.1f} | {(a + b * FULL) / 3600:.2f} |" for p, (a, b) in slopes.items()]
    lines += ["", f"Peak memory is set by the largest G/D pass, not by n: the target estimate runs G on "
              f"min(5n, eval_batch = {batch:,}) images at a time (an SN-GAN forward holds ~4 MiB of activations per "
              f"image on a CPU). Peak RSS: " + ", ".join(f"{peaks[n]:,.0f} MiB at n = {n}" for n in ns) + "."]
    if len(full_batches) >= 2:
        a, b = full_batches[-2], full_batches[-1]
        slope = (peaks[b] - peaks[a]) / (b - a) * 1024
        lines += [f"Between n = {a} and {b} (both with full batches) it changed by {slope:+.1f} KiB per sample; "
                  f"what must grow is the kept samples and target draws, uint8 (2 × 3 KiB per sample at 32×32): "
                  f"+{2 * 3 * FULL / 2**20:.2f} GiB at 50,000, i.e. ≈ {(peaks[b] + 6 * FULL / 1024) / 1024:.1f} GiB "
                  f"in all (`eval_batch` lower: less)."]
    lines.append("")
    lines += ["## Per image: FLOPs and seconds (this CPU, batch 16)", "",
              "| pass | GFLOP per image | s per image, 2 threads | s per image, 1 thread |", "|---|---|---|---|"]
    m1 = measured["threads_1"]
    lines += [f"| {k} | {v / 1e9:.2f} | {m2['seconds'][k]:.3f} | {m1['seconds'][k]:.3f} |" for k, v in m2["flops"].items()]
    per_proposal = slopes["target"][1] / int(runs[ns[-1]]["config"]["metric"]["sir_factor"])
    lines += ["", f"At the preset's batches (1,000 images per G pass) the runs' target estimate took "
              f"{per_proposal * 1e3:.0f} ms per G evaluation, {per_proposal / m2['seconds']['G']:.1f}× the "
              f"batch-16 figure: on a CPU, large batches run out of cache; set `eval_batch` and `batch_size` to "
              f"16–64 there."]
    bench = [r for r in m2["inception_bench"] if r["size"] == 32]
    lines += ["", "Inception feature pass on 32-px inputs (16 images, random weights, the same run):", "",
              "| threads | pass | images/s | fast / this |", "|---|---|---|---|"]
    lines += [f"| {r['threads']} | {r['pass']} | {r['images_per_s']:.2f} | {r['fast_over_this']:.2f}× |" for r in bench]
    lines.append("")
    drs = [r for r in full_recs if r["run"]["sampler"] == "drs"]
    acc = float(np.mean([r["stats"]["acceptance_rate"] for r in drs])) if drs else 0.05
    lines += ["## 50,000 samples per run (SN-GAN), extrapolated", "",
              f"Evaluations per sample at the Table 3 presets (sampling, the target estimate's "
              f"proposals and one-time work spread over 50,000; DRS at the acceptance the rehearsal's DRS runs "
              f"measured, {acc:.3f}); IS/FID on the samples and the target draws (2 × 50,000 images) plus the "
              f"reference statistics (50,000). CPU: this machine's seconds per image above (2 threads). GPU: "
              f"FLOPs at an H100/H200's dense bf16 peak (989 TFLOP/s) — a lower bound; with the step's measured "
              f"utilisation (`make gpu-check`) divide by it.", "",
              "| sampler | G evals/sample | D evals/sample | CPU days | GPU minutes at bf16 peak |", "|---|---|---|---|---|"]
    flops, secs = m2["flops"], m2["seconds"]
    inception = 3 * FULL
    for name, cfg in presets().items():
        e = evals(name, cfg, acc)
        cpu = FULL * (e["G"] * secs["G"] + e["D"] * secs["D"]) + inception * secs["Inception"]
        gpu = (FULL * (e["G"] * flops["G"] + e["D"] * flops["D"]) + inception * flops["Inception"]) / 989.4e12
        lines.append(f"| {name} | {e['G']:.1f} | {e['D']:.1f} | {cpu / 86400:.2f} | {gpu / 60:.2f} |")
    lines += ["", "The GPU column is the FLOP bound, not a measurement. On a CUDA machine `make gpu-check` runs the "
              "rehearsal at n = 50,000 and the DDLS step benchmark and prints the measured table (one H200's: "
              "[gpu_check_h200.md](gpu_check_h200.md)).", ""]
    dest.write_text("\n".join(lines))
    print(dest.read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    r = sub.add_parser("run")
    r.add_argument("out", type=Path)
    r.add_argument("--ns", type=int, nargs="+", default=[64, 256, 512])
    r.add_argument("--parts", nargs="+", default=["full", "n", "measure"], choices=["full", "n", "measure"])
    p = sub.add_parser("report")
    p.add_argument("out", type=Path)
    p.add_argument("dest", type=Path)
    args = parser.parse_args(argv)
    if args.command == "run":
        run(args.out.resolve(), args.ns, args.parts)
    else:
        report(args.out.resolve(), args.dest)
    return 0


if __name__ == "__main__":
    sys.exit(main())
