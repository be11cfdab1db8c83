"""Collaborative sampling (Liu, Kothari, Alahi, AAAI 2020): refine generated samples with D's gradient.

Algorithm 1: draw ``z``, take the generator's activation ``h`` at layer ``layer`` (0 = the
latent, ``G.n_layers`` = the output space), and take up to ``n_steps`` gradient steps on the
non-saturating loss ``softplus(-d(G_from_layer(h)))`` (SGD, or an Adam-like rule with
per-sample moments). A sample stops once ``sigmoid(d) >= eta`` when ``eta='median'`` (the
median of D's probability on real data, estimated from ``n_real`` fresh real samples), or with
probability ``eta`` at each step when ``eta`` is a number (the paper's probabilistic rule).
``shape_steps`` > 0 first shapes D (Algorithm 2, :mod:`ganmc.shaping`) for that many steps.
``reject=true`` adds Eq. 8: an independence MH sampler over refined proposals, ``k`` per chain,
chains started from a real sample's score (as MH-GAN; raw D, no calibration).

Cost accounting (forward and backward passes each count one): every refinement step of an
active sample costs one G forward from the layer, one D forward, one D and one G backward.
"""

from __future__ import annotations

from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganmc.data.synthetic import SyntheticDataset
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.samplers.base import SampleBatch, Sampler, SamplingContext
from ganmc.samplers.mh import run_chains

ADAM_BETAS = (0.9, 0.999)
ADAM_EPS = 1e-8


@dataclass
class Refined:
    """Refined samples, D's logits on them, the steps each took, and the evaluations spent."""

    samples: torch.Tensor
    logits: torch.Tensor
    steps: torch.Tensor
    g_evals: float
    d_evals: float


def _layered(net: torch.nn.Module, what: str) -> None:
    if not hasattr(net, "forward_to") or not hasattr(net, "forward_from"):
        raise GanmcError(f"collaborative sampling needs a layered {what} (forward_to/forward_from), "
                         f"got {type(net).__name__}")


def refine(gan: GAN, z: torch.Tensor, layer: int, n_steps: int, step_size: float, optimizer: str = "sgd",
           threshold: float | None = None, stop_prob: float | None = None,
           generator: torch.Generator | None = None) -> Refined:
    """Algorithm 1 on a batch of latents ``z``; samples never share gradients (per-sample losses summed)."""
    G, D = gan.generator, gan.discriminator
    _layered(G, "generator")
    if stop_prob is not None and generator is None:
        raise GanmcError("a probabilistic stopping rule needs a torch.Generator")
    n = z.shape[0]
    with torch.no_grad():
        h = G.forward_to(z, layer).clone()  # type: ignore[operator]  # layer 0: never update z in place
    m1, m2 = torch.zeros_like(h), torch.zeros_like(h)
    x: torch.Tensor | None = None
    logits = torch.empty(n, device=h.device)
    steps = torch.zeros(n, dtype=torch.long, device=h.device)
    active = torch.ones(n, dtype=torch.bool, device=h.device)
    g_evals = d_evals = 0.0
    for k in range(n_steps + 1):
        idx = active.nonzero().squeeze(1)
        if len(idx) == 0:
            break
        h_a = h[idx].detach().requires_grad_(k < n_steps)
        with torch.enable_grad():
            x_a = G.forward_from(h_a, layer)  # type: ignore[operator]
            d_a = D(x_a)
        g_evals += len(idx)
        d_evals += len(idx)
        if x is None:
            x = torch.empty((n, *x_a.shape[1:]), dtype=x_a.dtype, device=x_a.device)
        x[idx] = x_a.detach()
        logits[idx] = d_a.detach()
        if k == n_steps:
            break
        stop = torch.zeros(len(idx), dtype=torch.bool, device=h.device)
        if threshold is not None:
            stop |= torch.sigmoid(d_a.detach()) >= threshold
        if stop_prob is not None:
            stop |= (torch.rand(len(idx), generator=generator) < stop_prob).to(h.device)
        active[idx[stop]] = False
        go = ~stop
        if not bool(go.any()):
            continue
        with torch.enable_grad():  # callers may run under no_grad (e.g. D fine-tuning's fake_fn)
            (grad,) = torch.autograd.grad(F.softplus(-d_a[go]).sum(), h_a)
        grad, rows = grad[go], idx[go]
        g_evals += len(rows)
        d_evals += len(rows)
        if optimizer == "adam":
            t = (steps[rows] + 1).double().view(-1, *[1] * (h.ndim - 1))
            m1[rows] = ADAM_BETAS[0] * m1[rows] + (1 - ADAM_BETAS[0]) * grad
            m2[rows] = ADAM_BETAS[1] * m2[rows] + (1 - ADAM_BETAS[1]) * grad * grad
            m_hat = m1[rows] / (1 - ADAM_BETAS[0] ** t).to(h.dtype)
            v_hat = m2[rows] / (1 - ADAM_BETAS[1] ** t).to(h.dtype)
            h[rows] = h[rows] - step_size * m_hat / (v_hat.sqrt() + ADAM_EPS)
        else:
            h[rows] = h[rows] - step_size * grad
        steps[rows] += 1
    assert x is not None
    return Refined(x, logits, steps, g_evals, d_evals)


def parse_eta(eta: object) -> tuple[bool, float | None]:
    """``'median'`` -> (True, None); a number in [0, 1] -> (False, probability); else an error."""
    text = str(getattr(eta, "value", eta)).strip().lower()
    if text == "median":
        return True, None
    try:
        value = float(text)
    except ValueError:
        raise GanmcError(f"sampler.eta must be 'median' or a stopping probability in [0, 1], got '{eta}'") from None
    if not 0.0 <= value <= 1.0:
        raise GanmcError(f"sampler.eta must be 'median' or a stopping probability in [0, 1], got {value}")
    return False, value


