"""glibc's malloc kept from mmapping every large tensor (ganmc.threads.keep_freed_memory)."""

from __future__ import annotations

import os
import platform
import subprocess
import sys

import pytest

CHILD = """
import ctypes, sys
from ganmc.threads import keep_freed_memory

class Info(ctypes.Structure):  # glibc's struct mallinfo2 (malloc.h)
    _fields_ = [(name, ctypes.c_size_t) for name in
                ("arena", "ordblks", "smblks", "hblks", "hblkhd", "usmblks", "fsmblks", "uordblks", "fordblks", "keepcost")]

libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
print(keep_freed_memory())
before = libc.mallinfo2().hblks  # blocks that malloc mmapped
block = libc.malloc(64 << 20)  # 64 MB: over glibc's largest mmap threshold
print(libc.mallinfo2().hblks - before)
libc.free(block)
"""


def _run(env: dict[str, str]) -> list[str]:
    out = subprocess.run([sys.executable, "-c", CHILD], env={**os.environ, **env}, check=True,
                         capture_output=True, text=True)
    return out.stdout.split()


@pytest.mark.skipif(platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")
def test_large_blocks_come_from_the_heap() -> None:
    """With the setting a 64 MB block is not mmapped; GANMC_MALLOC=default keeps glibc's mmap."""
    assert _run({"GANMC_MALLOC": ""}) == ["True", "0"]
    assert _run({"GANMC_MALLOC": "default"}) == ["False", "1"]
