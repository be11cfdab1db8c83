"""Reading CIFAR-10's python version: the batch pickles of ``cifar-10-python.tar.gz`` or of its
extracted ``cifar-10-batches-py`` folder, unpickled without running code. A file missing from
the split, an archive that is not one (or is cut short) and a batch that is not CIFAR-10's are
each one :class:`GanmcError` naming the file."""

from __future__ import annotations

import io
import pickle
import tarfile
import zlib
from pathlib import Path

import numpy as np

from ganmc.errors import GanmcError

CIFAR_HOW = "get cifar-10-python.tar.gz from www.cs.toronto.edu/~kriz/cifar.html"
CIFAR_FILES = {"train": [f"data_batch_{i}" for i in range(1, 6)], "test": ["test_batch"]}


class NumpyOnlyUnpickler(pickle.Unpickler):
    """Unpickles plain containers and numpy arrays only: a data file can never run code."""

    _ALLOWED = {
        ("numpy.core.multiarray", "_reconstruct"), ("numpy._core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"), ("numpy._core.multiarray", "scalar"),
        ("numpy", "ndarray"), ("numpy", "dtype"), ("_codecs", "encode"),
    }

    def find_class(self, module: str, name: str) -> object:
        if (module, name) not in self._ALLOWED:
            raise pickle.UnpicklingError(f"refusing to load {module}.{name}")
        return super().find_class(module, name)


def load_batch(raw: bytes, where: str) -> tuple[np.ndarray, np.ndarray]:
    """One batch pickle -> uint8 images (N, 3, 32, 32) and int64 labels (N,)."""
    try:
        batch = NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
        data = np.asarray(batch[b"data"], dtype=np.uint8).reshape(-1, 3, 32, 32)
        labels = np.asarray(batch[b"labels"], dtype=np.int64)
    except Exception as exc:  # noqa: BLE001 - any failure means a bad batch file
        raise GanmcError(f"{where} is not a CIFAR-10 python batch ({type(exc).__name__}: {exc})") from None
    if labels.shape != (len(data),):
        raise GanmcError(f"{where} is not a CIFAR-10 python batch: {labels.size} labels for {len(data)} images")
    return data, labels


def _from_folder(name: str, folder: Path, files: list[str]) -> list[tuple[bytes, str]]:
    """The raw batch files of an extracted ``cifar-10-batches-py`` folder, every one of the split present."""
    missing = [f for f in files if not (folder / f).is_file()]
    if missing:
        raise GanmcError(f"dataset {name}: {folder} lacks {', '.join(missing)} (the split needs "
                         f"{', '.join(files)}): extract the whole cifar-10-python.tar.gz there")
    raws = []
    for f in files:
        try:
            raws.append(((folder / f).read_bytes(), str(folder / f)))
        except OSError as exc:
            raise GanmcError(f"dataset {name}: cannot read {folder / f} ({exc.strerror or exc})") from None
    return raws


def _from_tar(name: str, tar_path: Path, files: list[str]) -> list[tuple[bytes, str]]:
    """The raw batch files of the split, read from ``cifar-10-python.tar.gz``."""
    raws = []
    try:
        with tarfile.open(tar_path, "r:gz") as tar:
            for f in files:
                try:
                    member = tar.extractfile(f"cifar-10-batches-py/{f}")
                except KeyError:
                    member = None
                if member is None:
                    raise GanmcError(f"dataset {name}: {tar_path} lacks cifar-10-batches-py/{f}: it is not the whole "
                                     f"cifar-10-python.tar.gz; {CIFAR_HOW}")
                raws.append((member.read(), f"{tar_path}:{f}"))
    except (tarfile.TarError, EOFError, zlib.error, OSError) as exc:  # not gzip, not tar, cut short
        raise GanmcError(f"dataset {name}: {tar_path} cannot be read as cifar-10-python.tar.gz, a gzipped tar "
                         f"({type(exc).__name__}: {exc}; a partial download?): {CIFAR_HOW}") from None
    return raws


def read_cifar(name: str, base: Path, split: str) -> tuple[np.ndarray, np.ndarray] | None:
    """The images (uint8 N x 3 x 32 x 32) and labels of ``split`` under ``base`` (the archive, its
    folder, the extracted ``cifar-10-batches-py`` or its parent); ``None`` when neither is there."""
    if split not in CIFAR_FILES:
        raise GanmcError(f"dataset {name}: split must be 'train' or 'test', got '{split}'")
    files = CIFAR_FILES[split]
    folder = base if (base / files[0]).is_file() else base / "cifar-10-batches-py"
    tar_path = base if base.is_file() else base / "cifar-10-python.tar.gz"
    if (folder / files[0]).is_file():
        raws = _from_folder(name, folder, files)
    elif tar_path.is_file():
        raws = _from_tar(name, tar_path, files)
    else:
        return None
    parts = [load_batch(raw, where) for raw, where in raws]
    return np.concatenate([p[0] for p in parts]), np.concatenate([p[1] for p in parts])
