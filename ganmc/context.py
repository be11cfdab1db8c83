"""What one-time preparation may need beyond the GAN: :class:`SamplingContext`.

It lives below both the samplers and the discriminator derivations (:mod:`ganmc.discriminators`),
which read it without importing each other.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ganmc.models.checkpoint import CheckpointSpec


@dataclass
class SamplingContext:
    """The data set (real samples for calibration, chain inits, the median stopping rule), the
    checkpoint the GAN came from (derived nets are cached next to it), the cache folder, the
    run's seed and its GAN's :class:`~ganmc.models.checkpoint.CheckpointSpec` (the folders of
    shipped checkpoints, and the identity saved with derived checkpoints: none saved without it)."""

    dataset: Any
    checkpoint: Path | None = None
    cache_dir: Path | None = None
    seed: int = 0
    spec: CheckpointSpec | None = None

    def derived_path(self, kind: str, name: str) -> Path:
        """Where a net derived from the checkpoint (``kind``: calibrated, shaped) lives: the cache
        file when present, else a shipped copy in ``<checkpoint_dir>/<kind>/`` of a
        ``checkpoint_dirs`` entry, else the cache file to create."""
        if self.cache_dir is None:
            raise ValueError("a derived discriminator needs SamplingContext.cache_dir")
        cached = Path(self.cache_dir) / kind / name
        if cached.is_file() or self.spec is None:
            return cached
        for folder in self.spec.checkpoint_dirs:
            shipped = Path(str(folder)).expanduser() / kind / name
            if shipped.is_file():
                return shipped
        return cached
