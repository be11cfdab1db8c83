"""Training, checkpoints and the cache: reproducible, atomic, safe to load, clear when wrong."""

from __future__ import annotations

import logging

import pytest
import torch
from conftest import TINY

from ganmc.errors import CheckpointError, GanmcError
from ganmc.models.checkpoint import (
    cache_path,
    load_gan,
    read_checkpoint,
    save_checkpoint,
    training_identity,
)
from ganmc.models.gan import build_gan
from ganmc.models.mlp import MLPGenerator
from ganmc.models.prior import Prior
from ganmc.run import build_dataset, derive_seed, obtain_gan
from ganmc.settings import checkpoint_spec, gan_config
from ganmc.training import train_gan


def _train(cfg, seed=0):
    gan = build_gan(gan_config(cfg), 2, cfg.seed)
    train_gan(gan, build_dataset(cfg), gan_config(cfg).train, seed, progress=False)
    return gan


@pytest.mark.parametrize("gan_name", ["wgan_gp_mlp", "nsgan_mlp"])
def test_training_is_bit_reproducible_on_cpu(compose_cfg, gan_name):
    cfg = compose_cfg(*TINY, f"gan={gan_name}", "gan.train.snapshots=[]")
    a, b = _train(cfg), _train(cfg)
    for pa, pb in zip(a.generator.parameters(), b.generator.parameters()):
        assert torch.equal(pa, pb)
    c = _train(cfg, seed=1)
    assert any(not torch.equal(pa, pc) for pa, pc in zip(a.generator.parameters(), c.generator.parameters()))


def test_training_moves_the_generator(compose_cfg):
    cfg = compose_cfg(*TINY)
    before = build_gan(gan_config(cfg), 2, cfg.seed)
    after = _train(cfg)
    assert any(not torch.equal(p, q) for p, q in zip(before.generator.parameters(), after.generator.parameters()))


def test_layered_net_splits_at_any_layer():
    g = MLPGenerator(2, 2, width=8, depth=3)
    z = torch.randn(5, 2)
    for layer in range(g.n_layers + 1):
        assert torch.allclose(g.forward_from(g.forward_to(z, layer), layer), g(z))


def test_mlp_norm_option_and_cache_key():
    g = MLPGenerator(2, 2, width=8, depth=3, norm="batch")
    assert sum(isinstance(m, torch.nn.BatchNorm1d) for m in g.modules()) == 3
    z = torch.randn(6, 2)
    for layer in range(g.n_layers + 1):
        g.eval()
        assert torch.allclose(g.forward_from(g.forward_to(z, layer), layer), g(z))
    with pytest.raises(GanmcError, match="unknown MLP norm"):
        MLPGenerator(2, 2, norm="group")


def test_default_mlp_norm_keeps_earlier_cache_keys(compose_cfg):
    cfg = compose_cfg(*TINY, "gan=wgan_gp_mlp")
    assert "norm" not in training_identity(checkpoint_spec(cfg))["gan"]["generator"]
    normed = compose_cfg(*TINY, "gan=wgan_gp_mlp", "gan.generator.norm=batch")
    assert training_identity(checkpoint_spec(normed))["gan"]["generator"]["norm"] == "batch"
    assert cache_path(checkpoint_spec(normed)) != cache_path(checkpoint_spec(cfg))


def test_prior_log_prob_and_support():
    normal, uniform = Prior("normal", 2), Prior("uniform", 2)
    z = torch.tensor([[0.0, 0.0], [1.0, 2.0]])
    expected = -0.5 * (z**2).sum(1) - torch.log(torch.tensor(2 * torch.pi))
    assert torch.allclose(normal.log_prob(z), expected)
    assert torch.isinf(uniform.log_prob(z)[1]) and uniform.log_prob(z)[0] == -2 * torch.log(torch.tensor(2.0))
    assert torch.equal(uniform.project(z), torch.tensor([[0.0, 0.0], [1.0, 1.0]]))


def test_checkpoint_round_trip(compose_cfg, tmp_path):
    cfg = compose_cfg(*TINY)
    gan = _train(cfg)
    path = save_checkpoint(tmp_path / "g.pt", gan, checkpoint_spec(cfg), 6, "fp", {"note": "x"})
    loaded, payload = load_gan(path, gan_config(cfg), 2, cfg.seed)
    z = torch.randn(7, 2)
    assert torch.equal(loaded.generator(z), gan.generator(z))
    assert torch.equal(loaded.discriminator(z), gan.discriminator(z))
    assert payload["step"] == 6 and payload["data_fingerprint"] == "fp"
    assert not list(tmp_path.glob(".*.tmp"))  # no temporary file left behind


def test_cache_hit_loads_instead_of_training(compose_cfg, caplog):
    cfg = compose_cfg(*TINY)
    ds = build_dataset(cfg)
    with caplog.at_level(logging.INFO, logger="ganmc.run.gans"):
        gan1, path1 = obtain_gan(cfg, ds, torch.device("cpu"))
        assert "training" in caplog.text
        caplog.clear()
        mtime = path1.stat().st_mtime_ns
        gan2, path2 = obtain_gan(cfg, ds, torch.device("cpu"))
        assert "loading cached" in caplog.text
    assert path1 == path2 and path1.stat().st_mtime_ns == mtime
    z = torch.randn(4, 2)
    assert torch.equal(gan1.generator(z), gan2.generator(z))
    assert cache_path(checkpoint_spec(compose_cfg(*TINY, "seed=1"))) != path1


