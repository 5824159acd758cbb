"""Child processes that do not outlive the server (issue 17).

A media worker or an ffmpeg left running after ``salon serve`` stopped keeps a core busy with
work nobody will collect, and a restarted job would run beside it. On Linux a child can ask the
kernel to kill it when its parent goes (``PR_SET_PDEATHSIG``), however the parent ends: a clean
shutdown, granian killing a worker that did not stop in time, SIGKILL or the OOM killer.

:func:`child_setup` is meant for ``preexec_fn`` (subprocesses) or a process pool's
``initializer``; plugins that start processes use it too (a documented module, see
docs/plugins.md). Elsewhere than Linux it only lowers the priority.
"""

from __future__ import annotations

import contextlib
import ctypes
import logging
import os
import signal
import sys
from collections.abc import Callable

__all__ = ["child_setup", "die_with_parent"]

log = logging.getLogger("salon.processes")

_PR_SET_PDEATHSIG = 1


def die_with_parent(parent_pid: int, sig: int = signal.SIGKILL) -> None:
    """In a child: be sent ``sig`` when the thread that started this process ends. The kernel
    ties it to that thread, so start children from a long-lived one (the event loop's).
    ``parent_pid`` closes the race where the parent died before this call: then ``sig`` at
    once."""
    if not sys.platform.startswith("linux"):
        return
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(sig), 0, 0, 0)
    if os.getppid() != parent_pid:
        os.kill(os.getpid(), sig)


def child_setup(nice: int = 0) -> Callable[[], None]:
    """A function for ``preexec_fn``/``initializer`` that runs in the child: it dies with this
    (the calling) process and runs ``nice`` steps lower in CPU priority."""
    parent = os.getpid()

    def setup() -> None:
        die_with_parent(parent)
        if nice:
            with contextlib.suppress(OSError):  # lowering priority is always allowed on Linux
                os.nice(nice)

    return setup
