"""Metrics as pure functions: tensors or arrays in, numbers out."""

from ganmc.metrics.emd import emd
from ganmc.metrics.modes import mode_metrics

__all__ = ["emd", "mode_metrics"]
