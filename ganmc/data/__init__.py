"""Data sets. Each one samples with an explicit ``torch.Generator``."""

from ganmc.data.images import (
    CIFAR10,
    MNIST,
    CelebA,
    Digits,
    FashionMNIST,
    ImageDataset,
    ImageFolder,
)
from ganmc.data.stacked import StackedDigits, StackedMNIST
from ganmc.data.synthetic import (
    GaussianGrid,
    GaussianMixture,
    GaussianRing,
    SwissRoll,
    SyntheticDataset,
)

Dataset = SyntheticDataset | ImageDataset

__all__ = [
    "CIFAR10", "MNIST", "CelebA", "Dataset", "Digits", "FashionMNIST", "GaussianGrid", "GaussianMixture",
    "GaussianRing", "ImageDataset", "ImageFolder", "StackedDigits", "StackedMNIST", "SwissRoll", "SyntheticDataset",
]
