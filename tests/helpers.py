"""Helpers only the tests use: reading a sample's quality directly, writing a GAN as a foreign
(pytorch-gan-collections) checkpoint, the one-line errors of the API and the CLI, and a refused
run's one error line."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
import torch

from ganmc.errors import GanmcError
from ganmc.metrics.collab import good_mask
from ganmc.models.adapters import _d_theirs, _g_theirs
from ganmc.models.gan import GAN

LOG_LINE = re.compile(r"^\[\d{4}-\d\d-\d\d [\d:,]+\]\[")  # ganmc's log lines (on stderr)


def error_line(err: str) -> str:
    """The one line on stderr that is not a log line (no traceback, nothing else)."""
    errors = [ln for ln in err.splitlines() if ln.strip() and not LOG_LINE.match(ln)]
    assert len(errors) == 1, f"expected one error line on stderr, got:\n{err}"
    return errors[0]


def good_percent(samples: torch.Tensor, centres: torch.Tensor, std: float, threshold: float = 4.0) -> float:
    """Percentage of good samples (within ``threshold`` std of their nearest centre)."""
    if samples.ndim != 2 or samples.shape[0] == 0:
        raise ValueError("samples must be a non-empty (n, dim) tensor")
    good, _ = good_mask(samples, centres, std, threshold)
    return 100.0 * float(good.double().mean())


def efficiency(accepted: float, proposed: float) -> float:
    """Accepted / proposed samples."""
    if proposed <= 0:
        raise ValueError("efficiency needs proposed > 0")
    return float(accepted) / float(proposed)


def to_pytorch_gan_collections(gan: GAN) -> dict[str, Any]:
    """The inverse of ganmc's loader: a ``{'net_G', 'net_D'}`` dict pytorch-gan-collections can load."""
    return {"net_G": {_g_theirs(k): v for k, v in gan.generator.state_dict().items()},
            "net_D": {_d_theirs(k): v for k, v in gan.discriminator.state_dict().items()}}


def one_line_error(fn: Callable[[], Any], *pattern: str) -> str:
    """The GanmcError ``fn()`` raises: one line, matching each regex of ``pattern``."""
    with pytest.raises(GanmcError) as info:
        fn()
    message = str(info.value)
    assert "\n" not in message
    for part in pattern:
        assert re.search(part, message), message
    return message
