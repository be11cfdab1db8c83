"""Image data sets: digits, and every file format read from tiny files written here."""

from __future__ import annotations

import gzip
import io
import pickle
import struct
import tarfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from ganmc.data.images import CIFAR10, MNIST, CelebA, Digits, ImageFolder, read_idx, to_uint8
from ganmc.errors import GanmcError
from ganmc.run.gans import build_dataset


def gen(seed: int = 0) -> torch.Generator:
    return torch.Generator().manual_seed(seed)


@pytest.fixture(scope="module")
def digits() -> Digits:
    return Digits(size=16, channels=1)


def test_digits_interface(digits):
    assert len(digits) == 1797 and digits.shape == (1, 16, 16) and digits.dim == 256
    x = digits.sample(64, gen(1))
    assert x.shape == (64, 1, 16, 16) and x.dtype == torch.float32
    assert float(x.min()) >= -1 and float(x.max()) <= 1 and float(x.max()) > 0.9  # ink reaches white
    assert torch.equal(x, digits.sample(64, gen(1)))  # the generator decides everything
    imgs, labels = digits.sample_labelled(10, gen(2))
    assert imgs.shape == (10, 1, 16, 16) and set(labels.tolist()) <= set(range(10))
    assert sorted(set(digits.labels.tolist())) == list(range(10))
    rgb = digits.uint8_rgb(5)
    assert rgb.shape == (5, 3, 16, 16) and rgb.dtype == torch.uint8
    assert torch.equal(rgb[:, 0], rgb[:, 2])
    assert torch.equal(to_uint8(digits.sample(3, gen(3))), digits.images[digits.indices(3, gen(3))])


def test_digits_size_and_channels_change_the_fingerprint(digits):
    rgb = Digits(size=8, channels=3)
    assert rgb.shape == (3, 8, 8)
    # at the native 8x8 size the pixels are the original 0..16 levels scaled to 0..255
    from sklearn.datasets import load_digits

    raw = np.rint(load_digits().images[0] * 255 / 16)
    assert np.array_equal(rgb.images[0, 1].numpy(), raw)
    assert digits.fingerprint() == Digits(size=16).fingerprint()
    assert digits.fingerprint() != rgb.fingerprint()


def _write_idx(path: Path, array: np.ndarray, gz: bool) -> None:
    code = {1: 0x01, 3: 0x03}[array.ndim]
    data = bytes([0, 0, 0x08, code]) + struct.pack(f">{array.ndim}I", *array.shape) + array.tobytes()
    if gz:
        with gzip.open(path, "wb") as fh:
            fh.write(data)
    else:
        path.write_bytes(data)


@pytest.mark.parametrize("gz", [True, False])
def test_mnist_reads_idx_files(tmp_path, gz):
    rng = np.random.default_rng(0)
    images = rng.integers(0, 256, size=(5, 28, 28), dtype=np.uint8)
    labels = np.array([3, 1, 4, 1, 5], dtype=np.uint8)
    suffix = ".gz" if gz else ""
    _write_idx(tmp_path / f"train-images-idx3-ubyte{suffix}", images, gz)
    _write_idx(tmp_path / f"train-labels-idx1-ubyte{suffix}", labels, gz)
    assert np.array_equal(read_idx(tmp_path / f"train-images-idx3-ubyte{suffix}"), images)
    full = MNIST(root=str(tmp_path), size=28)
    assert full.shape == (1, 28, 28) and torch.equal(full.images[:, 0], torch.from_numpy(images))
    assert full.labels.tolist() == [3, 1, 4, 1, 5]
    small = MNIST(root=str(tmp_path), size=16, channels=3)
    assert small.shape == (3, 16, 16)
    # antialiased downsampling keeps the mean grey level (within rounding)
    assert abs(float(small.images.float().mean()) - float(images.mean())) < 2.0


def test_mnist_missing_files_name_the_file(tmp_path, monkeypatch):
    with pytest.raises(GanmcError, match=r"train-images-idx3-ubyte\[\.gz\] not found in .*dataset.root") as err:
        MNIST(root=str(tmp_path))
    assert str(tmp_path) in str(err.value) and "\n" not in str(err.value)
    monkeypatch.setenv("GANMC_CACHE", str(tmp_path / "cache"))  # nothing fetched there
    with pytest.raises(GanmcError, match=r"not found in .*cache/data/mnist: run `ganmc data fetch mnist`"):
        MNIST(root=None)
    (tmp_path / "t10k-images-idx3-ubyte").write_bytes(b"junk")
    with pytest.raises(GanmcError, match="not an IDX file"):
        MNIST(root=str(tmp_path), split="test")


def _cifar_batches(n: int = 4) -> dict[str, tuple[np.ndarray, list[int]]]:
    rng = np.random.default_rng(1)
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    return {name: (rng.integers(0, 256, size=(n, 3072), dtype=np.uint8), list(rng.integers(0, 10, n).tolist()))
            for name in names}


