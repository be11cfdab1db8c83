"""The latent weight network of latent rejection sampling (Issenhuth, Tanielian, Mary, Picard,
"Latent reweighting, an almost free improvement for GANs", WACV 2022), trained once per GAN.

``w(z) >= 0`` reweights the prior: the generator's law becomes ``G # (p0 * w)`` (``E_p0 w = 1``).
It is trained adversarially against a critic ``D_a`` on the Wasserstein objective of the paper,
with its normalisation and clipping penalties and the shift ``Delta``:

- critic (``n_critic`` steps per ``w`` step): minimise ``E_z[w~(z) D_a(G(z))] - E_x[D_a(x)] +
  gp_weight * GP`` (WGAN-GP; ``w~ = w / mean(w)`` over the batch, the reweighted fakes);
- weights: minimise ``-E_z[w(z) (D_a(G(z)) - Delta)] + lambda_norm (E_z w - 1)^2 +
  lambda_clip E_z[max(0, w(z) - m)^2]``, ``Delta`` the batch's smallest ``D_a(G(z))`` (a
  critic's offset is arbitrary; the shift makes the step independent of it).

Ours, where the paper leaves it open: ``D_a`` starts from a copy of the GAN's own D, ``w`` is
``softplus`` of an MLP of the latent (:class:`ganmc.models.mlp.MLPDiscriminator`, ReLU), both
trained with Adam (``lr``, betas (0.5, 0.9)) on batches of ``train_batch``.

The trained ``w`` is cached as the derived Ds are (:func:`ganmc.discriminators.derive.keyed_file`):
``<cache_dir>/latent_weights/<parent stem>-lrs<train_steps>-<key>.pt`` (key: the parent
checkpoint, the data and the schedule), with the training's history and seconds; a shipped copy
under ``<checkpoint_dir>/latent_weights/`` is used when present.
"""

from __future__ import annotations

import copy
import json
import logging
import math
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn
from tqdm import tqdm

from ganmc.common import bar_disable
from ganmc.context import SamplingContext
from ganmc.discriminators.derive import keyed_file
from ganmc.errors import CheckpointError, GanmcError
from ganmc.io import write_atomic
from ganmc.models.checkpoint import load_net
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator
from ganmc.training import gradient_penalty
from ganmc.weights import load_weights

log = logging.getLogger(__name__)
FORMAT = "ganmc.latent_weights/1"
KIND = "latent_weights"


@dataclass(frozen=True)
class WeightSchedule:
    """How ``w`` is trained (``train_steps`` w steps, ``n_critic`` critic steps each), its bound
    ``m`` and its MLP's ``width`` and ``depth`` (the file's key)."""

    train_steps: int = 1000
    n_critic: int = 5
    train_batch: int = 256
    lr: float = 1e-3
    gp_weight: float = 10.0
    lambda_norm: float = 10.0
    lambda_clip: float = 3.0
    m: float = 3.0
    width: int = 128
    depth: int = 3


class LatentWeights(nn.Module):
    """``w(z) = softplus(MLP(z))``: (n, dim) latents -> (n,) non-negative weights."""

    def __init__(self, dim: int, width: int, depth: int) -> None:
        super().__init__()
        self.net = MLPDiscriminator(dim, width, depth, "relu")

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return F.softplus(self.net(z))


