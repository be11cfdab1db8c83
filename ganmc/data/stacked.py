"""Stacked digits: three scikit-learn digits as the R, G and B channels of one image, 1,000
modes (the three labels), the CPU-sized counterpart of Stacked MNIST (Unrolled GAN, VEEGAN,
PacGAN) built from the digits that ship with scikit-learn.

The data set is a fixed pool of ``n_images`` stacked images (seeded by ``pool_seed``): each mode
``m = 100 * r + 10 * g + b`` gets ``round(n_images * w_m)`` images (largest remainders, so the
pool's mode counts follow the weights as closely as integers allow), and each channel is a
digit of its label drawn uniformly among the 1,797. Mode weights are the product of one
per-channel digit distribution, ``digit_weights`` (uniform by default: 1/1,000 each).
"""

from __future__ import annotations

import torch

from ganmc.data.images import Digits, ImageDataset
from ganmc.data.synthetic import stratified_counts
from ganmc.errors import GanmcError

N_DIGITS = 10
N_MODES = N_DIGITS ** 3


def mode_weights(digit_weights: list[float] | None) -> torch.Tensor:
    """The 1,000 mode weights (float64, summing to 1): the outer product of one per-channel
    digit distribution with itself three times; ``None`` gives the uniform 1/1,000."""
    if digit_weights is None:
        p = torch.full((N_DIGITS,), 1.0 / N_DIGITS, dtype=torch.float64)
    else:
        p = torch.as_tensor([float(w) for w in digit_weights], dtype=torch.float64)
        if p.shape != (N_DIGITS,) or not bool(torch.isfinite(p).all()) or bool((p <= 0).any()):
            raise GanmcError(f"dataset.digit_weights needs {N_DIGITS} finite weights > 0, got {digit_weights}")
        p = p / p.sum()
    return (p[:, None, None] * p[None, :, None] * p[None, None, :]).reshape(N_MODES)


def split_modes(modes: torch.Tensor) -> torch.Tensor:
    """Mode indices ``100 r + 10 g + b`` -> (n, 3) digit labels (r, g, b)."""
    return torch.stack([modes // 100, modes // 10 % 10, modes % 10], dim=1)


class StackedDigits(ImageDataset):
    """A pool of ``n_images`` 3-channel images whose channels are independent scikit-learn digits
    (``size`` px); ``labels`` are the mode indices, ``weights`` the 1,000 mode weights and
    ``channel_data`` the single-channel digits the channels come from (the mode classifier's data)."""

    def __init__(self, name: str = "stacked_digits", size: int = 16, n_images: int = 50000,
                 digit_weights: list[float] | None = None, pool_seed: int = 0) -> None:
        if n_images < N_MODES:
            raise GanmcError(f"dataset.n_images must be at least {N_MODES} (one image per mode), got {n_images}")
        self.weights = mode_weights(digit_weights)
        self.channel_data = Digits(f"{name}-channels", size=size, channels=1)
        rng = torch.Generator().manual_seed(int(pool_seed))
        counts = stratified_counts(self.weights, int(n_images))
        modes = torch.repeat_interleave(torch.arange(N_MODES), counts)
        modes = modes[torch.randperm(len(modes), generator=rng)]
        labels = split_modes(modes)
        by_digit = [torch.nonzero(self.channel_data.labels == d).flatten() for d in range(N_DIGITS)]
        channels = torch.empty(len(modes), 3, dtype=torch.long)
        for c in range(3):
            for d in range(N_DIGITS):
                rows = torch.nonzero(labels[:, c] == d).flatten()
                pick = torch.randint(len(by_digit[d]), (len(rows),), generator=rng)
                channels[rows, c] = by_digit[d][pick]
        images = self.channel_data.images[:, 0][channels]  # (n, 3, H, W)
        super().__init__(name, images.contiguous(), modes)
