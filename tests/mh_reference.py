"""Per-chain references for the vectorised MH rounds of :mod:`ganmc.samplers.mh` (tests only).

Each has the signature of :func:`ganmc.samplers.mh.round_vectorised` and consumes the same
inputs (the round's latents and uniforms are drawn up front by ``run_chains``), so patched in
for it they must return the same chains: :func:`round_loop` the same bits (each chain scores
its ``k`` proposals in one batch, then :func:`select_loop` accepts or rejects in Python floats),
:func:`round_textbook` samples to float rounding (one ``propose`` call per proposal: D's logits
on single-sample batches may differ in the last bits).
"""

from __future__ import annotations

import math

import torch

from ganmc.samplers.mh import ProposeFn

Round = tuple[torch.Tensor, torch.Tensor, torch.Tensor]


def select_loop(init: torch.Tensor, props: torch.Tensor, u: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The accept/reject rule one chain and one proposal at a time in Python floats: each chain's
    final index (-1: still the real init) and its number of accepted moves."""
    n, k = props.shape
    init_l, props_l, u_l = init.double().tolist(), props.double().tolist(), u.double().tolist()
    index, accepted = [-1] * n, [0] * n
    for i in range(n):
        current = init_l[i]
        for j in range(k):
            if math.log(u_l[i][j]) < props_l[i][j] - current:
                current, index[i] = props_l[i][j], j
                accepted[i] += 1
    return torch.tensor(index, dtype=torch.long), torch.tensor(accepted, dtype=torch.long)


def round_loop(propose: ProposeFn, z: torch.Tensor, u: torch.Tensor, init: torch.Tensor, chunk: int = 65536) -> Round:
    """Per chain: score its ``k`` proposals in one batch, then run :func:`select_loop`."""
    n, k = u.shape
    samples, indices, accepts = [], [], []
    for i in range(n):
        x, logit = propose(z[i])
        index, accepted = select_loop(init[i:i + 1], logit.view(1, k), u[i:i + 1])
        samples.append(x[int(index[0]) if int(index[0]) >= 0 else k - 1])
        indices.append(index)
        accepts.append(accepted)
    return torch.stack(samples), torch.cat(indices).to(init.device), torch.cat(accepts).to(init.device)


def round_textbook(propose: ProposeFn, z: torch.Tensor, u: torch.Tensor, init: torch.Tensor,
                   chunk: int = 65536) -> Round:
    """Per chain and proposal: score that one proposal, accept or reject it in Python floats."""
    n, k = u.shape
    init_l, u_l = init.double().tolist(), u.double().tolist()
    samples, indices, accepts = [], [], []
    for i in range(n):
        current, index, accepted = init_l[i], -1, 0
        state = last = None
        for j in range(k):
            x, logit = propose(z[i, j:j + 1])
            proposal, last = float(logit[0]), x[0]
            if math.log(u_l[i][j]) < proposal - current:
                current, index, state = proposal, j, last
                accepted += 1
        samples.append(state if state is not None else last)  # nothing accepted: the last proposal
        indices.append(index)
        accepts.append(accepted)
    return (torch.stack(samples), torch.tensor(indices, dtype=torch.long, device=init.device),
            torch.tensor(accepts, dtype=torch.long, device=init.device))
