"""Collaborative sampling: metrics, diagnostics, refinement, the sampler, and discriminator shaping."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY
from helpers import efficiency, good_percent
from torch import nn

from ganmc.data.synthetic import GaussianMixture, GaussianRing
from ganmc.errors import GanmcError
from ganmc.io import sha256_file
from ganmc.metrics.collab import (
    brier,
    collab_metrics,
    ece,
    js_from_counts,
    kl_from_counts,
    z_stat,
)
from ganmc.models.checkpoint import read_checkpoint, save_checkpoint
from ganmc.models.gan import GAN
from ganmc.models.mlp import MLPDiscriminator, MLPGenerator
from ganmc.models.prior import Prior
from ganmc.samplers import SamplingContext
from ganmc.samplers.collab import CollabSampler
from ganmc.samplers.refine import refine
from ganmc.settings import checkpoint_spec

RING = GaussianRing("imbal8")
COLLAB = [*TINY, "dataset=imbal8", "gan=nsgan_mlp", "gan.train.snapshots=[]", "metric=collab"]


# --- metrics -------------------------------------------------------------------------------
def test_kl_and_js_on_known_histograms():
    w = [0.5, 0.25, 0.25]
    assert kl_from_counts([50, 25, 25], w) == pytest.approx(0.0, abs=1e-9)
    # p = (1, 0, 0) vs q = (0.5, 0.25, 0.25): KL = log 2 (the empty bins contribute ~eps)
    assert kl_from_counts([10, 0, 0], w) == pytest.approx(math.log(2), abs=1e-6)
    assert math.isnan(kl_from_counts([0, 0, 0], w))
    assert js_from_counts([50, 25, 25], 0, w) == pytest.approx(0.0, abs=1e-12)
    # every sample bad: disjoint supports, JS = log 2
    assert js_from_counts([0, 0, 0], 7, w) == pytest.approx(math.log(2))
    # p = (1/2, 0, 0, bad 1/2), q = (1/2, 1/4, 1/4, 0), m = (1/2, 1/8, 1/8, 1/4)
    expected = 0.5 * (0.5 * math.log(2)) + 0.5 * (2 * 0.25 * math.log(2))
    assert js_from_counts([5, 0, 0], 5, w) == pytest.approx(expected)
    assert efficiency(25, 100) == 0.25


def test_good_percent_and_collab_metrics_on_the_ring():
    gen = torch.Generator().manual_seed(0)
    real = RING.sample(20000, gen)
    m = collab_metrics(real, RING.centres, RING.std, RING.weights)
    assert m["good_percent"] > 99.9 and m["kl"] < 5e-3 and m["js"] < 2e-3
    # all samples on one major mode: KL = log(1 / 0.45)
    one = RING.centres[0] + RING.std * torch.randn(1000, 2, generator=gen)
    assert collab_metrics(one, RING.centres, RING.std, RING.weights)["kl"] == pytest.approx(math.log(1 / 0.45), abs=1e-6)
    far = torch.zeros(10, 2)  # the ring's centre is far from every mode
    assert good_percent(torch.cat([real[:10], far]), RING.centres, RING.std) == 50.0


def test_diagnostics_on_hand_built_predictions():
    y = np.array([1, 1, 0, 0, 1, 0], dtype=float)
    assert brier(y, y) == 0.0 and ece(y, y) == 0.0 and z_stat(y, y) == 0.0
    half = np.full_like(y, 0.5)
    assert brier(y, half) == pytest.approx(0.25) and z_stat(y, half) == 0.0 and ece(y, half) == 0.0
    # always 0.9 on balanced labels: over-confident, Z = (3 - 5.4) / sqrt(6 * 0.09)
    p = np.full_like(y, 0.9)
    assert z_stat(y, p) == pytest.approx(-2.4 / math.sqrt(0.54))
    assert ece(y, p) == pytest.approx(0.4) and brier(y, p) == pytest.approx((3 * 0.01 + 3 * 0.81) / 6)
    # two bins: p 0.2 (labels 0, 1 -> |0.5 - 0.2|) and p 0.8 (labels 1, 1 -> |1 - 0.8|)
    assert ece([0, 1, 1, 1], [0.2, 0.2, 0.8, 0.8], n_bins=2) == pytest.approx(0.5 * 0.3 + 0.5 * 0.2)


# --- refinement ----------------------------------------------------------------------------
class TowardsCentre(nn.Module):
    """An analytic D: logit = 2 - |x - c|^2, highest at c."""

    def __init__(self, centre: tuple[float, float] = (1.0, -1.0)) -> None:
        super().__init__()
        self.centre = nn.Parameter(torch.tensor(centre))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return 2.0 - ((x - self.centre) ** 2).sum(dim=1)


def _gan(disc: nn.Module | None = None, seed: int = 0) -> GAN:
    torch.manual_seed(seed)
    return GAN(MLPGenerator(2, 2, width=16, depth=2), disc or MLPDiscriminator(2, width=16, depth=2),
               Prior("normal", 2), "ns").eval()


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_output_layer_refinement_moves_samples_to_higher_d(optimizer):
    gan = _gan(TowardsCentre())
    z = gan.prior.sample(256, torch.Generator().manual_seed(0))
    with torch.no_grad():
        before = gan.discriminator(gan.generator(z))
    r = refine(gan, z, gan.generator.n_layers, n_steps=20, step_size=0.05, optimizer=optimizer)
    assert float(r.logits.mean()) > float(before.mean()) + 0.5
    assert bool((r.logits >= before - 1e-5).all())  # small steps on a concave D never go down
    assert (r.steps == 20).all()
    # per sample: one proposal eval, then (G fwd, D fwd, D bwd, G bwd) per step, plus the final eval
    assert r.g_evals == r.d_evals == 256 * (1 + 2 * 20)
    # no parameter gradients are left behind
    assert all(p.grad is None for p in [*gan.generator.parameters(), *gan.discriminator.parameters()])


def test_latent_and_hidden_refinement_raise_d_and_samples_do_not_interact():
    gan = _gan(TowardsCentre())
    z = gan.prior.sample(64, torch.Generator().manual_seed(1))
    with torch.no_grad():
        before = gan.discriminator(gan.generator(z))
    z0 = z.clone()
    for layer in (0, 1):
        batch = refine(gan, z, layer, n_steps=10, step_size=0.05)
        assert torch.equal(z, z0)  # the caller's latents are not refined in place
        assert float(batch.logits.mean()) > float(before.mean())
        single = torch.cat([refine(gan, z[i:i + 1], layer, n_steps=10, step_size=0.05).samples for i in range(4)])
        torch.testing.assert_close(batch.samples[:4], single, rtol=1e-5, atol=1e-6)


def test_median_rule_stops_samples_that_already_look_real():
    gan = _gan(TowardsCentre())
    z = gan.prior.sample(128, torch.Generator().manual_seed(2))
    with torch.no_grad():
        p0 = torch.sigmoid(gan.discriminator(gan.generator(z)))
    threshold = float(p0.median())
    r = refine(gan, z, gan.generator.n_layers, n_steps=30, step_size=0.05, threshold=threshold)
    assert (r.steps[p0 >= threshold] == 0).all()
    moved = r.steps > 0
    assert moved.any() and bool((torch.sigmoid(r.logits[moved]) >= threshold - 1e-6).float().mean() > 0.9)
    # probability 1 of stopping: nothing moves, one G and one D eval per sample
    r1 = refine(gan, z, gan.generator.n_layers, n_steps=30, step_size=0.05, stop_prob=1.0,
                generator=torch.Generator().manual_seed(0))
    assert (r1.steps == 0).all() and r1.g_evals == r1.d_evals == 128


def _refine_reference(gan, z, layer, n_steps, step_size, optimizer="sgd", threshold=None, stop_prob=None,
                      generator=None):
    """Algorithm 1 as first written: the whole batch's state kept, active rows gathered each step,
    autograd through G and D. :func:`refine` must return the same bits."""
    G, D = gan.generator, gan.discriminator
    n = z.shape[0]
    with torch.no_grad():
        h = G.forward_to(z, layer).clone()
    m1, m2 = torch.zeros_like(h), torch.zeros_like(h)
    x, logits = None, torch.empty(n)
    steps, active = torch.zeros(n, dtype=torch.long), torch.ones(n, dtype=torch.bool)
    evals = 0.0
    for k in range(n_steps + 1):
        idx = active.nonzero().squeeze(1)
        if len(idx) == 0:
            break
        h_a = h[idx].detach().requires_grad_(k < n_steps)
        with torch.enable_grad():
            x_a = G.forward_from(h_a, layer)
            d_a = D(x_a)
        evals += len(idx)
        if x is None:
            x = torch.empty((n, *x_a.shape[1:]))
        x[idx], logits[idx] = x_a.detach(), d_a.detach()
        if k == n_steps:
            break
        stop = torch.zeros(len(idx), dtype=torch.bool)
        if threshold is not None:
            stop |= torch.sigmoid(d_a.detach()) >= threshold
        if stop_prob is not None:
            stop |= torch.rand(len(idx), generator=generator) < stop_prob
        active[idx[stop]] = False
        go = ~stop
        if not bool(go.any()):
            continue
        with torch.enable_grad():
            (grad,) = torch.autograd.grad(torch.nn.functional.softplus(-d_a[go]).sum(), h_a)
        grad, rows = grad[go], idx[go]
        evals += len(rows)
        if optimizer == "adam":
            t = (steps[rows] + 1).double().view(-1, *[1] * (h.ndim - 1))
            m1[rows] = 0.9 * m1[rows] + 0.1 * grad
            m2[rows] = 0.999 * m2[rows] + (1 - 0.999) * grad * grad
            m_hat, v_hat = m1[rows] / (1 - 0.9 ** t).to(h.dtype), m2[rows] / (1 - 0.999 ** t).to(h.dtype)
            h[rows] = h[rows] - step_size * m_hat / (v_hat.sqrt() + 1e-8)
        else:
            h[rows] = h[rows] - step_size * grad
        steps[rows] += 1
    return x, logits, steps, evals


@pytest.mark.parametrize("activation", ["relu", "leaky_relu"])
def test_refine_returns_the_reference_bits_with_and_without_autograd(activation):
    torch.manual_seed(3)
    gan = GAN(MLPGenerator(2, 2, width=32, depth=3, norm="batch"), MLPDiscriminator(2, width=32, depth=3,
              activation=activation), Prior("normal", 2), "ns").eval()
    assert gan.discriminator.input_vjp() is not None and not hasattr(TowardsCentre(), "input_vjp")
    z = gan.prior.sample(300, torch.Generator().manual_seed(0))
    with torch.no_grad():
        threshold = float(torch.sigmoid(gan.discriminator(0.9 * gan.generator(z))).median())
    # output space (the layer shaping refines at: no autograd) and a hidden layer (autograd)
    for layer in (gan.generator.n_layers, 2):
        for optimizer in ("sgd", "adam"):
            for rule in ({"threshold": threshold}, {"stop_prob": 0.05}, {"threshold": threshold, "stop_prob": 0.02}):
                gens = torch.Generator().manual_seed(1), torch.Generator().manual_seed(1)
                r = refine(gan, z, layer, 15, 0.1, optimizer, generator=gens[0], **rule)
                x, logits, steps, evals = _refine_reference(gan, z, layer, 15, 0.1, optimizer, generator=gens[1],
                                                            **rule)
                assert torch.equal(r.samples, x) and torch.equal(r.logits, logits) and torch.equal(r.steps, steps)
                assert 0 < float(steps.double().mean()) < 15  # some samples stopped early, some did not
                assert r.g_evals == r.d_evals == evals
                assert torch.equal(gens[0].get_state(), gens[1].get_state())  # the same draws
    assert all(p.requires_grad and p.grad is None for p in [*gan.generator.parameters(),
                                                            *gan.discriminator.parameters()])


def test_a_plain_mlp_d_gives_its_input_gradient_as_autograd_does_and_refine_uses_it(monkeypatch):
    torch.manual_seed(4)
    x, g = torch.randn(50, 2), torch.randn(50)
    for activation in ("relu", "leaky_relu"):
        d = MLPDiscriminator(2, width=32, depth=3, activation=activation)
        logits, vjp = d.input_vjp()(x)
        x_a = x.clone().requires_grad_(True)
        (grad,) = torch.autograd.grad((d(x_a) * g).sum(), x_a)
        assert torch.equal(logits, d(x).detach()) and torch.equal(vjp(g), grad)
    # not plain: the hook declines and refinement falls back to autograd
    class Shifted(MLPDiscriminator):
        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return super().forward(x) + 1.0

    hooked, sn = MLPDiscriminator(2, width=8, depth=2), MLPDiscriminator(2, width=8, depth=2)
    hooked.register_forward_hook(lambda *args: None)
    nn.utils.parametrizations.spectral_norm(sn.blocks[0][0])
    for d in (MLPDiscriminator(2, width=8, depth=2, activation="tanh"), MLPDiscriminator(2, width=8, depth=2, norm="layer"),
              Shifted(2, width=8, depth=2), hooked, sn):
        assert d.input_vjp() is None
    calls = []
    original = MLPDiscriminator.input_vjp
    monkeypatch.setattr(MLPDiscriminator, "input_vjp", lambda self: calls.append(1) or original(self))
    gan = GAN(MLPGenerator(2, 2, width=8, depth=2), MLPDiscriminator(2, width=8, depth=2), Prior("normal", 2), "ns")
    z = gan.prior.sample(20, torch.Generator().manual_seed(0))
    refine(gan, z, 1, n_steps=3, step_size=0.1)  # a hidden layer: autograd through G's last block
    assert calls == []
    refine(gan, z, gan.generator.n_layers, n_steps=3, step_size=0.1)  # output space: the hook
    assert calls == [1]


def test_collab_sampler_with_rejection_and_bad_settings():
    data = GaussianMixture("m", [[1.0, -1.0]], std=0.1)
    gan = _gan(TowardsCentre())
    sampler = CollabSampler(gan, n_steps=5, step_size=0.05, reject=True, k=10)
    sampler.prepare(SamplingContext(data))  # the data set reaches a sampler only here
    batch = sampler.sample(50, torch.Generator().manual_seed(0), batch_size=25)
    assert batch.samples.shape == (50, 2) and sampler.name == "collab+reject"
    assert 0 < batch.stats["acceptance_rate"] <= 1 and batch.stats["efficiency"] <= 0.1
    with pytest.raises(GanmcError, match="eta"):
        CollabSampler(gan, eta="often")
    with pytest.raises(GanmcError, match="layer"):
        CollabSampler(gan, layer=9)
    with pytest.raises(GanmcError, match="needs real data"):
        CollabSampler(gan).prepare(SamplingContext(None))
    with pytest.raises(GanmcError, match="unexpected keyword argument 'dataset'"):
        CollabSampler(gan, dataset=data)


# --- command line: sampler, metric config and shaping ---------------------------------------
def test_collab_sampler_and_metrics_from_the_command_line(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *COLLAB, "+sampler=collab", "sampler.n_steps=3", "sampler.n_real=200",
                           f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert record["run"]["sampler"] == "collab"
    assert {"good_percent", "kl", "js"} <= set(record["metrics"]) and "emd" not in record["metrics"]
    assert record["stats"]["efficiency"] == 1.0 and 0 < record["stats"]["eta"] < 1
    code, _, err = run_cli("sample", *COLLAB, "+sampler=collab", "sampler.eta=sometimes", f"hydra.run.dir={out}x")
    assert code == 1 and "sampler.eta must be" in err


def test_shape_saves_a_child_checkpoint_atomically_that_sample_can_use(run_cli, compose_cfg, tmp_path,
                                                                       monkeypatch):
    shape = [*COLLAB, "sampler.discriminator.steps=5", "sampler.discriminator.batch=64", "sampler.n_steps=3",
             "sampler.n_real=200"]
    target = tmp_path / "ckpt" / "shaped.pt"
    code, out, err = run_cli("shape", *shape, f"shape.out={target}", f"hydra.run.dir={tmp_path / 'run'}")
    assert code == 0, err
    assert out.strip().endswith(str(target))
    assert [p.name for p in target.parent.iterdir()] == ["shaped.pt"]  # no temporary left behind
    record = json.loads((tmp_path / "run" / "record.json").read_text())
    parent = record["parent"]
    payload, parent_payload = read_checkpoint(target), read_checkpoint(parent["path"])
    assert payload["parent"] == parent["path"] and parent["sha256"] == sha256_file(parent["path"])
    assert json.loads(payload["record"])["parent_sha256"] == parent["sha256"]
    for k, v in parent_payload["generator"].items():
        assert torch.equal(v, payload["generator"][k])
    assert any(not torch.equal(v, payload["discriminator"][k]) for k, v in parent_payload["discriminator"].items())
    code, _, err = run_cli("sample", *COLLAB, f"gan.checkpoint={target}", f"hydra.run.dir={tmp_path / 's'}")
    assert code == 0, err
    sampled = json.loads((tmp_path / "s" / "record.json").read_text())
    assert sampled["provenance"]["checkpoint_sha256"] == record["provenance"]["checkpoint_sha256"]

    # a write that fails half-way leaves the existing checkpoint intact and no temporary file
    digest = sha256_file(target)

    def half_save(obj: object, f: object, *args: object, **kwargs: object) -> None:
        with open(f, "wb") as fh:  # type: ignore[arg-type]
            fh.write(b"partial")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", half_save)
    with pytest.raises(OSError, match="disk full"):
        save_checkpoint(target, _gan(), checkpoint_spec(compose_cfg(*shape, config="shape")), 1, "", {})
    assert sha256_file(target) == digest and [p.name for p in target.parent.iterdir()] == ["shaped.pt"]


def test_samplers_shape_or_finetune_d_once_and_cache_it(run_cli, tmp_path):
    d = ["sampler.discriminator.steps=3", "sampler.discriminator.batch=32"]
    for sampler, extra in [("collab_shaped", ["sampler.n_steps=3", "sampler.n_real=200", *d]),
                           ("mhgan_tuned", ["sampler.k=3", "sampler.n_calib=100", *d]),
                           ("collab", ["sampler.n_steps=3", "sampler.n_real=200", "sampler.discriminator.kind=calibrated",
                                       *d])]:
        records = []
        for i in range(2):
            out = tmp_path / f"{sampler}{i}"
            code, _, err = run_cli("sample", *COLLAB, f"+sampler={sampler}", *extra, f"hydra.run.dir={out}")
            assert code == 0, err
            records.append(json.loads((out / "record.json").read_text()))
        path = records[0]["stats"]["discriminator_checkpoint"]
        assert path == records[1]["stats"]["discriminator_checkpoint"] and read_checkpoint(path)["discriminator"]
        assert Path(path).parent.name == ("shaped" if sampler == "collab_shaped" else "calibrated")
        assert records[0]["metrics"] == records[1]["metrics"]
    for bad, match in [("sampler.discriminator.steps=-1", "steps >= 0"),
                       ("sampler.discriminator.kind=tuned", "discriminator.kind")]:
        code, _, err = run_cli("sample", *COLLAB, "+sampler=collab", bad, f"hydra.run.dir={out}x")
        assert code != 0 and match in err and "Traceback" not in err, err
    code, _, err = run_cli("sample", *COLLAB, "+sampler=mhgan", "sampler.discriminator.kind=shaped",
                           f"hydra.run.dir={out}y")
    assert code == 1 and "not 'shaped'" in err



def test_shape_command_writes_the_d_a_sampling_run_with_the_same_settings_loads(run_cli, tmp_path):
    """One naming scheme: `ganmc shape` and `+sampler=collab_shaped` with the same schedule share the file."""
    common = [*COLLAB, "sampler.n_steps=3", "sampler.n_real=200", f"cache_dir={tmp_path / 'cache'}",
              "sampler.discriminator.steps=4", "sampler.discriminator.batch=32"]
    code, _, err = run_cli("shape", *common, f"hydra.run.dir={tmp_path / 'shape'}")
    assert code == 0, err
    shaped = json.loads((tmp_path / "shape" / "record.json").read_text())["checkpoint"]
    assert Path(shaped).parent == tmp_path / "cache" / "shaped"
    code, _, err = run_cli("sample", *common, "+sampler=collab_shaped", f"hydra.run.dir={tmp_path / 'sample'}")
    assert code == 0, err
    record = json.loads((tmp_path / "sample" / "record.json").read_text())
    assert record["stats"]["discriminator_checkpoint"] == shaped and "deriving" not in err
    first = (tmp_path / "shape" / "record.json").read_text()
    code, _, err = run_cli("shape", *common, f"hydra.run.dir={tmp_path / 'shape'}")  # the same run again
    assert code == 0 and "skipping" in err, err
    assert (tmp_path / "shape" / "record.json").read_text() == first  # its shaping history kept
    assert json.loads(first)["shaping"]["history"]

def test_shaping_snapshots_equal_shorter_shapings_bit_for_bit(run_cli, tmp_path):
    """`shape.snapshots=[S]` saves, on the way to T steps, the very D an S-step shaping gives, where
    a run shaping S steps finds it; snapshots outside (0, T) are refused."""
    from ganmc.models.checkpoint import read_checkpoint

    common = [*COLLAB, "sampler.n_steps=3", "sampler.n_real=200", "sampler.discriminator.batch=32",
              "shape.median_every=2"]
    code, _, err = run_cli("shape", *common, f"cache_dir={tmp_path / 'a'}", "sampler.discriminator.steps=7",
                           "shape.snapshots=[3,5]", f"hydra.run.dir={tmp_path / 'long'}")
    assert code == 0, err
    snaps = {p.name: p for p in (tmp_path / "a" / "shaped").glob("*.pt")}
    assert len(snaps) == 3 and any("-shaped3-" in n for n in snaps) and any("-shaped5-" in n for n in snaps)
    (five,) = [p for n, p in snaps.items() if "-shaped5-" in n]
    kept = five.rename(tmp_path / "snapshot5.pt")  # so that a 5-step shaping in this cache runs again
    code, _, err = run_cli("shape", *common, f"cache_dir={tmp_path / 'a'}", "sampler.discriminator.steps=5",
                           f"hydra.run.dir={tmp_path / 'short'}")
    assert code == 0, err
    assert five.is_file()  # shaped again under the snapshot's own file name
    got, want = read_checkpoint(kept)["discriminator"], read_checkpoint(five)["discriminator"]
    assert got.keys() == want.keys() and all(torch.equal(got[k], want[k]) for k in want)
    code, _, err = run_cli("shape", *common, f"cache_dir={tmp_path / 'c'}", "sampler.discriminator.steps=4",
                           "shape.snapshots=[4]", f"hydra.run.dir={tmp_path / 'bad'}")
    assert code == 1 and "shape.snapshots" in err and not (tmp_path / "c" / "shaped").exists()


# --- experiment and report ------------------------------------------------------------------
def test_fig4_experiment_composes_for_every_method(compose_cfg):
    for sampler in ("generator", "mhgan_tuned", "collab_shaped", "collab_reject_shaped"):
        cfg = compose_cfg("experiment=collab_fig4", f"+sampler={sampler}")
        assert cfg.dataset.name == "imbal8" and cfg.gan.name == "nsgan_mlp" and "collab" in cfg.metric.metrics
        assert cfg.gan.train.iterations == 1000 and cfg.n_samples == 10000
        assert cfg.gan.generator.norm.value == "batch"
    shaped = compose_cfg("experiment=collab_fig4", "+sampler=collab_reject_shaped").sampler
    assert shaped.reject and shaped.discriminator.kind.value == "shaped" and shaped.discriminator.steps == 5000
    tuned = compose_cfg("experiment=collab_fig4", "+sampler=mhgan_tuned").sampler
    assert tuned.k == 20 and tuned.discriminator.kind.value == "calibrated" and tuned.discriminator.steps == 5000
    assert tuned.discriminator.batch == shaped.discriminator.batch == 1000


def test_fig4_table_puts_our_runs_beside_the_claim(run_cli, tmp_path):
    records = tmp_path / "records"
    values = {"generator": (60.0, 0.5, 0.3, 1.0), "mhgan": (70.0, 0.4, 0.2, 0.002),
              "collab": (80.0, 0.3, 0.15, 1.0), "collab+reject": (90.0, 0.35, 0.1, 0.05)}
    for i, (sampler, (good, kl, js, eff)) in enumerate(values.items()):
        for seed in (0, 1):
            path = records / f"{i}{seed}" / "record.json"
            path.parent.mkdir(parents=True)
            path.write_text(json.dumps({
                "command": "sample", "run": {"sampler": sampler, "dataset": "imbal8", "seed": seed},
                "metrics": {"good_percent": good + seed, "kl": kl, "js": js}, "stats": {"efficiency": eff}}))
    code, out, err = run_cli("table", "collab_fig4", f"records={records}", f"out_dir={tmp_path / 'out'}")
    assert code == 0, err
    md = (tmp_path / "out" / "collab_fig4.md").read_text()
    assert "| refinement + rejection | 2 | 90.5 ± 0.7 | 0.350 ± 0.000 | 0.100 ± 0.000 | 0.050 ± 0.000 |" in md
    assert "claim holds in our runs for: good %, JS of good %, KL, JS" in md
    assert (tmp_path / "out" / "collab_fig4.tex").is_file() and (tmp_path / "out" / "collab_fig4.csv").is_file()
    assert (tmp_path / "out" / "collab_fig4_bars.png").stat().st_size > 0
    assert not (tmp_path / "out" / "collab_fig4_samples.png").exists()  # no configs/samples in these records


def test_table1_experiment_composes_in_sweep_order(compose_cfg):
    cfg = compose_cfg("experiment=collab_table1", "+sampler=mhgan_tuned", "sampler.score_calibration=none",
                      "sampler.discriminator.steps=0")
    assert cfg.sampler.k == 20 and cfg.sampler.discriminator.steps == 0
    assert cfg.sampler.score_calibration.value == "none" and cfg.sampler.discriminator.kind.value == "calibrated"
    assert cfg.dataset.name == "imbal8" and cfg.gan.train.iterations == 1000


def test_table1_correlates_diagnostics_with_rejection_gains(run_cli, tmp_path):
    records = tmp_path / "records"

    def write(name: str, record: dict) -> None:
        (records / name).mkdir(parents=True)
        (records / name / "record.json").write_text(json.dumps({"command": "sample", **record}))

    run = {"dataset": "imbal8", "seed": 0}
    write("gen", {"run": {**run, "sampler": "generator", "method": "generator"},
                  "metrics": {"good_percent": 10.0, "kl": 0.5, "js": 0.6}})
    for i, steps in enumerate([0, 100, 500, 1000, 5000]):
        brier = 0.25 - 0.02 * i
        write(f"mh{i}", {"run": {**run, "sampler": "mhgan_tuned", "method": "mhgan"},
                         "config": {"sampler": {"discriminator": {"kind": "calibrated", "steps": steps}}},
                         "metrics": {"good_percent": 10.0 + 5 * i, "kl": 0.5, "js": 0.6 - 0.1 * i},
                         "stats": {"d_brier": brier, "d_ece": 0.1 * ((-1) ** i), "d_z_stat": float(i % 2)}})
    code, _, err = run_cli("table", "collab_table1", f"records={records}", f"out_dir={tmp_path / 'out'}")
    assert code == 0, err
    md = (tmp_path / "out" / "collab_table1.md").read_text()
    # Brier falls exactly as good % rises and JS falls: r = -1 with good, +1 with JS; KL gain is constant
    assert "| Brier | -1.00 (0.00) | -1.00 (0.00) | n/a | n/a | 1.00 (0.00) | 1.00 (0.00) |" in md
    assert "-0.68 (0.01) / -0.72 (0.01)" in md
    points = (tmp_path / "out" / "collab_table1_points.csv").read_text().splitlines()
    assert len(points) == 6 and points[2].startswith("0,100,")
