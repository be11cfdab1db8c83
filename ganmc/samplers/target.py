"""The exact target of a discriminator-weighted sampler, estimated without MCMC.

DDLS, DRS and MH-GAN all aim at ``p_g(x) * w(x)`` for a weight the discriminator gives
(DDLS: ``exp(d/T)``; DRS: ``D/(1-D)`` of its D; MH-GAN: of its score-calibrated D). Sampling-importance-
resampling (SIR) from a pool of generator proposals estimates it; the estimate is reliable only
when the weights' effective sample size (ESS) reaches the number of draws ``n``, so the pool
grows (doubling, from ``factor * n`` up to ``max_pool``, which also bounds the first pool) until
it does, on data sets with regions (modes, roll bins) where the target's mass per region is
reported.
"""

from __future__ import annotations

from typing import Any

import torch

from ganmc.metrics.target import effective_sample_size, region_masses, total_variation
from ganmc.samplers.base import Sampler

CHUNK = 1 << 16  # proposals per G/D batch: memory stays bounded for any pool


@torch.no_grad()
def _pool(sampler: Sampler, m: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor] | None:
    xs, lws = [], []
    for start in range(0, m, CHUNK):
        state, x = sampler.propose(min(CHUNK, m - start), generator)
        lw = sampler.target_log_weight(state, x)
        if lw is None:
            return None
        xs.append(x.detach().cpu())
        lws.append(lw.detach().double().cpu())
    return torch.cat(xs), torch.cat(lws)


def estimate_target(sampler: Sampler, n: int, generator: torch.Generator, factor: int, max_pool: int,
                    dataset: Any = None) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """``n`` SIR draws from the sampler's target and its diagnostics; ``None`` when the sampler
    has no importance-weighted target (or ``factor`` is 0).

    The diagnostics: ``pool`` (proposals used), ``ess``, ``reliable`` (ESS >= n), and, when
    ``dataset`` has regions, ``masses`` (the target's mass per region), ``mass_tv`` (their total
    variation to the data's) and ``generator_mass_tv`` (the same for the unweighted pool).
    """
    start = factor * n if max_pool <= 0 else min(factor * n, max_pool)  # bounded for any n
    first = _pool(sampler, start, generator) if factor > 0 else None
    if first is None:
        return None
    pool_x, pool_lw = first
    grow = dataset is not None and dataset.region_masses() is not None
    while grow and effective_sample_size(pool_lw) < n and len(pool_lw) < max_pool:
        more = _pool(sampler, min(len(pool_lw), max_pool - len(pool_lw)), generator)
        assert more is not None
        pool_x, pool_lw = torch.cat([pool_x, more[0]]), torch.cat([pool_lw, more[1]])
    ess = effective_sample_size(pool_lw)
    info: dict[str, Any] = {"pool": len(pool_lw), "ess": ess, "reliable": bool(ess >= n), "n": n}
    if grow:
        data = dataset.region_masses()
        index = dataset.regions(pool_x)
        target = region_masses(index, pool_lw, len(data))
        info.update({"region": dataset.region_kind, "masses": [float(v) for v in target],
                     "data_masses": [float(v) for v in data], "mass_tv": total_variation(target, data),
                     "generator_mass_tv": total_variation(region_masses(index, None, len(data)), data)})
    weights = torch.softmax(pool_lw, dim=0)
    draw = torch.multinomial(weights, n, replacement=True, generator=generator)
    return pool_x[draw], info
