"""Shared fixtures: tiny GAN overrides and an in-process ``ganmc`` runner."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hydra import compose, initialize_config_module
from omegaconf import DictConfig

from ganmc.cli import main
from ganmc.config import register_configs

TINY = [
    "gan.generator.width=16",
    "gan.generator.depth=2",
    "gan.discriminator.width=16",
    "gan.discriminator.depth=2",
    "gan.train.iterations=6",
    "gan.train.batch_size=32",
    "gan.train.n_critic=2",
    "n_samples=300",
    "device=cpu",
    "plot=false",
]
# A tiny DCGAN on 16-px digits, trained 2 iterations, measured by the classifier score alone.
TINY_IMAGES = ["dataset=digits", "dataset.size=16", "gan=dcgan32", "gan.latent_dim=8", "gan.generator.base_width=4",
               "gan.discriminator.base_width=4", "gan.train.iterations=2", "gan.train.batch_size=8",
               "gan.train.grid_every=0", "device=cpu", "n_samples=24", "batch_size=16", "metric=image",
               "metric.metrics=[cs]", "metric.classifier.steps=30", "metric.classifier.width=8", "plot=false"]


@pytest.fixture
def cache_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A private checkpoint cache (also exported for subprocesses)."""
    path = tmp_path / "cache"
    monkeypatch.setenv("GANMC_CACHE", str(path))
    return path


@pytest.fixture
def compose_cfg(cache_dir: Path) -> Callable[..., DictConfig]:
    """Compose a ganmc config the way the CLI does, without running anything."""
    register_configs()

    def _compose(*overrides: str, config: str = "sample") -> DictConfig:
        with initialize_config_module("ganmc.conf", version_base="1.3"):
            return compose(config, overrides=list(overrides))

    return _compose


@pytest.fixture
def run_cli(cache_dir: Path, capsys: pytest.CaptureFixture[str]) -> Callable[..., tuple[int, str, str]]:
    """Run ``ganmc ARGS`` in-process; returns (exit code, stdout, stderr)."""

    def _run(*args: str) -> tuple[int, str, str]:
        code = main(list(args))
        out, err = capsys.readouterr()
        return code, out, err

    return _run
