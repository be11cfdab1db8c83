"""Independence Metropolis-Hastings over generated proposals, shared by MH-GAN and collab+reject.

With a calibrated discriminator ``D = sigmoid(l)``, the MH-GAN acceptance of proposal ``x'``
from state ``x_k`` is ``min(1, (1/D(x_k) - 1) / (1/D(x') - 1)) = min(1, exp(l' - l_k))``: we
accept when ``log u < l' - l_k``, in float64. Each chain starts from a *real* sample's score,
so its first accepted state is always a generated one; a chain that accepts nothing in its
``k`` proposals is restarted with fresh inputs.

Randomness is drawn round by round in one fixed order (real inits, latents, uniforms, then
whatever the proposal function draws); :func:`round_vectorised` scores every proposal in large
batches, then :func:`select_vectorised` takes one tensor step per proposal index over all
chains. Per-chain reference rounds (one chain, or one proposal, at a time) live in the tests
(``tests/mh_reference.py``), which check that they return the same chains.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from ganmc.errors import GanmcError

# Calibrated probabilities are kept in [P_EPS, 1 - P_EPS] so every logit is finite.
P_EPS = 1e-6

# propose(z [m, latent]) -> (samples [m, dim], logits [m]) of the D used for acceptance.
ProposeFn = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]


# --- calibration of D on held-out real (label 1) and generated (label 0) logits ---
@dataclass
class Calibrator:
    """Maps raw logits to calibrated logits: ``none``, ``logistic`` (Platt) or ``isotonic``."""

    method: str = "none"
    a: float = 1.0
    b: float = 0.0
    x_knots: torch.Tensor | None = None
    p_knots: torch.Tensor | None = None

    def __call__(self, logit: torch.Tensor) -> torch.Tensor:
        logit = logit.double()
        if self.method == "none":
            return logit
        if self.method == "logistic":
            return self.a * logit + self.b
        assert self.x_knots is not None and self.p_knots is not None
        p = _interp(logit, self.x_knots.to(logit.device), self.p_knots.to(logit.device))
        return torch.logit(p.clamp(P_EPS, 1 - P_EPS))


def _interp(x: torch.Tensor, xp: torch.Tensor, fp: torch.Tensor) -> torch.Tensor:
    """``numpy.interp`` in torch: piecewise linear through (xp, fp), constant beyond the ends."""
    if len(xp) == 1:
        return fp.expand_as(x).clone()
    i = torch.searchsorted(xp, x.contiguous()).clamp(1, len(xp) - 1)
    x0, x1, f0, f1 = xp[i - 1], xp[i], fp[i - 1], fp[i]
    t = ((x - x0) / (x1 - x0).clamp_min(1e-300)).clamp(0.0, 1.0)
    return f0 + t * (f1 - f0)


def fit_calibrator(method: str, logit_real: torch.Tensor, logit_fake: torch.Tensor) -> Calibrator:
    """Fit ``method`` on held-out logits of real and generated samples (scikit-learn)."""
    if method == "none":
        return Calibrator("none")
    x = torch.cat([logit_real, logit_fake]).detach().double().cpu().numpy()
    y = np.concatenate([np.ones(len(logit_real)), np.zeros(len(logit_fake))])
    if method == "logistic":
        from sklearn.linear_model import LogisticRegression

        model = LogisticRegression(C=1e6).fit(x[:, None], y)
        return Calibrator("logistic", a=float(model.coef_[0, 0]), b=float(model.intercept_[0]))
    if method == "isotonic":
        from sklearn.isotonic import IsotonicRegression

        iso = IsotonicRegression(y_min=0.0, y_max=1.0, increasing=True, out_of_bounds="clip").fit(x, y)
        return Calibrator("isotonic", x_knots=torch.as_tensor(iso.X_thresholds_, dtype=torch.float64),
                          p_knots=torch.as_tensor(iso.y_thresholds_, dtype=torch.float64))
    raise GanmcError(f"unknown calibration '{method}' (none, isotonic or logistic)")


# --- the accept/reject kernels: init logits [n], proposal logits [n, k], uniforms [n, k] ---
def select_vectorised(init: torch.Tensor, props: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index of each chain's final state (-1: still the real init) and its number of accepted moves."""
    n, k = props.shape
    log_u = torch.log(u.double())
    props = props.double()
    current = init.double().clone()
    index = torch.full((n,), -1, dtype=torch.long, device=props.device)
    accepted = torch.zeros(n, dtype=torch.long, device=props.device)
    for j in range(k):
        take = log_u[:, j] < props[:, j] - current
        current = torch.where(take, props[:, j], current)
        index = torch.where(take, torch.full_like(index, j), index)
        accepted += take.long()
    return index, accepted


