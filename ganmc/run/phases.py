"""Seconds and peak memory per phase of a run, for its record (what a 50,000-sample run costs)."""

from __future__ import annotations

import resource
import sys
import time

import torch


def peak_rss_mb() -> float:
    """The process's peak resident memory so far, in MiB (Linux reports KiB, macOS bytes)."""
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024 if sys.platform == "darwin" else 1024)


class Phases:
    """Marks the end of each phase: its seconds and the peak memory up to then."""

    def __init__(self, device: torch.device | None = None) -> None:
        self.seconds: dict[str, float] = {}
        self.peak_mb: dict[str, float] = {}
        self.cuda = device is not None and device.type == "cuda"
        self._last = time.perf_counter()

    def done(self, name: str) -> float:
        """End phase ``name`` now; return its seconds."""
        now = time.perf_counter()
        self.seconds[name] = now - self._last
        self._last = now
        self.peak_mb[name] = peak_rss_mb()
        if self.cuda:
            self.peak_mb[f"{name}_gpu"] = torch.cuda.max_memory_allocated() / 2**20
        return self.seconds[name]
