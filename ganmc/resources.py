"""What a run's samples take of the machine, checked before any compute: the kept samples must
fit in the memory available and ``samples.npy`` on the disk of the run folder."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

from ganmc.errors import GanmcError


def available_memory() -> int | None:
    """Bytes of memory this process may still take: the kernel's ``MemAvailable`` (Linux), capped
    by a cgroup limit when one is set; the physical memory elsewhere; ``None`` when unknown."""
    found: list[int] = []
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                found.append(int(line.split()[1]) * 1024)
    except (OSError, ValueError, IndexError):
        pass
    try:
        limit = Path("/sys/fs/cgroup/memory.max").read_text().strip()
        if limit.isdigit():
            found.append(int(limit))
    except OSError:
        pass
    if not found:
        try:
            found.append(os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE"))
        except (ValueError, OSError, AttributeError):
            return None
    return min(found)


def free_disk(folder: Path) -> int | None:
    """Free bytes on the disk holding ``folder`` (or its nearest existing parent); ``None`` when unknown."""
    path = Path(folder).expanduser().absolute()
    while not path.exists() and path != path.parent:
        path = path.parent
    try:
        return shutil.disk_usage(path).free
    except OSError:
        return None


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB", "TiB", "PiB"):
        if n < 1024 or unit == "PiB":
            return f"{n:.3g} {unit}"
        n /= 1024
    return f"{n:.3g} PiB"


def check_sample_size(n: int, dataset: Any, run_dir: Path) -> None:
    """Refuse ``n_samples`` whose kept samples (images: uint8, 2-D points: float32, ``dim`` values
    each) exceed the memory available, or whose ``samples.npy`` exceeds the free disk of the run
    folder: the estimate, in one line, before anything is computed."""
    from ganmc.data import ImageDataset

    images = isinstance(dataset, ImageDataset)
    dim, kind = int(dataset.dim), "uint8" if images else "float32"
    need = n * dim * (1 if images else 4)
    what = f"n_samples={n} keeps {n} x {dim} {kind} values, about {_size(need)}"
    memory = available_memory()
    if memory is not None and need > memory:
        raise GanmcError(f"{what}, but only {_size(memory)} of memory is available: lower n_samples "
                         "(or split the run into seeds)")
    disk = free_disk(run_dir)
    if disk is not None and need > disk:
        raise GanmcError(f"{what} for samples.npy, but the disk of {run_dir} has {_size(disk)} free: lower n_samples "
                         "or choose a run folder on a larger disk (hydra.run.dir=DIR)")
