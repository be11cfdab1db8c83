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

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from ganmc.common import trim_heap
from ganmc.metrics.target import effective_sample_size, region_masses, total_variation
from ganmc.samplers.base import Sampler

CHUNK = 1 << 16  # proposals per G/D batch (at most): memory stays bounded for any pool


@dataclass
class Pool:
    """The proposals' log weights (and regions), and per chunk its size and the generator's
    state before it, so any proposal can be generated again: the pool's outputs are not kept."""

    lw: list[torch.Tensor] = field(default_factory=list)
    regions: list[torch.Tensor] = field(default_factory=list)
    chunks: list[tuple[int, torch.Tensor]] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(size for size, _ in self.chunks)

    def log_weights(self) -> torch.Tensor:
        return torch.cat(self.lw)


@torch.no_grad()
def _grow(pool: Pool, sampler: Sampler, m: int, generator: torch.Generator, chunk: int, dataset: Any) -> bool:
    """Add ``m`` proposals to ``pool``; ``False`` when the sampler has no target weights."""
    for start in range(0, m, chunk):
        size, state = min(chunk, m - start), generator.get_state()
        z, x = sampler.propose(size, generator)
        lw = sampler.target_log_weight(z, x)
        if lw is None:
            return False
        pool.lw.append(lw.detach().double().cpu())
        pool.chunks.append((size, state))
        if dataset is not None:
            pool.regions.append(dataset.regions(x.detach().cpu()))
        trim_heap()  # the chunk's outputs are not kept: neither is their memory
    return True


@torch.no_grad()
def _outputs(pool: Pool, sampler: Sampler, draw: torch.Tensor,
             store: Callable[[torch.Tensor], torch.Tensor]) -> torch.Tensor:
    """The outputs of the proposals ``draw`` (pool indices, in draw order), generated again chunk
    by chunk from the saved generator states; only the drawn ones are kept (through ``store``)."""
    out: torch.Tensor | None = None
    offset = 0
    for size, state in pool.chunks:
        hit = ((draw >= offset) & (draw < offset + size)).nonzero().flatten()
        if len(hit):
            _, x = sampler.propose(size, torch.Generator().set_state(state))
            rows = store(x[draw[hit].to(x.device) - offset].detach().cpu())
            if out is None:
                out = torch.empty((len(draw), *rows.shape[1:]), dtype=rows.dtype)
            out[hit] = rows
            trim_heap()
        offset += size
    assert out is not None
    return out


def estimate_target(sampler: Sampler, n: int, generator: torch.Generator, factor: int, max_pool: int,
                    dataset: Any = None, chunk: int = CHUNK,
                    store: Callable[[torch.Tensor], torch.Tensor] = lambda x: x,
                    ) -> tuple[torch.Tensor, dict[str, Any]] | None:
    """``n`` SIR draws from the sampler's target and its diagnostics; ``None`` when the sampler
    has no importance-weighted target (or ``factor`` is 0).

    Proposals go through G and D in chunks of ``chunk``; only their log weights are kept, and
    the ``n`` drawn ones are generated again at the end (kept through ``store``, e.g. as uint8
    images), so memory is the draws plus one chunk, whatever the pool's size. The diagnostics:
    ``pool`` (proposals used), ``ess``, ``reliable`` (ESS >= n), and, when ``dataset`` has
    regions, ``masses`` (the target's mass per region), ``mass_tv`` (their total variation to
    the data's) and ``generator_mass_tv`` (the same for the unweighted pool).
    """
    start = factor * n if max_pool <= 0 else min(factor * n, max_pool)  # bounded for any n
    grow = dataset is not None and dataset.region_masses() is not None
    pool = Pool()
    if factor <= 0 or not sampler.exact_target or not _grow(pool, sampler, start, generator, chunk, dataset if grow else None):
        return None
    while grow and effective_sample_size(pool.log_weights()) < n and len(pool) < max_pool:
        _grow(pool, sampler, min(len(pool), max_pool - len(pool)), generator, chunk, dataset)
    pool_lw = pool.log_weights()
    ess = effective_sample_size(pool_lw)
    info: dict[str, Any] = {"pool": len(pool_lw), "ess": ess, "reliable": bool(ess >= n), "n": n}
    if grow:
        data = dataset.region_masses()
        index = torch.cat(pool.regions)
        target = region_masses(index, pool_lw, len(data))
        info.update({"region": dataset.region_kind, "masses": [float(v) for v in target],
                     "data_masses": [float(v) for v in data], "mass_tv": total_variation(target, data),
                     "generator_mass_tv": total_variation(region_masses(index, None, len(data)), data)})
    weights = torch.softmax(pool_lw, dim=0)
    draw = torch.multinomial(weights, n, replacement=True, generator=generator)
    return _outputs(pool, sampler, draw, store), info