def train_latent_weights(gan: GAN, dataset: Any, s: WeightSchedule, rng: torch.Generator,
                         progress: bool = False) -> tuple[LatentWeights, list[dict[str, float]]]:
    """``w`` trained on ``gan`` (G frozen, D copied) and real samples of ``dataset``; returns it
    (eval mode) and its history (``w_loss``, ``gap`` = ``E D_a(x) - E w~ D_a(G(z))``, the
    critic's Wasserstein estimate, ``w_mean``)."""
    device = gan.device
    with torch.random.fork_rng(devices=[]):  # the initialisation comes from rng too
        torch.manual_seed(int(torch.randint(0, 2**62, (1,), generator=rng)))
        weights = LatentWeights(gan.prior.dim, s.width, s.depth).to(device)
    critic = copy.deepcopy(gan.discriminator).train()
    opt_w = torch.optim.Adam(weights.parameters(), lr=s.lr, betas=(0.5, 0.9))
    opt_d = torch.optim.Adam(critic.parameters(), lr=s.lr, betas=(0.5, 0.9))
    history: list[dict[str, float]] = []
    for step in tqdm(range(1, s.train_steps + 1), desc="train latent weights", disable=bar_disable(progress),
                     dynamic_ncols=True):
        for _ in range(s.n_critic):
            real = dataset.sample(s.train_batch, rng).to(device)
            z = gan.prior.sample(s.train_batch, rng, device)
            with torch.no_grad():
                fake = gan.generator(z)
                w = weights(z)
                w = w / w.mean().clamp_min(1e-12)
            gap = critic(real).mean() - (w * critic(fake)).mean()
            loss_d = -gap + s.gp_weight * gradient_penalty(critic, real, fake, rng)
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        z = gan.prior.sample(s.train_batch, rng, device)
        with torch.no_grad():
            score = critic(gan.generator(z))
        w = weights(z)
        loss_w = (-(w * (score - score.min())).mean() + s.lambda_norm * (w.mean() - 1) ** 2
                  + s.lambda_clip * (F.relu(w - s.m) ** 2).mean())
        opt_w.zero_grad(set_to_none=True)
        loss_w.backward()
        opt_w.step()
        if step % max(1, s.train_steps // 50) == 0 or step == s.train_steps:
            entry = {"step": step, "w_loss": loss_w.item(), "gap": gap.item(), "w_mean": w.mean().item()}
            if not all(math.isfinite(v) for v in entry.values()):
                raise GanmcError(f"latent_rs: training the latent weights diverged at step {step}: lower sampler.lr")
            history.append(entry)
    return weights.eval(), history


def latent_weights(gan: GAN, ctx: SamplingContext, s: WeightSchedule,
                   progress: bool = True) -> tuple[LatentWeights, Path, dict[str, Any]]:
    """``w`` for ``gan``: loaded from its file when present, else trained now (seeded by
    ``ctx.seed``) and saved there. Returns it, the file and ``{"train_seconds", "loaded"}``
    (the seconds of the training that wrote the file, also when it is loaded)."""
    settings = asdict(s)
    path, parent_sha = keyed_file(ctx, KIND, f"lrs{s.train_steps}", settings)
    net = LatentWeights(gan.prior.dim, s.width, s.depth).to(gan.device)
    if path.is_file():
        payload = load_weights(path, "latent weights", CheckpointError)
        if not isinstance(payload, dict) or payload.get("format") != FORMAT or "weights" not in payload:
            raise CheckpointError(f"{path} is not a latent_rs weights file (format {FORMAT!r} expected)")
        load_net(net, payload["weights"], path, "latent weights")
        log.info("loaded the latent weights %s", path)
        return net.eval(), path, {"train_seconds": float(payload.get("train_seconds", math.nan)), "loaded": True}
    log.info("training the latent weights (%d steps) -> %s", s.train_steps, path)
    start = time.perf_counter()
    net, history = train_latent_weights(gan, ctx.dataset, s, torch.Generator().manual_seed(ctx.seed), progress)
    seconds = time.perf_counter() - start
    payload = {"format": FORMAT, "weights": {k: v.detach().cpu() for k, v in net.state_dict().items()},
               "settings": json.dumps(settings), "history": json.dumps(history), "parent_sha256": parent_sha,
               "parent": str(ctx.checkpoint or ""), "train_seconds": seconds}
    write_atomic(path, lambda tmp: torch.save(payload, tmp))
    log.info("saved the latent weights at %s (%.1f s)", path, seconds)
    return net, path, {"train_seconds": seconds, "loaded": False}
