"""The shipped checkpoints are the ones the table experiments ask for, and they load."""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import calibrated_path

from ganmc.models.checkpoint import cache_path, load_gan, read_checkpoint
from ganmc.run.gans import build_dataset
from ganmc.samplers import SamplingContext

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


@pytest.mark.parametrize("dataset", ["gaussians25", "swissroll"])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_table_experiments_find_their_shipped_calibrated_discriminator(compose_cfg, tmp_path, dataset, seed):
    """ddls_cal / drs_cal of Tables 1-2 load the shipped calibrated D instead of fine-tuning again."""
    cfg = compose_cfg("experiment=table1", f"dataset={dataset}", f"seed={seed}", "+sampler=ddls_cal",
                      f"checkpoint_dirs=[{SHIPPED}]", f"cache_dir={tmp_path}")
    s = cfg.sampler
    ctx = SamplingContext(build_dataset(cfg), SHIPPED / cache_path(cfg).name, tmp_path, 0, cfg)
    path = calibrated_path(ctx, s.calibrate_steps, s.calibrate_lr, s.calibrate_batch)
    assert path.parent == SHIPPED / "calibrated", f"{path.name} not shipped: run `make checkpoints`"
    assert read_checkpoint(path)["discriminator"].keys() == read_checkpoint(ctx.checkpoint)["discriminator"].keys()
    drs = compose_cfg("experiment=table1", f"dataset={dataset}", f"seed={seed}", "+sampler=drs_cal").sampler
    assert (drs.calibrate_steps, drs.calibrate_lr, drs.calibrate_batch) == (
        s.calibrate_steps, s.calibrate_lr, s.calibrate_batch), "drs_cal and ddls_cal share one calibrated D"


@pytest.mark.parametrize("dataset", ["gaussians25", "swissroll"])
@pytest.mark.parametrize("iterations", [2500, 5000, 10000])
@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_training_length_study_finds_its_shipped_snapshots(compose_cfg, dataset, iterations, seed):
    cfg = compose_cfg("experiment=ddls_training_length", f"dataset={dataset}",
                      f"gan.train.iterations={iterations}", f"seed={seed}")
    path = SHIPPED / cache_path(cfg).name
    assert path.is_file(), f"{path.name} missing: run `make checkpoints`"
    assert read_checkpoint(path)["step"] == iterations


@pytest.mark.parametrize("gan", ["dcgan32", "wgan_gp_dcgan32"])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_digits_experiment_finds_its_shipped_checkpoint(compose_cfg, gan, seed):
    cfg = compose_cfg("experiment=digits", f"gan={gan}", f"seed={seed}")
    path = SHIPPED / cache_path(cfg).name
    assert path.is_file(), f"{path.name} missing: a config change altered the cache key"
    assert read_checkpoint(path)["step"] == cfg.gan.train.iterations


@pytest.mark.parametrize("seed", [0, 1, 2, 3, 4])
def test_collab_fig4_finds_its_shipped_gan_shaped_and_finetuned_discriminators(compose_cfg, tmp_path, seed):
    """collab_shaped / collab_reject_shaped and mhgan_tuned load shipped Ds instead of 5k-step jobs."""
    from ganmc.io import derive_seed
    from ganmc.samplers.collab import CollabSampler
    from ganmc.shaping import shaped_cache_path

    cfg = compose_cfg("experiment=collab_fig4", f"seed={seed}", "+sampler=collab_shaped",
                      f"checkpoint_dirs=[{SHIPPED}]", f"cache_dir={tmp_path}")
    gan_path = SHIPPED / cache_path(cfg).name
    assert gan_path.is_file(), f"{gan_path.name} missing: run `make checkpoints`"
    data = build_dataset(cfg)
    ctx = SamplingContext(data, gan_path, tmp_path, derive_seed(seed, "prepare"), cfg)
    s = cfg.sampler
    gan = load_gan(gan_path, cfg, (2,))[0]
    for reject in (False, True):
        sampler = CollabSampler(gan, dataset=data, layer=s.layer, n_steps=s.n_steps, step_size=s.step_size,
                                optimizer=s.optimizer, eta=s.eta, reject=reject)
        path = shaped_cache_path(sampler, ctx, s.shape_steps, s.shape_lr, s.shape_batch)
        assert path.parent == SHIPPED / "shaped", f"{path.name} not shipped"
    mh = compose_cfg("experiment=collab_fig4", f"seed={seed}", "+sampler=mhgan_tuned").sampler
    path = calibrated_path(ctx, mh.finetune_steps, mh.finetune_lr, mh.finetune_batch)
    assert path.parent == SHIPPED / "calibrated", f"{path.name} not shipped"


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
