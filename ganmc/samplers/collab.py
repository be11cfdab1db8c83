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

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganmc.data.synthetic import SyntheticDataset
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator
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


def _mlp_plan(disc: torch.nn.Module) -> list[tuple[torch.Tensor, torch.Tensor | None, float]] | None:
    """``[(W, b, negative slope), ...]`` of a plain :class:`MLPDiscriminator`, else ``None``.

    Plain means: hidden blocks of exactly (Linear, ReLU or LeakyReLU), then one Linear to a single
    logit, the class's own ``forward`` and no hooks or parametrizations (spectral norm and the like
    change the weights at call time). The head's slope entry is unused.
    """
    if not isinstance(disc, MLPDiscriminator) or type(disc).forward is not MLPDiscriminator.forward:
        return None
    blocks = list(disc.blocks)
    plan: list[tuple[torch.Tensor, torch.Tensor | None, float]] = []
    for i, block in enumerate(blocks):
        mods = list(block) if isinstance(block, torch.nn.Sequential) else [block]
        if not mods or type(mods[0]) is not torch.nn.Linear:
            return None
        if any(m._forward_hooks or m._forward_pre_hooks or hasattr(m, "parametrizations") for m in (block, *mods)):
            return None
        linear = mods[0]
        if i == len(blocks) - 1:
            if len(mods) != 1 or linear.out_features != 1:
                return None
            plan.append((linear.weight, linear.bias, 0.0))
            continue
        if len(mods) != 2 or type(mods[1]) not in (torch.nn.ReLU, torch.nn.LeakyReLU):
            return None
        slope = float(mods[1].negative_slope) if isinstance(mods[1], torch.nn.LeakyReLU) else 0.0
        if slope < 0:
            return None
        plan.append((linear.weight, linear.bias, slope))
    if disc._forward_hooks or disc._forward_pre_hooks or not plan:
        return None
    return plan


# forward(h, need_grad) -> (x, logits, backward); backward(go) -> the gradient w.r.t. h, per row,
# of sum_{i in go} softplus(-logit_i) (go: row indices, or None for every row; other rows get 0).
Backward = Callable[["torch.Tensor | None"], torch.Tensor]
Forward = Callable[[torch.Tensor, bool], tuple[torch.Tensor, torch.Tensor, "Backward | None"]]


def _ones(n: int, like: torch.Tensor) -> torch.Tensor:
    """The incoming gradient of a sum over ``n`` terms, as autograd makes it (an expanded 1)."""
    return torch.ones((), dtype=like.dtype, device=like.device).expand(n)


def _mlp_forward(plan: list[tuple[torch.Tensor, torch.Tensor | None, float]]) -> Forward:
    """Output-space refinement under a plain MLP D: forward and input gradient written out.

    The operations autograd runs for ``softplus(-D(x)[go]).sum()`` (addmm per layer; going
    back ``softplus_backward`` on the ``go`` rows, then mm with W and the ReLU mask per layer),
    without building a graph or touching D's parameters, so the results are the same bits.
    """
    layers = [(w.detach(), w.detach().t(), None if b is None else b.detach(), slope) for w, b, slope in plan]

    @torch.no_grad()
    def forward(h: torch.Tensor, need_grad: bool) -> tuple[torch.Tensor, torch.Tensor, Backward | None]:
        acts = []
        a = h
        for _, wt, b, slope in layers[:-1]:
            a = a.mm(wt) if b is None else torch.addmm(b, a, wt)
            if slope == 0.0:
                a.relu_()
            else:
                F.leaky_relu(a, slope, inplace=True)
            acts.append(a)
        _, wt, b, _ = layers[-1]
        d = (a.mm(wt) if b is None else torch.addmm(b, a, wt)).squeeze(-1)

        @torch.no_grad()
        def backward(go: torch.Tensor | None) -> torch.Tensor:
            if go is None:
                gd = torch.ops.aten.softplus_backward(_ones(len(d), d), d.neg(), 1.0, 20.0).neg()
            else:
                gd = torch.zeros_like(d)
                gd[go] = torch.ops.aten.softplus_backward(_ones(len(go), d), d[go].neg(), 1.0, 20.0).neg()
            g = gd.unsqueeze(1).mm(layers[-1][0])
            for (w, _, _, slope), act in zip(reversed(layers[:-1]), reversed(acts)):
                if slope == 0.0:
                    g = torch.ops.aten.threshold_backward(g, act, 0.0)
                else:
                    g = torch.ops.aten.leaky_relu_backward(g, act, slope, True)
                g = g.mm(w)
            return g

        return h, d, backward if need_grad else None

    return forward


@contextmanager
def _frozen(*modules: torch.nn.Module) -> Iterator[None]:
    """Parameters without ``requires_grad`` for the duration: autograd records no edges to them."""
    params = [p for m in modules for p in m.parameters() if p.requires_grad]
    for p in params:
        p.requires_grad_(False)
    try:
        yield
    finally:
        for p in params:
            p.requires_grad_(True)