def _write_cifar(root: Path, as_tar: bool) -> dict[str, tuple[np.ndarray, list[int]]]:
    batches = _cifar_batches()
    blobs = {name: pickle.dumps({b"data": data, b"labels": labels, b"batch_label": b"x"})
             for name, (data, labels) in batches.items()}
    if as_tar:
        with tarfile.open(root / "cifar-10-python.tar.gz", "w:gz") as tar:
            for name, blob in blobs.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size = len(blob)
                tar.addfile(info, io.BytesIO(blob))
    else:
        folder = root / "cifar-10-batches-py"
        folder.mkdir()
        for name, blob in blobs.items():
            (folder / name).write_bytes(blob)
    return batches


@pytest.mark.parametrize("as_tar", [True, False])
def test_cifar10_reads_tar_or_folder(tmp_path, as_tar):
    batches = _write_cifar(tmp_path, as_tar)
    train = CIFAR10(root=str(tmp_path))
    assert len(train) == 20 and train.shape == (3, 32, 32)
    first = batches["data_batch_1"][0][0].reshape(3, 32, 32)
    assert torch.equal(train.images[0], torch.from_numpy(first))
    assert train.labels[4:8].tolist() == batches["data_batch_2"][1]
    test = CIFAR10(root=str(tmp_path), split="test", size=16, channels=1)
    assert len(test) == 4 and test.shape == (1, 16, 16)


def test_cifar10_missing_and_unsafe_files(tmp_path):
    with pytest.raises(GanmcError, match="cifar-10-python.tar.gz .* not found in") as err:
        CIFAR10(root=str(tmp_path))
    assert "cs.toronto.edu" in str(err.value)
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for i in range(1, 6):  # a pickle that would call a function when loaded is refused
        (folder / f"data_batch_{i}").write_bytes(pickle.dumps({b"data": print}))
    with pytest.raises(GanmcError, match="not a CIFAR-10 python batch .*refusing to load builtins.print"):
        CIFAR10(root=str(tmp_path))


def _write_images(folder: Path, sizes: list[tuple[int, int]]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for i, (w, h) in enumerate(sizes):
        arr = np.zeros((h, w, 3), dtype=np.uint8)
        arr[:, w // 2:, 0] = 255  # right half red: the centre crop must keep both halves
        Image.fromarray(arr).save(folder / f"img_{i:03d}.{'png' if i % 2 else 'jpg'}")


def test_image_folder_crops_resizes_and_limits(tmp_path):
    _write_images(tmp_path / "a" / "nested", [(40, 30), (30, 40), (64, 64)])
    (tmp_path / "a" / "notes.txt").write_text("not an image")
    ds = ImageFolder(root=str(tmp_path / "a"), size=8)
    assert len(ds) == 3 and ds.shape == (3, 8, 8)
    red = ds.images[:, 0].float()
    assert float(red[:, :, :3].mean()) < 40 and float(red[:, :, 5:].mean()) > 215
    assert len(ImageFolder(root=str(tmp_path / "a"), size=8, limit=2)) == 2
    grey = ImageFolder(root=str(tmp_path / "a"), size=16, channels=1, crop=20)
    assert grey.shape == (1, 16, 16)


def test_celeba_finds_its_folder_and_reports_missing(tmp_path):
    _write_images(tmp_path / "img_align_celeba", [(178, 218), (178, 218)])
    ds = CelebA(root=str(tmp_path), size=16)
    assert ds.shape == (3, 16, 16) and len(ds) == 2 and ds.labels is None
    with pytest.raises(GanmcError, match="img_align_celeba/ .* not found in .*img_align_celeba.zip"):
        CelebA(root=str(tmp_path / "elsewhere"))
    with pytest.raises(GanmcError, match="folder .* does not exist"):
        ImageFolder(root=str(tmp_path / "nothing"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(GanmcError, match="image files .* not found in"):
        ImageFolder(root=str(tmp_path / "empty"))


@pytest.mark.parametrize("name", ["digits", "mnist", "cifar10", "celeba", "image_folder"])
def test_image_dataset_configs_compose(compose_cfg, name):
    cfg = compose_cfg(f"dataset={name}", "gan=dcgan32")
    assert cfg.dataset.name == name and cfg.dataset.size in (32, 64)
    if name == "digits":
        ds = build_dataset(cfg)
        assert ds.sample(2, gen()).shape == (2, 1, 32, 32)
    else:  # mnist: read from the cache (an empty one here) where `ganmc data fetch` puts it
        expected = "ganmc data fetch mnist" if name == "mnist" else "dataset.root is not set"
        with pytest.raises(GanmcError, match=expected):
            build_dataset(cfg)
