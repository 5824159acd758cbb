"""HashPool's places: per client address, kept for trusted clients, trusted served first."""

from __future__ import annotations

import asyncio
import os
import threading

import pytest
from salon.defaults.hashing import (
    HASH_NICE,
    UNTRUSTED_HASH_NICE,
    HashPool,
    hashing_for,
    hashing_trusted,
)
from salon.errors import AuthError


async def test_places_per_address_reserve_and_priority() -> None:
    pool = HashPool(concurrency=1, queue=4, per_client=2, reserved=2)
    gate = threading.Event()
    order: list[str] = []

    def work(name: str) -> str:
        gate.wait(5)
        order.append(name)
        return name

    async def call(address: str, name: str, trusted: bool = False) -> str:
        hashing_for(address)
        with hashing_trusted(trusted):
            return await pool.run(work, name)

    first = [
        asyncio.create_task(call("10.0.0.1", "a1")),
        asyncio.create_task(call("10.0.0.1", "a2")),
    ]
    await asyncio.sleep(0.05)
    with pytest.raises(AuthError, match="busy"):  # a third place for the same address
        await call("10.0.0.1", "a3")
    others = [asyncio.create_task(call("10.0.0.2", "b1"))]
    await asyncio.sleep(0.05)
    with pytest.raises(AuthError, match="busy"):  # 3 of 5 places left untrusted: full
        await call("10.0.0.3", "c1")
    trusted = asyncio.create_task(call("10.0.0.3", "t1", trusted=True))
    await asyncio.sleep(0.05)
    gate.set()
    assert await asyncio.gather(*first, *others, trusted) == ["a1", "a2", "b1", "t1"]
    assert order.index("t1") < order.index("b1")  # the trusted waiter went first
    assert await call("10.0.0.1", "again") == "again"  # places are given back


async def test_untrusted_checks_leave_a_thread_for_trusted_ones() -> None:
    pool = HashPool(concurrency=2, queue=4, per_client=2, reserved=2)
    gate = threading.Event()
    started: list[str] = []

    def work(name: str) -> str:
        started.append(name)
        if name != "t1":
            gate.wait(5)
        return name

    async def call(address: str, name: str, trusted: bool = False) -> str:
        hashing_for(address)
        with hashing_trusted(trusted):
            return await pool.run(work, name)

    flood = [asyncio.create_task(call(f"10.0.1.{n}", f"u{n}")) for n in range(3)]
    await asyncio.sleep(0.1)
    assert started == ["u0"]  # one thread for the flood, one kept
    assert await asyncio.wait_for(call("10.0.2.1", "t1", trusted=True), 5) == "t1"
    gate.set()
    assert await asyncio.gather(*flood) == ["u0", "u1", "u2"]


@pytest.mark.skipif(not hasattr(os, "setpriority"), reason="thread niceness is Linux's")
async def test_unknown_clients_hash_at_the_lowest_cpu_priority() -> None:
    """A flood's hashes (argon2's four lane threads inherit the caller's niceness) weigh least
    against the event loop; a known browser's stay above them."""
    pool = HashPool(concurrency=2, queue=4, per_client=2, reserved=2)

    def niceness() -> int:
        return os.getpriority(os.PRIO_PROCESS, threading.get_native_id())

    async def call(trusted: bool) -> int:
        hashing_for("10.0.3.1")
        with hashing_trusted(trusted):
            return await pool.run(niceness)

    assert await call(trusted=False) == UNTRUSTED_HASH_NICE == 19
    assert await call(trusted=True) == HASH_NICE == 10
