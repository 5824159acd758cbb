"""The built-in job queue ("local"): messages kept in the core database.

Messages live in the ``queue_messages`` table, so jobs queued before a restart are still there
after it, and several worker processes sharing one database (SQLite file or PostgreSQL) can
consume the same queue. Semantics match SQS: at-least-once delivery, a visibility timeout, a
receive count, and receipts that change on every delivery.

Claiming a message is one ``UPDATE ... WHERE id = (SELECT ... LIMIT 1) RETURNING`` statement:

- on PostgreSQL the subquery carries ``FOR UPDATE SKIP LOCKED``, so concurrent receivers each
  take a different row without waiting for one another;
- on SQLite writers are serialised by the database lock and the statement is the first one of
  its transaction, so the subquery and the update see the same snapshot (a ``SELECT`` first and
  an ``UPDATE`` later would fail with ``SQLITE_BUSY_SNAPSHOT`` under WAL when another process
  wrote in between).

The outer ``visible_at <= now`` guard repeats the subquery's condition so a row claimed by
someone else in between is never claimed twice.

Fair scheduling (start-time fair queuing): each message carries its job's owner
(``group_key``) and a ``turn``: the larger of the lowest turn still in the table and one more
than the owner's last queued turn. Receivers take the lowest turn, oldest first among equals.
So owners take turns: one user's three long videos get turns 0, 1, 2, and another user's import
queued after them gets turn 0 (or the current lowest) and runs next, instead of waiting behind
all three as plain FIFO had it.

Lanes (:class:`~salon.providers.JobLanes`): each message has a ``lane``, ``short`` or ``long``
(a video), and a receive takes from one lane only, so the worker's short slot finds an import
at once while every long slot is busy. Turns are taken within a lane.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress
from typing import Any

import msgspec
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon import hookimpl
from salon.db.models import Job, QueueMessage
from salon.errors import ConfigurationError, QueueUnavailable
from salon.providers import JOB_LANES, SHORT, Delivery, ProviderContext

__all__ = ["DEFAULT_VISIBILITY_TIMEOUT", "LocalQueue", "LocalQueueSettings"]

log = logging.getLogger("salon.queue.local")

DEFAULT_VISIBILITY_TIMEOUT = 60
# How often an idle receiver looks at the table when no in-process enqueue woke it: the bound
# on latency for messages enqueued by another process.
DEFAULT_POLL_INTERVAL = 0.5


class LocalQueueSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """``SALON_LOCAL_QUEUE_VISIBILITY_TIMEOUT`` (seconds a received job stays hidden without a
    heartbeat) and ``SALON_LOCAL_QUEUE_POLL_INTERVAL`` (how often idle receivers look for
    messages enqueued by other processes)."""

    visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT
    poll_interval: float = DEFAULT_POLL_INTERVAL

    def __post_init__(self) -> None:
        if self.visibility_timeout < 1:
            raise ValueError("visibility_timeout must be at least 1 second")
        if not 0 < self.poll_interval <= 60:
            raise ValueError("poll_interval must be in (0, 60] seconds")


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


class LocalQueue:
    """A :class:`~salon.providers.JobQueue` on the core database.

    It keeps lanes apart (:class:`~salon.providers.JobLanes`). ``ack``, ``extend`` and
    ``release`` act only while the receipt is the message's current one:
    after the visibility timeout has passed and the message was delivered again, the old
    receipt no longer matches and these calls do nothing (they do not raise), exactly so a slow
    worker cannot delete or hide a message another worker now owns.
    """

    def __init__(
        self,
        session_maker: async_sessionmaker[AsyncSession],
        *,
        visibility_timeout: int = DEFAULT_VISIBILITY_TIMEOUT,
        poll_interval: float = DEFAULT_POLL_INTERVAL,
    ) -> None:
        if visibility_timeout <= 0:
            raise ConfigurationError("visibility_timeout must be positive")
        self.visibility_timeout = visibility_timeout
        self._session_maker = session_maker
        self._poll_interval = poll_interval
        # Woken by enqueue in this process, per lane; receivers in other processes poll.
        self._wakeups: dict[str, set[asyncio.Event]] = {lane: set() for lane in JOB_LANES}

    lanes_apart = True

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> LocalQueue:
        """The factory the plugin registers: needs the core database."""
        if ctx.database is None:
            raise ConfigurationError("the local queue needs the core database")
        settings = ctx.settings if isinstance(ctx.settings, LocalQueueSettings) else None
        settings = settings or LocalQueueSettings()
        return cls(
            ctx.database,
            visibility_timeout=settings.visibility_timeout,
            poll_interval=settings.poll_interval,
        )

    @asynccontextmanager
    async def _session(self, operation: str) -> AsyncIterator[AsyncSession]:
        """One transaction; database errors become QueueUnavailable (the one boundary)."""
        try:
            async with self._session_maker() as session, session.begin():
                yield session
        except SQLAlchemyError as exc:
            # The SQL text and parameters may be long; the exception's class is enough here.
            log.warning("local queue %s failed: %r", operation, exc)
            raise QueueUnavailable(f"local queue {operation} failed: {type(exc).__name__}") from exc

    async def enqueue(self, job_id: str, *, lane: str = SHORT) -> None:
        """Store a message for ``job_id`` in ``lane``, visible at once, at its owner's next
        turn in that lane."""
        _check_lane(lane)
        async with self._session("enqueue") as session:
            group = await _owner_of(session, job_id)
            turn = await _next_turn(session, group, lane)
            session.add(
                QueueMessage(
                    job_id=job_id,
                    group_key=group,
                    turn=turn,
                    lane=lane,
                    visible_at=_now(),
                    receive_count=0,
                )
            )
        for event in tuple(self._wakeups[lane]):
            event.set()

    async def receive(self, *, wait_seconds: float, lane: str = SHORT) -> Delivery | None:
        """Claim one visible message of ``lane``, waiting up to ``wait_seconds`` for one."""
        _check_lane(lane)
        deadline = time.monotonic() + max(wait_seconds, 0.0)
        event = asyncio.Event()
        self._wakeups[lane].add(event)
        try:
            while True:
                event.clear()
                delivery = await self._claim(lane)
                remaining = deadline - time.monotonic()
                if delivery is not None or remaining <= 0:
                    return delivery
                with suppress(TimeoutError):
                    await asyncio.wait_for(event.wait(), min(self._poll_interval, remaining))
        finally:
            self._wakeups[lane].discard(event)

    async def _claim(self, lane: str) -> Delivery | None:
        now = _now()
        token = uuid.uuid4().hex
        candidate = (
            select(QueueMessage.id)
            .where(QueueMessage.visible_at <= now, QueueMessage.lane == lane)
            .order_by(QueueMessage.turn, QueueMessage.visible_at, QueueMessage.id)
            .limit(1)
            .with_for_update(skip_locked=True)
            .scalar_subquery()
        )
        statement = (
            update(QueueMessage)
            .where(QueueMessage.id == candidate, QueueMessage.visible_at <= now)
            .values(
                visible_at=now + dt.timedelta(seconds=self.visibility_timeout),
                receive_count=QueueMessage.receive_count + 1,
                receipt=token,
            )
            .returning(QueueMessage.id, QueueMessage.job_id, QueueMessage.receive_count)
            .execution_options(synchronize_session=False)
        )
        async with self._session("receive") as session:
            row = (await session.execute(statement)).first()
        if row is None:
            return None
        message_id, job_id, receive_count = row
        receipt = f"{message_id}.{token}"
        return Delivery(job_id=job_id, receipt=receipt, receive_count=receive_count, lane=lane)

    @staticmethod
    def _parse_receipt(delivery: Delivery) -> tuple[uuid.UUID, str] | None:
        message_id, _, token = delivery.receipt.partition(".")
        try:
            return uuid.UUID(message_id), token
        except ValueError:
            return None

    async def ack(self, delivery: Delivery) -> None:
        """Delete the message if ``delivery`` is still its current receipt."""
        parsed = self._parse_receipt(delivery)
        if parsed is None:
            return
        message_id, token = parsed
        async with self._session("ack") as session:
            result: Any = await session.execute(
                delete(QueueMessage)
                .where(QueueMessage.id == message_id, QueueMessage.receipt == token)
                .execution_options(synchronize_session=False)
            )
        if result.rowcount == 0:
            log.info("ack of job %s ignored: the receipt is no longer current", delivery.job_id)

    async def extend(self, delivery: Delivery, seconds: int) -> None:
        """Keep the message hidden for ``seconds`` from now (a heartbeat)."""
        await self._set_visible_at(delivery, _now() + dt.timedelta(seconds=seconds), "extend")

    async def release(self, delivery: Delivery) -> None:
        """Make the message visible again at once."""
        await self._set_visible_at(delivery, _now(), "release")

    async def _set_visible_at(self, delivery: Delivery, when: dt.datetime, operation: str) -> None:
        parsed = self._parse_receipt(delivery)
        if parsed is None:
            return
        message_id, token = parsed
        async with self._session(operation) as session:
            await session.execute(
                update(QueueMessage)
                .where(QueueMessage.id == message_id, QueueMessage.receipt == token)
                .values(visible_at=when)
                .execution_options(synchronize_session=False)
            )

    async def pending(self) -> int:
        """How many messages the queue holds (visible or in flight): for metrics and tests."""
        async with self._session("count") as session:
            count = await session.scalar(select(func.count()).select_from(QueueMessage))
        return int(count or 0)

    async def check(self) -> None:
        """Readiness: the queue table can be read."""
        try:
            await self.pending()
        except QueueUnavailable as exc:
            raise ConfigurationError(f"local queue is not usable: {exc}") from exc

    async def close(self) -> None:
        """Nothing to close: the engine belongs to the runtime."""
        for events in self._wakeups.values():
            for event in tuple(events):
                event.set()


def _check_lane(lane: str) -> None:
    if lane not in JOB_LANES:
        raise ValueError(f"lane {lane!r} is not one of {', '.join(JOB_LANES)}")


async def _owner_of(session: AsyncSession, job_id: str) -> str | None:
    """The owner of the job ``job_id`` names, as a group key; None for anything else."""
    try:
        key = uuid.UUID(job_id)
    except ValueError:
        return None
    owner = await session.scalar(select(Job.owner_id).where(Job.id == key))
    return str(owner) if owner is not None else None


async def _next_turn(session: AsyncSession, group: str | None, lane: str) -> int:
    """The lowest turn in the lane, or one more than the group's last turn there if that is
    later. Two enqueues racing may pick the same turn: a tie, broken by age."""
    in_lane = QueueMessage.lane == lane
    lowest = await session.scalar(select(func.min(QueueMessage.turn)).where(in_lane))
    last = await session.scalar(
        select(func.max(QueueMessage.turn)).where(
            in_lane, QueueMessage.group_key.is_not_distinct_from(group)
        )
    )
    return max(int(lowest or 0), -1 if last is None else int(last) + 1)


@hookimpl
def register_settings(register: Any) -> None:
    """``SALON_LOCAL_QUEUE_*``: see :class:`LocalQueueSettings`."""
    register("LOCAL_QUEUE", LocalQueueSettings)


@hookimpl
def register_job_queues(register: Any) -> None:
    """Offer the database-backed queue as ``local`` (the default ``SALON_QUEUE``)."""
    register("local", LocalQueue.from_context)
