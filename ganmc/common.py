"""Run-level constants, the one enum helper and the heap trim, shared by every layer of ganmc.

This module imports nothing of ganmc, so models, data, metrics, samplers, tables and the
commands can all read the same values from here.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import dataclasses
import os
from enum import Enum
from pathlib import Path
from typing import Any

# Where ganmc caches trained GANs, reference statistics, derived Ds and EMD floors by default
# (``cache_dir=`` or ``$GANMC_CACHE`` choose another folder).
DEFAULT_CACHE_DIR = "~/.cache/ganmc"


def default_cache_dir() -> Path:
    """ganmc's cache directory when none is given (``$GANMC_CACHE``, else ``~/.cache/ganmc``)."""
    return Path(os.environ.get("GANMC_CACHE") or DEFAULT_CACHE_DIR).expanduser()

# Top-level config keys that do not change a run's numbers: two records whose configs differ
# only in these are the same run (a finished one is skipped), and a sweep does not show them.
NOT_IDENTITY = ("cache_dir", "checkpoint_dirs", "device", "deterministic", "plot", "batch_size", "threads",
                "overwrite")

# Overrides left out of a sweep's run folder names (``hydra.job.config.override_dirname.
# exclude_keys`` of the experiment configs, which must list these; tests check that they do).
RUN_DIR_EXCLUDE_KEYS = ("experiment", "checkpoint_dirs", "cache_dir", "retrain", "device", "threads")

# Stacked digits: a channel counts as classified at this top probability or more (the metric's
# default, and ``metric.stacked_threshold``'s).
STACKED_THRESHOLD = 0.9


def bar_disable(progress: bool) -> bool | None:
    """tqdm's ``disable`` for a progress bar: off when not asked for or when ``$TQDM_DISABLE`` is
    set (tqdm's own switch, which an explicit ``disable`` overrides), else on a terminal only."""
    return True if not progress or os.environ.get("TQDM_DISABLE", "") not in ("", "0") else None


def enum_value(value: Any) -> str:
    """A config value that may be an Enum member (structured configs) or its plain value, as text."""
    return str(getattr(value, "value", value))


# A schema field that a config must set: OmegaConf's missing-value marker (``omegaconf.MISSING``),
# spelt here so that the schemas below the config (models, data, samplers) need no omegaconf.
MISSING: Any = "???"


def plain(value: Any) -> Any:
    """A resolved config value as JSON-ready data, as OmegaConf's ``to_container(enum_to_str=True)``
    gives it: dataclasses as dicts (in field order), enum members as their names, containers copied."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: plain(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, Enum):
        return value.name
    if isinstance(value, dict):
        return {key: plain(v) for key, v in value.items()}
    if isinstance(value, list | tuple):
        return [plain(v) for v in value]
    return value


_LIBC: Any = None  # glibc, once looked up (False: not glibc)


def trim_heap() -> None:
    """Give the heap's free memory back to the system (glibc's ``malloc_trim``; nothing elsewhere).
    A loop of large temporaries (a sampler's batches) otherwise leaves glibc's heap holding them:
    resident memory grew ~1.4 KB per 2-D sample drawn (1,000,000 samples: +1.35 GB) without it."""
    global _LIBC
    if _LIBC is None:
        try:
            _LIBC = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
            _LIBC.malloc_trim.argtypes = [ctypes.c_size_t]
        except (OSError, AttributeError):
            _LIBC = False
    if _LIBC:
        _LIBC.malloc_trim(0)
