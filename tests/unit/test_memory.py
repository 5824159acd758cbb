"""salon.memory: the glibc tuning is applied once and never fails start-up."""

from __future__ import annotations

import subprocess
import sys

from salon import memory


def test_return_large_blocks_is_idempotent() -> None:
    memory.return_large_blocks()
    memory.return_large_blocks()
    assert memory._applied is sys.platform.startswith("linux")


def test_a_freed_large_block_goes_back_to_the_system() -> None:
    """With the threshold fixed, 16 MiB blocks are mmapped every time: after the first one is
    freed (which raises glibc's dynamic threshold), a second round still returns its memory."""
    script = """
import ctypes, sys
from salon import memory
if sys.argv[1] == "tuned":
    memory.return_large_blocks()
libc = ctypes.CDLL("libc.so.6")
libc.malloc.restype = ctypes.c_void_p
libc.free.argtypes = [ctypes.c_void_p]
def rss():
    return int([l for l in open("/proc/self/status") if l.startswith("VmRSS")][0].split()[1])
block = libc.malloc(16 << 20); libc.free(block)  # raises the dynamic threshold when untuned
blocks = [libc.malloc(16 << 20) for _ in range(8)]
for b in blocks:
    ctypes.memset(b, 1, 16 << 20)
for b in blocks[:-1]:
    libc.free(b)  # the last one stays: heap memory below it cannot be trimmed
print(rss() // 1024)
"""
    tuned = subprocess.run(
        [sys.executable, "-c", script, "tuned"], capture_output=True, text=True, check=True
    )
    assert int(tuned.stdout) < 80, tuned.stdout  # 7 x 16 MiB were given back
