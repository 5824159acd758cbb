"""The media worker processes on their own (MediaChildren): calls over each child's pipe,
a child that dies, a caller that gives up, and stopping them."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from collections.abc import AsyncIterator
from concurrent.futures.process import BrokenProcessPool

import pytest
from salon.defaults.pillow_media import PillowMediaProcessor
from salon.domain.images.children import MediaChildren
from salon.domain.images.pool import _child_init


@pytest.fixture
async def children() -> AsyncIterator[MediaChildren]:
    started = MediaChildren(1, _child_init, PillowMediaProcessor(), 5)
    try:
        yield started
    finally:
        await started.aclose(0)


async def test_calls_run_in_a_niced_child_and_raise_its_errors(children: MediaChildren) -> None:
    pid = await children.call(os.getpid)
    assert pid != os.getpid() and children.pids() == [pid]
    assert os.getpriority(os.PRIO_PROCESS, pid) >= os.getpriority(os.PRIO_PROCESS, 0) + 5
    with pytest.raises(ValueError, match="invalid literal"):
        await children.call(int, "not a number")
    assert await children.call(os.getpid) == pid  # the same child, still fine


async def test_a_killed_child_fails_its_call_and_is_replaced(children: MediaChildren) -> None:
    pid = await children.call(os.getpid)
    sleeping = asyncio.create_task(children.call(time.sleep, 30))
    await asyncio.sleep(0.2)
    os.kill(pid, signal.SIGKILL)
    with pytest.raises(BrokenProcessPool):
        await asyncio.wait_for(sleeping, 10)
    fresh = await asyncio.wait_for(children.call(os.getpid), 30)
    assert fresh != pid and children.pids() == [fresh]


async def test_a_cancelled_call_keeps_its_child_until_it_answers(children: MediaChildren) -> None:
    pid = await children.call(os.getpid)
    sleeping = asyncio.create_task(children.call(time.sleep, 0.5))
    await asyncio.sleep(0.1)
    sleeping.cancel()
    started = time.monotonic()
    # One child: the next call waits for the sleep to end, then gets the same child.
    assert await asyncio.wait_for(children.call(os.getpid), 10) == pid
    assert time.monotonic() - started >= 0.3


async def test_close_kills_a_busy_child_after_the_grace() -> None:
    children = MediaChildren(2, _child_init, PillowMediaProcessor(), 5)
    busy = asyncio.create_task(children.call(time.sleep, 60))
    idle = await children.call(os.getpid)
    await asyncio.sleep(0.2)
    pids = children.pids()
    assert len(pids) == 2 and idle in pids
    started = time.monotonic()
    await children.aclose(0.5)
    assert time.monotonic() - started < 10
    for pid in pids:
        with pytest.raises(ProcessLookupError):  # exited and reaped, not left running
            os.kill(pid, 0)
    with pytest.raises(BrokenProcessPool):  # the call under way learns of it
        await asyncio.wait_for(busy, 5)
