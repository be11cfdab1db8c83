"""Class-conditional GANs (issue #26 item 4): G(z, y) and D(x, y) through every sampler, the label
held fixed per chain and proposal, from Python and from the CLI; bad labels refused in one line.

The GAN is analytic: G(z, y) = c_y + 0.3 z spreads each label's samples around its mode c_y of
the 25 Gaussians (many land in a neighbour's cell); D(x, y) = -50 |x - c_y|^2 is highest at
the label's own mode. A D-driven sampler that gets the label pulls the samples onto c_y; one fed
another label would pull them elsewhere.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import TINY
from helpers import error_line, one_line_error
from torch import nn

import ganmc

CENTRES = torch.cartesian_prod((torch.arange(5.0) - 2) * 2, (torch.arange(5.0) - 2) * 2) / 2.828
SPREAD = 0.3


class CondG(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("centres", CENTRES.clone())
        self.spread = SPREAD

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return self.centres[y] + self.spread * z


class CondD(nn.Module):
    def __init__(self) -> None:
        super().__init__()
        self.register_buffer("centres", CENTRES.clone())
        self.scale = nn.Parameter(torch.tensor(50.0))  # a weight for fine-tuning (calibrated Ds)

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return -self.scale * ((x - self.centres[y]) ** 2).sum(dim=1, keepdim=True)


@pytest.fixture
def gan() -> ganmc.GAN:
    return ganmc.GAN.from_modules(CondG(), CondD(), latent_dim=2, num_classes=25)


def _distance(samples: torch.Tensor, labels: torch.Tensor) -> float:
    """Mean distance of each sample to its label's mode."""
    return float((samples - CENTRES[labels]).norm(dim=1).mean())


# Presets cheap on this GAN. Its D is steep: collab's step shrunk (0.1 overshoots), DOT's K set (the
# estimate, from far-apart pairs, makes the transport cost dominate).
SAMPLERS = {"ddls_unit": {}, "drs": {}, "mhgan": {}, "dot": {"k_eff": 1.0}, "collab": {"step_size": 0.001},
            "collab_reject": {"step_size": 0.001}}


@pytest.mark.parametrize("preset", sorted(SAMPLERS))
def test_every_d_driven_sampler_pulls_samples_to_their_labels_mode(gan, preset, cache_dir):
    base = ganmc.sample(gan, "generator", n=300, seed=0, labels=7)
    assert torch.equal(base.labels, torch.full((300,), 7)) and abs(_distance(base.samples, base.labels) - 0.376) < 0.05
    out = ganmc.sample(gan, preset, n=300, seed=0, labels=7, data="gaussians25", **SAMPLERS[preset])
    assert torch.equal(out.labels, torch.full((300,), 7))
    assert _distance(out.samples, out.labels) < 0.7 * _distance(base.samples, base.labels)
    assert float((out.samples.mean(0) - CENTRES[7]).norm()) < 0.05


def test_uniform_labels_by_default_each_sample_at_its_own_labels_mode(gan, cache_dir):
    out = ganmc.sample(gan, "drs", n=1000, seed=0)
    assert out.labels.shape == (1000,) and set(out.labels.tolist()) == set(range(25))
    m = ganmc.measure(out.samples, "gaussians25", metrics=["modes"], labels=out.labels)
    assert m["label_match"] > 0.99 and _distance(out.samples, out.labels) < 0.15
    assert len(m["label_match_per_class"]) == 25
    base = ganmc.sample(gan, "generator", n=1000, seed=0)
    assert ganmc.measure(base.samples, "gaussians25", metrics=["modes"], labels=base.labels)["label_match"] < 0.8


def test_one_label_per_sample_keeps_the_given_order(gan, cache_dir):
    labels = torch.tensor([3, 21, 3, 0, 12] * 40)
    out = ganmc.sample(gan, "mhgan", n=200, seed=0, labels=labels, data="gaussians25", smoke=True)
    assert torch.equal(out.labels, labels)
    assert _distance(out.samples, labels) < 0.5
    data = ganmc.sample(gan, "generator", n=200, seed=0, labels="data", data="gaussians25")
    assert data.labels.min() >= 0 and data.labels.max() < 25


def test_derived_d_is_fine_tuned_per_label_on_that_class(gan, cache_dir):
    out = ganmc.sample(gan, "ddls_cal", n=50, seed=0, labels=[4] * 25 + [20] * 25, data="gaussians25", smoke=True)
    assert torch.isfinite(out.samples).all() and out.labels.tolist() == [4] * 25 + [20] * 25
    real = torch.randn(100, 2)  # points without classes: a sampler that reads data says so
    one_line_error(lambda: ganmc.sample(gan, "ddls_cal", n=8, labels=1, data=real, smoke=True), "has no classes")
    labelled = ganmc.TensorData(CENTRES[torch.arange(100) % 25], torch.arange(100) % 25)
    assert ganmc.sample(gan, "mhgan", n=8, labels=1, data=labelled, smoke=True).samples.shape == (8, 2)


