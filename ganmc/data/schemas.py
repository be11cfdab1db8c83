"""Typed schemas of the data set config nodes (``schema/dataset``): one per family; each
``conf/dataset/NAME.yaml`` picks its schema in its defaults list."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ganmc.common import MISSING


@dataclass
class GridDatasetConfig:
    _target_: str = "ganmc.data.synthetic.GaussianGrid"
    name: str = MISSING
    size: int = 5
    spacing: float = 2.0
    std: float = 0.05
    scale: float = 2.828


@dataclass
class RingDatasetConfig:
    _target_: str = "ganmc.data.synthetic.GaussianRing"
    name: str = MISSING
    n_modes: int = 8
    scale: float = 10.0
    std_factor: float = 0.02
    n_major: int = 2
    major_ratio: float = 0.9


@dataclass
class MixtureDatasetConfig:
    _target_: str = "ganmc.data.synthetic.GaussianMixture"
    name: str = MISSING
    # Points as lists of numbers, ints too (``[[0,0],[1,1]]``). Not ``list[list[float]]``: OmegaConf
    # 2.3 refuses an int inside a nested float list when merging (omegaconf issue #1054);
    # GaussianMixture checks that every entry is a number.
    centres: list[list[Any]] = MISSING
    std: float = MISSING
    weights: list[float] | None = None


@dataclass
class SwissRollDatasetConfig:
    _target_: str = "ganmc.data.synthetic.SwissRoll"
    name: str = MISSING
    noise: float = 0.25
    scale: float = 7.5


@dataclass
class DigitsDatasetConfig:
    _target_: str = "ganmc.data.images.Digits"
    name: str = MISSING
    size: int = 32
    channels: int = 1


@dataclass
class StackedDigitsDatasetConfig:
    _target_: str = "ganmc.data.stacked.StackedDigits"
    name: str = MISSING
    size: int = 16
    n_images: int = 50000
    digit_weights: list[float] | None = None
    pool_seed: int = 0


@dataclass
class MNISTDatasetConfig:
    _target_: str = "ganmc.data.images.MNIST"
    name: str = MISSING
    root: str | None = None
    split: str = "train"
    size: int = 32
    channels: int = 1


@dataclass
class FashionMNISTDatasetConfig(MNISTDatasetConfig):
    _target_: str = "ganmc.data.images.FashionMNIST"


@dataclass
class StackedMNISTDatasetConfig:
    _target_: str = "ganmc.data.stacked.StackedMNIST"
    name: str = MISSING
    root: str | None = None
    size: int = 28
    n_images: int = 128000
    digit_weights: list[float] | None = None
    pool_seed: int = 0


@dataclass
class CIFAR10DatasetConfig(MNISTDatasetConfig):
    _target_: str = "ganmc.data.images.CIFAR10"
    channels: int = 3


@dataclass
class ImageFolderDatasetConfig:
    _target_: str = "ganmc.data.images.ImageFolder"
    name: str = MISSING
    root: str | None = None
    size: int = 64
    channels: int = 3
    crop: int | None = None
    limit: int | None = None


@dataclass
class CelebADatasetConfig(ImageFolderDatasetConfig):
    _target_: str = "ganmc.data.images.CelebA"
    crop: int | None = 140
