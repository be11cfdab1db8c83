"""The sampler interface: ``Sampler(gan, **hparams).sample(n, generator) -> SampleBatch``."""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch
from tqdm import tqdm

from ganmc.errors import GanmcError
from ganmc.models.gan import GAN


@dataclass
class SampleBatch:
    """Output samples with their latents, statistics and cost.

    ``g_evals`` and ``d_evals`` count network evaluations (forward passes; a backward pass
    counts as one more) summed over the batch; divide by ``len`` for per-sample cost.
    ``extra`` holds further sample sets the run should also measure, such as DDLS's
    importance-resampled estimate of its exact target (``extra["sir"]``).
    """

    samples: torch.Tensor
    latents: torch.Tensor | None = None
    stats: dict[str, float] = field(default_factory=dict)
    g_evals: float = 0.0
    d_evals: float = 0.0
    extra: dict[str, torch.Tensor] = field(default_factory=dict)

    def __len__(self) -> int:
        return int(self.samples.shape[0])

    @staticmethod
    def concat(parts: list[SampleBatch]) -> SampleBatch:
        """Join batches; statistics are averaged weighted by batch size."""
        sizes = [len(p) for p in parts]
        total = sum(sizes)
        keys = set().union(*(p.stats for p in parts))
        stats = {k: sum(p.stats.get(k, 0.0) * s for p, s in zip(parts, sizes)) / total for k in keys}
        latents = None
        if all(p.latents is not None for p in parts):
            latents = torch.cat([p.latents for p in parts])  # type: ignore[misc]
        extra_keys = set().union(*(p.extra for p in parts))
        return SampleBatch(
            samples=torch.cat([p.samples for p in parts]),
            latents=latents,
            stats=stats,
            g_evals=sum(p.g_evals for p in parts),
            d_evals=sum(p.d_evals for p in parts),
            extra={k: torch.cat([p.extra[k] for p in parts if k in p.extra]) for k in extra_keys},
        )


def device_generator(generator: torch.Generator, device: torch.device) -> torch.Generator:
    """``generator`` itself on CPU; on another device, a generator there seeded from it, so noise
    is drawn where the chains live (no host-to-device copy per step) and stays reproducible."""
    if device.type == "cpu":
        return generator
    seed = int(torch.randint(0, 2**62, (1,), generator=generator))
    return torch.Generator(device=device).manual_seed(seed)


@dataclass
class SamplingContext:
    """What a sampler may need before sampling beyond the GAN: the data set (real samples for
    calibration or initialisation), the checkpoint it came from (to cache derived nets next to
    it), the run's seed and the resolved config."""

    dataset: Any
    checkpoint: Path | None
    cache_dir: Path
    seed: int
    cfg: Any = None

    def derived_path(self, kind: str, name: str) -> Path:
        """Where a net derived from the checkpoint (``kind``: calibrated, shaped) lives: the cache
        file when present, else a shipped copy in ``<checkpoint_dir>/<kind>/`` of a
        ``checkpoint_dirs`` entry, else the cache file to create."""
        cached = Path(self.cache_dir) / kind / name
        if cached.is_file() or self.cfg is None:
            return cached
        for folder in self.cfg.get("checkpoint_dirs") or []:
            shipped = Path(str(folder)).expanduser() / kind / name
            if shipped.is_file():
                return shipped
        return cached


class Sampler(ABC):
    """Base class. Subclasses implement :meth:`sample_batch`; the nets are put in eval mode."""

    name = "sampler"
    # True: the pipeline passes ``dataset=`` (real data) to the constructor.
    needs_dataset = False

    def __init__(self, gan: GAN) -> None:
        self.gan = gan.eval()
        self.prep_stats: dict[str, Any] = {}

    def prepare(self, ctx: SamplingContext) -> None:
        """Work done once before sampling (calibration, pilot runs); default: nothing."""
        return None

    def propose(self, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """``m`` generator proposals as (latent state, output): z from the prior and G(z)."""
        z = self.gan.prior.sample(m, generator, self.gan.device)
        return z, self.gan.generator(z)

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """log w of proposals (``propose``'s state and output) when the sampler aims at the exact
        target ``p_g * w`` (:mod:`ganmc.samplers.target` estimates it); ``None``: no such target."""
        return None

    @abstractmethod
    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        """Produce exactly ``n`` output samples."""

    def sample(self, n: int, generator: torch.Generator, batch_size: int | None = None,
               progress: bool = False) -> SampleBatch:
        """Produce ``n`` samples in batches of ``batch_size``; fail on non-finite output."""
        batch_size = batch_size or n
        parts = []
        with tqdm(total=n, desc=f"sample {self.name}", unit="sample",
                  disable=None if progress else True, dynamic_ncols=True) as bar:
            while sum(len(p) for p in parts) < n:
                m = min(batch_size, n - sum(len(p) for p in parts))
                part = self.sample_batch(m, generator)
                if not bool(torch.isfinite(part.samples).all()):
                    raise GanmcError(f"sampler {self.name} produced NaN/inf samples: lower its step size")
                parts.append(part)
                bar.update(m)
        return SampleBatch.concat(parts)
