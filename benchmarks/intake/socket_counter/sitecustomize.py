"""Loaded by the benchmarked server (``PYTHONPATH``): counts the bytes Python sockets receive
and send (on S3 storage that is the traffic to the bucket; granian's own HTTP is not Python
sockets) and writes the totals to ``$BENCH_SOCKET_DIR/<pid>`` every 50 ms."""

from __future__ import annotations

import os
import socket
import threading
import time

_DIR = os.environ.get("BENCH_SOCKET_DIR")
_counts = [0, 0]  # received, sent


def _wrap(name: str, slot: int, result_is_size: bool) -> None:
    original = getattr(socket.socket, name)

    def counted(self: socket.socket, data: object, *args: object) -> object:
        result = original(self, data, *args)
        if result_is_size:
            _counts[slot] += int(result or 0)
        elif name == "recv":
            _counts[slot] += len(result)  # type: ignore[arg-type]
        else:  # sendall returns None having sent everything
            _counts[slot] += len(memoryview(data).cast("B"))  # type: ignore[arg-type]
        return result

    setattr(socket.socket, name, counted)


def _report() -> None:
    path = os.path.join(str(_DIR), str(os.getpid()))
    while True:
        with open(path + ".tmp", "w") as out:
            out.write(f"{_counts[0]} {_counts[1]}")
        os.replace(path + ".tmp", path)
        time.sleep(0.05)


def _start() -> None:
    threading.Thread(target=_report, name="bench-socket-counter", daemon=True).start()


def _forked() -> None:
    # granian forks its workers: the thread does not survive a fork; counts start afresh.
    _counts[:] = [0, 0]
    _start()


if _DIR:
    _wrap("recv_into", 0, True)
    _wrap("recv", 0, False)
    _wrap("send", 1, True)
    _wrap("sendall", 1, False)
    os.register_at_fork(after_in_child=_forked)
    _start()
