"""The shipped checkpoints are the ones the table experiments ask for, and they load."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganmc.models.checkpoint import cache_path, read_checkpoint
from ganmc.pipeline import build_dataset

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.mark.parametrize("dataset", ["gaussians25", "swissroll"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_table_experiments_find_their_shipped_checkpoint(compose_cfg, dataset, seed):
    cfg = compose_cfg("experiment=table1", f"dataset={dataset}", f"seed={seed}")
    path = SHIPPED / cache_path(cfg).name
    assert path.is_file(), f"{path.name} missing: a config change altered the cache key; run `make checkpoints`"
    payload = read_checkpoint(path)
    assert payload["step"] == cfg.gan.train.iterations
    assert payload["data_fingerprint"] == build_dataset(cfg).fingerprint()
