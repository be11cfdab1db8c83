"""Stand-in files in the real formats of Table 3's inputs, to rehearse ``make reproduce-table3``
without CIFAR-10, Inception weights or a pretrained SN-GAN (no internet needed).

Written independently of ganmc's loaders (no ganmc import): only numpy, torch and torch-fidelity.

* ``cifar-10-python.tar.gz``: CIFAR-10's python layout (``cifar-10-batches-py/data_batch_1..5``,
  ``test_batch``, ``batches.meta``), python-2 style pickles (protocol 2, byte strings as
  BINSTRING, ``numpy.core.multiarray``), so they load with ``encoding='bytes'`` as the originals
  do. Images: class-dependent coloured shapes on gradients, with noise (labels 0-9).
* ``weights-inception-2015-12-05-6726825d.pth``: a state dict with exactly the keys and shapes
  of torch-fidelity's ``FeatureExtractorInceptionV3`` (taken from its own classes), random
  values (He-scaled convs, identity batch norm, small classifier).
* ``sngan/model.pt``: pytorch-gan-collections' ``{'net_G', 'net_D', 'optim_G', 'optim_D',
  'sched_G', 'sched_D'}`` from a copy of its ``ResGenerator32`` / ``ResDiscriminator32``
  after a few steps of its hinge-loss training loop (Adam, LambdaLR).

Run: ``python scripts/table3_standins.py OUT_DIR [--per-batch 200] [--seed 0]``; prints the paths.
"""

from __future__ import annotations

import argparse
import gzip
import io
import math
import os
import pickle
import struct
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from unittest import mock

import numpy as np
import torch
import torch.nn as nn

sys.path.insert(0, str(Path(__file__).resolve().parent))
from standin_sngan import ResGenerator32, sngan_checkpoint  # noqa: E402  (pytorch-gan-collections' classes)

INCEPTION_FILE = "weights-inception-2015-12-05-6726825d.pth"
LABEL_NAMES = ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]


def write_atomic(path: Path, write: Callable[[Path], None]) -> Path:
    """``write(tmp)`` on a file of the same name in a temporary folder beside ``path`` (torch.save
    names its archive after the file), then ``os.replace`` it into place."""
    path.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix=f".{path.name}.", dir=path.parent))
    tmp = folder / path.name
    try:
        write(tmp)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)
        folder.rmdir()
    return path


# --- CIFAR-10 ----------------------------------------------------------------------------------
class Py2Pickler(pickle._Pickler):  # type: ignore[name-defined]  # pure-python pickler: overridable
    """Protocol 2 as python 2 wrote it: ``bytes`` as (SHORT_)BINSTRING, numpy under ``numpy.core``."""

    dispatch = pickle._Pickler.dispatch.copy()  # type: ignore[attr-defined]

    def save_str8(self, obj: bytes) -> None:
        n = len(obj)
        head = pickle.SHORT_BINSTRING + bytes([n]) if n < 256 else pickle.BINSTRING + struct.pack("<i", n)
        self.write(head + obj)
        self.memoize(obj)

    dispatch[bytes] = save_str8

    def save_global(self, obj: object, name: str | None = None) -> None:
        module = getattr(obj, "__module__", None) or ""
        if module.startswith("numpy._core"):
            qual = name or obj.__qualname__  # type: ignore[attr-defined]
            self.write(pickle.GLOBAL + f"{module.replace('numpy._core', 'numpy.core')}\n{qual}\n".encode())
            self.memoize(obj)
            return
        super().save_global(obj, name)


def py2_pickle(obj: object) -> bytes:
    buf = io.BytesIO()
    Py2Pickler(buf, protocol=2).dump(obj)
    return buf.getvalue()


