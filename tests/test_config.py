"""Every config composes; typos, wrong types and bad values fail before any compute."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
import torch
from hydra.errors import ConfigCompositionException
from omegaconf.errors import ConfigKeyError, ValidationError

from ganmc.config import validate_run
from ganmc.errors import GanmcError
from ganmc.run.gans import build_dataset, set_determinism

DATASETS = ["gaussians25", "swissroll", "imbal8", "mixture"]
GANS = ["wgan_gp_mlp", "nsgan_mlp"]


@pytest.mark.parametrize("dataset", DATASETS)
@pytest.mark.parametrize("gan", GANS)
def test_every_dataset_and_gan_composes(compose_cfg, dataset, gan):
    cfg = compose_cfg(f"dataset={dataset}", f"gan={gan}")
    validate_run(cfg)
    assert cfg.dataset.name == dataset and cfg.gan.name == gan
    assert cfg.sampler is None  # no sampler by default: the generator alone
    points = build_dataset(cfg).sample(10, torch.Generator().manual_seed(0))
    assert points.shape == (10, 2)


@pytest.mark.parametrize("config", ["sample", "train"])
def test_primary_configs_and_groups_compose(compose_cfg, config):
    cfg = compose_cfg("+sampler=generator", "experiment=demo", config=config)
    assert cfg.sampler._target_.endswith("GeneratorSampler")
    assert cfg.gan.train.iterations == 10000 and cfg.n_samples == 5000  # demo: the shipped default GAN


def test_experiment_overrides_top_level_and_hydra_settings(compose_cfg):
    from hydra import compose, initialize_config_module

    cfg = compose_cfg("experiment=table2")
    assert cfg.n_samples == 5000 and "emd_floor" in cfg.metric.metrics  # not reset by the primary config
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        hydra_cfg = compose("sample", overrides=["experiment=table2"], return_hydra_config=True).hydra
    assert hydra_cfg.sweep.dir == "runs/table2" and hydra_cfg.mode.name == "MULTIRUN"
    assert compose_cfg(config="table").records == "outputs"


def test_unknown_option_fails_at_composition(compose_cfg):
    with pytest.raises(ConfigCompositionException, match="nosuchdata"):
        compose_cfg("dataset=nosuchdata")


def test_misspelt_key_fails(compose_cfg):
    with pytest.raises(ConfigCompositionException):
        compose_cfg("n_sampels=10")
    with pytest.raises((ConfigCompositionException, ConfigKeyError)):
        compose_cfg("gan.train.iteratons=10")


def test_wrong_type_fails(compose_cfg):
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_cfg("n_samples=many")
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_cfg("gan.loss=lsgan")
    with pytest.raises((ConfigCompositionException, ValidationError)):
        compose_cfg("dataset.std=wide")


@pytest.mark.parametrize(
    "override, message",
    [
        ("n_samples=-5", "n_samples must be positive"),
        ("gan.train.iterations=0", "gan.train.iterations must be positive"),
        ("batch_size=0", "batch_size must be positive"),
        ("metric.emd_n=-1", "metric.emd_n must be positive"),
        ("device=tpu", "device must be"),
        ("gan.train.snapshots=[99999]", "snapshots"),
    ],
)
def test_bad_values_are_rejected(compose_cfg, override, message):
    with pytest.raises(GanmcError, match=message):
        validate_run(compose_cfg(override))


EXPERIMENTS = sorted(p.stem for p in (Path(__file__).resolve().parents[1] / "ganmc" / "conf" / "experiment").glob("*.yaml"))


@pytest.mark.parametrize("experiment", EXPERIMENTS)
def test_every_experiment_composes_with_each_swept_value(compose_cfg, experiment):
    """Each value an experiment's sweep would launch composes and validates (no typo waits for job 37)."""
    from hydra import compose, initialize_config_module

    with initialize_config_module("ganmc.conf", version_base="1.3"):
        hydra_cfg = compose("sample", overrides=[f"experiment={experiment}"], return_hydra_config=True).hydra
    params = dict(hydra_cfg.sweeper.params or {})
    for key, values in params.items():
        for value in str(values).split(","):
            others = [f"{k}={str(v).split(',')[0]}" for k, v in params.items() if k != key]
            cfg = compose_cfg(f"experiment={experiment}", *others, f"{key}={value.strip()}")
            validate_run(cfg)


def test_determinism_switches_cuda_kernels_and_leaves_cpu_alone(monkeypatch):
    """deterministic=true asks CUDA for deterministic kernels and a fixed cuBLAS workspace (same
    seed, same samples), false gives back the fast defaults; a CPU device changes nothing. Only
    the switches are set, so no GPU is needed to check them."""
    monkeypatch.delenv("CUBLAS_WORKSPACE_CONFIG", raising=False)
    cudnn = torch.backends.cudnn
    saved = (torch.are_deterministic_algorithms_enabled(),
             torch.is_deterministic_algorithms_warn_only_enabled(), cudnn.deterministic, cudnn.benchmark)
    try:
        set_determinism(torch.device("cpu"), True)
        assert not torch.are_deterministic_algorithms_enabled() and not cudnn.deterministic
        assert "CUBLAS_WORKSPACE_CONFIG" not in os.environ
        set_determinism(torch.device("cuda"), True)
        assert torch.are_deterministic_algorithms_enabled() and cudnn.deterministic and not cudnn.benchmark
        assert os.environ["CUBLAS_WORKSPACE_CONFIG"] == ":4096:8"
        set_determinism(torch.device("cuda"), False)
        assert not torch.are_deterministic_algorithms_enabled() and not cudnn.deterministic
    finally:
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])
        cudnn.deterministic, cudnn.benchmark = saved[2], saved[3]
