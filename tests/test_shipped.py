"""The shipped checkpoints are the ones the table experiments ask for, and they load."""

from __future__ import annotations

from pathlib import Path

import pytest

from ganmc.discriminators import derived_file
from ganmc.models.checkpoint import cache_path, load_gan, read_checkpoint
from ganmc.run import build_dataset, construct_sampler
from ganmc.samplers import SamplingContext
from ganmc.settings import checkpoint_spec, gan_config, metric_settings

SHIPPED = Path(__file__).resolve().parents[1] / "checkpoints"


@pytest.mark.parametrize("dataset", ["gaussians25", "swissroll"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_table_experiments_find_their_shipped_checkpoint(compose_cfg, dataset, seed):
    cfg = compose_cfg("experiment=table1", f"dataset={dataset}", f"seed={seed}")
    path = SHIPPED / cache_path(checkpoint_spec(cfg)).name
    assert path.is_file(), f"{path.name} missing: a config change altered the cache key; run `make checkpoints`"
    payload = read_checkpoint(path)
    assert payload["step"] == cfg.gan.train.iterations
    assert payload["data_fingerprint"] == build_dataset(cfg).fingerprint()


@pytest.mark.parametrize("dataset", ["gaussians25", "swissroll"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_table_experiments_find_their_shipped_calibrated_discriminator(compose_cfg, tmp_path, dataset, seed):
    """ddls_cal / drs_cal of Tables 1-2 load the shipped calibrated D instead of fine-tuning again."""
    cfg = compose_cfg("experiment=table1", f"dataset={dataset}", f"seed={seed}", "+sampler=ddls_cal",
                      f"checkpoint_dirs=[{SHIPPED}]", f"cache_dir={tmp_path}")
    data = build_dataset(cfg)
    ctx = SamplingContext(data, SHIPPED / cache_path(checkpoint_spec(cfg)).name, tmp_path, 0, checkpoint_spec(cfg))
    gan = load_gan(ctx.checkpoint, gan_config(cfg), (2,), cfg.seed)[0]
    spec = construct_sampler(cfg, gan).derived_d(ctx)
    assert spec is not None and spec.kind == "calibrated"
    path = derived_file(ctx, spec)[0]
    assert path.parent == SHIPPED / "calibrated", f"{path.name} not shipped: run `make checkpoints`"
    assert read_checkpoint(path)["discriminator"].keys() == read_checkpoint(ctx.checkpoint)["discriminator"].keys()
    drs = compose_cfg("experiment=table1", f"dataset={dataset}", f"seed={seed}", "+sampler=drs_cal")
    drs_spec = construct_sampler(drs, gan).derived_d(ctx)
    assert drs_spec is not None and derived_file(ctx, drs_spec)[0] == path, "drs_cal and ddls_cal share one D"


@pytest.mark.parametrize("dataset", ["gaussians25", "swissroll"])
@pytest.mark.parametrize("iterations", [2500, 5000, 10000, 20000])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_training_length_study_finds_its_shipped_snapshots(compose_cfg, dataset, iterations, seed):
    cfg = compose_cfg("experiment=ddls_training_length", f"dataset={dataset}",
                      f"gan.train.iterations={iterations}", f"seed={seed}")
    path = SHIPPED / cache_path(checkpoint_spec(cfg)).name
    assert path.is_file(), f"{path.name} missing: run `make checkpoints`"
    assert read_checkpoint(path)["step"] == iterations


@pytest.mark.parametrize("gan", ["dcgan32", "wgan_gp_dcgan32"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_experiment_finds_its_shipped_checkpoint(compose_cfg, gan, seed):
    cfg = compose_cfg("experiment=digits", f"gan={gan}", f"seed={seed}")
    path = SHIPPED / cache_path(checkpoint_spec(cfg)).name
    assert path.is_file(), f"{path.name} missing: a config change altered the cache key"
    assert read_checkpoint(path)["step"] == cfg.gan.train.iterations


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_collab_fig4_finds_its_shipped_gan_shaped_and_finetuned_discriminators(compose_cfg, tmp_path, seed):
    """collab_shaped / collab_reject_shaped and mhgan_tuned load shipped Ds instead of 5k-step jobs."""
    from ganmc.io import derive_seed

    cfg = compose_cfg("experiment=collab_fig4", f"seed={seed}", "+sampler=collab_shaped",
                      f"checkpoint_dirs=[{SHIPPED}]", f"cache_dir={tmp_path}")
    gan_path = SHIPPED / cache_path(checkpoint_spec(cfg)).name
    assert gan_path.is_file(), f"{gan_path.name} missing: run `make checkpoints`"
    data = build_dataset(cfg)
    ctx = SamplingContext(data, gan_path, tmp_path, derive_seed(seed, "prepare"), checkpoint_spec(cfg))
    gan = load_gan(gan_path, gan_config(cfg), (2,), cfg.seed)[0]
    for preset in ("collab_shaped", "collab_reject_shaped", "mhgan_tuned"):
        run = compose_cfg("experiment=collab_fig4", f"seed={seed}", f"+sampler={preset}",
                          f"checkpoint_dirs=[{SHIPPED}]", f"cache_dir={tmp_path}")
        spec = construct_sampler(run, gan).derived_d(ctx)
        assert spec is not None
        path = derived_file(ctx, spec)[0]
        assert path.parent == SHIPPED / spec.kind, f"{path.name} ({preset}) not shipped"


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_default_config_resolves_to_a_shipped_checkpoint(compose_cfg, tmp_path, seed, caplog):
    """`ganmc sample` with no overrides (gaussians25, wgan_gp_mlp) loads a shipped GAN, never trains."""
    import logging

    import torch

    from ganmc.run.gans import obtain_gan

    cfg = compose_cfg(f"seed={seed}", f"cache_dir={tmp_path}")
    assert str(SHIPPED) in [str(d) for d in cfg.checkpoint_dirs]
    with caplog.at_level(logging.INFO, logger="ganmc.run.gans"):
        _, path = obtain_gan(cfg, build_dataset(cfg), torch.device("cpu"))
    assert path.parent == SHIPPED and "training" not in caplog.text
    assert read_checkpoint(path)["step"] == cfg.gan.train.iterations


@pytest.mark.parametrize("experiment", ["digits", "stacked_digits", "collab_fig10"])  # MNIST: tests/test_mnist.py
def test_cs_fd_and_stacked_metrics_read_a_shipped_classifier(compose_cfg, tmp_path, experiment):
    """The classifier behind cs, fd and the stacked metrics is shipped (`make classifiers`), so
    they are the same on every machine: none is trained into the cache."""
    from ganmc.metrics.images import classifier_file

    cfg = compose_cfg(f"experiment={experiment}")
    data = build_dataset(cfg)
    path = classifier_file(data, metric_settings(cfg.metric).classifier, tmp_path)
    assert path.parent == SHIPPED / "classifiers", f"{path.name} not shipped: run `make classifiers`"
    assert not (tmp_path / "classifiers").exists()


# The shipped Stacked MNIST GANs (`make stacked-mnist-gans`: 5 seeds x 2 D sizes, every snapshot length).
STACKED_MNIST_SEEDS = [0, 1, 2, 3, 4]


@pytest.mark.parametrize("d_size", ["quarter", "half"])
@pytest.mark.parametrize("iterations", [1000, 2000, 5000, 10000, 20000])
@pytest.mark.parametrize("seed", STACKED_MNIST_SEEDS)
def test_stacked_mnist_experiments_find_their_shipped_gans(compose_cfg, d_size, iterations, seed):
    cfg = compose_cfg("experiment=stacked_mnist_training", f"gan.discriminator.d_size={d_size}",
                      f"gan.train.iterations={iterations}", f"seed={seed}")
    path = SHIPPED / cache_path(checkpoint_spec(cfg)).name
    assert path.is_file(), f"{path.name} missing: a config change altered the cache key, or run `make stacked-mnist-gans`"
    assert read_checkpoint(path)["step"] == iterations
    if iterations == 20000:  # the sampler table's GAN is the same file
        sampled = compose_cfg("experiment=stacked_mnist", f"gan.discriminator.d_size={d_size}", f"seed={seed}")
        assert cache_path(checkpoint_spec(sampled)).name == path.name
