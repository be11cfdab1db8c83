"""Image data sets: digits (embedded), MNIST, CIFAR-10, CelebA and any image folder.

Every data set holds its images in memory as uint8 (N, C, H, W) after resizing, and offers the
interface of the synthetic ones: ``sample(n, generator)`` draws images as float32 in [-1, 1],
``dim`` (= C*H*W) and ``shape``, ``fingerprint()``. ``labels`` holds class labels where the
data set has them; ``uint8_rgb`` gives the 3-channel uint8 images torch-fidelity reads.
Files are never downloaded: a missing file raises a one-line :class:`GanmcError` that says
which file is expected, where, and how to get it.
"""

from __future__ import annotations

import gzip
import hashlib
import struct
import zlib
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F

from ganmc.data.cifar import CIFAR_HOW, read_cifar
from ganmc.errors import GanmcError

IMAGE_EXTENSIONS = (".png", ".jpg", ".jpeg", ".bmp", ".webp", ".gif", ".tif", ".tiff")


def to_float(images: torch.Tensor) -> torch.Tensor:
    """uint8 in [0, 255] -> float32 in [-1, 1]."""
    return images.float().div(127.5).sub(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] (clamped) -> uint8 in [0, 255], rounded, on the CPU; uint8 passes unchanged."""
    if images.dtype == torch.uint8:
        return images.detach().cpu()
    return images.detach().float().clamp(-1, 1).add(1).mul(127.5).round().to(torch.uint8).cpu()


def rgb(images: torch.Tensor) -> torch.Tensor:
    """Repeat a single channel three times; 3-channel images pass unchanged."""
    return images.expand(-1, 3, -1, -1) if images.shape[1] == 1 else images


def resize_uint8(images: torch.Tensor, size: int, channels: int) -> torch.Tensor:
    """Resize square uint8 (N, C, H, W) images to ``size`` (antialiased bilinear) and convert
    to ``channels`` (1: ITU-R 601 luma, 3: grey repeated); processed in chunks to bound memory."""
    if channels not in (1, 3):
        raise GanmcError(f"channels must be 1 or 3, got {channels}")
    out = []
    for chunk in images.split(4096):
        x = chunk.float()
        if x.shape[-1] != size or x.shape[-2] != size:
            x = F.interpolate(x, size=(size, size), mode="bilinear", antialias=True, align_corners=False)
        if x.shape[1] == 3 and channels == 1:
            x = (x * torch.tensor([0.299, 0.587, 0.114]).view(1, 3, 1, 1)).sum(1, keepdim=True)
        elif x.shape[1] == 1 and channels == 3:
            x = x.expand(-1, 3, -1, -1)
        out.append(x.round().clamp(0, 255).to(torch.uint8))
    return torch.cat(out).contiguous()


class ImageDataset:
    """Images held in memory; sampling draws uniformly with replacement."""

    name: str
    images: torch.Tensor  # uint8 (N, C, H, W)
    labels: torch.Tensor | None = None
    centres: torch.Tensor | None = None  # no modes: the 2-D metrics skip image data
    std: float | None = None
    channel_data: ImageDataset | None = None  # each channel an image of this labelled set (stacked digits)

    def __init__(self, name: str, images: torch.Tensor, labels: torch.Tensor | None = None) -> None:
        if images.dtype != torch.uint8 or images.ndim != 4 or images.shape[0] == 0:
            raise GanmcError(f"dataset {name}: no images found (expected a non-empty uint8 N x C x H x W set)")
        self.name = name
        self.images = images
        self.labels = labels

    @property
    def shape(self) -> tuple[int, int, int]:
        c, h, w = self.images.shape[1:]
        return int(c), int(h), int(w)

    @property
    def dim(self) -> int:
        c, h, w = self.shape
        return c * h * w

    def __len__(self) -> int:
        return int(self.images.shape[0])

    def indices(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` indices drawn uniformly with replacement."""
        return torch.randint(len(self), (n,), generator=generator)

    def sample(self, n: int, generator: torch.Generator) -> torch.Tensor:
        """Draw ``n`` images as float32 (n, C, H, W) in [-1, 1]."""
        return to_float(self.images[self.indices(n, generator)])

    def sample_labelled(self, n: int, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """Draw ``n`` images with their labels; an error for unlabelled data."""
        if self.labels is None:
            raise GanmcError(f"dataset {self.name} has no labels")
        idx = self.indices(n, generator)
        return to_float(self.images[idx]), self.labels[idx]

    def class_weights(self) -> torch.Tensor | None:
        """Each class's share of the images (labels 0..max); ``None`` without (1-D) labels."""
        if self.labels is None or self.labels.ndim != 1:
            return None
        return torch.bincount(self.labels.long()).double() / len(self.labels)

    def sample_class(self, n: int, label: int, generator: torch.Generator) -> torch.Tensor:
        """``n`` images of class ``label`` (labelled data), drawn uniformly with replacement."""
        rows = torch.nonzero(self.labels == label).flatten()  # type: ignore[operator]
        return to_float(self.images[rows[torch.randint(len(rows), (n,), generator=generator)]])

    def uint8_rgb(self, n: int | None = None) -> torch.Tensor:
        """The first ``n`` (default all) images as uint8 (n, 3, H, W), as torch-fidelity reads them."""
        return rgb(self.images[:n])

    def fingerprint(self) -> str:
        """sha256 of the class, shape and every image byte: changes whenever the data do."""
        digest = hashlib.sha256(f"{type(self).__name__}:{tuple(self.images.shape)}".encode())
        digest.update(self.images.numpy().tobytes())
        if self.labels is not None:
            digest.update(self.labels.numpy().tobytes())
        return digest.hexdigest()


class Digits(ImageDataset):
    """scikit-learn's ``load_digits``: 1,797 real 8x8 digits (0-16 grey levels) with labels,
    resized to ``size`` with 1 or 3 channels. Ships with scikit-learn: no file needed."""

    def __init__(self, name: str = "digits", size: int = 32, channels: int = 1) -> None:
        from sklearn.datasets import load_digits

        bunch = load_digits()
        raw = torch.from_numpy(np.rint(bunch.images * (255.0 / 16.0)).astype(np.uint8)).unsqueeze(1)
        super().__init__(name, resize_uint8(raw, size, channels), torch.from_numpy(bunch.target).long())


def _missing(name: str, expected: str, where: Path, how: str) -> GanmcError:
    return GanmcError(f"dataset {name}: {expected} not found in {where}: {how}, then set dataset.root=DIR")


def _root(name: str, root: str | None, how: str) -> Path:
    if not root:
        raise GanmcError(f"dataset {name}: dataset.root is not set: {how}, then set dataset.root=DIR")
    return Path(root).expanduser()


# --- MNIST and Fashion-MNIST: IDX files ------------------------------------------------------
_IDX_HOW = {"mnist": "run `ganmc data fetch mnist` (or `make data`), or put MNIST's IDX files in a folder",
            "fashion_mnist": "run `ganmc data fetch fashion_mnist` (or `make data`), or put Fashion-MNIST's "
                             "IDX files in a folder"}


def fetched_root(name: str) -> Path:
    """Where ``ganmc data fetch NAME`` puts a data set (under ``$GANMC_CACHE`` or ~/.cache/ganmc)."""
    from ganmc.common import default_cache_dir

    return default_cache_dir() / "data" / name


def read_idx_bytes(data: bytes, where: str) -> np.ndarray:
    """An IDX file's bytes (unsigned bytes, MNIST's format) -> the array of its shape."""
    if len(data) < 4 or data[0] != 0 or data[1] != 0 or data[2] != 0x08:
        raise GanmcError(f"{where} is not an IDX file of unsigned bytes")
    ndim = data[3]
    dims = struct.unpack(f">{ndim}I", data[4:4 + 4 * ndim])
    body = np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * ndim)
    if body.size != int(np.prod(dims)):
        raise GanmcError(f"{where} is truncated: {body.size} bytes for shape {dims}")
    return body.reshape(dims)