def test_snapshot_equals_shorter_training(compose_cfg):
    cfg = compose_cfg(*TINY, "gan.train.snapshots=[3]")
    obtain_gan(cfg, build_dataset(cfg), torch.device("cpu"))
    short = compose_cfg(*TINY, "gan.train.iterations=3")
    snap = cache_path(checkpoint_spec(short))
    assert snap.is_file()
    gan_snap, _ = load_gan(snap, gan_config(short), 2, short.seed)
    short_cfg = compose_cfg(*TINY, "gan.train.iterations=3", "gan.train.snapshots=[]")
    gan_short = _train(short_cfg, seed=derive_seed(0, "train"))
    for p, q in zip(gan_snap.generator.parameters(), gan_short.generator.parameters()):
        assert torch.equal(p, q)


def test_corrupt_and_foreign_checkpoints_fail_clearly(compose_cfg, tmp_path):
    bad = tmp_path / "bad.pt"
    bad.write_bytes(b"not a checkpoint at all")
    with pytest.raises(CheckpointError, match="corrupt"):
        read_checkpoint(bad)
    foreign = tmp_path / "foreign.pt"
    torch.save({"state_dict": {}}, foreign)
    with pytest.raises(CheckpointError, match="not a ganmc checkpoint"):
        read_checkpoint(foreign)
    with pytest.raises(CheckpointError, match="does not exist"):
        read_checkpoint(tmp_path / "missing.pt")


def test_architecture_mismatch_is_one_clear_error(compose_cfg, tmp_path):
    cfg = compose_cfg(*TINY)
    path = save_checkpoint(tmp_path / "g.pt", build_gan(gan_config(cfg), 2, 0), checkpoint_spec(cfg), 1, "fp", {})
    wider = compose_cfg(*TINY, "gan.generator.width=32")
    with pytest.raises(CheckpointError, match="does not match the configured architecture"):
        load_gan(path, gan_config(wider), 2, wider.seed)


def test_interrupted_training_resumes_bit_identically(compose_cfg, tmp_path):
    """A run stopped at step 3 and continued to 6 equals a straight 6-step run, to the bit."""
    cfg = compose_cfg(*TINY, "gan.train.snapshots=[]")
    straight = _train(cfg)
    state = tmp_path / "resume.pt"
    short = compose_cfg(*TINY, "gan.train.snapshots=[]", "gan.train.iterations=3")
    gan = build_gan(gan_config(short), 2, short.seed)
    train_gan(gan, build_dataset(short), gan_config(short).train, 0, progress=False, resume=state, resume_every=1)
    assert torch.load(state, weights_only=True)["step"] == 3
    resumed = build_gan(gan_config(cfg), 2, cfg.seed)
    record = train_gan(resumed, build_dataset(cfg), gan_config(cfg).train, 0, progress=False, resume=state)
    assert record["iterations"] == 6
    for part in ("generator", "discriminator"):
        for p, q in zip(getattr(straight, part).parameters(), getattr(resumed, part).parameters()):
            assert torch.equal(p, q)


def test_unusable_resume_state_trains_from_the_start(compose_cfg, tmp_path, caplog):
    cfg = compose_cfg(*TINY, "gan.train.snapshots=[]")
    straight = _train(cfg)
    state = tmp_path / "resume.pt"
    state.write_bytes(b"not a torch file")
    gan = build_gan(gan_config(cfg), 2, cfg.seed)
    with caplog.at_level(logging.WARNING, logger="ganmc.training"):
        train_gan(gan, build_dataset(cfg), gan_config(cfg).train, 0, progress=False, resume=state)
    assert "ignoring" in caplog.text
    for p, q in zip(straight.generator.parameters(), gan.generator.parameters()):
        assert torch.equal(p, q)


def test_longer_run_continues_from_the_shorter_runs_state(compose_cfg, caplog):
    """Through the cache: training 6 steps after a 3-step run of the same GAN resumes at 3."""
    short = compose_cfg(*TINY, "gan.train.iterations=3", "gan.train.snapshots=[]")
    obtain_gan(short, build_dataset(short), torch.device("cpu"))
    long = compose_cfg(*TINY, "gan.train.snapshots=[]")
    with caplog.at_level(logging.INFO, logger="ganmc.training"):
        gan, _ = obtain_gan(long, build_dataset(long), torch.device("cpu"))
    assert "resuming training from step 3" in caplog.text
    direct = _train(long, seed=derive_seed(0, "train"))
    for p, q in zip(direct.generator.parameters(), gan.generator.parameters()):
        assert torch.equal(p, q)


def test_training_without_a_terminal_logs_a_line_per_tenth(compose_cfg, caplog):
    cfg = compose_cfg(*TINY, "gan.train.iterations=20", "gan.train.snapshots=[]")
    gan = build_gan(gan_config(cfg), 2, cfg.seed)
    with caplog.at_level(logging.INFO, logger="ganmc.training"):
        train_gan(gan, build_dataset(cfg), gan_config(cfg).train, 0, progress=True)  # pytest's output is no terminal
    lines = [r.getMessage() for r in caplog.records if r.getMessage().startswith("training: iteration")]
    assert len(lines) == 10 and lines[-1].startswith("training: iteration 20 of 20")
