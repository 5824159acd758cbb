"""The JobQueue contract: what every queue provider must do for the worker to be correct.

Subclass :class:`JobQueueContract` in your plugin's tests and supply a ``job_queue`` fixture that
yields a fresh, empty queue whose ``visibility_timeout`` is short but at least 2 s (the suite
checks hiddenness with 1 s waits; 2-3 s keeps it fast)::

    class TestMyQueue(JobQueueContract):
        @pytest.fixture
        async def job_queue(self):
            queue = MyQueue(visibility_timeout=2)
            yield queue
            await queue.close()

Optionally supply ``unavailable_job_queue``: a queue of yours pointed at something that does not
exist or cannot be reached, to check the error types. Without it that test skips and says why.

Semantics checked (the same as SQS's):

- at-least-once: a received message that is not acked comes back after the visibility timeout
  with ``receive_count`` one higher and a new receipt;
- while in flight a message is invisible to every other receiver; ``extend`` keeps it hidden,
  ``release`` makes it visible at once;
- ``ack``/``extend``/``release`` with a stale receipt (one from before a redelivery) never
  raise. Whether they still act on the message is the provider's declared semantics, the class
  attribute ``stale_receipts_are_ignored``: True (the default, and the local queue) means a
  stale receipt does nothing, so a slow worker cannot delete or show a message another worker
  now holds. SQS documents only that a delete with an old receipt "might not" delete the
  message (moto does delete it), so the SQS suite sets it False. The worker is correct either
  way: it acks only after recording the job's final state, and a running job is guarded by its
  lease in the database, not by the message.
- ``receive`` on an empty queue returns ``None`` within about ``wait_seconds``;
- failures to store a message raise :class:`~salon.errors.QueueUnavailable`, and ``check``
  raises :class:`~salon.errors.ConfigurationError`, never a library's own exception;
- a queue that keeps lanes apart (:class:`~salon.providers.JobLanes`) gives a receive of one
  lane only that lane's messages, ``enqueue`` without a lane files a short one, and ``ack``,
  ``extend`` and ``release`` take a delivery of either lane.
"""

from __future__ import annotations

import asyncio
import time
import uuid
from typing import Any

import pytest

from salon.errors import ConfigurationError, QueueUnavailable
from salon.providers import LONG, SHORT, Delivery, JobQueue, job_lanes

__all__ = ["JobQueueContract"]

# Slack for network round trips and for queues (SQS) that wait in whole seconds.
_SLACK = 3.0


def _job_id() -> str:
    return str(uuid.uuid4())