def read_idx(path: Path) -> np.ndarray:
    """Read an IDX file (gzipped or not) of unsigned bytes into an array of its shape."""
    opener = gzip.open if path.suffix == ".gz" else open
    try:
        with opener(path, "rb") as fh:
            data = fh.read()
    except (OSError, EOFError, zlib.error) as exc:  # not gzip, cut short, unreadable
        raise GanmcError(f"{path} cannot be read as an IDX file ({type(exc).__name__}: {exc}; truncated or "
                         "corrupt?)") from None
    return read_idx_bytes(data, str(path))


def _find(root: Path, stem: str) -> Path | None:
    for candidate in (root / stem, root / f"{stem}.gz", root / stem.replace("-idx", ".idx")):
        if candidate.is_file():
            return candidate
    return None


class MNIST(ImageDataset):
    """MNIST from its IDX files (``train-images-idx3-ubyte[.gz]`` and labels) under ``root``;
    without ``root``, the files ``ganmc data fetch mnist`` put in the cache."""

    source = "mnist"

    def __init__(self, name: str = "mnist", root: str | None = None, split: str = "train",
                 size: int = 32, channels: int = 1) -> None:
        how = _IDX_HOW[self.source]
        base = Path(root).expanduser() if root else fetched_root(self.source)
        prefix = {"train": "train", "test": "t10k"}.get(split)
        if prefix is None:
            raise GanmcError(f"dataset {name}: split must be 'train' or 'test', got '{split}'")
        img_stem, lab_stem = f"{prefix}-images-idx3-ubyte", f"{prefix}-labels-idx1-ubyte"
        img_path, lab_path = _find(base, img_stem), _find(base, lab_stem)
        if img_path is None:
            raise _missing(name, f"{img_stem}[.gz]", base, how)
        images = torch.from_numpy(read_idx(img_path).copy()).unsqueeze(1)
        labels = torch.from_numpy(read_idx(lab_path).astype(np.int64)) if lab_path else None
        if labels is not None and len(labels) != len(images):
            raise GanmcError(f"dataset {name}: {lab_path} has {len(labels)} labels for {len(images)} images")
        super().__init__(name, resize_uint8(images, size, channels), labels)