def make_images(n: int, rng: np.random.Generator) -> tuple[np.ndarray, list[int]]:
    """``n`` structured 32x32 RGB images (uint8 n x 3072, R, G then B planes) and labels 0-9:
    a class shape in a class colour on a random vertical gradient, with pixel noise."""
    yy, xx = np.mgrid[0:32, 0:32].astype(np.float32)
    hues = np.array([[230, 60, 40], [40, 120, 230], [60, 200, 70], [240, 200, 40], [170, 60, 210],
                     [40, 210, 210], [250, 130, 30], [140, 90, 50], [220, 220, 220], [30, 30, 30]], np.float32)
    labels = rng.integers(0, 10, n)
    out = np.empty((n, 32, 32, 3), np.float32)
    for i, c in enumerate(labels):
        cy, cx = rng.uniform(10, 22, 2)
        r = rng.uniform(5, 10)
        dy, dx = yy - cy, xx - cx
        shape = [np.hypot(dy, dx) < r, np.maximum(abs(dy), abs(dx)) < r,
                 (dy > -r) & (abs(dx) < (dy + r) / 2), np.sin(yy * rng.uniform(0.8, 1.2)) > 0,
                 np.sin(xx * rng.uniform(0.8, 1.2)) > 0, abs(np.hypot(dy, dx) - r) < 2,
                 (abs(dy) < 2.5) | (abs(dx) < 2.5), np.sin((xx + yy) * 0.7) > 0,
                 ((xx // 4 + yy // 4) % 2) == 0, None][c]
        mask = np.exp(-(dy ** 2 + dx ** 2) / (2 * r ** 2)) if shape is None else shape.astype(np.float32)
        top, bottom = rng.uniform(0, 255, 3), rng.uniform(0, 255, 3)
        background = top + (bottom - top) * (yy[..., None] / 31)
        colour = np.clip(hues[c] + rng.normal(0, 20, 3), 0, 255)
        out[i] = background * (1 - mask[..., None]) + colour * mask[..., None]
    out += rng.normal(0, 8, out.shape)
    data = np.clip(np.rint(out), 0, 255).astype(np.uint8).transpose(0, 3, 1, 2).reshape(n, 3072)
    return np.ascontiguousarray(data), [int(v) for v in labels]


def cifar_members(per_batch: int, seed: int) -> dict[str, bytes]:
    """Member name (under cifar-10-batches-py/) -> file bytes."""
    rng = np.random.default_rng(seed)
    members: dict[str, bytes] = {}
    names = [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]
    for k, name in enumerate(names):
        data, labels = make_images(per_batch, rng)
        label = "testing batch 1 of 1" if name == "test_batch" else f"training batch {k + 1} of 5"
        filenames = [f"{LABEL_NAMES[c]}_s_{k * per_batch + j:06d}.png".encode() for j, c in enumerate(labels)]
        members[name] = py2_pickle({b"batch_label": label.encode(), b"labels": labels, b"data": data,
                                    b"filenames": filenames})
    members["batches.meta"] = py2_pickle({b"num_cases_per_batch": per_batch, b"num_vis": 3072,
                                          b"label_names": [s.encode() for s in LABEL_NAMES]})
    members["readme.html"] = b"<html><body>Stand-in for CIFAR-10 (synthetic images).</body></html>\n"
    return members


def write_cifar(path: Path, per_batch: int, seed: int) -> Path:
    """``cifar-10-python.tar.gz`` (GNU tar, deterministic: mtime 0, root-owned)."""
    members = cifar_members(per_batch, seed)

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as raw, gzip.GzipFile("", "wb", fileobj=raw, mtime=0) as gz, \
                tarfile.open(fileobj=gz, mode="w", format=tarfile.GNU_FORMAT) as tar:
            folder = tarfile.TarInfo("cifar-10-batches-py")
            folder.type, folder.mode = tarfile.DIRTYPE, 0o755
            tar.addfile(folder)
            for name, blob in members.items():
                info = tarfile.TarInfo(f"cifar-10-batches-py/{name}")
                info.size, info.mode = len(blob), 0o644
                tar.addfile(info, io.BytesIO(blob))

    return write_atomic(path, write)


# --- Inception (torch-fidelity's module classes) -----------------------------------------------
def inception_skeleton(device: str = "meta") -> nn.Module:
    """torch-fidelity's FeatureExtractorInceptionV3 built by its own __init__, without weights."""
    import torch_fidelity.feature_extractor_inceptionv3 as fe

    class Skeleton(fe.FeatureExtractorInceptionV3):
        def load_state_dict(self, *args: object, **kwargs: object) -> None:  # weights come later
            return None

    with mock.patch.object(fe, "load_state_dict_from_url", lambda *a, **k: {}), torch.device(device):
        return Skeleton("inception-v3-compat", ["2048"])


def inception_state(seed: int) -> dict[str, torch.Tensor]:
    """Random weights for every tensor of the skeleton: He-normal convs, identity batch norm
    (mean 0, var 1, gamma 1, beta 0), a small classifier."""
    gen = torch.Generator().manual_seed(seed)
    out: dict[str, torch.Tensor] = {}
    for key, t in inception_skeleton().state_dict().items():
        shape = tuple(t.shape)
        if key.endswith("conv.weight"):
            out[key] = torch.randn(shape, generator=gen) * math.sqrt(2.0 / math.prod(shape[1:]))
        elif key == "fc.weight":
            out[key] = torch.randn(shape, generator=gen) * 0.2  # logits std ~2 on the stand-in images
        elif key.endswith(("bn.weight", "bn.running_var")):
            out[key] = torch.ones(shape)
        elif key.endswith(("bn.bias", "bn.running_mean", "fc.bias")):
            out[key] = torch.zeros(shape)
        elif key.endswith("num_batches_tracked"):
            out[key] = torch.zeros(shape, dtype=torch.long)
        else:
            raise RuntimeError(f"unexpected tensor in torch-fidelity's InceptionV3: {key}")
    return out


def verify_inception(path: Path, images: torch.Tensor) -> str:
    """Load ``path`` the way torch-fidelity does and check its features on ``images`` (uint8)."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048", "logits_unbiased"],
                                      feature_extractor_weights_path=str(path))
    with torch.no_grad():
        feats, logits = net(images)
    if not (torch.isfinite(feats).all() and torch.isfinite(logits).all()):
        raise RuntimeError(f"{path}: non-finite Inception features")
    spread = float(feats.std(0).mean())
    if spread <= 0:
        raise RuntimeError(f"{path}: Inception features are the same for every image")
    return f"2048-d features mean {float(feats.mean()):.3g}, spread {spread:.3g}; logits std {float(logits.std()):.3g}"


# --- all of it -----------------------------------------------------------------------------------
def write_standins(out_dir: str | Path, per_batch: int = 200, seed: int = 0, sngan_steps: int = 2,
                   sngan_batch: int = 8, n_dis: int = 5, verify: bool = True) -> dict[str, Path]:
    """Write the three stand-ins under ``out_dir``; returns {'cifar10', 'inception', 'sngan'} -> path."""
    out = Path(out_dir)
    cifar = write_cifar(out / "cifar-10-python.tar.gz", per_batch, seed)
    state = inception_state(seed)
    inception = write_atomic(out / INCEPTION_FILE, lambda tmp: torch.save(state, tmp))
    data, _ = make_images(max(sngan_batch, 16), np.random.default_rng(seed + 1))
    images = torch.from_numpy(data).view(-1, 3, 32, 32)
    payload = sngan_checkpoint(images.float() / 127.5 - 1, sngan_steps, sngan_batch, n_dis, seed)
    sngan = write_atomic(out / "sngan" / "model.pt", lambda tmp: torch.save(payload, tmp))
    if verify:
        print(f"{inception}: {verify_inception(inception, images[:4])}", file=sys.stderr)
        g = ResGenerator32(128).eval()
        g.load_state_dict(torch.load(sngan, weights_only=True)["net_G"])
        with torch.no_grad():
            shape = tuple(g(torch.randn(2, 128)).shape)
        print(f"{sngan}: net_G loads into ResGenerator32, G(z) shape {shape}", file=sys.stderr)
    return {"cifar10": cifar, "inception": inception, "sngan": sngan}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("out_dir", help="folder to write into (CIFAR10=OUT_DIR for make)")
    parser.add_argument("--per-batch", type=int, default=200, help="images per CIFAR-10 batch file")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sngan-steps", type=int, default=2, help="training steps behind model.pt")
    parser.add_argument("--sngan-batch", type=int, default=8, help="their batch size (G step: twice it)")
    parser.add_argument("--n-dis", type=int, default=5, help="D updates per step (theirs: 5)")
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--no-verify", action="store_true", help="skip loading the files back")
    args = parser.parse_args(argv)
    if args.per_batch < 1 or args.sngan_steps < 1 or args.sngan_batch < 1 or args.n_dis < 1:
        parser.error("--per-batch, --sngan-steps, --sngan-batch and --n-dis must be positive")
    if args.threads:
        torch.set_num_threads(args.threads)
    paths = write_standins(args.out_dir, args.per_batch, args.seed, args.sngan_steps, args.sngan_batch,
                           args.n_dis, not args.no_verify)
    for path in paths.values():
        print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
