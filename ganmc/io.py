"""Atomic file writes, staged run outputs, file locks and content hashes: a reader never sees
a half-written file or a half-written run."""

from __future__ import annotations

import errno
import hashlib
import json
import logging
import os
import shutil
import tempfile
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, BinaryIO

from ganmc.errors import WriteError

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: no locking
    fcntl = None  # type: ignore[assignment]

log = logging.getLogger(__name__)
_HELD = threading.local()  # the locks each thread holds (re-entrant within a thread)


def write_atomic(path: str | Path, write: Callable[[Path], None]) -> Path:
    """Call ``write(tmp)`` on a temporary file beside ``path``, then rename it into place."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    tmp = Path(tmp_name)
    umask = os.umask(0)
    os.umask(umask)
    os.chmod(tmp, 0o666 & ~umask)  # mkstemp creates 0600; give the file the usual permissions
    try:
        try:
            write(tmp)
        except OSError as exc:
            raise write_error(path, exc) from None
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_error(path: Path, exc: OSError) -> WriteError:
    """One line naming the file and the cause of a failed write (numpy's short writes carry no
    errno: a full disk or a file size limit)."""
    if exc.errno in (errno.ENOSPC, errno.EFBIG, errno.EDQUOT) or exc.errno is None:
        cause = f"{exc.strerror or exc}: the disk is full or a file size limit (ulimit -f) was reached"
    else:
        cause = exc.strerror or str(exc)
    return WriteError(f"cannot write {path} ({cause})")


def write_json_atomic(path: str | Path, obj: Any) -> Path:
    """Write ``obj`` as indented JSON, atomically."""
    text = json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n"
    return write_atomic(path, lambda tmp: tmp.write_text(text))


def sha256_file(path: str | Path) -> str:
    """Hex sha256 of a file's bytes; of a folder (a TorchScript GAN): of its files' names and hashes."""
    if Path(path).is_dir():
        files = sorted(p for p in Path(path).rglob("*") if p.is_file())
        return sha256_json([[p.relative_to(path).as_posix(), sha256_file(p)] for p in files])
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for chunk in iter(lambda: fh.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def derive_seed(seed: int, purpose: str) -> int:
    """An independent 63-bit seed for each use (training, sampling, metrics) of one ``seed``."""
    return int.from_bytes(hashlib.sha256(f"{seed}:{purpose}".encode()).digest()[:8], "little") >> 1


def sha256_json(obj: Any) -> str:
    """Hex sha256 of the canonical (sorted-key) JSON form of ``obj``."""
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def save_npy_atomic(path: str | Path, array: Any) -> Path:
    """``numpy.save`` to ``path`` (no suffix added), atomically."""
    import numpy as np

    def write(tmp: Path) -> None:
        with open(tmp, "wb") as fh:
            np.save(fh, array)

    return write_atomic(path, write)


@contextmanager
def staged_outputs(run_dir: str | Path) -> Iterator[Path]:
    """A fresh temporary folder beside ``run_dir`` (in its parent; inside ``run_dir`` when the
    parent cannot be written) to write a run's files into.

    When the block completes, its files move into ``run_dir`` (``record.json`` last; a folder
    that is there already, such as ``.hydra/``, gets the staged files in it); on an error the
    staging folder and whatever was written into it are removed, so a fault never leaves a
    half-written run.
    """
    run_dir = Path(run_dir).resolve()
    run_dir.mkdir(parents=True, exist_ok=True)
    try:
        stage = Path(tempfile.mkdtemp(prefix=f".{run_dir.name}.", suffix=".partial", dir=run_dir.parent))
    except OSError:  # e.g. hydra.run.dir=. in a folder whose parent is not ours
        stage = Path(tempfile.mkdtemp(prefix=".", suffix=".partial", dir=run_dir))
    try:
        yield stage
        for item in sorted(stage.iterdir(), key=lambda p: p.name == "record.json"):
            _move_into(item, run_dir / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def _move_into(item: Path, target: Path) -> None:
    """Move ``item`` to ``target``; a staged folder whose target is a folder (not a link to one)
    moves file by file, replacing the files of the same name and keeping the others."""
    if item.is_dir() and target.is_dir() and not target.is_symlink():
        for sub in item.iterdir():
            _move_into(sub, target / sub.name)
    else:
        os.replace(item, target)


@contextmanager
def file_lock(path: str | Path, waiting: str = "another process holds it", wait: bool = True) -> Iterator[None]:
    """Hold an exclusive ``flock`` on ``path`` (created if missing) for the block.

    Another process, or another thread, waits (saying so once, with ``waiting``), or with
    ``wait=False`` gets :class:`BlockingIOError`; the same thread may take the lock again inside
    the block.
    """
    path = Path(path)
    held: dict[str, int] = getattr(_HELD, "locks", None) or {}
    _HELD.locks = held
    key = str(path.resolve())
    if held.get(key) or fcntl is None:
        held[key] = held.get(key, 0) + 1
        try:
            yield
        finally:
            held[key] -= 1
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    fh = _locked(path, waiting, wait)
    held[key] = 1
    try:
        yield
    finally:
        held[key] = 0
        path.unlink(missing_ok=True)  # removed while still held: no empty lock file stays behind
        fcntl.flock(fh, fcntl.LOCK_UN)
        fh.close()


def _locked(path: Path, waiting: str, wait: bool = True) -> BinaryIO:
    """An open handle on ``path`` holding its exclusive flock. A holder removes the file before
    it lets go, so a waiter that wakes on a removed file tries again on the new one."""
    said = False
    while True:
        # append: never truncates (the file holds no data); never through a link
        fh = os.fdopen(os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | os.O_NOFOLLOW, 0o666), "ab")
        try:
            fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if not wait:
                fh.close()
                raise
            if not said:
                log.info("waiting for %s: %s", path, waiting)
                said = True
            fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            same = os.stat(path).st_ino == os.fstat(fh.fileno()).st_ino
        except FileNotFoundError:
            same = False
        if same:
            return fh
        fh.close()


def cached_json(cache_dir: str | Path | None, folder: str, key: dict[str, Any],
                compute: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    """``compute()``'s entries, kept under ``<cache_dir>/<folder>/<hash of key>.json`` (with the
    key) and read from there next time: real-data references that every run of a table shares."""
    path = (Path(str(cache_dir)).expanduser() / folder / f"{sha256_json(key)[:16]}.json"
            if cache_dir is not None else None)
    if path is not None and path.is_file():
        try:
            return dict(json.loads(path.read_text())["values"])
        except (ValueError, KeyError, TypeError):
            log.warning("ignoring unreadable cache file %s", path)
    values = compute()
    if path is not None:
        write_json_atomic(path, {"values": values, **key})
    return values