class FashionMNIST(MNIST):
    """Fashion-MNIST: MNIST's IDX format and sizes, ten classes of clothing."""

    source = "fashion_mnist"

    def __init__(self, name: str = "fashion_mnist", root: str | None = None, split: str = "train",
                 size: int = 32, channels: int = 1) -> None:
        super().__init__(name, root, split, size, channels)


# --- CIFAR-10: python pickles (read by ganmc.data.cifar) ---------------------------------------
class CIFAR10(ImageDataset):
    """CIFAR-10 from ``cifar-10-python.tar.gz`` or its extracted ``cifar-10-batches-py`` folder."""

    def __init__(self, name: str = "cifar10", root: str | None = None, split: str = "train",
                 size: int = 32, channels: int = 3) -> None:
        base = _root(name, root, CIFAR_HOW)
        found = read_cifar(name, base, split)
        if found is None:
            raise _missing(name, "cifar-10-python.tar.gz (or cifar-10-batches-py/)", base, CIFAR_HOW)
        images, labels = found
        super().__init__(name, resize_uint8(torch.from_numpy(images), size, channels), torch.from_numpy(labels))


# --- image folders (CelebA and any other) ----------------------------------------------------
def load_image(path: Path, size: int, channels: int, crop: int | None) -> np.ndarray:
    """One image file -> uint8 (C, size, size): centre crop ``crop`` (else the largest centred
    square), then a Lanczos resize. A file that is no image, or a truncated one, is one error."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("L" if channels == 1 else "RGB")
            w, h = img.size
            side = min(crop or min(w, h), w, h)
            left, top = (w - side) // 2, (h - side) // 2
            img = img.crop((left, top, left + side, top + side))
            if side != size:
                img = img.resize((size, size), Image.Resampling.LANCZOS)
            arr = np.asarray(img, dtype=np.uint8)
    except (OSError, ValueError, Image.DecompressionBombError) as exc:
        raise GanmcError(f"{path} is not a readable image ({type(exc).__name__}: {exc}): remove or replace it") from None
    return arr[None] if arr.ndim == 2 else arr.transpose(2, 0, 1)


class ImageFolder(ImageDataset):
    """Every image file under ``root`` (recursively, sorted by path), centre-cropped to ``crop``
    (default: largest square) and resized to ``size``; ``limit`` keeps the first files only."""

    how = "put the image files (png, jpg, ...) in one folder"

    def __init__(self, name: str = "image_folder", root: str | None = None, size: int = 64,
                 channels: int = 3, crop: int | None = None, limit: int | None = None) -> None:
        base = self.locate(name, _root(name, root, self.how))
        if channels not in (1, 3):
            raise GanmcError(f"dataset {name}: channels must be 1 or 3, got {channels}")
        files = sorted(p for p in base.rglob("*") if p.suffix.lower() in IMAGE_EXTENSIONS and p.is_file())
        if not files:
            raise _missing(name, "image files (" + ", ".join(IMAGE_EXTENSIONS[:3]) + ", ...)", base, self.how)
        files = files[:limit] if limit else files
        images = torch.from_numpy(np.stack([load_image(p, size, channels, crop) for p in files]))
        super().__init__(name, images)

    def locate(self, name: str, base: Path) -> Path:
        if not base.is_dir():
            raise GanmcError(f"dataset {name}: folder {base} does not exist: {self.how}, then set dataset.root=DIR")
        return base


class CelebA(ImageFolder):
    """CelebA aligned faces (``img_align_celeba/*.jpg``), centre crop 140 -> 64 px by default
    (the DCGAN/WGAN CelebA protocol); ``root`` is the folder itself or its parent."""

    how = "get img_align_celeba.zip from mmlab.ie.cuhk.edu.hk/projects/CelebA.html and unzip it"

    def __init__(self, name: str = "celeba", root: str | None = None, size: int = 64,
                 channels: int = 3, crop: int | None = 140, limit: int | None = None) -> None:
        super().__init__(name, root, size, channels, crop, limit)

    def locate(self, name: str, base: Path) -> Path:
        if (base / "img_align_celeba").is_dir():
            return base / "img_align_celeba"
        if base.is_dir() and any(base.glob("*.jpg")):
            return base
        raise _missing(name, "img_align_celeba/ (folder of .jpg faces)", base, self.how)