class CollabSampler(Sampler):
    """Discriminator-guided refinement (Algorithm 1), optionally followed by MH rejection (Eq. 8)."""

    name = "collab"
    needs_dataset = True

    def __init__(self, gan: GAN, dataset: SyntheticDataset | None = None, layer: int | None = None,
                 n_steps: int = 50, step_size: float = 0.1, optimizer: object = "sgd", eta: object = "median",
                 n_real: int = 10000, reject: bool = False, k: int = 20, max_restarts: int = 10,
                 chunk: int = 65536, shape_steps: int = 0, shape_lr: float = 1e-3,
                 shape_batch: int = 1000) -> None:
        super().__init__(gan)
        _layered(gan.generator, "generator")
        n_layers = int(gan.generator.n_layers)  # type: ignore[arg-type]
        self.layer = n_layers if layer is None else int(layer)
        if not 0 <= self.layer <= n_layers:
            raise GanmcError(f"sampler.layer must lie in 0..{n_layers} (the generator's layers), got {layer}")
        if n_steps < 0 or step_size <= 0 or k < 1 or n_real < 1 or max_restarts < 0:
            raise GanmcError("collab needs n_steps >= 0, step_size > 0, k >= 1, n_real >= 1, max_restarts >= 0")
        if shape_steps < 0 or shape_lr <= 0 or shape_batch < 1:
            raise GanmcError("collab needs shape_steps >= 0, shape_lr > 0 and shape_batch >= 1")
        self.shape = (int(shape_steps), float(shape_lr), int(shape_batch))
        self.optimizer = str(getattr(optimizer, "value", optimizer))
        if self.optimizer not in ("sgd", "adam"):
            raise GanmcError(f"sampler.optimizer must be sgd or adam, got '{self.optimizer}'")
        self.use_median, self.stop_prob = parse_eta(eta)
        if (self.use_median or reject) and dataset is None:
            raise GanmcError("sampler collab with eta=median or reject=true needs real data (dataset=)")
        self.dataset = dataset
        self.n_steps, self.step_size, self.n_real = int(n_steps), float(step_size), int(n_real)
        self.reject, self.k, self.max_restarts, self.chunk = bool(reject), int(k), int(max_restarts), int(chunk)
        self.name = "collab+reject" if self.reject else "collab"
        self.threshold: float | None = None

    def prepare(self, ctx: SamplingContext) -> None:
        """With ``shape_steps`` > 0, shape D first (Algorithm 2; cached beside the checkpoint)."""
        steps, lr, batch = self.shape
        if steps > 0:
            from ganmc.shaping import shaped_gan  # shaping imports this module

            self.gan, path = shaped_gan(self, ctx, steps, lr, batch)
            self.threshold = None  # eta belongs to the shaped D
            self.prep_stats["shaped_checkpoint"] = str(path)

    @torch.no_grad()
    def estimate_median(self, generator: torch.Generator) -> float:
        """Median of D's probability on ``n_real`` fresh real samples (the deterministic eta)."""
        assert self.dataset is not None
        real = self.dataset.sample(self.n_real, generator).to(self.gan.device)
        self.threshold = float(torch.sigmoid(self.gan.discriminator(real)).median())
        return self.threshold

    def refine(self, z: torch.Tensor, generator: torch.Generator) -> Refined:
        """Refine latents ``z`` with this sampler's settings."""
        return refine(self.gan, z.to(self.gan.device), self.layer, self.n_steps, self.step_size, self.optimizer,
                      self.threshold if self.use_median else None, self.stop_prob, generator)

    def sample_batch(self, n: int, generator: torch.Generator) -> SampleBatch:
        g_evals = d_evals = 0.0
        if self.use_median and self.threshold is None:
            self.estimate_median(generator)
            d_evals += self.n_real
        stats: dict[str, float] = {}
        if self.threshold is not None:
            stats["eta"] = self.threshold
        if not self.reject:
            z = self.gan.prior.sample(n, generator, self.gan.device)
            r = self.refine(z, generator)
            stats.update({"mean_steps": float(r.steps.double().mean()), "efficiency": 1.0})
            return SampleBatch(samples=r.samples, latents=z, stats=stats,
                               g_evals=g_evals + r.g_evals, d_evals=d_evals + r.d_evals)
        cost = {"g": 0.0, "d": 0.0, "steps": 0.0}
        assert self.dataset is not None
        dataset = self.dataset

        def propose(z: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
            r = self.refine(z, generator)
            cost["g"] += r.g_evals
            cost["d"] += r.d_evals
            cost["steps"] += float(r.steps.sum())
            return r.samples, r.logits.double()

        def init_logits(m: int, gen: torch.Generator) -> torch.Tensor:
            with torch.no_grad():
                return self.gan.discriminator(dataset.sample(m, gen).to(self.gan.device)).double()

        def latents(m: int, gen: torch.Generator) -> torch.Tensor:
            return self.gan.prior.sample(m, gen, self.gan.device)

        res = run_chains(n, self.k, propose, latents, init_logits, generator, self.max_restarts,
                         "vectorised", self.chunk)
        stats.update({
            "mean_steps": cost["steps"] / res.proposals,
            "acceptance_rate": res.accepted / res.proposals,
            "efficiency": n / res.proposals,
            "restarts_per_chain": res.restarts / n,
            "fallback_rate": res.fallbacks / n,
        })
        return SampleBatch(samples=res.samples, latents=None, stats=stats, g_evals=g_evals + cost["g"],
                           d_evals=d_evals + cost["d"] + res.real_inits)
