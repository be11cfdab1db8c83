"""Stacked digits and Stacked MNIST: three digit images as the R, G and B channels of one
image, 1,000 modes (the three labels). Stacked MNIST is the mode-collapse benchmark of Unrolled
GAN, VEEGAN and PacGAN; stacked digits its CPU-sized counterpart built from the 8x8 digits that
ship with scikit-learn.

The data set is a fixed pool of ``n_images`` stacked images (seeded by ``pool_seed``): each mode
``m = 100 * r + 10 * g + b`` gets ``round(n_images * w_m)`` images (largest remainders, so the
pool's mode counts follow the weights as closely as integers allow), and each channel is a
digit of its label drawn uniformly among the 1,797. Mode weights are the product of one
per-channel digit distribution, ``digit_weights`` (uniform by default: 1/1,000 each).
"""

from __future__ import annotations

import torch

from ganmc.data.images import MNIST, Digits, ImageDataset
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


class StackedMNIST(ImageDataset):
    """Stacked MNIST as the protocol builds it: each of the ``n_images`` images stacks three
    independent random MNIST images (the 70,000 of train + test) as R, G and B, drawn from
    ``pool_seed``; its mode is the triple of their labels. ``digit_weights`` makes the modes
    uneven (each channel's label drawn from them, then a random image of that label).

    ``weights`` are the data's own 1,000 mode weights (the protocol's: the product of MNIST's
    digit frequencies, not exactly uniform), ``channel_data`` MNIST's training images (the mode
    classifier's data) and ``channel_test`` its test images."""

    def __init__(self, name: str = "stacked_mnist", root: str | None = None, size: int = 28,
                 n_images: int = 128000, digit_weights: list[float] | None = None, pool_seed: int = 0) -> None:
        if n_images < N_MODES:
            raise GanmcError(f"dataset.n_images must be at least {N_MODES}, got {n_images}")
        self.channel_data = MNIST(f"{name}-channels", root=root, split="train", size=size, channels=1)
        self.channel_test = MNIST(f"{name}-channels-test", root=root, split="test", size=size, channels=1)
        pool = torch.cat([self.channel_data.images[:, 0], self.channel_test.images[:, 0]])
        pool_labels = torch.cat([self.channel_data.labels, self.channel_test.labels])
        rng = torch.Generator().manual_seed(int(pool_seed))
        if digit_weights is None:
            channels = torch.randint(len(pool), (int(n_images), 3), generator=rng)
            freq = torch.bincount(pool_labels, minlength=N_DIGITS).double() / len(pool_labels)
            self.weights = (freq[:, None, None] * freq[None, :, None] * freq[None, None, :]).reshape(N_MODES)
        else:
            self.weights = mode_weights(digit_weights)
            p = mode_weights(digit_weights).reshape(N_DIGITS, N_DIGITS, N_DIGITS).sum(dim=(1, 2))
            labels = torch.multinomial(p, int(n_images) * 3, replacement=True, generator=rng).reshape(-1, 3)
            by_digit = [torch.nonzero(pool_labels == d).flatten() for d in range(N_DIGITS)]
            channels = torch.empty(int(n_images), 3, dtype=torch.long)
            for c in range(3):
                for d in range(N_DIGITS):
                    rows = torch.nonzero(labels[:, c] == d).flatten()
                    channels[rows, c] = by_digit[d][torch.randint(len(by_digit[d]), (len(rows),), generator=rng)]
        digits = pool_labels[channels]
        modes = 100 * digits[:, 0] + 10 * digits[:, 1] + digits[:, 2]
        super().__init__(name, pool[channels].contiguous(), modes)
