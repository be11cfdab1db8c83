"""Your own GAN from the CLI (issue #26 item 3): a ganmc checkpoint's stored architecture is
checked against the run's (no silent mismatch), and the MLP's leaky-ReLU slope is a config key."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import torch
from conftest import TINY
from helpers import error_line
from torch import nn

from ganmc.models.checkpoint import cache_path, training_identity
from ganmc.settings import checkpoint_spec, gan_config

LEAKY = [*TINY, "gan.generator.activation=leaky_relu", "gan.discriminator.activation=leaky_relu"]


def _train(run_cli, tmp_path: Path, *args: str) -> Path:
    code, _, err = run_cli("train", *args, f"hydra.run.dir={tmp_path / 't'}")
    assert code == 0, err
    return Path(json.loads((tmp_path / "t" / "record.json").read_text())["checkpoint"])


def test_mlp_leaky_relu_slope_is_a_config_key(compose_cfg):
    from ganmc.models.gan import build_gan

    cfg = compose_cfg(*LEAKY, "gan.discriminator.slope=0.2")
    gan = build_gan(gan_config(cfg), 2, 0)
    slopes = {m.negative_slope for m in gan.discriminator.modules() if isinstance(m, nn.LeakyReLU)}
    assert slopes == {0.2}
    assert {m.negative_slope for m in gan.generator.modules() if isinstance(m, nn.LeakyReLU)} == {0.01}


def test_default_slope_leaves_the_training_identity_unchanged(compose_cfg):
    """slope=0.01 (the default, torch's) is left out of the identity: the cache keys of every
    existing config stay as they were; another slope is another GAN."""
    cfg = compose_cfg(*LEAKY)
    assert "slope" not in training_identity(checkpoint_spec(cfg))["gan"]["discriminator"]
    other = compose_cfg(*LEAKY, "gan.discriminator.slope=0.2")
    assert training_identity(checkpoint_spec(other))["gan"]["discriminator"]["slope"] == 0.2
    assert cache_path(checkpoint_spec(other)) != cache_path(checkpoint_spec(cfg))


def test_checkpoint_of_another_d_slope_is_refused_naming_the_key(run_cli, tmp_path):
    """Same weight shapes, another leaky-ReLU slope: loading would silently change D; refused in
    one line naming the key and both values, exit non-zero, no run folder."""
    ckpt = _train(run_cli, tmp_path, *LEAKY, "gan.discriminator.slope=0.2")
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *LEAKY, f"gan.checkpoint={ckpt}", f"hydra.run.dir={out}")
    assert code != 0 and not out.exists()
    line = error_line(err)
    assert "gan.discriminator.slope=0.2, this run has 0.01: set gan.discriminator.slope=0.2" in line
    code, _, err = run_cli("sample", *LEAKY, "gan.discriminator.slope=0.2", f"gan.checkpoint={ckpt}",
                           f"hydra.run.dir={out}")
    assert code == 0, err


def test_checkpoint_of_another_prior_or_loss_is_refused(run_cli, tmp_path):
    """Keys that change no weight shape (prior, loss) are compared too."""
    ckpt = _train(run_cli, tmp_path, *TINY)
    for key, value in (("gan.prior", "uniform"), ("gan.loss", "ns")):
        out = tmp_path / f"run-{value}"
        code, _, err = run_cli("sample", *TINY, f"{key}={value}", f"gan.checkpoint={ckpt}", f"hydra.run.dir={out}")
        assert code != 0 and not out.exists()
        assert f"this run has {value}: set {key}=" in error_line(err)


def test_older_checkpoint_without_the_new_keys_still_loads(run_cli, tmp_path):
    """A checkpoint whose stored config predates ``norm``/``slope`` loads into a run at their
    defaults (absent keys are the schema default) and is refused where the run differs."""
    ckpt = _train(run_cli, tmp_path, *TINY)
    payload = torch.load(ckpt, weights_only=True)
    config = json.loads(payload["config"])
    for part in ("generator", "discriminator"):
        for key in ("norm", "slope"):
            config["gan"][part].pop(key, None)
    payload["config"] = json.dumps(config)
    old = tmp_path / "old.pt"
    torch.save(payload, old)
    code, _, err = run_cli("sample", *TINY, f"gan.checkpoint={old}", f"hydra.run.dir={tmp_path / 'a'}")
    assert code == 0, err
    code, _, err = run_cli("sample", *TINY, "gan.generator.norm=layer", f"gan.checkpoint={old}",
                           f"hydra.run.dir={tmp_path / 'b'}")
    assert code != 0 and "gan.generator.norm=none, this run has layer" in error_line(err)


# --- B: gan.checkpoint_format=torchscript (a folder of torch.jit.save'd G and D) ---

def _plain_nets() -> tuple[nn.Module, nn.Module]:
    """A tiny GAN in plain torch: G 2 -> 2, D 2 -> (n, 1) logits."""
    torch.manual_seed(0)
    g = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    d = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1))
    return g.eval(), d.eval()


def _scripted(folder: Path, g: nn.Module, d: nn.Module) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(g), str(folder / "generator.pt"))
    torch.jit.save(torch.jit.script(d), str(folder / "discriminator.pt"))
    return folder


def test_torchscript_gan_samples_equal_the_api_samples_bit_for_bit(run_cli, tmp_path):
    import ganmc

    g, d = _plain_nets()
    folder = _scripted(tmp_path / "mygan", g, d)
    out = tmp_path / "run"
    code, _, err = run_cli("sample", "gan.checkpoint_format=torchscript", f"gan.checkpoint={folder}",
                           "+sampler=ddls", "n_samples=300", "seed=3", "device=cpu", "metric.metrics=[modes]",
                           "plot=false", f"hydra.run.dir={out}")
    assert code == 0, err
    cli = np.load(out / "samples.npy")
    api = ganmc.sample(ganmc.GAN.from_modules(g, d, latent_dim=2), "ddls", n=300, seed=3)
    assert cli.shape == (300, 2) and np.array_equal(cli, api.samples.numpy())
    record = json.loads((out / "record.json").read_text())
    assert len(json.dumps(record).split(str(folder))) > 1  # the folder is recorded (and hashed)


def test_torchscript_d_breaking_the_contract_is_refused(run_cli, tmp_path):
    """The folder's nets pass the from_modules contracts: a D of two scores per sample is one line."""
    g, _ = _plain_nets()
    folder = _scripted(tmp_path / "bad", g, nn.Linear(2, 2))
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "gan.checkpoint_format=torchscript", f"gan.checkpoint={folder}",
                           f"hydra.run.dir={out}")
    assert code != 0 and not out.exists()
    assert "expected one score per sample" in error_line(err)


