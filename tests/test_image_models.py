"""Image GANs: output shapes, layered forward passes, foreign checkpoints, training on images."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch
from helpers import to_pytorch_gan_collections

from ganmc.errors import CheckpointError, GanmcError
from ganmc.models.adapters import from_pytorch_gan_collections, load_foreign
from ganmc.models.dcgan import DCGANDiscriminator, DCGANGenerator
from ganmc.models.gan import build_gan
from ganmc.models.schemas import GanConfig, Loss
from ganmc.models.sngan import SNGANDiscriminator, SNGANGenerator
from ganmc.settings import gan_config
from ganmc.training import gradient_penalty, train_gan


@pytest.mark.parametrize("size, channels", [(32, 3), (64, 3), (16, 1)])
@pytest.mark.parametrize("norm", ["batch", "layer", "none"])
def test_dcgan_shapes_and_layers(size, channels, norm):
    g = DCGANGenerator(8, (channels, size, size), base_width=4, norm=norm).eval()
    d = DCGANDiscriminator((channels, size, size), base_width=4, norm=norm).eval()
    z = torch.randn(3, 8)
    x = g(z)
    assert x.shape == (3, channels, size, size) and float(x.detach().abs().max()) <= 1
    assert d(x).shape == (3,)
    assert g.n_layers == int(torch.log2(torch.tensor(size / 4))) + 1
    mid = g.n_layers // 2
    h = g.forward_to(z, mid)
    assert h.ndim == 4 and torch.allclose(g.forward_from(h, mid), x)


def test_wgan_gp_critic_has_no_batch_norm(compose_cfg):
    cfg = compose_cfg("dataset=digits", "gan=wgan_gp_dcgan32")
    gan = build_gan(gan_config(cfg), (1, 32, 32), 0)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in gan.discriminator.modules())
    assert any(isinstance(m, torch.nn.GroupNorm) for m in gan.discriminator.modules())


def test_image_nets_reject_bad_shapes():
    with pytest.raises(GanmcError, match="power of two"):
        DCGANGenerator(8, (3, 24, 24))
    with pytest.raises(GanmcError, match="32x32 architecture"):
        SNGANDiscriminator((3, 64, 64))


def test_sngan_resnet32_architecture():
    g, d = SNGANGenerator(128, (3, 32, 32)).eval(), SNGANDiscriminator((3, 32, 32)).eval()
    # Miyato et al.'s CIFAR-10 ResNet: G ~4.3M parameters, D ~1.1M (spectral-norm vectors aside)
    n_g = sum(p.numel() for p in g.parameters())
    n_d = sum(p.numel() for n, p in d.named_parameters())
    assert 4.2e6 < n_g < 4.4e6 and 1.0e6 < n_d < 1.1e6
    z = torch.randn(2, 128)
    x = g(z)
    assert x.shape == (2, 3, 32, 32) and d(x).shape == (2,)
    assert [g.forward_to(z, i).shape[1:] for i in range(1, 5)] == [
        (256, 4, 4), (256, 8, 8), (256, 16, 16), (256, 32, 32)]
    assert torch.allclose(g.forward_from(g.forward_to(z, 2), 2), x, atol=1e-6)
    keys = d.state_dict().keys()
    assert "linear.weight_orig" in keys and "blocks.0.residual.0.weight_u" in keys


@pytest.fixture(scope="module")
def sngan_cfg():
    return GanConfig(name="sngan", loss=Loss.hinge, latent_dim=16,
                     generator={"_target_": "ganmc.models.sngan.SNGANGenerator", "channels": 16},
                     discriminator={"_target_": "ganmc.models.sngan.SNGANDiscriminator", "channels": 8})


def test_pytorch_gan_collections_round_trip(tmp_path, sngan_cfg):
    source = build_gan(sngan_cfg, (3, 32, 32), seed=1)
    source.generator.train()(torch.randn(4, 16))  # move BN running stats off their defaults
    source.discriminator.train()(torch.rand(4, 3, 32, 32))  # and the SN power-iteration vectors
    foreign = to_pytorch_gan_collections(source)
    assert "linear.weight" in foreign["net_G"] and "output.0.running_mean" in foreign["net_G"]
    assert "blocks.2.residual.6.weight" in foreign["net_G"]
    assert "model.0.shortcut.1.weight_orig" in foreign["net_D"] and "linear.weight_u" in foreign["net_D"]
    foreign["net_D"] = {f"module.{k}": v for k, v in foreign["net_D"].items()}  # nn.DataParallel
    path = tmp_path / "model.pt"
    torch.save({**foreign, "optim_G": {}, "step": 100}, path)
    target = load_foreign(path, "pytorch_gan_collections", build_gan(sngan_cfg, (3, 32, 32), seed=2))
    for part in ("generator", "discriminator"):
        a, b = getattr(source, part).state_dict(), getattr(target, part).state_dict()
        assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    source.eval(), target.eval()
    z, x = torch.randn(3, 16), torch.rand(3, 3, 32, 32)
    assert torch.equal(source.generator(z), target.generator(z))
    assert torch.equal(source.discriminator(x), target.discriminator(x))
    g, _ = from_pytorch_gan_collections(torch.load(path, weights_only=True))
    assert g.keys() == source.generator.state_dict().keys()


def test_pytorch_gan_collections_errors(tmp_path, sngan_cfg):
    gan = build_gan(sngan_cfg, (3, 32, 32), seed=0)
    foreign = to_pytorch_gan_collections(gan)
    del foreign["net_G"]["output.2.weight"]
    path = tmp_path / "model.pt"
    torch.save(foreign, path)
    with pytest.raises(CheckpointError, match=r"net_G does not match .*missing 1 keys, e.g. 'output.2.weight'"):
        load_foreign(path, "pytorch_gan_collections", gan)
    torch.save({"state_dict": {}}, path)
    with pytest.raises(CheckpointError, match="needs 'net_G' and 'net_D', found \\['state_dict'\\]"):
        load_foreign(path, "pytorch_gan_collections", gan)
    wide = replace(sngan_cfg, generator={**sngan_cfg.generator, "channels": 32})
    torch.save(to_pytorch_gan_collections(build_gan(wide, (3, 32, 32), 0)), path)
    with pytest.raises(CheckpointError, match="'linear.weight' has shape"):
        load_foreign(path, "pytorch_gan_collections", gan)
    with pytest.raises(CheckpointError, match="class-conditional"):
        load_foreign(path, "studiogan", gan)
    with pytest.raises(CheckpointError, match="checkpoint .*nope.pt does not exist"):
        load_foreign(tmp_path / "nope.pt", "pytorch_gan_collections", gan)


def test_gradient_penalty_on_images_is_per_sample():
    d = DCGANDiscriminator((1, 16, 16), base_width=4, norm="layer")
    real, fake = torch.rand(4, 1, 16, 16), torch.rand(4, 1, 16, 16)
    gp = gradient_penalty(d, real, fake, torch.Generator().manual_seed(0))
    assert gp.ndim == 0 and torch.isfinite(gp)
    # a linear critic f(x) = <w, x> has gradient norm |w| everywhere: the penalty is (|w| - 1)^2
    lin = torch.nn.Sequential(torch.nn.Flatten(), torch.nn.Linear(256, 1, bias=False))
    torch.nn.init.constant_(lin[1].weight, 0.25)  # |w| = 0.25 * 16 = 4
    gp = gradient_penalty(lambda x: lin(x).squeeze(-1), real, fake, torch.Generator().manual_seed(0))
    assert abs(gp.item() - 9.0) < 1e-4


@pytest.mark.parametrize("gan_name", ["dcgan32", "wgan_gp_dcgan32", "sngan_resnet32"])
def test_every_image_gan_config_trains_on_digits(compose_cfg, tmp_path, gan_name):
    sngan = gan_name == "sngan_resnet32"
    width = [f"gan.{p}.{'channels' if sngan else 'base_width'}=4" for p in ("generator", "discriminator")]
    iterations = 1 if sngan else 2
    cfg = compose_cfg("dataset=digits", f"dataset.size={32 if sngan else 16}", f"gan={gan_name}",
                      "gan.latent_dim=8", f"gan.train.iterations={iterations}", "gan.train.batch_size=4",
                      "gan.train.n_critic=1", "gan.train.grid_every=1", "device=cpu", *width)
    from ganmc.run.gans import build_dataset

    dataset = build_dataset(cfg)
    gan = build_gan(gan_config(cfg), dataset.shape, 0)
    before = [p.detach().clone() for p in gan.generator.parameters()]
    record = train_gan(gan, dataset, gan_config(cfg).train, seed=0, progress=False, grid_dir=tmp_path)
    assert record["iterations"] == iterations
    assert all(torch.isfinite(torch.tensor(h["d_loss"])) for h in record["history"])
    assert any(not torch.equal(a, b) for a, b in zip(before, gan.generator.parameters()))
    grids = sorted(p.name for p in tmp_path.glob("*.png"))
    assert grids == [f"grid_{i:07d}.png" for i in range(1, iterations + 1)]
    from PIL import Image

    size = dataset.shape[-1]
    with Image.open(tmp_path / grids[-1]) as img:
        assert img.size == (8 * (size + 2) + 2, 8 * (size + 2) + 2)  # 64 samples, 8 a row, 2 px padding