def test_bad_labels_areone_line_error(gan):
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels=25), r"labels=25", r"out of range", r"0\.\.24")
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels=-1), r"out of range")
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels=2.5), r"class index")
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels=[1.0] * 8), r"integers")
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels=[1, 2]), r"2 labels for 8 samples")
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels="most"), r"'uniform', 'data'")
    one_line_error(lambda: ganmc.sample(gan, "generator", n=8, labels="data", data="imbal8"), r"8 classes and the GAN 25")
    plain = ganmc.GAN.from_modules(nn.Linear(2, 2), nn.Linear(2, 1), latent_dim=2)
    one_line_error(lambda: ganmc.sample(plain, "generator", n=8, labels=3), r"labels=3 given", "not class-conditional")
    assert ganmc.sample(plain, "generator", n=8).labels is None  # the unconditional path: no labels


def test_conditional_contracts_are_checked_with_labels(gan):
    one_line_error(lambda: ganmc.GAN.from_modules(CondG(), CondD(), latent_dim=2, num_classes=0), "num_classes=0")
    one_line_error(lambda: ganmc.GAN.from_modules(nn.Linear(2, 2), CondD(), latent_dim=2, num_classes=25),
              r"^G \(the Linear module\) failed on a probe batch of shape \(8, 2\) with labels y of shape \(8,\)")
    one_line_error(lambda: ganmc.GAN.from_modules(CondG(), CondD(), latent_dim=2, num_classes=30),
              r"^G \(the CondG module\) failed")  # label 25.. has no centre: G(z, y) breaks on the probe
    assert gan.num_classes == 25 and gan.given(3).generator(torch.zeros(2, 2)).tolist() == [CENTRES[3].tolist()] * 2


# --- the CLI: gan.num_classes and sampler_labels ---

def _scripted(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    torch.jit.save(torch.jit.script(CondG()), str(folder / "generator.pt"))
    torch.jit.save(torch.jit.script(CondD()), str(folder / "discriminator.pt"))
    return folder


def _cli_args(folder: Path, out: Path, *extra: str) -> list[str]:
    return ["sample", "gan.checkpoint_format=torchscript", f"gan.checkpoint={folder}", "gan.num_classes=25",
            "n_samples=300", "seed=3", "device=cpu", "metric.metrics=[modes]", "plot=false",
            f"hydra.run.dir={out}", *extra]


def test_cli_samples_at_one_label_sit_at_its_mode_and_equal_the_api(run_cli, tmp_path, gan):
    folder = _scripted(tmp_path / "cgan")
    out = tmp_path / "run"
    code, _, err = run_cli(*_cli_args(folder, out, "+sampler=drs", "sampler_labels=7"))
    assert code == 0, err
    samples, labels = np.load(out / "samples.npy"), np.load(out / "labels.npy")
    assert labels.tolist() == [7] * 300
    assert _distance(torch.from_numpy(samples), torch.from_numpy(labels)) < 0.15
    record = json.loads((out / "record.json").read_text())
    assert record["metrics"]["label_match"] > 0.99 and record["stats"]["label_counts"][7] == 300
    assert record["config"]["sampler_labels"] == 7 and record["target"] is None
    api = ganmc.sample(gan, "drs", n=300, seed=3, labels=7)
    assert np.array_equal(samples, api.samples.numpy())


def test_cli_uniform_labels_with_a_chain_sampler(run_cli, tmp_path):
    folder = _scripted(tmp_path / "cgan")
    out = tmp_path / "run"
    code, _, err = run_cli(*_cli_args(folder, out, "+sampler=mhgan", "smoke=true"))
    assert code == 0, err
    labels = np.load(out / "labels.npy")
    assert len(set(labels.tolist())) > 20
    assert _distance(torch.from_numpy(np.load(out / "samples.npy")), torch.from_numpy(labels)) < 0.4


@pytest.mark.parametrize("args, message", [
    (["sampler_labels=30"], "sampler_labels=30: label 30 is out of range: the GAN's classes are 0..24"),
    (["sampler_labels=2.5"], "sampler_labels=2.5: a label is a class index"),
    (["sampler_labels=[1,2]"], "gives 2 labels for 300 samples"),
    (["gan.num_classes=null", "sampler_labels=3"], "sampler_labels=3 given, but the GAN is not class-conditional"),
    (["gan.num_classes=0"], "gan.num_classes=0: expected the number of classes"),
])
def test_cli_bad_labels_are_one_line_before_any_run(run_cli, tmp_path, args, message):
    folder = _scripted(tmp_path / "cgan")
    out = tmp_path / "run"
    code, _, err = run_cli(*_cli_args(folder, out, "+sampler=drs", *args))
    assert code != 0 and not out.exists()
    assert message in error_line(err)


def test_num_classes_on_ganmcs_own_nets_is_refused(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "gan.num_classes=25", f"hydra.run.dir={out}")
    assert code != 0 and not out.exists()
    assert "gan.num_classes=25 applies to nets of your own" in error_line(err)


def test_unconditional_cli_run_writes_no_labels(run_cli, tmp_path):
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, f"hydra.run.dir={out}")
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert not (out / "labels.npy").exists() and "label_match" not in record["metrics"]
    assert "label_counts" not in record["stats"] and record["config"]["sampler_labels"] is None


