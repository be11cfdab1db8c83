"""One contract per extension point: the record schema (writers and reader), the metric
registry, and the run-level constants that configs repeat."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest
import torch
from conftest import TINY
from omegaconf import OmegaConf

import ganmc
from ganmc.common import NOT_IDENTITY, RUN_DIR_EXCLUDE_KEYS
from ganmc.data.synthetic import GaussianGrid, SwissRoll
from ganmc.metrics.registry import METRICS, compute_metrics
from ganmc.metrics.settings import MetricSettings
from ganmc.record_schema import SHAPE, RunInfo, SampleRecord, SampleTiming, TrainRecord, n_samples

EXPERIMENTS = Path(ganmc.__file__).parent / "conf" / "experiment"


def test_experiment_run_folders_leave_out_the_run_level_keys():
    """Hydra cannot read a Python constant into ``exclude_keys``: every experiment that names its
    run folders by overrides lists RUN_DIR_EXCLUDE_KEYS first (table3 and conditional add the paths
    make passes them, table2 the protocols of its VARIANTS=1)."""
    found = {}
    for path in sorted(EXPERIMENTS.glob("*.yaml")):
        keys = OmegaConf.select(OmegaConf.load(path), "hydra.job.config.override_dirname.exclude_keys")
        if keys is not None:
            found[path.stem] = list(keys)
    assert len(found) >= 7
    for name, keys in found.items():
        assert keys[:len(RUN_DIR_EXCLUDE_KEYS)] == list(RUN_DIR_EXCLUDE_KEYS), name
        assert name in ("table2", "table3", "conditional") or len(keys) == len(RUN_DIR_EXCLUDE_KEYS), name


def test_run_identity_leaves_out_the_same_keys_in_the_sweep_tables():
    from ganmc.tables.sweep import swept_keys

    base = {"seed": 0, "n_samples": 10, **{k: "a" for k in NOT_IDENTITY}}
    other = {"seed": 1, "n_samples": 20, **{k: "b" for k in NOT_IDENTITY}}
    assert swept_keys([{"config": base}, {"config": other}]) == ["n_samples"]


def test_reader_shape_is_the_sampling_record_schema():
    assert SHAPE == {"command": str, "run": dict, "metrics": dict, "target_metrics": dict,
                     "target": (dict, type(None)), "stats": dict, "config": dict, "provenance": dict,
                     "timing": dict}


def test_records_written_match_the_schema(run_cli, tmp_path):
    out = tmp_path / "sample"
    code, _, err = run_cli("sample", *TINY, f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert list(record) == list(SampleRecord.__annotations__)
    assert list(record["run"]) == list(RunInfo.__annotations__)
    assert list(record["timing"]) == list(SampleTiming.__annotations__)
    assert n_samples(record) == record["config"]["n_samples"] == 300
    code, _, err = run_cli("train", *TINY, f"hydra.run.dir={tmp_path / 'train'}")
    assert code == 0, err
    record = json.loads((tmp_path / "train" / "record.json").read_text())
    assert list(record) == list(TrainRecord.__annotations__) and record["cached"] is True


def test_every_registered_metric_is_documented_and_typed():
    """Driven by the registry: a new metric needs no edit here, only its line in docs/metrics.md."""
    readme = (Path(__file__).resolve().parents[1] / "docs" / "metrics.md").read_text()
    for name, metric in METRICS.items():
        assert name in metric.names and metric.data in ("points", "images")
        assert f"`{name}`" in readme, f"metric {name!r} is registered but docs/metrics.md does not name it"


def test_metric_registry_runs_what_the_config_asks_for(tmp_path):
    builtin = ["is", "fid", "cs", "fd", "modes", "mass_tv", "collab", "emd", "emd_floor"]
    assert [name for name in METRICS if name in builtin] == builtin  # none lost, registration order kept
    cfg = MetricSettings(metrics=("emd_floor", "emd", "mass_tv", "modes"), emd_n=100, emd_cost="euclidean",
                         hq_threshold=4.0)
    grid = GaussianGrid("gaussians25")
    samples = grid.sample(200, torch.Generator().manual_seed(0))
    metrics = compute_metrics(samples, grid, cfg, seed=0, cache_dir=tmp_path)
    assert list(metrics)[-6:] == ["mass_tv", "emd", "emd_n", "emd_cost", "emd_real_set", "emd_floor"]
    assert "modes_recovered" in metrics and metrics["emd_n"] == 100
    cfg = replace(cfg, metrics=("modes", "emd", "mass_tv"))  # modes: mixtures only, skipped on the roll
    roll = SwissRoll("swissroll")
    assert list(compute_metrics(roll.sample(200, torch.Generator().manual_seed(0)), roll, cfg, seed=0)) == \
        ["mass_tv", "emd", "emd_n", "emd_cost", "emd_real_set"]


def test_discriminator_node_merges_over_each_samplers_defaults():
    """One ``discriminator`` node per sampler, handled by the base class: a partial node keeps the
    sampler's own schedule defaults, and only the kinds a sampler lists are accepted."""
    from ganmc.errors import GanmcError
    from ganmc.models.gan import GAN
    from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
    from ganmc.models.prior import Prior
    from ganmc.samplers.base import DKind
    from ganmc.samplers.ddls import DDLSSampler
    from ganmc.samplers.generator import GeneratorSampler
    from ganmc.samplers.mhgan import MHGANSampler

    gan = GAN(MLPGenerator(2, 2, width=8, depth=2), MLPDiscriminator(2, width=8, depth=2), Prior("normal", 2), "ns")
    mh = MHGANSampler(gan, discriminator={"kind": "calibrated"}).cfg.discriminator
    assert (mh.kind, mh.steps, mh.batch) == (DKind.calibrated, 5000, 1000)
    ddls = DDLSSampler(gan, discriminator={"steps": 7}).cfg.discriminator
    assert (ddls.kind, ddls.steps, ddls.batch) == (DKind.raw, 7, 512)
    assert DDLSSampler(gan).derived_d(None) is None  # raw: the GAN's own D
    assert DDLSSampler(gan, discriminator={"kind": "calibrated", "steps": 0}).derived_d(None) is None
    for kwargs, match in [({"kind": "shaped"}, "not 'shaped'"), ({"kind": "tuned"}, "must be one of"),
                          ({"steps": -1}, "steps >= 0"), ({"lr": 0}, "lr > 0"), ({"step": 1}, "no key 'step'")]:
        with pytest.raises(GanmcError, match=match):
            DDLSSampler(gan, discriminator=kwargs)
    with pytest.raises(GanmcError, match="not 'calibrated'"):
        GeneratorSampler(gan, discriminator={"kind": "calibrated"})
