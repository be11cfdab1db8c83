"""The Stacked MNIST protocol's DCGAN and the collaborative study's infoGAN-style NS-GAN: shapes,
widths, the refinement layer, and one-line errors for data they were not built for."""

from __future__ import annotations

import pytest
import torch

from ganmc.errors import GanmcError
from ganmc.models.gan import build_gan
from ganmc.models.infogan import InfoGANDiscriminator, InfoGANGenerator
from ganmc.models.stacked_mnist import StackedMNISTDiscriminator, StackedMNISTGenerator
from ganmc.settings import gan_config


def test_stacked_mnist_nets_have_the_protocol_shapes():
    g = StackedMNISTGenerator(256, (3, 28, 28)).eval()
    z = torch.randn(4, 256)
    with torch.no_grad():
        x = g(z)
    assert x.shape == (4, 3, 28, 28) and float(x.abs().max()) <= 1.0
    assert [tuple(g.forward_to(z, k).shape[1:]) for k in range(1, 5)] == [(64, 4, 4), (32, 7, 7), (16, 14, 14), (8, 28, 28)]
    for size, widths in (("quarter", (2, 4, 8)), ("half", (4, 8, 16))):
        d = StackedMNISTDiscriminator((3, 28, 28), size).eval()
        assert d(x).shape == (4,)
        convs = [m for m in d.modules() if isinstance(m, torch.nn.Conv2d)]
        assert tuple(c.out_channels for c in convs) == widths and all(c.stride == (2, 2) for c in convs)
        assert [m.negative_slope for m in d.modules() if isinstance(m, torch.nn.LeakyReLU)] == [0.3] * 3


def test_stacked_mnist_nets_refuse_other_sizes_and_d_sizes():
    with pytest.raises(GanmcError, match="28x28"):
        StackedMNISTGenerator(256, (3, 32, 32))
    with pytest.raises(GanmcError, match="d_size must be one of quarter, half, got 'third'"):
        StackedMNISTDiscriminator((3, 28, 28), "third")


def test_infogan_nets_refine_at_the_7x7x128_features():
    g = InfoGANGenerator(62, (1, 28, 28)).eval()
    z = torch.rand(5, 62) * 2 - 1
    assert tuple(g.forward_to(z, 2).shape) == (5, 128, 7, 7)
    assert g(z).shape == (5, 1, 28, 28)
    assert InfoGANDiscriminator((1, 28, 28)).eval()(g(z)).shape == (5,)
    with pytest.raises(GanmcError, match="dataset.size=28"):
        InfoGANDiscriminator((1, 32, 32))


@pytest.mark.parametrize("overrides, shape", [
    (["dataset=stacked_mnist", "gan=dcgan_stacked_mnist", "gan.discriminator.d_size=half"], (3, 28, 28)),
    (["dataset=mnist", "dataset.size=28", "gan=nsgan_mnist"], (1, 28, 28)),
])
def test_the_gan_configs_build(compose_cfg, overrides, shape):
    cfg = compose_cfg(*overrides)
    gan = build_gan(gan_config(cfg), shape, seed=0)
    assert gan.generator(gan.prior.sample(2, torch.Generator().manual_seed(0), "cpu")).shape == (2, *shape)