# --- a factory that raises ---

def test_factory_raising_is_one_line_naming_the_factory(run_cli, tmp_path, monkeypatch):
    (tmp_path / "broken_gan_pkg.py").write_text("def build():\n    raise RuntimeError('no weights here\\nsecond line')\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    out = tmp_path / "run"
    code, _, err = run_cli("sample", *TINY, "gan.factory=broken_gan_pkg:build", f"hydra.run.dir={out}")
    assert code != 0 and not out.exists()
    assert "gan.factory=broken_gan_pkg:build failed (RuntimeError): no weights here" in error_line(err)


# --- the shipped conditional GAN (examples/conditional.py's output) ---

def test_shipped_conditional_gan_samples_at_each_label_from_the_cli(run_cli, tmp_path):
    shipped = Path(__file__).resolve().parents[1] / "checkpoints" / "own" / "gaussians25-cgan"
    out = tmp_path / "run"
    code, _, err = run_cli(*_cli_args(shipped, out, "+sampler=drs", "n_samples=2000"))
    assert code == 0, err
    record = json.loads((out / "record.json").read_text())
    assert record["metrics"]["label_match"] > 0.99 and record["metrics"]["modes_recovered"] == 25
    # the record names the nets it ran, not the gan group's default architecture
    assert record["run"]["gan"] == "torchscript gaussians25-cgan" and record["run"]["train_iterations"] is None
    labels = np.load(out / "labels.npy")
    assert min(record["stats"]["label_counts"]) > 0 and np.array_equal(np.bincount(labels, minlength=25),
                                                                       record["stats"]["label_counts"])


def test_ganmc_shape_refuses_a_conditional_gan(run_cli, tmp_path):
    folder = _scripted(tmp_path / "cgan")
    code, _, err = run_cli("shape", "gan.checkpoint_format=torchscript", f"gan.checkpoint={folder}",
                           "gan.num_classes=25", "device=cpu", f"hydra.run.dir={tmp_path / 'run'}")
    assert code != 0 and "ganmc shape shapes an unconditional GAN's D" in error_line(err)


def test_a_derived_d_of_torchscript_nets_is_fine_tuned_per_label_and_cached(run_cli, tmp_path):
    """A deep-copied TorchScript D has non-leaf parameters: the copy to fine-tune is made leaves
    (it failed with "can't optimize a non-leaf Tensor"); each label's D has its own cache file."""
    folder = _scripted(tmp_path / "cgan")
    stats = []
    for run in ("a", "b"):
        code, _, err = run_cli(*_cli_args(folder, tmp_path / run, "+sampler=ddls_cal", "smoke=true",
                                          "sampler_labels=[3,3,5,5]", "n_samples=4"))
        assert code == 0, err
        stats.append(json.loads((tmp_path / run / "record.json").read_text())["stats"])
    files = {stats[0][f"label_{k}"]["discriminator_checkpoint"] for k in (3, 5)}
    assert len(files) == 2 and all(Path(f).is_file() for f in files)
    assert {stats[1][f"label_{k}"]["discriminator_checkpoint"] for k in (3, 5)} == files  # loaded, not derived again


def test_a_loaded_torchscript_d_takes_a_calibrated_d_unconditionally(tmp_path, cache_dir):
    d = nn.Sequential(nn.Linear(2, 16), nn.ReLU(), nn.Linear(16, 1))
    torch.jit.save(torch.jit.script(d), str(tmp_path / "d.pt"))
    loaded = torch.jit.load(str(tmp_path / "d.pt"))
    gan = ganmc.GAN.from_modules(nn.Linear(2, 2), loaded, latent_dim=2)
    out = ganmc.sample(gan, "drs_cal", n=16, data="gaussians25", smoke=True)
    assert out.samples.shape == (16, 2) and [p.is_leaf for p in loaded.parameters()] == [True] * 4
