#!/usr/bin/env python
"""Benchmark: the Stacked MNIST metric and a DDLS-like gradient step at image batch sizes, with
glibc's default malloc (every block over 32 MB a fresh mmap) and with ganmc's setting
(:func:`ganmc.threads.keep_freed_memory`: large blocks from the heap, freed memory reused).

Each setting runs in its own subprocess (mallopt cannot be undone), alternately, ``--repeats``
times; the script prints CPU seconds (user + system) per setting and their ratio. State the
load beside the numbers: the ratio, not the seconds, is what carries across machines.

    python scripts/bench_malloc.py --threads 1 --batch 2560
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time

CHILD = """
import resource, sys, torch
from ganmc.threads import keep_freed_memory
applied = keep_freed_memory() if sys.argv[1] == "ganmc" else False
torch.set_num_threads(int(sys.argv[2]))
batch = int(sys.argv[3])
torch.manual_seed(0)
net = torch.nn.Sequential(torch.nn.Conv2d(1, 32, 3, padding=1), torch.nn.ReLU(), torch.nn.Conv2d(32, 64, 3, padding=1),
                          torch.nn.ReLU(), torch.nn.MaxPool2d(2), torch.nn.Flatten(), torch.nn.Linear(64 * 14 * 14, 10))
x = torch.randn(batch, 1, 28, 28)
start = resource.getrusage(resource.RUSAGE_SELF)
with torch.no_grad():
    for _ in range(3):
        net(x)
y = x.clone().requires_grad_(True)
for _ in range(2):
    net(y).logsumexp(1).sum().backward()
end = resource.getrusage(resource.RUSAGE_SELF)
print(applied, end.ru_utime - start.ru_utime + end.ru_stime - start.ru_stime, end.ru_stime - start.ru_stime)
"""


def run(setting: str, threads: int, batch: int) -> tuple[float, float]:
    env = {**os.environ, "OMP_NUM_THREADS": str(threads)}
    out = subprocess.run([sys.executable, "-c", CHILD, setting, str(threads), str(batch)], env=env,
                         check=True, capture_output=True, text=True).stdout.split()
    return float(out[1]), float(out[2])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--batch", type=int, default=2560)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    times: dict[str, list[tuple[float, float]]] = {"default": [], "ganmc": []}
    for _ in range(args.repeats):
        for setting in times:
            times[setting].append(run(setting, args.threads, args.batch))
    load = os.getloadavg()[0]
    print(f"batch {args.batch}, {args.threads} thread(s), load average {load:.2f} ({time.strftime('%Y-%m-%d %H:%M')})")
    best = {s: min(t[0] for t in v) for s, v in times.items()}
    for setting, values in times.items():
        cpu = ", ".join(f"{c:.2f} s (system {s:.2f})" for c, s in values)
        print(f"  {setting:8s} CPU per repeat: {cpu}")
    print(f"  default / ganmc (best of {args.repeats}): {best['default'] / best['ganmc']:.2f}x")


if __name__ == "__main__":
    main()
