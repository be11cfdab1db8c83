"""2-D synthetic data sets of the DRS/DOT/DDLS and collaborative-sampling protocols.

Every data set draws fresh points with an explicit ``torch.Generator`` and knows what the
metrics need: mode centres and per-coordinate std for mixtures, ``None`` for the swiss roll.
"""

from __future__ import annotations

import hashlib
import math

import torch

from ganmc.errors import GanmcError

# How the real set an EMD compares with is drawn: ``iid`` (n independent draws: its mode counts
# are multinomial) or ``stratified`` (mixtures: each mode gets its share of n, as the DDLS/DOT
# toy code draws its real batches), so no mass moves between modes by chance.
REAL_SETS = ("iid", "stratified")


def stratified_counts(weights: torch.Tensor, n: int) -> torch.Tensor:
    """Integer counts summing to ``n`` closest to ``n * weights`` (largest remainders)."""
    exact = weights * n
    counts = exact.floor().long()
    short = n - int(counts.sum())
    if short > 0:
        counts[torch.argsort(exact - counts, descending=True, stable=True)[:short]] += 1
    return counts


def draw_real(dataset: SyntheticDataset, n: int, generator: torch.Generator, real_set: str = "iid") -> torch.Tensor:
    """``n`` real points drawn under the real-set protocol ``real_set`` (:data:`REAL_SETS`)."""
    if real_set == "iid":
        return dataset.sample(n, generator)
    if real_set == "stratified":
        return dataset.sample_stratified(n, generator)
    raise GanmcError(f"unknown real set {real_set!r} (one of {', '.join(REAL_SETS)})")


class SyntheticDataset:
    """Base class: a distribution on R^dim that can be sampled on demand."""

    name: str
    dim: int = 2
    centres: torch.Tensor | None = None
    std: float | None = None

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` points as a float32 tensor of shape (n, dim)."""
        raise NotImplementedError

    def sample_stratified(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` points with each mode's share of ``n`` fixed (mixtures only)."""
        raise GanmcError(f"dataset {self.name} has no modes to stratify a real set over: "
                         "use metric.real_set=iid")

    def class_weights(self) -> torch.Tensor | None:
        """The data's share of each class (a class-conditional GAN's labels); ``None``: no classes.
        Data sets with classes also draw ``sample_class(n, label, generator)``."""
        return None

    def regions(self, x: torch.Tensor) -> torch.Tensor | None:
        """Index of the region (mode, or bin along a curve) of each point; ``None``: no regions."""
        return None

    def region_masses(self) -> torch.Tensor | None:
        """The data's probability mass per region (float64, sums to 1); ``None``: no regions."""
        return None

    def fingerprint(self) -> str:
        """sha256 of 1,024 points drawn with seed 0: changes whenever the distribution does."""
        points = self.sample(1024, torch.Generator().manual_seed(0))
        digest = hashlib.sha256(type(self).__name__.encode())
        digest.update(points.numpy().tobytes())
        return digest.hexdigest()


