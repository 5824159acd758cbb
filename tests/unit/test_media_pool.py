"""MediaPool admission on its own: a bounded number of images, 503 (MediaBusy) past it, and
waiting callers let in as places free up. The processes themselves are exercised by
tests/integration/test_image_processing.py."""

from __future__ import annotations

import asyncio

import pytest
from salon.defaults.pillow_media import PillowMediaProcessor
from salon.domain.images.pool import MediaPool, default_workers
from salon.errors import MediaBusy


def test_default_workers_leave_a_core() -> None:
    assert default_workers() >= 1
    assert MediaPool(PillowMediaProcessor()).workers == default_workers()


async def test_admission_is_bounded_and_released() -> None:
    pool = MediaPool(PillowMediaProcessor(), workers=1, queue=1)
    assert pool.uses_processes  # the Pillow processor pickles into the child processes
    first, second = pool.try_reserve(), pool.try_reserve()
    with pytest.raises(MediaBusy) as refused:
        pool.try_reserve()
    assert refused.value.retry_after > 0
    waiting = asyncio.create_task(pool.reserve())
    await asyncio.sleep(0)
    assert not waiting.done()
    first.release()
    first.release()  # idempotent: one place freed, not two
    third = await asyncio.wait_for(waiting, 5)
    assert pool.admitted == 2
    second.release()
    third.release()
    assert pool.admitted == 0


class _Unpicklable(PillowMediaProcessor):
    def __reduce__(self) -> object:
        raise TypeError("holds a client")


def test_unpicklable_processor_falls_back_to_threads() -> None:
    assert not MediaPool(_Unpicklable(), workers=1).uses_processes