def _autograd_forward(G: torch.nn.Module, D: torch.nn.Module, layer: int) -> Forward:
    """Any layered G and any D: G from ``layer``, D, and autograd w.r.t. the activation only."""

    def forward(h: torch.Tensor, need_grad: bool) -> tuple[torch.Tensor, torch.Tensor, Backward | None]:
        if not need_grad:
            with torch.no_grad():
                x = G.forward_from(h, layer)  # type: ignore[operator]
                return x, D(x), None
        with torch.enable_grad():  # callers may run under no_grad (e.g. D fine-tuning's fake_fn)
            h_a = h.detach().requires_grad_(True)
            x = G.forward_from(h_a, layer)  # type: ignore[operator]
            d = D(x)

        def backward(go: torch.Tensor | None) -> torch.Tensor:
            with torch.enable_grad():
                (grad,) = torch.autograd.grad(F.softplus(-(d if go is None else d[go])).sum(), h_a)
            return grad

        return x.detach(), d.detach(), backward

    return forward


def refine(gan: GAN, z: torch.Tensor, layer: int, n_steps: int, step_size: float, optimizer: str = "sgd",
           threshold: float | None = None, stop_prob: float | None = None,
           generator: torch.Generator | None = None) -> Refined:
    """Algorithm 1 on a batch of latents ``z``; samples never share gradients (per-sample losses summed).

    Only the samples still refining are evaluated: the working set shrinks as samples stop
    (each keeps the sample and logit of the step it stopped at). Every sample of the working
    set has taken the same number of steps, so Adam's step count is the loop's. In output space
    under a plain MLP D the gradient is written out (:func:`_mlp_forward`, no autograd);
    otherwise autograd differentiates w.r.t. the activation only, G's and D's parameters frozen.
    """
    G, D = gan.generator, gan.discriminator
    _layered(G, "generator")
    if stop_prob is not None and generator is None:
        raise GanmcError("a probabilistic stopping rule needs a torch.Generator")
    n = z.shape[0]
    with torch.no_grad():
        h = G.forward_to(z, layer).clone()  # type: ignore[operator]  # layer 0: never update z in place
    device = h.device
    plan = _mlp_plan(D) if layer == int(G.n_layers) else None  # type: ignore[arg-type]
    forward = _mlp_forward(plan) if plan is not None else _autograd_forward(G, D, layer)
    adam = optimizer == "adam"
    m1 = torch.zeros_like(h) if adam else None
    m2 = torch.zeros_like(h) if adam else None
    rows = torch.arange(n, device=device)  # the working set's rows in the batch
    m = n  # its size
    x_out: torch.Tensor | None = None
    logits = torch.empty(n, device=device)
    steps = torch.zeros(n, dtype=torch.long, device=device)
    g_evals = d_evals = 0.0
    with _frozen(G, D) if plan is None else nullcontext():
        for k in range(n_steps + 1):
            x_a, d_a, backward = forward(h, k < n_steps)
            g_evals += m
            d_evals += m
            if x_out is None:
                x_out = torch.empty((n, *x_a.shape[1:]), dtype=x_a.dtype, device=device)
            if k == n_steps or backward is None:
                x_out[rows], logits[rows], steps[rows] = x_a, d_a, k
                break
            stop: torch.Tensor | None = None
            if threshold is not None:
                stop = torch.sigmoid(d_a) >= threshold
            if stop_prob is not None:
                draw = (torch.rand(m, generator=generator) < stop_prob).to(device)
                stop = draw if stop is None else stop | draw
            go: torch.Tensor | None = None  # None: every row goes on
            if stop is not None and bool(stop.any()):
                stopped = stop.nonzero().squeeze(1)
                done = rows[stopped]
                x_out[done], logits[done], steps[done] = x_a[stopped], d_a[stopped], k
                go = (~stop).nonzero().squeeze(1)
                m = len(go)
                if m == 0:
                    break
            grad = backward(go)
            if go is not None:
                grad, rows, h = grad[go], rows[go], h[go]
                if m1 is not None and m2 is not None:
                    m1, m2 = m1[go], m2[go]
            g_evals += m
            d_evals += m
            if m1 is not None and m2 is not None:
                m1 = ADAM_BETAS[0] * m1 + (1 - ADAM_BETAS[0]) * grad
                m2 = ADAM_BETAS[1] * m2 + (1 - ADAM_BETAS[1]) * grad * grad
                t = torch.full((m, *[1] * (h.ndim - 1)), k + 1, dtype=torch.float64, device=device)
                m_hat = m1 / (1 - ADAM_BETAS[0] ** t).to(h.dtype)
                v_hat = m2 / (1 - ADAM_BETAS[1] ** t).to(h.dtype)
                h = h - step_size * m_hat / (v_hat.sqrt() + ADAM_EPS)
            else:
                h = h - step_size * grad
    assert x_out is not None
    return Refined(x_out, logits, steps, g_evals, d_evals)


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
