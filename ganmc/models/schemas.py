"""Typed schemas of the GAN config group (``gan/``): architectures, training, checkpoint format,
stored in Hydra's ConfigStore by :func:`ganmc.config.register_configs`."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

from ganmc.common import MISSING


class Loss(Enum):
    wgan_gp = "wgan_gp"
    ns = "ns"
    hinge = "hinge"


class Norm(Enum):
    batch = "batch"
    layer = "layer"
    none = "none"


class DSize(Enum):
    """The Stacked MNIST protocol's discriminator widths: "D = 1/4 G" and "D = 1/2 G"."""

    quarter = "quarter"
    half = "half"


class CheckpointFormat(Enum):
    ganmc = "ganmc"
    pytorch_gan_collections = "pytorch_gan_collections"
    studiogan = "studiogan"
    torchscript = "torchscript"


class DOutput(Enum):
    """What a D of your own returns (``gan.checkpoint_format=torchscript``, ``gan.factory``)."""

    logit = "logit"
    probability = "probability"
    critic = "critic"


class PriorKind(Enum):
    normal = "normal"
    uniform = "uniform"


class Activation(Enum):
    relu = "relu"
    leaky_relu = "leaky_relu"
    tanh = "tanh"
    elu = "elu"


class OptimizerKind(Enum):
    adam = "adam"
    sgd = "sgd"


@dataclass
class NetConfig:
    """MLP generator or discriminator (vector data); ``norm`` in each hidden block; ``slope``: the
    negative slope of ``activation=leaky_relu``."""

    _target_: str = MISSING
    width: int = 256
    depth: int = 3
    activation: Activation = Activation.relu
    norm: Norm = Norm.none
    slope: float = 0.01


MLPNetConfig = NetConfig


@dataclass
class DCGANNetConfig:
    """DCGAN generator or discriminator; ``base_width`` is ngf/ndf (channels at full size)."""

    _target_: str = MISSING
    base_width: int = 64
    norm: Norm = Norm.batch


@dataclass
class DCGANDiscriminatorConfig(DCGANNetConfig):
    """DCGAN discriminator: also its leaky ReLU ``slope``."""

    slope: float = 0.2


@dataclass
class StackedMNISTGeneratorConfig:
    """The Stacked MNIST protocol's generator (fixed widths)."""

    _target_: str = "ganmc.models.stacked_mnist.StackedMNISTGenerator"


@dataclass
class StackedMNISTDiscriminatorConfig:
    """The Stacked MNIST protocol's discriminator: ``d_size`` quarter (2-4-8 channels) or half
    (4-8-16); leaky ReLU ``slope``."""

    _target_: str = "ganmc.models.stacked_mnist.StackedMNISTDiscriminator"
    d_size: DSize = DSize.quarter
    slope: float = 0.3


@dataclass
class InfoGANGeneratorConfig:
    """The collaborative MNIST study's infoGAN-style generator (fixed widths)."""

    _target_: str = "ganmc.models.infogan.InfoGANGenerator"


@dataclass
class InfoGANDiscriminatorConfig:
    """The collaborative MNIST study's infoGAN-style discriminator; leaky ReLU ``slope``."""

    _target_: str = "ganmc.models.infogan.InfoGANDiscriminator"
    slope: float = 0.2


@dataclass
class SNGANNetConfig:
    """SN-GAN ResNet generator (256 channels) or discriminator (128 channels)."""

    _target_: str = MISSING
    channels: int = 256


@dataclass
class TrainConfig:
    iterations: int = 3000
    batch_size: int = 256
    n_critic: int = 5
    gp_weight: float = 10.0
    optimizer: OptimizerKind = OptimizerKind.adam
    lr_g: float = 1e-4
    lr_d: float = 1e-4
    betas: list[float] = field(default_factory=lambda: [0.5, 0.9])
    snapshots: list[int] = field(default_factory=list)
    grid_every: int = 0  # write a sample grid every N iterations (image data; 0: never)


@dataclass
class GanConfig:
    name: str = MISSING
    loss: Loss = MISSING
    latent_dim: int = 2
    prior: PriorKind = PriorKind.normal
    generator: Any = MISSING  # typed by its family's schema under schema/net
    discriminator: Any = MISSING
    train: TrainConfig = field(default_factory=TrainConfig)
    checkpoint: str | None = None
    checkpoint_format: CheckpointFormat = CheckpointFormat.ganmc
    d_output: DOutput = DOutput.logit  # your own D's output (torchscript / factory nets only)
    factory: str | None = None  # package.module:function returning (G, D): runs your code
    num_classes: int | None = None  # your own class-conditional nets G(z, y), D(x, y): labels 0..K-1
