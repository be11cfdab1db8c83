"""DDLS: Langevin dynamics in latent space on E(z) = -log p0(z) - d(G(z)) / T (Che et al. 2020).

ULA: z <- z - (eps_k/2) grad E(z) + noise_scale * sqrt(eps_k) * n, eps_k = step_size * decay^k.
MALA adds a Metropolis-Hastings correction per chain. ``extended_latent`` runs the chain on
(z, z') with G*(z, z') = G(z) + eps_x * z' and z' ~ N(0, I) (Corollary 1). Every chain's final
state is one sample. The chain's stationary law is exp(-E / noise_scale^2): with noise_scale
s < 1 a colder chain, whose exact target is p_g * w with log w = d / (T s^2) + (1/s^2 - 1) log p0;
:mod:`ganmc.samplers.target` estimates it by resampling generator proposals, and its gap to the
chain is the chain's bias. ``snapshot_every = k > 0`` (or the list ``snapshot_steps``) also
keeps the chains' outputs at steps 0, k, 2k, ... as ``extra["step_NNNN"]`` (the run
measures each: metric against Langevin step; step 0 is the generator's own sample, the
"before" of a before/after grid).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import torch

from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import (
    SampleBatch,
    Sampler,
    SamplerConfig,
    device_generator,
    register_sampler,
)


@dataclass
class DDLSConfig(SamplerConfig):
    _target_: str = "ganmc.samplers.ddls.DDLSSampler"
    step_size: float = 0.01
    n_steps: int = 100
    step_decay: float = 1.0
    noise_scale: float = 1.0
    temperature: float = 1.0
    mala: bool = False
    extended_latent: bool = False
    eps_x: float = 0.01
    snapshot_every: int = 0  # > 0: also measure the chains every this many steps (metric vs step)
    snapshot_steps: list[int] = field(default_factory=list)  # and at these steps


@register_sampler
class DDLSSampler(Sampler):
    """Discriminator Driven Latent Sampling (ULA or MALA, optionally on the extended latent)."""

    name = "ddls"
    Config = DDLSConfig
    smoke = {"n_steps": 2, "snapshot_every": 0, "snapshot_steps": [], "discriminator": {"steps": 5, "batch": 32}}
    ranges = {"step_size": "> 0", "n_steps": ">= 0", "temperature": "> 0", "step_decay": "in (0, 1]",
              "noise_scale": ">= 0", "eps_x": "> 0", "snapshot_every": ">= 0"}

    @classmethod
    def evals_per_sample(cls, config: Any) -> float:
        return 4.0 * (int(config.n_steps) + 1)

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        super().__init__(gan, **hparams)
        c: DDLSConfig = self.cfg
        steps = [int(k) for k in c.snapshot_steps or []]
        if any(not 0 <= k <= c.n_steps for k in steps):
            raise GanmcError(f"sampler.snapshot_steps={steps}: ddls needs snapshot_steps within 0..n_steps={c.n_steps}")
        if c.mala and c.noise_scale == 0:
            raise GanmcError("ddls: mala=true needs noise_scale > 0")
        self.snapshot_every = int(c.snapshot_every)
        self.snapshot_steps = set(steps)

    # --- energy -------------------------------------------------------------------------
    def _output(self, state: torch.Tensor) -> torch.Tensor:
        dim = self.gan.prior.dim
        x = self.gan.generator(state[:, :dim])
        if self.cfg.extended_latent:
            x = x + self.cfg.eps_x * state[:, dim:].view_as(x)
        return x

    def energy_and_grad(self, state: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        """Per-chain energy and its gradient; chains never share gradients (sum of independent terms)."""
        state = state.detach().requires_grad_(True)
        dim = self.gan.prior.dim
        energy = -self.gan.prior.log_prob(state[:, :dim]) - self.gan.discriminator(self._output(state)) / self.cfg.temperature
        if self.cfg.extended_latent:
            energy = energy + 0.5 * (state[:, dim:] ** 2).sum(dim=1)
        (grad,) = torch.autograd.grad(energy.sum(), state)
        return energy.detach(), grad.detach()

    # --- sampling -----------------------------------------------------------------------
    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        device = self.gan.device
        z = self._initial_state(n, generator)
        energy, grad = self.energy_and_grad(z)
        accepted = torch.zeros(n, device=device)
        noise_gen = device_generator(generator, device)
        snapshots: dict[str, torch.Tensor] = {}
        for k in range(self.cfg.n_steps):
            self._snapshot(snapshots, k, z)
            eps = self.cfg.step_size * self.cfg.step_decay**k
            sigma = self.cfg.noise_scale * math.sqrt(eps)
            noise = torch.randn(z.shape, generator=noise_gen, device=device)
            proposal = self._project(z - 0.5 * eps * grad + sigma * noise)
            e_new, g_new = self.energy_and_grad(proposal)
            if self.cfg.mala:
                u = torch.rand(n, generator=noise_gen, device=device)
                log_q_fwd = -((proposal - z + 0.5 * eps * grad) ** 2).sum(1) / (2 * sigma**2)
                log_q_bwd = -((z - proposal + 0.5 * eps * g_new) ** 2).sum(1) / (2 * sigma**2)
                # the proposal is Langevin on E / s^2 (s = noise_scale): correct towards exp(-E / s^2)
                log_alpha = (energy - e_new) / self.cfg.noise_scale**2 + log_q_bwd - log_q_fwd
                accept = torch.log(u) < torch.nan_to_num(log_alpha, nan=-math.inf)
                # A rejected chain keeps its state *and* its energy and gradient: nothing stale.
                z = torch.where(accept[:, None], proposal, z)
                energy = torch.where(accept, e_new, energy)
                grad = torch.where(accept[:, None], g_new, grad)
                accepted += accept.float()
            else:
                z, energy, grad = proposal, e_new, g_new
        self._snapshot(snapshots, self.cfg.n_steps, z)
        with torch.no_grad():
            x = self._output(z)
        stats = {"energy_final": float(energy.mean())}
        if self.cfg.mala and self.cfg.n_steps:
            stats["acceptance_rate"] = float(accepted.mean()) / self.cfg.n_steps
        # each step: G and D forward + backward; plus the initial energy and the final output
        g_evals = n * (2 * (self.cfg.n_steps + 1) + 1)
        d_evals = n * 2 * (self.cfg.n_steps + 1)
        return SampleBatch(samples=x, latents=z, stats=stats, g_evals=g_evals, d_evals=d_evals,
                           extra=snapshots)

    def _snapshot(self, snapshots: dict[str, torch.Tensor], step: int, state: torch.Tensor) -> None:
        """Keep the outputs at ``step`` (on CPU) when it is a multiple of ``snapshot_every`` or
        one of ``snapshot_steps``."""
        if (self.snapshot_every and step % self.snapshot_every == 0) or step in self.snapshot_steps:
            with torch.no_grad():
                snapshots[f"step_{step:04d}"] = self._output(state).cpu()

    def _project(self, state: torch.Tensor) -> torch.Tensor:
        if self.gan.prior.kind == "normal":
            return state  # the whole space is the support: no copy
        dim = self.gan.prior.dim
        return torch.cat([self.gan.prior.project(state[:, :dim]), state[:, dim:]], dim=1)

    def _initial_state(self, m: int, generator: torch.Generator) -> torch.Tensor:
        """``m`` chain states from the prior (with z' ~ N(0, I) on the extended latent)."""
        device = self.gan.device
        z = self.gan.prior.sample(m, generator, device)
        if self.cfg.extended_latent:
            with torch.no_grad():
                out_dim = self.gan.generator(z[:1])[0].numel()
            z = torch.cat([z, torch.randn(m, out_dim, generator=generator).to(device)], dim=1)
        return z

    def propose(self, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Prior proposals of the chain's state and their outputs."""
        z = self._initial_state(m, generator)
        return z, self._output(z)

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """log of exp(-E/s^2) over the proposal density: d/(T s^2) + (1/s^2 - 1) log p0 (and the
        same for z'); ``None`` without noise (then the chain is an optimiser, with no target)."""
        if self.cfg.noise_scale == 0:
            return None
        inv = 1.0 / self.cfg.noise_scale**2
        dim = self.gan.prior.dim
        log_p0 = self.gan.prior.log_prob(state[:, :dim])
        if self.cfg.extended_latent:
            log_p0 = log_p0 - 0.5 * (state[:, dim:] ** 2).sum(dim=1)
        logw = self.gan.discriminator(x).double() * (inv / self.cfg.temperature)
        return logw if inv == 1.0 else logw + (inv - 1.0) * log_p0.double()
