"""Fine-tune a discriminator as a logistic classifier of real vs given fake samples.

Used by DDLS's calibration (fakes = generator samples; the logit then estimates
log p_data / p_g) and by collaborative sampling's discriminator shaping (fakes = refined
samples). Only D changes; the result is a new GAN sharing G.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable

import torch
import torch.nn.functional as F
from tqdm import tqdm

from ganmc.common import bar_disable
from ganmc.data.synthetic import SyntheticDataset
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN

log = logging.getLogger(__name__)

FakeFn = Callable[[int, torch.Generator], torch.Tensor]


def finetune_discriminator(
    gan: GAN,
    dataset: SyntheticDataset,
    fake_fn: FakeFn,
    steps: int,
    lr: float = 1e-3,
    batch_size: int = 512,
    generator: torch.Generator | None = None,
    progress: bool = True,
    in_place: bool = False,
    on_step: Callable[[int, GAN, list[dict[str, float]]], None] | None = None,
) -> tuple[GAN, list[dict[str, float]]]:
    """Return a copy of ``gan`` whose D was trained ``steps`` Adam steps with the BCE loss
    ``softplus(-d(real)) + softplus(d(fake))``, fakes drawn by ``fake_fn(n, generator)``.

    ``in_place=True`` trains ``gan``'s own D instead of a copy, for fakes that depend on the D
    being trained (discriminator shaping alternates refinement with the current D and a D step).
    ``on_step(step, tuned, history)`` runs after every step (D in training mode; snapshots).
    """
    if steps <= 0 or lr <= 0 or batch_size <= 0:
        raise GanmcError("fine-tuning needs positive steps, lr and batch_size")
    rng = generator if generator is not None else torch.Generator().manual_seed(0)
    tuned = gan if in_place else gan.with_d_copy()
    disc = tuned.discriminator
    disc.train()
    opt = torch.optim.Adam(disc.parameters(), lr=lr, betas=(0.5, 0.999))
    history: list[dict[str, float]] = []
    device = gan.device
    for step in tqdm(range(1, steps + 1), desc="fine-tune D", disable=bar_disable(progress),
                     dynamic_ncols=True):
        real = dataset.sample(batch_size, rng).to(device)
        with torch.no_grad():
            fake = fake_fn(batch_size, rng).to(device)
        loss = F.softplus(-disc(real)).mean() + F.softplus(disc(fake)).mean()
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if step % max(1, steps // 50) == 0 or step == steps:
            value = loss.item()
            if not math.isfinite(value):
                raise GanmcError(f"discriminator fine-tuning diverged at step {step}: lower its lr")
            history.append({"step": step, "bce": value})
        if on_step is not None:
            on_step(step, tuned, history)
    disc.eval()
    return tuned, history