def test_torchscript_folder_missing_a_net_is_one_line(run_cli, tmp_path):
    g, d = _plain_nets()
    folder = _scripted(tmp_path / "half", g, d)
    (folder / "discriminator.pt").unlink()
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "gan.checkpoint_format=torchscript", f"gan.checkpoint={folder}",
                           f"hydra.run.dir={out}")
    assert code != 0 and not out.exists() and "lacks discriminator.pt" in error_line(err)


class _Payload:
    """Unpickling this writes a marker file (what a malicious pickle could do)."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (self.marker, "ran"))


def test_torchscript_file_with_pickled_code_is_not_loaded(run_cli, tmp_path):
    """A torch.save'd pickle is not a TorchScript file: refused, and its code never runs."""
    g, d = _plain_nets()
    folder = _scripted(tmp_path / "pickled", g, d)
    marker = tmp_path / "marker"
    torch.save({"net": _Payload(marker)}, folder / "discriminator.pt")
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "gan.checkpoint_format=torchscript", f"gan.checkpoint={folder}",
                           f"hydra.run.dir={out}")
    assert code != 0 and not out.exists() and "is not a TorchScript file" in error_line(err)
    assert not marker.exists()


# --- C: gan.factory=package.module:function ---

FACTORY = '''
import numpy as np
import torch
from torch import nn


def build():
    torch.manual_seed(0)
    g = nn.Sequential(nn.Linear(2, 32), nn.ReLU(), nn.Linear(32, 2))
    d = nn.Sequential(nn.Linear(2, 32), nn.LeakyReLU(0.2), nn.Linear(32, 1), nn.Sigmoid())
    return g, d
'''


