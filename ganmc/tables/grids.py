"""Labelled sample grids of the image tables: a real-data row, then a row per sampler (its first
:data:`GRID_N` samples of the lowest seed), each row named, upscaled to at least 400 px."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import torch

from ganmc.errors import GanmcError
from ganmc.tables.labels import label

GRID_N = 16  # samples per sampler in the grids
Group = list[tuple[Path, dict[str, Any]]]  # (record path, record) of one table row


def real_images(record: dict[str, Any], cache: dict[str, torch.Tensor | None]) -> torch.Tensor | None:
    """:data:`GRID_N` real images (seed 0) of the record's data set, when its config can build it;
    data that cannot be read is an error (before any file is written)."""
    from hydra.utils import instantiate

    config = record.get("config", {}).get("dataset")
    if not isinstance(config, dict) or "_target_" not in config:
        return None  # a record without a buildable data set config: no real row
    key = json.dumps(config, sort_keys=True, default=str)
    if key not in cache:
        try:
            cache[key] = instantiate(config).sample(GRID_N, torch.Generator().manual_seed(0))
        except GanmcError as exc:
            raise GanmcError(f"the sample grids' real-data row: {exc} (nothing was written)") from None
    return cache[key]


def grid_rows(by_sampler: dict[str, Group], cache: dict[str, torch.Tensor | None]) -> list[tuple[str, Any]]:
    """(row label, images) of one GAN's grid: the real data, then each sampler's first
    :data:`GRID_N` samples of the seed all rows share (the lowest), in the order given (the same
    seed: the chains start from the generator's latents); [] when no run kept its samples."""
    if not by_sampler:
        return []
    seed = min(r["run"]["seed"] for group in by_sampler.values() for _, r in group)
    real = real_images(next(iter(by_sampler.values()))[0][1], cache)
    rows: list[tuple[str, Any]] = [("real data", real)] if real is not None else []
    for sampler, group in by_sampler.items():
        npy = next((p.parent / "samples.npy" for p, r in group if r["run"]["seed"] == seed), None)
        if npy is not None and npy.is_file():
            arr = np.load(npy)[:GRID_N]
            if len(arr):
                rows.append((label(sampler), torch.from_numpy(arr)))
    return rows if len(rows) > (real is not None) else []
