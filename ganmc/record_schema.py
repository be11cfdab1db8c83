"""The run records' schema, declared once: what ``ganmc sample`` and ``ganmc train`` write to
``record.json`` (and ``ganmc shape``), what the tables' reader checks, and the one way to read counts back.

Writers build their records with these TypedDicts (plain dicts: the JSON is unchanged);
:data:`SHAPE` (the type of each part, for the reader's structure check) is derived from
:class:`SampleRecord`.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Iterable
from typing import Any, NotRequired, TypedDict, Union


class RunInfo(TypedDict):
    """What was run: the sampler preset and its class name, data, GAN, seed, sample count."""

    sampler: str  # the preset (``+sampler=NAME``)
    method: str  # the sampler's own name (presets of one class share it)
    dataset: str
    gan: str
    seed: int
    n_samples: int  # the samples drawn and measured: read counts back with n_samples()
    train_iterations: int | None  # None: nets of your own (TorchScript or a factory), not trained by ganmc


class SampleTiming(TypedDict):
    wall_seconds: float
    started_at: float  # Unix time: with runs in parallel, a table's elapsed time
    finished_at: float  # is last finish - first start, not the sum of wall_seconds
    sample_seconds: float
    metric_seconds: float
    evals_per_sample: dict[str, float]  # {"G": ..., "D": ...}
    # seconds per phase (load, prepare, sample, target, reference, metrics) and the process's peak
    # resident memory after each, in MiB (and the GPU's peak allocation, where one ran): absent
    # from records written before they were kept
    phases: NotRequired[dict[str, float]]
    peak_rss_mb: NotRequired[dict[str, float]]


# The key of the run-level exact-target estimate (importance resampling) among a record's extra
# sample sets: '@' keeps it apart from any sampler's own sets and names ("sir" before 2026-12).
TARGET_SET = "@target"
OLD_TARGET_SET = "sir"


class SampleRecord(TypedDict):
    """``ganmc sample``'s record."""

    command: str  # "sample"
    run: RunInfo
    metrics: dict[str, Any]  # scalars only
    target_metrics: dict[str, dict[str, Any]]  # metrics of extra sample sets (TARGET_SET, "step_0100", ...)
    target: dict[str, Any] | None  # exact-target (SIR) diagnostics, None without one
    stats: dict[str, Any]
    config: dict[str, Any]  # the resolved config (run identity compares it)
    provenance: dict[str, Any]
    timing: SampleTiming


class TrainTiming(TypedDict):
    wall_seconds: float


class TrainRecord(TypedDict):
    """``ganmc train``'s record."""

    command: str  # "train"
    checkpoint: str
    cached: bool
    config: dict[str, Any]
    provenance: dict[str, Any]
    timing: TrainTiming


class ShapeRecord(TypedDict):
    """``ganmc shape``'s record: the parent checkpoint and the shaped D's file."""

    command: str  # "shape"
    parent: dict[str, str]  # {"path": ..., "sha256": ...}
    shaping: dict[str, Any]  # {"history": BCE per step or None when loaded, "sampler": ..., "loaded": bool}
    checkpoint: str
    config: dict[str, Any]
    provenance: dict[str, Any]
    timing: TrainTiming


# The parts a sampling record cannot lack (older records may lack the others).
SAMPLE_REQUIRED = ("run", "metrics")


def _runtime(hint: Any) -> type | tuple[type, ...]:
    """The ``isinstance`` type(s) of a field's annotation (a TypedDict or ``dict[...]`` is a dict)."""
    if typing.is_typeddict(hint):
        return dict
    origin = typing.get_origin(hint)
    if origin in (Union, types.UnionType):
        kinds: list[type] = []
        for arg in typing.get_args(hint):
            kind = _runtime(arg)
            kinds += kind if isinstance(kind, tuple) else [kind]
        return tuple(kinds)
    return origin or hint


# What each part of a sampling record is, where present.
SHAPE: dict[str, type | tuple[type, ...]] = {
    key: _runtime(hint) for key, hint in typing.get_type_hints(SampleRecord).items()}


def n_samples(record: dict[str, Any]) -> int | None:
    """The number of samples a sampling record measured (``run.n_samples``; None if not recorded)."""
    n = record.get("run", {}).get("n_samples")
    return None if n is None else int(n)


def sample_sizes(records: Iterable[dict[str, Any]]) -> list[int]:
    """The distinct sample counts of some sampling records, ascending (unrecorded ones left out)."""
    return sorted({n for r in records if (n := n_samples(r)) is not None})


def emd_sizes(records: Iterable[dict[str, Any]]) -> list[int]:
    """The distinct EMD sizes (real and generated points per side, ``metrics.emd_n``) of some
    records, ascending; records without an EMD are passed over."""
    return sorted({r["metrics"]["emd_n"] for r in records if r.get("metrics", {}).get("emd_n")})