def _propose_chunked(propose: ProposeFn, z: torch.Tensor, chunk: int) -> tuple[torch.Tensor, torch.Tensor]:
    xs, ls = [], []
    for start in range(0, z.shape[0], chunk):
        x, logit = propose(z[start:start + chunk])
        xs.append(x)
        ls.append(logit)
    return torch.cat(xs), torch.cat(ls)


def round_vectorised(propose: ProposeFn, z: torch.Tensor, u: torch.Tensor, init: torch.Tensor,
                     chunk: int = 65536) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """One round for all chains: score every proposal in large batches, then select on tensors.

    ``z`` is [n, k, latent]; returns (chosen or last samples [n, dim], index [n], accepted [n]).
    """
    n, k = u.shape
    x, logit = _propose_chunked(propose, z.reshape(n * k, -1), chunk)
    x = x.view(n, k, *x.shape[1:])
    index, accepted = select_vectorised(init, logit.view(n, k).to(init.device), u.to(init.device))
    pick = torch.where(index >= 0, index, torch.full_like(index, k - 1)).to(x.device)
    return x[torch.arange(n, device=x.device), pick], index, accepted


@dataclass
class ChainResult:
    """Final states of ``n`` chains and what it took to get them."""

    samples: torch.Tensor
    proposals: int
    accepted: int
    restarts: int
    fallbacks: int
    real_inits: int


def run_chains(
    n: int,
    k: int,
    propose: ProposeFn,
    draw_latents: Callable[[int, torch.Generator], torch.Tensor],
    init_logits: Callable[[int, torch.Generator], torch.Tensor],
    generator: torch.Generator,
    max_restarts: int = 10,
    chunk: int = 65536,
) -> ChainResult:
    """Run ``n`` independent chains of ``k`` proposals, restarting chains that accept nothing.

    Each round draws, in order: the real inits' logits for the chains still open, their
    latents ([m, k, latent]) and uniforms ([m, k], float64). A chain still without an accepted
    proposal after ``max_restarts`` restarts returns its last proposal (counted as a fallback).
    """
    open_idx = torch.arange(n)
    out: torch.Tensor | None = None
    proposals = accepted = restarts = real_inits = 0
    for attempt in range(max_restarts + 1):
        m = len(open_idx)
        init = init_logits(m, generator)
        z = draw_latents(m * k, generator).reshape(m, k, -1)
        u = torch.rand(m, k, generator=generator, dtype=torch.float64)
        x, index, acc = round_vectorised(propose, z, u, init, chunk)
        if out is None:
            out = torch.empty((n, *x.shape[1:]), dtype=x.dtype, device=x.device)
        proposals += m * k
        real_inits += m
        accepted += int(acc.sum())
        done = (index >= 0).cpu()
        last = attempt == max_restarts
        keep = torch.ones_like(done) if last else done
        out[open_idx[keep].to(out.device)] = x[keep.to(x.device)]
        fallbacks = int((~done).sum()) if last else 0
        open_idx = open_idx[~keep]
        if len(open_idx) == 0:
            break
        restarts += len(open_idx)
    assert out is not None
    return ChainResult(out, proposals, accepted, restarts, fallbacks, real_inits)
