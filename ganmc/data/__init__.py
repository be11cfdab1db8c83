"""Data sets. Each one samples with an explicit ``torch.Generator``."""

from ganmc.data.synthetic import (
    GaussianGrid,
    GaussianMixture,
    GaussianRing,
    SwissRoll,
    SyntheticDataset,
)

__all__ = ["GaussianGrid", "GaussianMixture", "GaussianRing", "SwissRoll", "SyntheticDataset"]
