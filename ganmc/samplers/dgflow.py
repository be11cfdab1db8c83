"""DGflow (Ansari, Ang, Soh, "Refining Deep Generative Models via Discriminator Gradient Flow",
ICLR 2021): Euler-Maruyama steps, in latent space, of the gradient flow of an entropy-regularised
f-divergence, the density ratio ``rho = p_g / p_data = e^(-d)`` read from D's logit ``d``.

The update (the paper's Algorithm 1 and the authors' code, clear-nus/DGflow ``dgflow.py``):
``z <- z - eta grad_z f'(rho(G(z))) + sqrt(2 eta gamma) xi``, ``xi ~ N(0, I)``, from ``z ~ p0``.
``-f'(rho)`` is, up to a constant, a potential ``psi(d)`` of the logit, so the drift is
``eta grad_z psi(d(G(z)))``:

- ``kl`` (``f(r) = r log r``): ``psi(d) = d`` (drift ``grad d``);
- ``js`` (Jensen-Shannon): ``psi(d) = softplus(d) = -log(1 - D)`` (drift ``sigmoid(d) grad d``);
- ``logd`` (the log-D f-divergence): ``psi(d) = -softplus(-d) = log D`` (drift ``sigmoid(-d) grad d``),

``D = sigmoid(d)``; the factors are the authors' code's. There is no prior term: the latent
ratio of the refined to the target latents equals the data-space ratio at ``G(z)`` (the prior
cancels), as Algorithm 1 writes it. Defaults: the authors' CIFAR-10 configs (``kl``, ``eta`` 0.1,
``gamma`` 0.01, 25 steps). A uniform prior's latents are kept in its support (clamped). D's
output is read as the logit d whatever the GAN's loss, as DDLS reads it (a WGAN critic included,
as the authors run DGflow on WGAN-GP); ``discriminator.kind: calibrated`` runs on a D fine-tuned
as a real-vs-G classifier, whose logit estimates ``log p_data / p_g``.

Exact target: with the ratio frozen at D's estimate (as DGflow runs it), the SDE
``dz = grad psi(d(G(z))) dt + sqrt(2 gamma) dW`` has the stationary law
``exp(psi(d(G(z))) / gamma)`` (for ``kl``: ``exp(d / gamma)``, no ``p0`` factor) wherever that is
integrable; as ``p_g * w`` over prior proposals, ``log w = psi(d) / gamma - log p0(z)``. With a
normal prior it is a law only if ``psi(d)`` falls off far from the data (a bounded ``log D``
never does): the SIR estimate's ESS then says it is unreliable. ``gamma = 0`` (a deterministic
flow) has no target.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import Enum
from typing import Any

import torch
import torch.nn.functional as F

from ganmc.common import enum_value
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import (
    SampleBatch,
    Sampler,
    SamplerConfig,
    device_generator,
    register_sampler,
)


class Divergence(Enum):
    kl = "kl"
    js = "js"
    logd = "logd"


def potential(d: torch.Tensor, divergence: Divergence) -> torch.Tensor:
    """``psi(d)``, the negative of ``f'(e^(-d))`` up to a constant: DGflow's drift is its gradient."""
    if divergence is Divergence.kl:
        return d
    if divergence is Divergence.js:
        return F.softplus(d)
    return -F.softplus(-d)


@dataclass
class DGflowConfig(SamplerConfig):
    _target_: str = "ganmc.samplers.dgflow.DGflowSampler"
    divergence: Divergence = Divergence.kl
    step_size: float = 0.1  # eta
    noise: float = 0.01     # gamma, the entropy regulariser: noise sqrt(2 eta gamma) per step
    n_steps: int = 25


@register_sampler
class DGflowSampler(Sampler):
    """Discriminator gradient flow in latent space (Euler-Maruyama); each chain's last state is one sample."""

    name = "dgflow"
    Config = DGflowConfig
    smoke = {"n_steps": 2, "discriminator": {"steps": 5, "batch": 32}}
    ranges = {"step_size": "> 0", "noise": ">= 0", "n_steps": ">= 0"}

    @classmethod
    def evals_per_sample(cls, config: Any) -> float:
        return 4.0 * int(config.n_steps) + 1.0

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        super().__init__(gan, **hparams)
        try:
            self.divergence = Divergence(enum_value(self.cfg.divergence))
        except ValueError:
            raise GanmcError(f"sampler.divergence={self.cfg.divergence!r}: dgflow needs one of "
                             f"{[d.value for d in Divergence]}") from None

    def drift(self, z: torch.Tensor) -> torch.Tensor:
        """``grad_z psi(d(G(z)))`` per chain (chains never share gradients: a sum of independent terms)."""
        z = z.detach().requires_grad_(True)
        psi = potential(self.gan.discriminator(self.gan.generator(z)), self.divergence)
        (grad,) = torch.autograd.grad(psi.sum(), z)
        return grad.detach()

    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        device, c = self.gan.device, self.cfg
        z = self.gan.prior.sample(n, generator, device)
        noise_gen = device_generator(generator, device)
        sigma = math.sqrt(2.0 * c.step_size * c.noise)
        for _ in range(c.n_steps):
            step = c.step_size * self.drift(z)
            if sigma > 0:
                step = step + sigma * torch.randn(z.shape, generator=noise_gen, device=device)
            z = self.gan.prior.project(z + step)
        with torch.no_grad():
            x = self.gan.generator(z)
        # each step: G and D forward and backward; then the output's G forward
        return SampleBatch(samples=x, latents=z, g_evals=float(n * (2 * c.n_steps + 1)),
                           d_evals=float(n * 2 * c.n_steps))

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """``psi(d) / gamma - log p0(z)``: the stationary law over the prior; ``None`` at ``gamma = 0``."""
        if self.cfg.noise == 0:
            return None
        psi = potential(self.gan.discriminator(x).double(), self.divergence)
        return psi / self.cfg.noise - self.gan.prior.log_prob(state).double()
