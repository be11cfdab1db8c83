"""One command for a GPU: what Table 3 costs there, and whether the image chain is sound on it.

    python scripts/gpu_check.py [--n 50000] [--batch 1000] [--samplers generator,drs,mhgan,ddls,ddls_cal]
    python scripts/gpu_check.py --dry-run          # CPU, tiny n: the same code paths (tests)

1. The Table 3 rehearsal (``scripts/rehearse_table3.py``: stand-in files, the random SN-GAN, the
   very ``make reproduce-table3``) at ``--n`` samples and reference images, one row per sampler
   with the seconds of each phase (sampling, target estimate, reference statistics, IS/FID) and
   the peak memory, read from the runs' records (timing only: the weights are random).
2. The DDLS step (energy and its gradient in latent space) against a bare forward + backward of
   D(G(z)) at ``--batch``, with the step's FLOPs counted by torch's FlopCounterMode and the fraction
   of the device's peak, under fp32, TF32 and bf16 autocast (with each one's largest deviation from fp32).
3. Per-seed determinism: two generator + DDLS runs of one seed agree bit for bit, another seed
   differs; with deterministic kernels (``deterministic=true``, the default) and without.

Prints one table (Markdown) and writes it to ``OUT/gpu_check.md``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import torch
from hydra import compose, initialize_config_module
from torch.utils.flop_counter import FlopCounterMode

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "scripts"))
import rehearse_table3  # noqa: E402

from ganmc.config import register_configs  # noqa: E402
from ganmc.models.adapters import load_foreign  # noqa: E402
from ganmc.models.gan import GAN, build_gan  # noqa: E402
from ganmc.run.gans import set_determinism  # noqa: E402
from ganmc.run.sampler import construct_sampler  # noqa: E402
from ganmc.settings import gan_config  # noqa: E402

# Dense peak TFLOP/s by device name (vendor data sheets): (TF32, bf16).
PEAKS = {"H200": (494.7, 989.4), "H100": (494.7, 989.4), "A100": (156.0, 312.0), "L40S": (183.0, 362.0)}
PHASES = ("prepare", "sample", "target", "reference", "metrics")


def peak_tflops(device: torch.device) -> tuple[float, float] | None:
    """The device's dense (TF32, bf16) peak, when its name is known."""
    if device.type != "cuda":
        return None
    name = torch.cuda.get_device_name(device)
    return next((v for k, v in PEAKS.items() if k in name), None)


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def timed(fn: Callable[[], Any], device: torch.device, repeats: int) -> float:
    """Median seconds of ``fn`` over ``repeats`` calls after one warm-up."""
    fn()
    sync(device)
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        sync(device)
        times.append(time.perf_counter() - t0)
    return sorted(times)[len(times) // 2]


@contextlib.contextmanager
def precision(mode: str, device: torch.device) -> Iterator[None]:
    """fp32 (TF32 off), tf32 (TF32 matmuls and convolutions) or bf16 (autocast)."""
    old = (torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32)
    torch.backends.cuda.matmul.allow_tf32 = torch.backends.cudnn.allow_tf32 = mode == "tf32"
    try:
        if mode == "bf16":
            with torch.autocast(device.type, dtype=torch.bfloat16):
                yield
        else:
            yield
    finally:
        torch.backends.cuda.matmul.allow_tf32, torch.backends.cudnn.allow_tf32 = old


def sngan(path: Path, device: torch.device, sampler: str) -> tuple[GAN, Any]:
    """The stand-in SN-GAN loaded through ganmc's adapter, and the preset ``sampler`` on it."""
    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        cfg = compose("sample", overrides=["experiment=table3", f"gan.checkpoint={path}", f"+sampler={sampler}"])
    gan = load_foreign(path, "pytorch_gan_collections", build_gan(gan_config(cfg), (3, 32, 32), 0)).to(device).eval()
    return gan, construct_sampler(cfg, gan)


def forward_backward(gan: GAN, z: torch.Tensor) -> torch.Tensor:
    """d D(G(z)) / dz by a plain backward pass: the bare cost a DDLS step cannot beat."""
    zz = z.detach().requires_grad_(True)
    gan.discriminator(gan.generator(zz)).sum().backward()
    assert zz.grad is not None
    return zz.grad


def count_flops(fn: Callable[[], Any]) -> int:
    """FLOPs of one call of ``fn`` (torch's FlopCounterMode: matmuls and convolutions)."""
    with FlopCounterMode(display=False) as counter:
        fn()
    return counter.get_total_flops()


def step_rows(path: Path, device: torch.device, batch: int, repeats: int) -> list[list[str]]:
    """The DDLS step against a bare forward + backward of D(G(z)), per precision."""
    gan, ddls = sngan(path, device, "ddls")
    z = torch.randn(batch, gan.prior.dim, generator=torch.Generator().manual_seed(0)).to(device)

    def bare() -> torch.Tensor:
        return forward_backward(gan, z)

    def step() -> tuple[torch.Tensor, torch.Tensor]:
        return ddls.energy_and_grad(z)

    # the step's own FLOPs: a forward and the input's backward half (no weight gradients), ~2/3 of
    # the bare pass's, which also computes the weights' gradients
    flops, bare_flops = count_flops(step), count_flops(bare)
    peaks = peak_tflops(device)
    rows, reference = [], None
    modes = [("fp32", False), ("tf32", False), ("bf16", False), ("tf32", True)]
    if device.type != "cuda":
        modes = modes[:1]
    for mode, deterministic in modes:
        set_determinism(device, deterministic)
        with precision(mode, device):
            t_step = timed(step, device, repeats)
            t_bare = timed(bare, device, repeats)
            grad = step()[1].float()
        reference = grad if reference is None else reference
        dev = float((grad - reference).abs().max() / reference.abs().max().clamp_min(1e-30))
        peak = None if peaks is None else peaks[1] if mode == "bf16" else peaks[0]
        frac = "–" if peak is None or mode == "fp32" else f"{flops / t_step / 1e12 / peak:.1%}"
        rows.append([f"DDLS step, {mode}" + (", deterministic" if deterministic else ""), f"batch {batch}",
                     f"{t_step * 1e3:.1f} ms",
                     f"bare D(G(z)) fwd+bwd {t_bare * 1e3:.1f} ms (step/bare {t_step / t_bare:.2f})",
                     f"step {flops / batch / 1e9:.2f} GFLOP/image (bare {bare_flops / batch / 1e9:.2f}), "
                     f"{flops / t_step / 1e12:.1f} TFLOP/s, peak {frac}",
                     f"max rel. grad deviation from fp32 {dev:.1e}"])
    return rows


def determinism_rows(path: Path, device: torch.device, n: int) -> list[list[str]]:
    """Generator and DDLS samples of one seed twice (equal?) and of another seed (different?)."""
    rows = []
    for deterministic, sampler in [(d, s) for d in (False, True) for s in ("generator", "ddls")]:
        set_determinism(device, deterministic)
        _, s = sngan(path, device, sampler)
        s.cfg.n_steps = min(getattr(s.cfg, "n_steps", 0), 5)  # a short chain shows the same thing
        runs = [s.sample(n, torch.Generator().manual_seed(seed)).samples.float().cpu() for seed in (0, 0, 1)]
        same = bool(torch.equal(runs[0], runs[1]))
        differs = not torch.equal(runs[0], runs[2])
        rows.append([f"determinism, {sampler}, deterministic={str(deterministic).lower()}", f"n {n}",
                     "same seed: " + ("bit-identical" if same else
                                      f"differs (max {float((runs[0] - runs[1]).abs().max()):.1e})"),
                     "other seed: " + ("differs" if differs else "IDENTICAL (wrong)"), "", ""])
    return rows


def rehearsal_rows(out: Path, n: int, samplers: str, smoke: bool) -> tuple[list[list[str]], Path]:
    """Run the rehearsal with the SN-GAN alone at ``n``; one row per sampler from its record."""
    args = ["--out", str(out / "rehearsal"), "--n", str(n), "--nref", str(n), "--gans", "sngan_resnet32",
            "--per-batch", str(max(20, -(-n // 5))), "--samplers", samplers, *([] if smoke else ["--no-smoke"])]
    if rehearse_table3.main(args) != 0:
        sys.exit("gpu_check: the rehearsal failed")
    rows = []
    for record in sorted((out / "rehearsal" / "runs").rglob("record.json")):
        r = json.loads(record.read_text())
        t = r["timing"]
        phases = ", ".join(f"{p} {t.get('phases', {}).get(p, 0.0):.1f}" for p in PHASES)
        peak = t.get("peak_rss_mb", {})
        gpu = max((v for k, v in peak.items() if k.endswith("_gpu")), default=None)
        rows.append([f"Table 3 run, {r['run']['sampler']}", f"n {r['run']['n_samples']}",
                     f"{t['wall_seconds']:.1f} s", f"phases (s): {phases}",
                     f"peak RSS {max(peak.values(), default=0.0):.0f} MiB" + (f", GPU {gpu:.0f} MiB" if gpu else ""),
                     f"G/D evals per sample {t['evals_per_sample']['G']:.0f}/{t['evals_per_sample']['D']:.0f}"])
    standin = out / "rehearsal" / "files"
    return rows, next(p for p in standin.rglob("*.pt") if "sngan" in str(p.relative_to(standin)))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=50000, help="samples (and reference images) per run")
    parser.add_argument("--batch", type=int, default=1000, help="chains in the DDLS step benchmark")
    parser.add_argument("--samplers", default="generator,drs,mhgan,ddls,ddls_cal")
    parser.add_argument("--smoke", action="store_true", help="samplers at their smallest budgets")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "gpu-check")
    parser.add_argument("--dry-run", action="store_true", help="CPU, tiny n and batch, smoke budgets: the same paths")
    args = parser.parse_args(argv)
    if args.dry_run:
        args.n, args.batch, args.repeats, args.smoke = 10, 2, 1, True
        args.samplers = "generator,ddls"
        device = torch.device("cpu")
    elif torch.cuda.is_available():
        device = torch.device("cuda")
    else:
        sys.exit("gpu_check: no CUDA device here (use --dry-run to rehearse it on the CPU)")
    # cuBLAS's fixed workspace before its first handle; each check then sets its own mode
    set_determinism(device, True)
    header = "| check | size | time | detail | compute | note |\n|---|---|---|---|---|---|\n"
    rows, standin = rehearsal_rows(args.out.resolve(), args.n, args.samplers, args.smoke)
    rows += step_rows(standin, device, args.batch, args.repeats)
    rows += determinism_rows(standin, device, min(args.n, 64))
    name = torch.cuda.get_device_name(device) if device.type == "cuda" else "CPU (dry run)"
    text = (f"gpu_check on {name}, torch {torch.__version__}{', dry run' if args.dry_run else ''}\n\n"
            + header + "".join("| " + " | ".join(r) + " |\n" for r in rows))
    print(text)
    (args.out / "gpu_check.md").write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())
