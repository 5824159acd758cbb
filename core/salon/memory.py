"""Process-wide memory tuning, applied once when a process builds its runtime.

glibc serves a large allocation with its own ``mmap`` (returned to the system on ``free``)
only above a threshold that it raises, up to 32 MiB, each time such a block is freed. After a
few image decodes Pillow's 16 MiB image blocks therefore come from the heap arenas of whichever
threads decoded, where they fragment and stay: six concurrent 100 MP pixel bombs peaked at
761 MiB with the dynamic threshold and at 415 MiB with it fixed at 4 MiB (same decode
semaphore). Allocations under 4 MiB (request bodies, rows, small images) are unaffected.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sys

log = logging.getLogger("salon.memory")

_M_MMAP_THRESHOLD = -3  # from glibc's malloc.h
MMAP_THRESHOLD_BYTES = 4 << 20
_applied = False


def return_large_blocks() -> None:
    """Fix glibc's mmap threshold (see the module docstring); a no-op elsewhere or if done."""
    global _applied
    if _applied or not sys.platform.startswith("linux"):
        return
    _applied = True
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
        if libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES) != 1:
            log.info("mallopt(M_MMAP_THRESHOLD) was refused")
    except (OSError, AttributeError):  # musl and others have no mallopt: nothing to tune
        log.info("no glibc mallopt here; large blocks follow the allocator's own rules")