class JobQueueContract:
    """Mix into a test class and provide the ``job_queue`` fixture (see the module docstring)."""

    pytestmark = pytest.mark.asyncio

    stale_receipts_are_ignored: bool = True
    """Set False when ack/extend/release with an old receipt may act on the current message."""

    @pytest.fixture
    def unavailable_job_queue(self) -> Any:
        """Override to check error types: a queue that cannot reach its backend."""
        pytest.skip("no unavailable_job_queue fixture given: error types not checked")

    # ------------------------------------------------------------------ helpers

    @staticmethod
    async def _receive(queue: JobQueue, wait: float = 5.0) -> Delivery:
        delivery = await queue.receive(wait_seconds=wait)
        assert delivery is not None, f"no message received within {wait} s"
        return delivery

    @staticmethod
    async def _drain(queue: JobQueue, wait: float = 1.0) -> list[Delivery]:
        got: list[Delivery] = []
        while (delivery := await queue.receive(wait_seconds=wait)) is not None:
            got.append(delivery)
        return got

    # ------------------------------------------------------------------ tests

    async def test_is_a_job_queue(self, job_queue: JobQueue) -> None:
        assert isinstance(job_queue, JobQueue)
        assert isinstance(job_queue.visibility_timeout, int)
        assert job_queue.visibility_timeout >= 2, "the suite needs a visibility timeout >= 2 s"
        await job_queue.check()

    async def test_round_trip(self, job_queue: JobQueue) -> None:
        job_id = _job_id()
        await job_queue.enqueue(job_id)
        delivery = await self._receive(job_queue)
        assert delivery.job_id == job_id
        # A job is no storage event (and a storage event is no "s3:" job id: StorageEvent).
        assert delivery.storage_event is None
        assert delivery.receive_count == 1
        assert delivery.receipt
        await job_queue.ack(delivery)
        # Acked means gone for good: not even after the visibility timeout has passed.
        again = await job_queue.receive(wait_seconds=job_queue.visibility_timeout + 1.5)
        assert again is None

    async def test_each_message_delivered(self, job_queue: JobQueue) -> None:
        ids = {_job_id() for _ in range(3)}
        for job_id in ids:
            await job_queue.enqueue(job_id)
        received = [await self._receive(job_queue) for _ in ids]
        assert {d.job_id for d in received} == ids
        assert len({d.receipt for d in received}) == 3
        for delivery in received:
            await job_queue.ack(delivery)

    async def test_in_flight_message_is_hidden(self, job_queue: JobQueue) -> None:
        await job_queue.enqueue(_job_id())
        first = await self._receive(job_queue)
        assert await job_queue.receive(wait_seconds=1) is None
        await job_queue.ack(first)

    async def test_concurrent_receivers_get_one_copy(self, job_queue: JobQueue) -> None:
        job_id = _job_id()
        await job_queue.enqueue(job_id)
        results = await asyncio.gather(
            job_queue.receive(wait_seconds=1), job_queue.receive(wait_seconds=1)
        )
        got = [d for d in results if d is not None]
        assert [d.job_id for d in got] == [job_id]
        await job_queue.ack(got[0])

    async def test_redelivered_after_visibility_timeout(self, job_queue: JobQueue) -> None:
        job_id = _job_id()
        await job_queue.enqueue(job_id)
        first = await self._receive(job_queue)
        second = await self._receive(job_queue, job_queue.visibility_timeout + _SLACK)
        assert second.job_id == job_id
        assert second.receive_count == 2
        assert second.receipt != first.receipt
        await job_queue.ack(second)

    async def test_extend_keeps_message_hidden(self, job_queue: JobQueue) -> None:
        vt = job_queue.visibility_timeout
        await job_queue.enqueue(_job_id())
        delivery = await self._receive(job_queue)
        await job_queue.extend(delivery, vt + 30)
        # Past the original deadline: still hidden because of the extension.
        assert await job_queue.receive(wait_seconds=vt + 1.5) is None
        await job_queue.ack(delivery)

    async def test_release_makes_message_visible(self, job_queue: JobQueue) -> None:
        job_id = _job_id()
        await job_queue.enqueue(job_id)
        delivery = await self._receive(job_queue)
        started = time.monotonic()
        await job_queue.release(delivery)
        again = await self._receive(job_queue, 2)
        # Well before the visibility timeout would have brought it back.
        assert time.monotonic() - started < job_queue.visibility_timeout + 1
        assert again.job_id == job_id
        assert again.receive_count == 2
        await job_queue.ack(again)

    async def test_stale_receipt_does_not_touch_redelivered_message(
        self, job_queue: JobQueue
    ) -> None:
        job_id = _job_id()
        await job_queue.enqueue(job_id)
        stale = await self._receive(job_queue)
        current = await self._receive(job_queue, job_queue.visibility_timeout + _SLACK)
        # The slow first worker finishes late: its calls must not raise ...
        await job_queue.extend(stale, job_queue.visibility_timeout)
        if not self.stale_receipts_are_ignored:
            await job_queue.ack(stale)
            await job_queue.ack(current)
            return
        # ... and must not affect the message the second worker now holds.
        await job_queue.ack(stale)
        await job_queue.release(stale)
        assert await job_queue.receive(wait_seconds=1) is None, "stale release showed it"
        await job_queue.release(current)
        third = await self._receive(job_queue)
        assert third.job_id == job_id
        assert third.receive_count == 3
        await job_queue.ack(third)

    async def test_empty_receive_returns_none_in_time(self, job_queue: JobQueue) -> None:
        started = time.monotonic()
        assert await job_queue.receive(wait_seconds=1) is None
        elapsed = time.monotonic() - started
        assert elapsed < 1 + _SLACK, f"receive(wait_seconds=1) took {elapsed:.1f} s"
        started = time.monotonic()
        assert await job_queue.receive(wait_seconds=0) is None
        assert time.monotonic() - started < _SLACK

    async def test_receive_wakes_up_for_new_message(self, job_queue: JobQueue) -> None:
        job_id = _job_id()

        async def later() -> None:
            await asyncio.sleep(0.5)
            await job_queue.enqueue(job_id)

        task = asyncio.create_task(later())
        started = time.monotonic()
        delivery = await self._receive(job_queue, 10)
        await task
        assert delivery.job_id == job_id
        # A long poll returns when the message arrives, not when the wait ends.
        assert time.monotonic() - started < 5
        await job_queue.ack(delivery)

    async def test_lanes_keep_long_jobs_apart(self, job_queue: JobQueue) -> None:
        lanes = job_lanes(job_queue)
        if lanes is None:
            pytest.skip("the queue keeps no lanes apart (not a JobLanes): nothing to check")
        long_id, short_id, plain_id = _job_id(), _job_id(), _job_id()
        await lanes.enqueue(long_id, lane=LONG)
        await lanes.enqueue(short_id, lane=SHORT)
        await job_queue.enqueue(plain_id)  # no lane: short
        shorts = []
        while (got := await lanes.receive(wait_seconds=1, lane=SHORT)) is not None:
            shorts.append(got)
        assert sorted(d.job_id for d in shorts) == sorted([short_id, plain_id])
        assert {d.lane for d in shorts} == {SHORT}
        long = await lanes.receive(wait_seconds=5, lane=LONG)
        assert long is not None and (long.job_id, long.lane) == (long_id, LONG)
        await job_queue.release(long)
        again = await lanes.receive(wait_seconds=5, lane=LONG)
        assert again is not None and (again.job_id, again.receive_count) == (long_id, 2)
        await job_queue.extend(again, 30)
        assert await lanes.receive(wait_seconds=1, lane=LONG) is None
        for delivery in [again, *shorts]:
            await job_queue.ack(delivery)
        await job_queue.release(again)  # acked: a stale receipt does nothing
        assert await lanes.receive(wait_seconds=1, lane=LONG) is None
        assert await lanes.receive(wait_seconds=0, lane=SHORT) is None

    async def test_errors_are_salon_types(self, unavailable_job_queue: JobQueue) -> None:
        with pytest.raises(QueueUnavailable):
            await unavailable_job_queue.enqueue(_job_id())
        with pytest.raises(ConfigurationError):
            await unavailable_job_queue.check()