def test_factory_gan_samples_through_from_modules(run_cli, tmp_path, monkeypatch):
    import ganmc

    (tmp_path / "my_own_gan_pkg.py").write_text(FACTORY)
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "run"
    code, _, err = run_cli("sample", "gan.factory=my_own_gan_pkg:build", "gan.d_output=probability",
                           "+sampler=ddls", "n_samples=300", "seed=3", "device=cpu", "metric.metrics=[modes]",
                           "plot=false", f"hydra.run.dir={out}")
    assert code == 0, err
    import my_own_gan_pkg

    g, d = my_own_gan_pkg.build()
    api = ganmc.sample(ganmc.GAN.from_modules(g, d, latent_dim=2, d_output="probability"), "ddls", n=300, seed=3)
    assert np.array_equal(np.load(out / "samples.npy"), api.samples.numpy())
    code, _, err = run_cli("sample", *TINY, "gan.factory=my_own_gan_pkg:nothing", f"hydra.run.dir={tmp_path / 'b'}")
    assert code != 0 and "has no function nothing" in error_line(err) and not (tmp_path / "b").exists()


def test_dcgan_d_leaky_slope_is_a_config_key_left_out_of_the_identity_at_its_default(compose_cfg):
    from ganmc.models.gan import build_gan

    cfg = compose_cfg("gan=dcgan32", "dataset=digits")
    assert "slope" not in training_identity(checkpoint_spec(cfg))["gan"]["discriminator"]
    other = compose_cfg("gan=dcgan32", "dataset=digits", "gan.discriminator.slope=0.1",
                        "gan.generator.base_width=4", "gan.discriminator.base_width=4")
    assert "slope" not in other.gan.generator
    gan = build_gan(gan_config(other), (1, 16, 16), 0)
    assert {m.negative_slope for m in gan.discriminator.modules() if isinstance(m, nn.LeakyReLU)} == {0.1}
    default = compose_cfg("gan=dcgan32", "dataset=digits", "gan.generator.base_width=4", "gan.discriminator.base_width=4")
    assert cache_path(checkpoint_spec(other)) != cache_path(checkpoint_spec(default))


def test_torchscript_image_nets_skip_the_config_net_family_check(run_cli, tmp_path):
    """Your own nets are checked by their contracts, not by the configured gan's net family:
    an image G scripted on its own samples digits with the default (2-D) gan config."""
    g = nn.Sequential(nn.Linear(2, 256), nn.Tanh(), nn.Unflatten(1, (1, 16, 16)))
    d = nn.Sequential(nn.Flatten(), nn.Linear(256, 1))
    folder = _scripted(tmp_path / "img", g, d)
    out = tmp_path / "run"
    code, _, err = run_cli("sample", "dataset=digits", "dataset.size=16", "gan.checkpoint_format=torchscript",
                           f"gan.checkpoint={folder}", "n_samples=16", "batch_size=16", "device=cpu", "metric=image",
                           "metric.metrics=[]", "plot=false", f"hydra.run.dir={out}")
    assert code == 0, err
    assert np.load(out / "samples.npy").shape == (16, 1, 16, 16)


def test_own_net_keys_where_they_take_no_effect_are_refused(run_cli, tmp_path):
    for args, message in ((["gan.d_output=critic"], "gan.d_output=critic applies to nets of your own"),
                          (["gan.factory=a.b:c", f"gan.checkpoint={tmp_path}"], "are both set")):
        out = tmp_path / "run"
        code, _, err = run_cli("sample", *TINY, *args, f"hydra.run.dir={out}")
        assert code != 0 and not out.exists() and message in error_line(err)
