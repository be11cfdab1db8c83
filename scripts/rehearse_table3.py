"""Rehearse DDLS Table 3 end to end on stand-in files in the real formats, no data needed.

1. ``scripts/table3_standins.py`` writes a CIFAR-10 pickle tarball, a torch-fidelity Inception
   state dict with random values and a pytorch-gan-collections SN-GAN ``model.pt`` (code
   independent of ganmc's loaders and models);
2. ``ganmc train`` trains DCGAN and WGAN-GP a few dozen iterations on the stand-in data;
3. the very ``make reproduce-table3 CIFAR10=... INCEPTION=... SNGAN_CKPT=... DCGAN_CKPT=...
   WGAN_CKPT=... N=... NREF=... SMOKE=1 RUNS=... RESULTS=...`` a user runs, with the cache
   (reference statistics, derived Ds) under the rehearsal folder.

It ends with ``RESULTS/table3.{md,csv,tex}`` and prints the table and the time taken.

    python scripts/rehearse_table3.py [--out out/rehearse-table3] [--n 64] [--nref 128]
        [--gans "dcgan32 wgan_gp_dcgan32 sngan_resnet32"] [--samplers generator,ddls] [--no-smoke]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
GANS = ("dcgan32", "wgan_gp_dcgan32", "sngan_resnet32")
CKPT_VARS = {"dcgan32": "DCGAN_CKPT", "wgan_gp_dcgan32": "WGAN_CKPT", "sngan_resnet32": "SNGAN_CKPT"}
INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"


def run(cmd: list[str], env: dict[str, str]) -> None:
    """Run ``cmd`` from the repository root; stop the rehearsal with its exit code on failure."""
    print("+ " + " ".join(cmd), flush=True)
    proc = subprocess.run(cmd, cwd=ROOT, env=env)
    if proc.returncode != 0:
        sys.exit(f"rehearse-table3: step failed (exit {proc.returncode}): {' '.join(cmd[:4])} ...")


def standins(folder: Path, per_batch: int, env: dict[str, str]) -> dict[str, Path]:
    """Write the stand-in files; return the paths of the data, Inception weights and SN-GAN."""
    # one training step of pytorch-gan-collections' loop: real optimiser states, random weights
    run([sys.executable, "scripts/table3_standins.py", str(folder), "--per-batch", str(per_batch),
         "--sngan-steps", "1", "--n-dis", "1"], env)
    sngan = sorted(p for p in folder.rglob("*.pt") if "sngan" in str(p.relative_to(folder)))
    paths = {"data": folder / "cifar-10-python.tar.gz", "inception": folder / INCEPTION_FILE,
             "sngan": sngan[0] if sngan else folder / "sngan" / "model.pt"}
    missing = [str(p) for p in paths.values() if not p.is_file()]
    if missing:
        sys.exit(f"rehearse-table3: the stand-in writer did not write {', '.join(missing)}")
    return paths


def train(gan: str, data: Path, iterations: int, out: Path, env: dict[str, str]) -> Path:
    """Train ``gan`` on the stand-in data for ``iterations``; the path of its checkpoint."""
    run_dir = out / "train" / gan
    run([sys.executable, "-m", "ganmc.cli", "train", f"gan={gan}", "dataset=cifar10", f"dataset.root={data}",
         f"gan.train.iterations={iterations}", "gan.train.grid_every=0", "seed=0", "plot=false",
         f"cache_dir={out / 'cache'}", "checkpoint_dirs=[]", f"hydra.run.dir={run_dir}"], env)
    return Path(json.loads((run_dir / "record.json").read_text())["checkpoint"])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--out", type=Path, default=ROOT / "out" / "rehearse-table3")
    parser.add_argument("--n", type=int, default=64, help="samples per run (make N)")
    parser.add_argument("--nref", type=int, default=128, help="reference images (make NREF)")
    parser.add_argument("--gans", default=" ".join(GANS), help="space-separated (make TABLE3_GANS)")
    parser.add_argument("--samplers", default="", help="comma-separated (make TABLE3_SAMPLERS; default: all five)")
    parser.add_argument("--no-smoke", action="store_true", help="the samplers' full budgets (no SMOKE=1)")
    parser.add_argument("--per-batch", type=int, default=200, help="stand-in CIFAR-10 images per batch file")
    parser.add_argument("--train-iterations", type=int, default=30, help="DCGAN / WGAN-GP stand-in training")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    out = args.out.resolve()
    shutil.rmtree(out, ignore_errors=True)
    out.mkdir(parents=True)
    env = {**os.environ, "GANMC_CACHE": str(out / "cache"), "TORCH_HOME": str(out / "torch")}
    files = standins(out / "files", args.per_batch, env)
    gans = args.gans.split()
    unknown = [g for g in gans if g not in GANS]
    if unknown:
        sys.exit(f"rehearse-table3: unknown GAN {unknown[0]!r} (known: {', '.join(GANS)})")
    ckpts = {"sngan_resnet32": files["sngan"]}
    for gan in ("dcgan32", "wgan_gp_dcgan32"):
        if gan in gans:
            ckpts[gan] = train(gan, files["data"].parent, args.train_iterations, out, env)
    # the Python running this script runs ganmc too (the venv here; python3 on a machine without one)
    make = ["make", "--no-print-directory", "reproduce-table3", "NO_INSTALL=1", f"PY={sys.executable}",
            f"GANMC={sys.executable} -m ganmc.cli", f"CIFAR10={files['data'].parent}",
            f"INCEPTION={files['inception']}", f"TABLE3_GANS={' '.join(gans)}", f"N={args.n}", f"NREF={args.nref}",
            f"RUNS={out / 'runs'}", f"RESULTS={out / 'results'}",
            *(f"{CKPT_VARS[g]}={ckpts[g]}" for g in gans), *([] if args.no_smoke else ["SMOKE=1"]),
            *([f"TABLE3_SAMPLERS={args.samplers}"] if args.samplers else [])]
    run(make, env)
    tables = [out / "results" / f"table3.{ext}" for ext in ("md", "csv", "tex")]
    missing = [str(p) for p in tables if not p.is_file()]
    if missing:
        sys.exit(f"rehearse-table3: no table written ({', '.join(missing)})")
    print(tables[0].read_text())
    print(f"rehearse-table3: complete in {time.perf_counter() - start:.0f} s "
          f"({len(gans)} GAN(s), n = {args.n}, reference n = {args.nref}); tables in {out / 'results'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
