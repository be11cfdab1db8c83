"""Algorithm 1 of collaborative sampling: refine generated samples with D's gradient at a
generator layer (used by :mod:`ganmc.samplers.collab` and, through it, by discriminator shaping).

Cost accounting (forward and backward passes each count one): every refinement step of an
active sample costs one G forward from the layer, one D forward, one D and one G backward.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass

import torch
import torch.nn.functional as F

from ganmc.common import enum_value
from ganmc.errors import GanmcError
from ganmc.models.gan import GAN

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


def layered(net: torch.nn.Module, what: str) -> None:
    if not hasattr(net, "forward_to") or not hasattr(net, "forward_from"):
        raise GanmcError(f"collaborative sampling needs a layered {what} (forward_to/forward_from), "
                         f"got {type(net).__name__}")


# forward(h, need_grad) -> (x, logits, backward); backward(go) -> the gradient w.r.t. h, per row,
# of sum_{i in go} softplus(-logit_i) (go: row indices, or None for every row; other rows get 0).
Backward = Callable[["torch.Tensor | None"], torch.Tensor]
Forward = Callable[[torch.Tensor, bool], tuple[torch.Tensor, torch.Tensor, "Backward | None"]]
# What a D's ``input_vjp()`` hook returns (when not None): x -> (D(x), vjp), vjp(g [n]) the gradient
# w.r.t. x of sum_i g_i * D(x)_i, computed without autograd (e.g. MLPDiscriminator.input_vjp).
InputVJP = Callable[[torch.Tensor], tuple[torch.Tensor, Callable[[torch.Tensor], torch.Tensor]]]


def _ones(n: int, like: torch.Tensor) -> torch.Tensor:
    """The incoming gradient of a sum over ``n`` terms, as autograd makes it (an expanded 1)."""
    return torch.ones((), dtype=like.dtype, device=like.device).expand(n)


def _vjp_forward(fast: InputVJP) -> Forward:
    """Output-space refinement under a D offering ``input_vjp`` (its input gradient written out,
    e.g. a plain MLP D): ``softplus(-D(x)[go]).sum()``'s gradient as autograd computes it
    (``softplus_backward`` on the ``go`` rows, then D's vjp), without building a graph."""

    @torch.no_grad()
    def forward(h: torch.Tensor, need_grad: bool) -> tuple[torch.Tensor, torch.Tensor, Backward | None]:
        d, vjp = fast(h)

        @torch.no_grad()
        def backward(go: torch.Tensor | None) -> torch.Tensor:
            if go is None:
                gd = torch.ops.aten.softplus_backward(_ones(len(d), d), d.neg(), 1.0, 20.0).neg()
            else:
                gd = torch.zeros_like(d)
                gd[go] = torch.ops.aten.softplus_backward(_ones(len(go), d), d[go].neg(), 1.0, 20.0).neg()
            return vjp(gd)

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
    under a D whose ``input_vjp()`` hook gives its input gradient written out (a plain
    :class:`~ganmc.models.mlp.MLPDiscriminator`), no autograd runs: the same bits, 1.1-1.7x
    faster on the collab tables' batches and ~1.35x per shaping iteration
    (``scripts/bench_refine.py``, ``scripts/bench_shaping.py --autograd``). Otherwise autograd
    differentiates w.r.t. the activation only, G's and D's parameters frozen.
    """
    G, D = gan.generator, gan.discriminator
    layered(G, "generator")
    if stop_prob is not None and generator is None:
        raise GanmcError("a probabilistic stopping rule needs a torch.Generator")
    n = z.shape[0]
    with torch.no_grad():
        h = G.forward_to(z, layer).clone()  # type: ignore[operator]  # layer 0: never update z in place
    device = h.device
    hook = getattr(D, "input_vjp", None) if layer == int(G.n_layers) else None  # type: ignore[arg-type]
    fast: InputVJP | None = hook() if callable(hook) else None
    forward = _vjp_forward(fast) if fast is not None else _autograd_forward(G, D, layer)
    adam = optimizer == "adam"
    m1 = torch.zeros_like(h) if adam else None
    m2 = torch.zeros_like(h) if adam else None
    rows = torch.arange(n, device=device)  # the working set's rows in the batch
    m = n  # its size
    x_out: torch.Tensor | None = None
    logits = torch.empty(n, device=device)
    steps = torch.zeros(n, dtype=torch.long, device=device)
    g_evals = d_evals = 0.0
    with _frozen(G, D) if fast is None else nullcontext():
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
    text = enum_value(eta).strip().lower()
    if text == "median":
        return True, None
    try:
        value = float(text)
    except ValueError:
        raise GanmcError(f"sampler.eta must be 'median' or a stopping probability in [0, 1], got '{eta}'") from None
    if not 0.0 <= value <= 1.0:
        raise GanmcError(f"sampler.eta must be 'median' or a stopping probability in [0, 1], got {value}")
    return False, value
