"""MH-GAN (Turner et al. 2019): an independence Metropolis-Hastings sampler driven by D.

Each output sample is the final state of one chain of ``k`` generator proposals, started
from a real sample's score and restarted when nothing is accepted (:mod:`ganmc.samplers.mh`).
D's scores are calibrated first on a held-out set of fresh real and generated samples
(``score_calibration``: ``none``, ``isotonic`` or ``logistic``); a second held-out set of the
same size gives the diagnostics of the D actually used (``d_brier``, ``d_ece``, ``d_z_stat``),
reported in the stats. ``discriminator.kind: calibrated`` first fine-tunes D itself as a
real-vs-G classifier (:mod:`ganmc.discriminators`; 5,000 steps in batches of 1,000 by default).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

import torch

from ganmc.common import enum_value
from ganmc.errors import GanmcError
from ganmc.metrics.collab import diagnostics
from ganmc.models.gan import GAN
from ganmc.samplers.base import (
    DiscriminatorConfig,
    SampleBatch,
    Sampler,
    SamplerConfig,
    SamplingContext,
    register_sampler,
)
from ganmc.samplers.mh import Calibrator, fit_calibrator, run_chains


class Calibration(Enum):
    none = "none"
    isotonic = "isotonic"
    logistic = "logistic"


@dataclass
class MHGANSamplerConfig(SamplerConfig):
    """MH-GAN: ``k`` proposals per chain, D's scores calibrated on ``n_calib`` held-out samples."""

    _target_: str = "ganmc.samplers.mhgan.MHGANSampler"
    k: int = 640
    score_calibration: Calibration = Calibration.isotonic
    n_calib: int = 10000
    max_restarts: int = 10
    chunk: int = 4096  # proposals scored per batch: 4k rows of 64-wide activations stay in cache
    ece_bins: int = 10
    discriminator: DiscriminatorConfig = field(default_factory=lambda: DiscriminatorConfig(steps=5000, batch=1000))


@register_sampler
class MHGANSampler(Sampler):
    """Independence MH over generator proposals with a (calibrated) discriminator."""

    name = "mhgan"
    Config = MHGANSamplerConfig
    smoke = {"k": 4, "n_calib": 64, "discriminator": {"steps": 5, "batch": 32}}
    ranges = {"k": ">= 1", "n_calib": ">= 2", "max_restarts": ">= 0", "chunk": ">= 1"}

    @classmethod
    def evals_per_sample(cls, config: Any) -> float:
        return 2.0 * int(config.k)

    def __init__(self, gan: GAN, **hparams: Any) -> None:
        super().__init__(gan, **hparams)
        c: MHGANSamplerConfig = self.cfg
        self.k, self.n_calib, self.max_restarts, self.chunk = int(c.k), int(c.n_calib), int(c.max_restarts), int(c.chunk)
        self.calibration = enum_value(c.score_calibration)
        self.ece_bins = int(c.ece_bins)
        self.calibrator: Calibrator | None = None
        self.diagnostics: dict[str, float] = {}

    def setup(self, ctx: SamplingContext) -> None:
        """Real data for the chain inits and the calibration."""
        if ctx.dataset is None:
            raise GanmcError("sampler mhgan needs real data (SamplingContext.dataset) for its chain inits and calibration")
        self.dataset = ctx.dataset

    @torch.no_grad()
    def _logits(self, x: torch.Tensor) -> torch.Tensor:
        return self.batched(self.gan.discriminator, x.to(self.gan.device))

    @torch.no_grad()
    def _fakes(self, n: int, generator: torch.Generator) -> torch.Tensor:
        return self.batched(self.gan.generator, self.gan.prior.sample(n, generator, self.gan.device))

    def target_log_weight(self, state: torch.Tensor, x: torch.Tensor) -> torch.Tensor | None:
        """MH-GAN aims at p_g * D/(1-D) of its score-calibrated D, i.e. e^(mapped logit)."""
        return None if self.calibrator is None else self.calibrator(self._logits(x))

    def calibrate_scores(self, generator: torch.Generator) -> tuple[float, float]:
        """Fit the calibrator and measure its diagnostics; returns the (G, D) evaluations spent."""
        m = self.n_calib // 2
        sets = []
        for _ in range(2):  # fit set, then diagnostics set
            real = self.dataset.sample(m, generator)
            fake = self._fakes(m, generator)
            sets.append((self._logits(real), self._logits(fake)))
        self.calibrator = fit_calibrator(self.calibration, *sets[0])
        lr, lf = sets[1]
        p = torch.sigmoid(self.calibrator(torch.cat([lr, lf])))
        y = torch.cat([torch.ones(m), torch.zeros(m)])
        self.diagnostics = {f"d_{k}": v for k, v in diagnostics(y, p.cpu(), self.ece_bins).items()}
        return float(2 * m), float(4 * m)

    @torch.no_grad()
    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        g_evals = d_evals = 0.0
        if self.calibrator is None:
            g_evals, d_evals = self.calibrate_scores(generator)
        calibrator = self.calibrator
        assert calibrator is not None

        def propose(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            x = self.gan.generator(z.to(self.gan.device))
            return x, calibrator(self.gan.discriminator(x))

        def init_logits(m: int, gen: torch.Generator) -> torch.Tensor:
            return calibrator(self._logits(self.dataset.sample(m, gen)))

        def latents(m: int, gen: torch.Generator) -> torch.Tensor:
            return self.gan.prior.sample(m, gen, self.gan.device)

        res = run_chains(n, self.k, propose, latents, init_logits, generator, self.max_restarts,
                         min(self.chunk, self.eval_batch or self.chunk))
        stats = {
            "acceptance_rate": res.accepted / res.proposals,
            "efficiency": n / res.proposals,
            "restarts_per_chain": res.restarts / n,
            "fallback_rate": res.fallbacks / n,
            **self.diagnostics,
        }
        return SampleBatch(samples=res.samples, latents=None, stats=stats,
                           g_evals=g_evals + res.proposals, d_evals=d_evals + res.proposals + res.real_inits)
