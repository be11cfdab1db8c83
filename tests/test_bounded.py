"""Memory bounded in n: the target estimate keeps log weights only and generates its draws
again; samples are kept in the run's form batch by batch; bulk passes go in chunks; the smallest
budgets (``smoke=true``) every sampler declares."""

from __future__ import annotations

import pytest
import torch
from analytic import Linear, identity_gan

from ganmc.data.images import to_uint8
from ganmc.data.synthetic import GaussianGrid
from ganmc.errors import GanmcError
from ganmc.run.sampler import construct_sampler
from ganmc.samplers import SAMPLERS
from ganmc.samplers.ddls import DDLSSampler
from ganmc.samplers.drs import DRSSampler
from ganmc.samplers.target import estimate_target

A = [1.0, -0.5]


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


def keep_everything_sir(sampler, n: int, generator: torch.Generator, pool: int, chunk: int) -> torch.Tensor:
    """The textbook SIR: every proposal's output kept, then ``n`` draws from the weights."""
    xs, lws = [], []
    for start in range(0, pool, chunk):
        z, x = sampler.propose(min(chunk, pool - start), generator)
        xs.append(x)
        lws.append(sampler.target_log_weight(z, x).double())
    draw = torch.multinomial(torch.softmax(torch.cat(lws), 0), n, replacement=True, generator=generator)
    return torch.cat(xs)[draw]


@pytest.mark.parametrize("chunk", [7, 64, 1 << 16])
def test_sir_draws_generated_again_equal_the_kept_pool(chunk: int):
    """Generating the drawn proposals again from the saved generator states gives the very
    outputs a sampler keeping its whole pool would have drawn, for any chunking."""
    sampler = DDLSSampler(identity_gan(Linear(A)), n_steps=0, extended_latent=True, eps_x=0.1)
    with torch.no_grad():
        expected = keep_everything_sir(sampler, 50, gen(3), 250, chunk)
        got, info = estimate_target(sampler, 50, gen(3), 5, 0, None, chunk)
    assert info["pool"] == 250
    assert torch.equal(got, expected)


def test_sir_draws_kept_through_store_and_grown_pool_masses():
    data = GaussianGrid("gaussians25")
    sampler = DDLSSampler(identity_gan(Linear([2.0, 0.0])), n_steps=0)
    sir, info = estimate_target(sampler, 300, gen(), 2, 1 << 14, data, chunk=500, store=lambda x: x.half())
    assert sir.dtype == torch.float16 and sir.shape == (300, 2)
    assert info["pool"] > 600 and sum(info["masses"]) == pytest.approx(1.0)


def test_samples_are_kept_in_the_store_form_and_nan_in_extras_is_refused():
    sampler = DDLSSampler(identity_gan(Linear(A)), n_steps=2, snapshot_every=1, step_size=0.01)
    batch = sampler.sample(10, gen(), batch_size=4, store=lambda x: to_uint8(x.clamp(-1, 1)))
    assert batch.samples.dtype == torch.uint8 and len(batch) == 10
    assert all(v.dtype == torch.uint8 and len(v) == 10 for v in batch.extra.values())
    poisoned = DDLSSampler(identity_gan(Linear(A)), n_steps=1, snapshot_every=1)
    poisoned._snapshot = lambda snaps, step, state: snaps.__setitem__(f"step_{step:04d}", state * float("nan"))
    with pytest.raises(GanmcError, match="NaN"):
        poisoned.sample(4, gen(), store=to_uint8)


def test_bulk_passes_in_chunks_equal_one_pass():
    sampler = DRSSampler(identity_gan(Linear(A)), pilot_n=100, proposal_batch=100)
    z = torch.randn(103, 2, generator=gen())
    whole = sampler.batched(sampler.gan.discriminator, z)
    sampler.eval_batch = 10
    calls = []
    chunked = sampler.batched(lambda x: calls.append(len(x)) or sampler.gan.discriminator(x), z)
    assert torch.allclose(whole, chunked) and max(calls) == 10 and sum(calls) == 103


@pytest.mark.parametrize("name", sorted(n for n, cls in SAMPLERS.items() if cls.smoke))
def test_smoke_runs_each_sampler_at_its_declared_smallest_budget(name: str, compose_cfg):
    """Driven by the registry: a sampler that declares ``smoke`` settings runs with them."""
    cls = SAMPLERS[name]
    cfg = compose_cfg(f"+sampler={name}", "smoke=true", "eval_batch=16")
    sampler = construct_sampler(cfg, identity_gan(Linear(A)))
    assert sampler.eval_batch == 16
    for key, value in cls.smoke.items():
        got = getattr(sampler.cfg, key)
        if isinstance(value, dict):
            assert all(getattr(got, k) == v for k, v in value.items()), (name, key)
        else:
            assert got == value, (name, key)
    plain = construct_sampler(compose_cfg(f"+sampler={name}"), identity_gan(Linear(A)))
    assert any(getattr(plain.cfg, k) != getattr(sampler.cfg, k) for k in cls.smoke), name


def test_eval_batch_must_be_positive(run_cli):
    code, _, err = run_cli("sample", "eval_batch=0")
    assert code != 0 and "eval_batch must be positive" in err