class GaussianMixture(SyntheticDataset):
    """Isotropic Gaussian mixture with given centres, one std and optional weights."""

    def __init__(
        self,
        name: str,
        centres: list[list[float]] | torch.Tensor,
        std: float,
        weights: list[float] | None = None,
    ) -> None:
        self.name = name
        try:
            c = torch.as_tensor(centres, dtype=torch.float32)  # ints and floats alike
        except (TypeError, ValueError):  # a non-number, points of unequal length
            c = torch.empty(0)
        if c.ndim != 2 or c.shape[0] == 0 or c.shape[1] == 0:
            raise GanmcError(f"dataset {name}: centres must be a non-empty list of points of one length, each a "
                             f"list of numbers (e.g. [[0,0],[1,1]]), got {centres}")
        if not std > 0:
            raise GanmcError(f"dataset {name}: std must be positive, got {std}")
        self.centres = c
        self.dim = int(c.shape[1])
        self.std = float(std)
        if weights is None:
            w = torch.full((c.shape[0],), 1.0 / c.shape[0], dtype=torch.float64)
        else:
            w = torch.as_tensor(weights, dtype=torch.float64)
            if w.shape != (c.shape[0],) or bool((w < 0).any()) or float(w.sum()) <= 0:
                raise GanmcError(
                    f"dataset {name}: weights must be {c.shape[0]} non-negative numbers"
                )
            w = w / w.sum()
        self.weights = w

    region_kind = "mode"

    def regions(self, x: torch.Tensor) -> torch.Tensor:
        """Nearest centre of each point (in chunks: memory stays bounded for any n)."""
        centres = self.centres.double().to(x.device)  # type: ignore[union-attr]
        return torch.cat([torch.cdist(part.double(), centres).argmin(dim=1) for part in x.split(1 << 16)])

    def region_masses(self) -> torch.Tensor:
        return self.weights

    def class_weights(self) -> torch.Tensor:
        """A mixture's classes are its modes, in the order of its centres."""
        return self.weights

    def sample_class(self, n: int, label: int, generator: torch.Generator) -> torch.Tensor:
        return self.centres[label] + self.std * torch.randn(n, self.dim, generator=generator)  # type: ignore[index]

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        idx = torch.multinomial(self.weights, n, replacement=True, generator=generator)
        noise = torch.randn(n, self.dim, generator=generator)
        return self.centres[idx] + self.std * noise

    def sample_stratified(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` points whose mode counts are ``n * weights`` rounded (largest remainders), in
        random order: only the within-mode noise is random."""
        counts = stratified_counts(self.weights, n)
        idx = torch.repeat_interleave(torch.arange(len(counts)), counts)
        idx = idx[torch.randperm(n, generator=generator)]
        noise = torch.randn(n, self.dim, generator=generator)
        return self.centres[idx] + self.std * noise


class GaussianGrid(GaussianMixture):
    """The 25-Gaussians grid: centres ``spacing * {-2..2}^2``, std, all divided by ``scale``."""

    def __init__(
        self, name: str, size: int = 5, spacing: float = 2.0, std: float = 0.05, scale: float = 2.828
    ) -> None:
        if size < 1 or scale <= 0:
            raise GanmcError(f"dataset {name}: size and scale must be positive")
        ticks = (torch.arange(size, dtype=torch.float32) - (size - 1) / 2) * spacing
        grid = torch.cartesian_prod(ticks, ticks)
        super().__init__(name, grid / scale, std / scale)


class GaussianRing(GaussianMixture):
    """Gaussians on a circle of radius ``scale/1.414`` with std ``std_factor*scale/1.414``.

    The first ``n_major`` modes share ``major_ratio`` of the mass, the others the rest
    (the imbalanced 8 Gaussians of collaborative sampling: 2 modes with 45% each).
    """

    def __init__(
        self,
        name: str,
        n_modes: int = 8,
        scale: float = 10.0,
        std_factor: float = 0.02,
        n_major: int = 2,
        major_ratio: float = 0.9,
    ) -> None:
        if not 0 <= n_major <= n_modes or not 0.0 <= major_ratio <= 1.0:
            raise GanmcError(f"dataset {name}: need 0 <= n_major <= n_modes and ratio in [0, 1]")
        radius = scale / 1.414
        angles = torch.arange(n_modes, dtype=torch.float64) * (2 * math.pi / n_modes)
        centres = torch.stack([radius * angles.cos(), radius * angles.sin()], dim=1)
        n_minor = n_modes - n_major
        if n_minor == 0 or n_major == 0:
            weights = [1.0 / n_modes] * n_modes
        else:
            weights = [major_ratio / n_major] * n_major + [(1 - major_ratio) / n_minor] * n_minor
        super().__init__(name, centres.float(), std_factor * radius, weights)


class SwissRoll(SyntheticDataset):
    """scikit-learn's ``make_swiss_roll`` (noise on all three coordinates), (x, z) / scale.

    Its regions are ``n_bins`` equal stretches of the roll's parameter t in [1.5 pi, 4.5 pi]
    (the curve (t cos t, t sin t) / scale): each point goes to the stretch of the turn nearest
    to it along its ray from the origin, where the curve's radius is t.
    """

    region_kind = "roll bin"
    T_MIN, T_MAX = 1.5 * math.pi, 4.5 * math.pi

    def __init__(self, name: str, noise: float = 0.25, scale: float = 7.5, n_bins: int = 12) -> None:
        if noise < 0 or scale <= 0 or n_bins < 1:
            raise GanmcError(f"dataset {name}: noise must be >= 0, scale > 0 and n_bins >= 1")
        self.name = name
        self.noise = float(noise)
        self.scale = float(scale)
        self.n_bins = int(n_bins)
        self._masses: torch.Tensor | None = None

    def regions(self, x: torch.Tensor) -> torch.Tensor:
        xz = x.double().cpu() * self.scale
        radius = xz.norm(dim=1)
        angle = torch.atan2(xz[:, 1], xz[:, 0]) % (2 * math.pi)
        turn = torch.round((radius - angle) / (2 * math.pi))
        t = (angle + 2 * math.pi * turn).clamp(self.T_MIN, self.T_MAX)
        index = ((t - self.T_MIN) / (self.T_MAX - self.T_MIN) * self.n_bins).long()
        return index.clamp(max=self.n_bins - 1)

    def region_masses(self) -> torch.Tensor:
        """Measured once on 400,000 real points (seed 0): noise moves some mass across bins."""
        if self._masses is None:
            index = self.regions(self.sample(400_000, torch.Generator().manual_seed(0)))
            self._masses = torch.bincount(index, minlength=self.n_bins).double() / len(index)
        return self._masses

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        t = 1.5 * math.pi * (1 + 2 * torch.rand(n, generator=generator, dtype=torch.float64))
        xz = torch.stack([t * torch.cos(t), t * torch.sin(t)], dim=1)
        xz = xz + self.noise * torch.randn(n, 2, generator=generator, dtype=torch.float64)
        return (xz / self.scale).float()
