"""Regression check for refactors: run a fixed set of small sampling runs (every sampler preset,
2-D and digits data, shipped checkpoints) and write what they produced, so that two code versions
can be compared number for number.

    python scripts/golden_runs.py run OUT.json [--work DIR]   # the runs of this checkout
    python scripts/golden_runs.py compare A.json B.json       # exit 1 on any difference
    python scripts/golden_runs.py records OLD_RUNS NEW_RUNS [--rename OLD NEW ...]
                                                              # two runs/ trees, record by record

Each entry holds the sha256 of ``samples.npy`` and the record's metrics, target metrics, target
diagnostics and statistics; timings, paths and the checkout's own location are left out.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

T1 = "experiment=table1 gan.train.iterations=2500 seed=0 n_samples=2000"
FIG4 = "experiment=collab_fig4 seed=0 n_samples=2000"
DIGITS = "experiment=digits gan=dcgan32 seed=0 n_samples=200 batch_size=200"
RUNS: dict[str, str] = {
    **{f"t1-{s.replace('/', '-')}": f"{T1} +sampler={s}" for s in (
        "generator", "drs", "drs_cal", "ddls_unit", "ddls_cal", "ddls", "study/ddls", "mhgan", "dot", "collab",
        "collab_reject")},
    "t2-swissroll-ddls": "experiment=table2 dataset=swissroll gan.train.iterations=10000 seed=1 n_samples=2000 "
                         "+sampler=ddls",
    **{f"fig4-{s}": f"{FIG4} +sampler={s}" for s in ("generator", "mhgan_tuned", "collab_shaped",
                                                      "collab_reject_shaped")},
    **{f"digits-{s}": f"{DIGITS} +sampler={s}" for s in ("generator", "drs_digits", "mhgan_digits", "ddls_digits",
                                                         "collab_digits")},
    "default-ddls": "+sampler=ddls n_samples=2000",
}
_DROP = ("seconds", "_checkpoint", "wall", "time")


def _clean(value: Any) -> Any:
    """The record part without timings and file paths (they differ between checkouts)."""
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items() if not any(d in k for d in _DROP)}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def entry(record_path: Path) -> dict[str, Any]:
    """What a run produced: the samples' sha256 and the record's cleaned numbers."""
    record = json.loads(record_path.read_text())
    samples = record_path.parent / "samples.npy"
    return {"samples_sha256": hashlib.sha256(samples.read_bytes()).hexdigest() if samples.is_file() else None,
            **{k: _clean(record.get(k)) for k in ("metrics", "target_metrics", "target", "stats")}}


def run_all(out: Path, work: Path, only: list[str]) -> None:
    """Run every entry of RUNS (or those named in ``only``) and write their outputs to ``out``."""
    cache = work / "cache"
    results: dict[str, Any] = {}
    for name, overrides in RUNS.items():
        if only and name not in only:
            continue
        run_dir = work / name
        cmd = [sys.executable, "-m", "ganmc.cli", "sample", *overrides.split(), "plot=false", "threads=1", f"cache_dir={cache}",
               f"hydra.run.dir={run_dir}", f"hydra.sweep.dir={run_dir}", "hydra.sweep.subdir=run"]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        if proc.returncode != 0:
            results[name] = {"error": proc.stderr.strip().splitlines()[-1:] or ["(no stderr)"]}
        else:
            results[name] = entry(next(run_dir.rglob("record.json")))
        print(f"{name}: {'ok' if proc.returncode == 0 else 'FAILED'} ({time.perf_counter() - t0:.0f} s)", flush=True)
    out.write_text(json.dumps(results, indent=1, sort_keys=True))


def records(old: Path, new: Path, pairs: list[list[str]]) -> dict[str, dict[str, Any]]:
    """The entries of every record under ``old`` and ``new``, keyed by folder relative to each
    (``(OLD, NEW)`` substitutions applied to the old folders' names: run folders are named by
    their overrides)."""
    out: dict[str, dict[str, Any]] = {"old": {}, "new": {}}
    for side, root in (("old", old), ("new", new)):
        for path in sorted(root.rglob("record.json")):
            name = str(path.parent.relative_to(root))
            if side == "old":
                for a, b in pairs:
                    name = name.replace(a, b)
            out[side][name] = entry(path)
    return out


def compare(left: dict[str, Any], right: dict[str, Any]) -> int:
    """Print each entry that differs between two sets of entries; 1 if any does."""
    bad = 0
    for name in sorted(set(left) | set(right)):
        if left.get(name) != right.get(name):
            bad += 1
            print(f"DIFFERS {name}:\n  {json.dumps(left.get(name))[:400]}\n  {json.dumps(right.get(name))[:400]}")
    print(f"{len(set(left) | set(right)) - bad} identical, {bad} different")
    return 1 if bad else 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="cmd", required=True)
    run = sub.add_parser("run")
    run.add_argument("out", type=Path)
    run.add_argument("--work", type=Path, default=None, help="folder for the runs and their cache (default: a temp one)")
    run.add_argument("--only", nargs="*", default=[], help="names of RUNS entries to run")
    cmp = sub.add_parser("compare")
    cmp.add_argument("a", type=Path)
    cmp.add_argument("b", type=Path)
    recs = sub.add_parser("records")
    recs.add_argument("old", type=Path)
    recs.add_argument("new", type=Path)
    recs.add_argument("--rename", nargs=2, action="append", default=[], metavar=("OLD", "NEW"),
                      help="a substitution in the old folder names (repeatable)")
    args = parser.parse_args()
    if args.cmd == "compare":
        return compare(json.loads(args.a.read_text()), json.loads(args.b.read_text()))
    if args.cmd == "records":
        both = records(args.old, args.new, args.rename)
        return compare(both["old"], both["new"])
    if args.work is None:
        with tempfile.TemporaryDirectory() as tmp:
            run_all(args.out, Path(tmp), args.only)
    else:
        run_all(args.out, args.work, args.only)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
