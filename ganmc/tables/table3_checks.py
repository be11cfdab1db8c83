"""What the Table 3 preflight reads inside the files it found (nothing computes): the CIFAR-10
batches (archive intact, every member there, N x 3072 uint8 data and N labels), the Inception
weights (exactly torch-fidelity's keys and shapes, finite), and the checkpoints (an SN-GAN
ResNet32 ``model.pt`` of pytorch-gan-collections, or ganmc checkpoints of the configured GAN).

Every check returns problem texts (one line each) instead of raising.
"""

from __future__ import annotations

import io
import tarfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np

from ganmc.errors import GanmcError

CIFAR_TRAIN = [f"data_batch_{i}" for i in range(1, 6)]
CIFAR_SHAPE = (3, 32, 32)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def cifar_batch(raw: bytes, where: str) -> tuple[int, str | None]:
    """(images, problem) of one CIFAR-10 python batch file's bytes (a safe unpickler)."""
    from ganmc.data.cifar import NumpyOnlyUnpickler

    try:
        batch = NumpyOnlyUnpickler(io.BytesIO(raw), encoding="bytes").load()
    except Exception as exc:  # noqa: BLE001 - any unpickling failure means a bad batch
        return 0, f"{where} is not a CIFAR-10 python batch ({_first_line(exc)})"
    if not isinstance(batch, dict) or b"data" not in batch or b"labels" not in batch:
        found = sorted(batch)[:4] if isinstance(batch, dict) else type(batch).__name__
        return 0, f"{where} is not a CIFAR-10 python batch (needs b'data' and b'labels', found {found})"
    data, labels = batch[b"data"], batch[b"labels"]
    if not isinstance(data, np.ndarray) or data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3072:
        what = f"{data.dtype} {data.shape}" if isinstance(data, np.ndarray) else type(data).__name__
        return 0, f"{where}: b'data' is {what}, expected uint8 N x 3072 (32x32 RGB planes)"
    try:
        n_labels = len(labels)
    except TypeError:
        return 0, f"{where}: b'labels' is {type(labels).__name__}, expected a list of N class numbers"
    if n_labels != data.shape[0]:
        return 0, f"{where}: {n_labels} labels for {data.shape[0]} images"
    return int(data.shape[0]), None


def check_cifar(root: Path) -> tuple[int | None, list[str]]:
    """(training images or None when unreadable, problems) of the CIFAR-10 under ``root``: its
    ``cifar-10-batches-py`` files, else ``cifar-10-python.tar.gz`` (as the data set reads them)."""
    folder = root if (root / CIFAR_TRAIN[0]).is_file() else root / "cifar-10-batches-py"
    raws: dict[str, tuple[bytes, str]] = {}
    if (folder / CIFAR_TRAIN[0]).is_file():
        for name in CIFAR_TRAIN:
            if (folder / name).is_file():
                raws[name] = ((folder / name).read_bytes(), str(folder / name))
    else:
        archive = root if root.is_file() else root / "cifar-10-python.tar.gz"
        wanted = {f"cifar-10-batches-py/{name}": name for name in CIFAR_TRAIN}
        try:
            with tarfile.open(archive, "r:gz") as tar:
                for member in tar:  # one pass over the stream: a cut archive fails here
                    if member.name in wanted and member.isfile():
                        fh = tar.extractfile(member)
                        raws[wanted[member.name]] = (fh.read() if fh else b"", f"{archive}:{member.name}")
        except (tarfile.TarError, EOFError, OSError, zlib.error) as exc:
            return None, [f"{archive} is truncated or corrupt ({_first_line(exc)}): "
                          "get a fresh cifar-10-python.tar.gz"]
        absent = [name for name in CIFAR_TRAIN if name not in raws]
        if absent:
            return None, [f"{archive} lacks cifar-10-batches-py/{', '.join(absent)}"]
    total, problems = 0, []
    for name in CIFAR_TRAIN:
        if name not in raws:
            problems.append(f"{folder / name} does not exist")
            continue
        n, problem = cifar_batch(*raws[name])
        total += n
        if problem:
            problems.append(problem)
    return (None if problems else total), problems


def check_inception(path: Path) -> str | None:
    """Why ``path`` is not torch-fidelity's Inception state dict (read by ganmc's one loader:
    keys, shapes; and finite), or None."""
    import torch

    try:
        from ganmc.metrics.inception import load_inception_state

        state = load_inception_state(path)
    except ImportError as exc:
        return f"torch-fidelity is not installed ({_first_line(exc)}): pip install -e '.[fid]'"
    except GanmcError as exc:
        return str(exc)
    for key, value in state.items():
        if value.is_floating_point() and not bool(torch.isfinite(value).all()):
            return f"{path}: tensor '{key}' has non-finite values (IS needs the classifier 'fc')"
    return None


def compose_gan(gan: str) -> Any:
    """The config ``ganmc sample experiment=table3 gan=GAN`` composes (Hydra, nothing runs)."""
    from hydra import compose, initialize_config_module

    from ganmc.config import register_configs

    register_configs()
    with initialize_config_module("ganmc.conf", version_base="1.3"):
        return compose("sample", overrides=["experiment=table3", f"gan={gan}"])


def check_checkpoint(gan: str, fmt: str, path: Path) -> str | None:
    """Why ``path`` does not load into the ``gan`` Table 3 builds (format ``fmt``), or None."""
    from ganmc.models.adapters import load_pytorch_gan_collections
    from ganmc.models.checkpoint import load_gan
    from ganmc.models.gan import build_gan
    from ganmc.settings import gan_config

    cfg = compose_gan(gan)
    shape = (int(cfg.dataset.channels), int(cfg.dataset.size), int(cfg.dataset.size))
    try:
        if fmt == "pytorch_gan_collections":
            load_pytorch_gan_collections(path, build_gan(gan_config(cfg), shape, int(cfg.seed)))
        else:
            load_gan(path, gan_config(cfg), shape, int(cfg.seed))
    except GanmcError as exc:  # CheckpointError: one line naming the file and the problem
        return str(exc)
    return None
