"""Table 3's stand-in files (scripts/table3_standins.py, written without ganmc's loaders) load
through ganmc, and the preflight fails early, one line per problem, on broken copies of them."""

from __future__ import annotations

import importlib.util
import io
import pickle
import pickletools
import tarfile
from pathlib import Path
from types import ModuleType

import numpy as np
import pytest
import torch

from ganmc.tables.table3 import main

pytest.importorskip("torch_fidelity")
SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "table3_standins.py"
PER_BATCH = 20


def _script() -> ModuleType:
    spec = importlib.util.spec_from_file_location("table3_standins", SCRIPT)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def standins(tmp_path_factory: pytest.TempPathFactory) -> tuple[ModuleType, dict[str, Path]]:
    """The script and its files: 20 images per batch, an SN-GAN after one cheap training step."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    script = _script()
    out = tmp_path_factory.mktemp("standins")
    paths = script.write_standins(out, per_batch=PER_BATCH, seed=0, sngan_steps=1, sngan_batch=2, n_dis=1,
                                  verify=False)
    yield script, paths
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def ganmc_ckpts(standins, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """Freshly initialised ganmc checkpoints of dcgan32 and wgan_gp_dcgan32 (as ganmc saves them)."""
    from ganmc.models.checkpoint import save_checkpoint
    from ganmc.models.gan import build_gan
    from ganmc.settings import checkpoint_spec, gan_config
    from ganmc.tables.table3_checks import compose_gan

    out = tmp_path_factory.mktemp("ganmc-ckpts")
    paths = {}
    for gan in ("dcgan32", "wgan_gp_dcgan32"):
        cfg = compose_gan(gan)
        paths[gan] = save_checkpoint(out / f"{gan}.pt", build_gan(gan_config(cfg), (3, 32, 32), 0),
                                     checkpoint_spec(cfg), 1, "stand-in", {})
    return paths


def _args(paths: dict[str, Path], gans: str = "sngan_resnet32", **over: Path | str) -> list[str]:
    files = {"cifar10": paths["cifar10"].parent, "inception": paths["inception"], **over}
    args = ["--cifar10", str(files["cifar10"]), "--inception", str(files["inception"]), "--gans", gans]
    for gan in gans.split():
        args += ["--checkpoint", f"{gan}={files.get(gan, paths.get(gan, paths['sngan']))}"]
    return args


def _problems(capsys: pytest.CaptureFixture[str], code: int) -> list[str]:
    err = capsys.readouterr().err
    assert code == 2 and "nothing was computed" in err, err
    return [line for line in err.splitlines() if line.startswith(("bad:", "missing:"))]


def test_standins_load_through_ganmc(standins):
    from ganmc.data.images import CIFAR10
    from ganmc.metrics.inception import check_loads
    from ganmc.models.adapters import load_pytorch_gan_collections
    from ganmc.models.gan import build_gan
    from ganmc.tables.table3_checks import compose_gan

    _, paths = standins
    train, test = CIFAR10(root=str(paths["cifar10"].parent)), CIFAR10(root=str(paths["cifar10"]), split="test")
    assert train.images.shape == (5 * PER_BATCH, 3, 32, 32) and len(test) == PER_BATCH
    assert train.labels is not None and set(train.labels.tolist()) <= set(range(10))
    assert float(train.images.float().std()) > 20  # structured images, not a constant
    check_loads(paths["inception"])
    gan = load_pytorch_gan_collections(paths["sngan"], build_gan(compose_gan("sngan_resnet32").gan, (3, 32, 32), 0))
    gan.generator.eval()
    with torch.no_grad():
        x = gan.generator(torch.randn(2, 128))
    assert x.shape == (2, 3, 32, 32) and bool(torch.isfinite(x).all())


def test_cifar_batches_are_python2_pickles(standins):
    _, paths = standins
    with tarfile.open(paths["cifar10"], "r:gz") as tar:
        names = set(tar.getnames())
        raw = tar.extractfile("cifar-10-batches-py/data_batch_1").read()
        meta = pickle.loads(tar.extractfile("cifar-10-batches-py/batches.meta").read(), encoding="bytes")
    assert {f"cifar-10-batches-py/{n}" for n in ("test_batch", "batches.meta", "data_batch_5")} <= names
    ops = {op.name for op, _, _ in pickletools.genops(raw)}
    assert {"SHORT_BINSTRING", "BINSTRING"} <= ops  # byte strings as python 2 wrote them
    globals_ = [arg for op, arg, _ in pickletools.genops(raw) if op.name == "GLOBAL"]
    assert "numpy.core.multiarray _reconstruct" in globals_ and not any("_codecs" in g for g in globals_)
    batch = pickle.loads(raw, encoding="bytes")
    assert batch[b"data"].dtype == np.uint8 and batch[b"data"].shape == (PER_BATCH, 3072)
    assert len(batch[b"labels"]) == PER_BATCH and isinstance(batch[b"filenames"][0], bytes)
    assert meta[b"num_cases_per_batch"] == PER_BATCH and meta[b"label_names"][0] == b"airplane"


def test_inception_standin_gives_finite_features(standins):
    script, paths = standins
    data, _ = script.make_images(2, np.random.default_rng(1))
    assert "spread" in script.verify_inception(paths["inception"], torch.from_numpy(data).view(-1, 3, 32, 32))


def test_a_valid_set_passes(standins, ganmc_ckpts, capsys):
    _, paths = standins
    gans = "dcgan32 wgan_gp_dcgan32 sngan_resnet32"
    assert main([*_args({**paths, **ganmc_ckpts}, gans), "--nref", str(5 * PER_BATCH)]) == 0
    assert "found and read" in capsys.readouterr().out


def test_truncated_archive_fails_early(standins, tmp_path, capsys):
    _, paths = standins
    cut = tmp_path / "cifar-10-python.tar.gz"
    blob = paths["cifar10"].read_bytes()
    cut.write_bytes(blob[: len(blob) // 2])
    lines = _problems(capsys, main(_args(paths, "", cifar10=tmp_path)))
    assert len(lines) == 1 and str(cut) in lines[0] and "truncated or corrupt" in lines[0], lines


def _rewrite(src: Path, dst: Path, change: dict[str, bytes | None]) -> None:
    """Copy the archive ``src`` to ``dst`` with members replaced (bytes) or dropped (None)."""
    with tarfile.open(src, "r:gz") as tin, tarfile.open(dst, "w:gz") as tout:
        for member in tin:
            name = member.name.rsplit("/", 1)[-1]
            blob = tin.extractfile(member).read() if member.isfile() else None
            if name in change:
                if change[name] is None:
                    continue
                blob = change[name]
                member.size = len(blob)
            tout.addfile(member, io.BytesIO(blob) if blob is not None else None)


@pytest.mark.parametrize(("change", "expect"), [
    ({"data_batch_3": None}, "lacks cifar-10-batches-py/data_batch_3"),
    ({"data_batch_2": pickle.dumps({b"data": np.zeros((4, 1024), np.uint8), b"labels": [0] * 4}, 2)},
     "expected uint8 N x 3072"),
    ({"data_batch_4": pickle.dumps({b"data": np.zeros((4, 3072), np.uint8), b"labels": [0] * 3}, 2)},
     "3 labels for 4 images"),
])
def test_a_broken_archive_member_fails_early(standins, tmp_path, capsys, change, expect):
    _, paths = standins
    _rewrite(paths["cifar10"], tmp_path / "cifar-10-python.tar.gz", change)
    lines = _problems(capsys, main(_args(paths, "", cifar10=tmp_path)))
    assert len(lines) == 1 and expect in lines[0] and "make CIFAR10=" in lines[0], lines


def test_nref_above_the_training_images_fails_early(standins, capsys):
    _, paths = standins
    lines = _problems(capsys, main([*_args(paths, ""), "--nref", str(5 * PER_BATCH + 1)]))
    assert lines == [f"bad: NREF={5 * PER_BATCH + 1}: exceeds the {5 * PER_BATCH} images of CIFAR-10 at "
                     f"{paths['cifar10'].parent} (metric.n_ref<={5 * PER_BATCH}, make NREF=...)"]


@pytest.mark.parametrize("edit", ["rename", "reshape", "list"])
def test_a_wrong_inception_file_fails_early(standins, tmp_path, capsys, edit):
    _, paths = standins
    state = torch.load(paths["inception"], weights_only=True)
    if edit == "rename":
        state["classifier.weight"] = state.pop("fc.weight")
    elif edit == "reshape":
        state["fc.weight"] = state["fc.weight"][:1000]
    bad = tmp_path / "inception.pth"
    torch.save([1, 2] if edit == "list" else state, bad)
    lines = _problems(capsys, main(_args(paths, "", inception=bad)))
    expect = {"rename": "missing 1 keys, e.g. 'fc.weight'", "reshape": "'fc.weight' has shape (1000, 2048)",
              "list": "not a state dict"}[edit]
    assert len(lines) == 1 and expect in lines[0] and "make INCEPTION=" in lines[0], lines


def test_an_sngan_of_another_width_fails_early(standins, tmp_path, capsys):
    _, paths = standins
    payload = torch.load(paths["sngan"], weights_only=True)
    half = {256: 128, 4096: 2048}  # a 128-channel ResGenerator32

    def narrow(t: torch.Tensor) -> torch.Tensor:
        return t[tuple(slice(0, half.get(n, n)) for n in t.shape)].clone() if t.ndim else t

    payload["net_G"] = {k: narrow(v) for k, v in payload["net_G"].items()}
    bad = tmp_path / "model.pt"
    torch.save(payload, bad)
    lines = _problems(capsys, main(_args(paths, sngan_resnet32=bad)))
    assert len(lines) == 1 and "net_G tensor" in lines[0] and "make SNGAN_CKPT=" in lines[0], lines


def test_a_foreign_file_as_ganmc_checkpoint_fails_early(standins, capsys):
    _, paths = standins
    lines = _problems(capsys, main(_args(paths, "dcgan32", dcgan32=paths["sngan"])))
    assert len(lines) == 1 and "not a ganmc checkpoint" in lines[0] and "make DCGAN_CKPT=" in lines[0], lines


def test_script_cli_writes_and_prints_the_paths(tmp_path, capsys, monkeypatch):
    script = _script()
    monkeypatch.setattr(script, "write_standins", lambda out, *a: {"cifar10": Path(out) / "c.tar.gz"})
    assert script.main([str(tmp_path), "--per-batch", "3", "--no-verify"]) == 0
    assert capsys.readouterr().out.splitlines() == [str(tmp_path / "c.tar.gz")]
    with pytest.raises(SystemExit):
        script.main([str(tmp_path), "--per-batch", "0"])
