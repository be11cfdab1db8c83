"""CPU threads chosen for the run, not inherited from the environment (``threads=``)."""

from __future__ import annotations

import ctypes
import logging
import os

import torch
from omegaconf import DictConfig

log = logging.getLogger(__name__)
CONV_MAX_THREADS = 4
M_TRIM_THRESHOLD, M_MMAP_MAX = -1, -4  # glibc's mallopt parameters (malloc.h)
HEAP_KEEP_BYTES = 2**31 - 1  # freed heap memory kept for reuse before glibc returns it


def keep_freed_memory() -> bool:
    """Let glibc's malloc serve large blocks from its heap and keep freed memory for reuse.

    By default every block over 32 MB (a batch of image activations) is a fresh ``mmap``: each
    large temporary tensor then costs page faults on every use, which doubled the CPU time of the
    MNIST classifier at batch 2,560 (``scripts/bench_malloc.py`` measures it). Returns whether
    it applied: off glibc, or with ``GANMC_MALLOC=default``, the system's behaviour stays.
    """
    if os.environ.get("GANMC_MALLOC", "").lower() == "default":
        return False
    try:
        mallopt = ctypes.CDLL(None).mallopt
    except (AttributeError, OSError):
        return False
    return bool(mallopt(M_MMAP_MAX, 0)) and bool(mallopt(M_TRIM_THRESHOLD, HEAP_KEEP_BYTES))


def available_cores() -> int:
    """Cores this process may run on (its CPU affinity), else the machine's count."""
    try:
        return len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        return os.cpu_count() or 1


def choose_threads(cfg: DictConfig) -> int:
    """``threads`` when set; else 1 for MLP GANs (2-D data: tiny matrices, where more threads
    only add overhead and contention) and ``min(4, cores)`` for the convolutional models."""
    if cfg.get("threads") is not None:
        return int(cfg.threads)
    mlp = "width" in cfg.gan.generator and "base_width" not in cfg.gan.generator
    return 1 if mlp else min(CONV_MAX_THREADS, available_cores())


def apply_threads(cfg: DictConfig) -> int:
    """Set torch's intra-op threads (and inter-op threads, where torch still allows it: only
    before its first parallel work) to :func:`choose_threads`; return the count."""
    n = choose_threads(cfg)
    keep_freed_memory()
    torch.set_num_threads(n)
    if torch.get_num_interop_threads() != n:
        try:
            torch.set_num_interop_threads(n)
        except RuntimeError:  # parallel work already started in this process (sweeps, tests)
            pass
    log.debug("torch threads: %d intra-op, %d inter-op", torch.get_num_threads(), torch.get_num_interop_threads())
    return n
