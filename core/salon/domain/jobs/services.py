"""Jobs: creating them (row first, then the queue message) and the status transitions the
worker makes. Every transition is one conditional ``UPDATE``, so two workers that received the
same message (queues deliver at least once) cannot both run a job or undo each other's result.

Status: ``queued`` -> ``running`` -> ``succeeded`` | ``failed``; a failed attempt that will be
retried goes back to ``queued`` with its error kept for the client to see. The owner may move a
queued or running job to ``cancelled`` (:func:`cancel_job`): a worker never claims it, and the
worker running it notices within a second and cancels the handler (ffmpeg killed, scratch
removed).

A running job's ``updated_at`` is its lease: the worker touches it with every heartbeat. A job
whose lease is older than the queue's visibility timeout belongs to a worker that died, and
the next worker to receive its message may take it over.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import enum
import logging
import uuid
from collections.abc import AsyncIterator, Mapping
from typing import Any

from sqlalchemy import delete, func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon.db.models import Job
from salon.domain.admission import owner_turn
from salon.domain.ports import JobPorts
from salon.errors import Conflict, ObjectNotFound, ProviderError, QueueUnavailable, TooManyRequests
from salon.providers import SHORT, JobQueue, job_lanes

__all__ = [
    "CANCELLED",
    "FINISHED",
    "MAX_ERROR_LENGTH",
    "ClaimOutcome",
    "cancel_job",
    "check_job_limit",
    "claim_job",
    "create_job",
    "fail_job",
    "get_job",
    "job_admission",
    "job_status",
    "queue_job",
    "record_progress",
    "requeue_job",
    "short_error",
    "succeed_job",
    "touch_job",
]

log = logging.getLogger("salon.jobs")

QUEUED, RUNNING, SUCCEEDED, FAILED = "queued", "running", "succeeded", "failed"
CANCELLED = "cancelled"
FINISHED = frozenset({SUCCEEDED, FAILED, CANCELLED})
CANCELLED_ERROR = "cancelled by its owner"
# Job kinds the core queues on its own (not at a user's request): not counted by the limit.
_INTERNAL_KINDS = ("image.renditions",)
LIMIT_RETRY_AFTER = 30
MAX_ERROR_LENGTH = 300

SessionMaker = async_sessionmaker[AsyncSession]


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _uuid(job_id: str | uuid.UUID) -> uuid.UUID | None:
    if isinstance(job_id, uuid.UUID):
        return job_id
    try:
        return uuid.UUID(job_id)
    except ValueError:
        return None


def short_error(exc: BaseException) -> str:
    """The error a client sees: the exception's first line, bounded. Handlers are told (in
    hookspecs) that their exception messages are shown, so they must not carry secrets.
    A service that failed (a provider, a connection) is named only by kind: its text holds
    addresses and names that are the server's business (the worker logs it)."""
    if isinstance(exc, ProviderError) and not isinstance(exc, ObjectNotFound):
        return "a service the job needs failed; try again later"
    if isinstance(exc, ConnectionError | TimeoutError):
        return "a connection the job needs failed; try again later"
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:MAX_ERROR_LENGTH]


async def create_job(
    session_maker: SessionMaker,
    queue: JobQueue,
    *,
    kind: str,
    owner_id: uuid.UUID | None,
    payload: Mapping[str, Any],
    lane: str = SHORT,
) -> Job:
    """Record a queued job, then send its id to the queue, in ``lane`` when the queue keeps
    lanes apart (``Runtime.lane_of(kind)``: a video's is ``"long"``).

    The row is committed first so a worker that receives the message at once finds it. If the
    queue refuses the message the row is deleted again and :class:`QueueUnavailable` re-raised:
    no job is left that nothing would ever run.
    """
    job = Job(kind=kind, owner_id=owner_id, payload=dict(payload), status=QUEUED)
    async with session_maker() as session, session.begin():
        session.add(job)
    lanes = job_lanes(queue)
    try:
        if lanes is not None:
            await lanes.enqueue(str(job.id), lane=lane)
        else:
            await queue.enqueue(str(job.id))
    except QueueUnavailable:
        async with session_maker() as session, session.begin():
            await session.execute(delete(Job).where(Job.id == job.id))
        raise
    return job


async def queue_job(
    ports: JobPorts, *, kind: str, owner_id: uuid.UUID | None, payload: Mapping[str, Any]
) -> Job:
    """:func:`create_job` in the lane of ``kind`` (a video's is ``"long"``)."""
    return await create_job(
        ports.session_maker,
        ports.queue,
        kind=kind,
        owner_id=owner_id,
        payload=payload,
        lane=ports.lane_of(kind),
    )


async def check_job_limit(session_maker: SessionMaker, owner_id: uuid.UUID, limit: int) -> None:
    """Refuse (429) a new job when ``owner_id`` already has ``limit`` queued or running: one
    account must not fill the queue everyone shares (issue 17: 40 videos in a row were
    accepted). Call it through :func:`job_admission`, which keeps parallel requests of one
    owner from all passing the count."""
    statement = select(func.count()).where(
        Job.owner_id == owner_id,
        Job.status.in_((QUEUED, RUNNING)),
        Job.kind.not_in(_INTERNAL_KINDS),
    )
    async with session_maker() as session:
        count = int(await session.scalar(statement) or 0)
    if count >= limit:
        raise TooManyRequests(
            f"you have {count} jobs queued or running (the limit is {limit}): wait for one to "
            "finish, or cancel one with POST /api/jobs/{id}/cancel",
            retry_after=LIMIT_RETRY_AFTER,
        )


@contextlib.asynccontextmanager
async def job_admission(
    session_maker: SessionMaker, owner_id: uuid.UUID, limit: int
) -> AsyncIterator[None]:
    """:func:`check_job_limit`, then the body (which queues the job), with no other admission
    of the same owner in this process in between (:mod:`salon.domain.admission`)."""
    async with owner_turn("jobs", owner_id):
        await check_job_limit(session_maker, owner_id, limit)
        yield


async def cancel_job(session_maker: SessionMaker, job: Job) -> bool:
    """Move the owner's queued or running ``job`` to ``cancelled``; raises :class:`Conflict`
    when it has already finished. A running job's worker sees it (:func:`job_status`) and
    cancels its handler."""
    if await _set(
        session_maker,
        job.id,
        (QUEUED, RUNNING),
        status=CANCELLED,
        error=CANCELLED_ERROR,
        finished_at=_now(),
    ):
        return True
    status = await job_status(session_maker, job.id)
    if status == CANCELLED:
        return False  # cancelled twice: the same answer
    raise Conflict(f"the job has already {status}; there is nothing to cancel")


async def job_status(session_maker: SessionMaker, job_id: uuid.UUID) -> str | None:
    """The job's status now (a worker's cancellation check); None when it is gone."""
    async with session_maker() as session:
        status = await session.scalar(select(Job.status).where(Job.id == job_id))
    return None if status is None else str(status)


async def get_job(session: AsyncSession, job_id: uuid.UUID, owner_id: uuid.UUID) -> Job | None:
    """The job if it exists and belongs to ``owner_id`` (not-yours and not-there look alike)."""
    result = await session.execute(select(Job).where(Job.id == job_id, Job.owner_id == owner_id))
    return result.scalar_one_or_none()


async def load_job(session_maker: SessionMaker, job_id: str | uuid.UUID) -> Job | None:
    """Any job by id (for the worker); ``None`` for a malformed or unknown id."""
    key = _uuid(job_id)
    if key is None:
        return None
    async with session_maker() as session:
        return await session.get(Job, key)


class ClaimOutcome(enum.Enum):
    """What :func:`claim_job` found."""

    CLAIMED = "claimed"  # this worker now runs the job
    FINISHED = "finished"  # already succeeded or failed: a duplicate delivery
    BUSY = "busy"  # another worker runs it and its lease is fresh
    MISSING = "missing"  # no such job (deleted, or a message that is not a job)


async def claim_job(
    session_maker: SessionMaker, job_id: str | uuid.UUID, *, lease_seconds: float
) -> tuple[ClaimOutcome, Job | None]:
    """Move the job to ``running`` and count the attempt, if nobody else holds it.

    A ``running`` job whose lease (``updated_at``) is older than ``lease_seconds`` is taken over:
    its worker stopped heartbeating, so it died.
    """
    key = _uuid(job_id)
    if key is None:
        return ClaimOutcome.MISSING, None
    now = _now()
    stale_before = now - dt.timedelta(seconds=lease_seconds)
    statement = (
        update(Job)
        .where(
            Job.id == key,
            (Job.status == QUEUED) | ((Job.status == RUNNING) & (Job.updated_at < stale_before)),
        )
        .values(status=RUNNING, attempts=Job.attempts + 1, started_at=now, updated_at=now)
        .returning(Job)
        .execution_options(synchronize_session=False)
    )
    async with session_maker() as session, session.begin():
        claimed = (await session.execute(statement)).scalar_one_or_none()
        if claimed is not None:
            return ClaimOutcome.CLAIMED, claimed
        job = await session.get(Job, key)
    if job is None:
        return ClaimOutcome.MISSING, None
    if job.status in FINISHED:
        return ClaimOutcome.FINISHED, job
    return ClaimOutcome.BUSY, job


async def _set(
    session_maker: SessionMaker,
    job_id: uuid.UUID,
    allowed: tuple[str, ...],
    **values: Any,
) -> bool:
    statement = (
        update(Job)
        .where(Job.id == job_id, Job.status.in_(allowed))
        .values(updated_at=_now(), **values)
        .execution_options(synchronize_session=False)
    )
    async with session_maker() as session, session.begin():
        result: Any = await session.execute(statement)
    return bool(result.rowcount)


async def touch_job(session_maker: SessionMaker, job_id: uuid.UUID) -> bool:
    """Renew a running job's lease (the worker's heartbeat)."""
    return await _set(session_maker, job_id, (RUNNING,))


async def record_progress(session_maker: SessionMaker, job_id: uuid.UUID, fraction: float) -> bool:
    """Store progress in [0, 1] on a running job; also renews its lease."""
    return await _set(session_maker, job_id, (RUNNING,), progress=min(max(fraction, 0.0), 1.0))


async def succeed_job(
    session_maker: SessionMaker, job_id: uuid.UUID, result: Mapping[str, Any] | None
) -> bool:
    """Record the result. False when the job had already finished (another worker won)."""
    return await _set(
        session_maker,
        job_id,
        (QUEUED, RUNNING),
        status=SUCCEEDED,
        progress=1.0,
        result=dict(result) if result is not None else None,
        error=None,
        finished_at=_now(),
    )


async def fail_job(session_maker: SessionMaker, job_id: uuid.UUID, error: str) -> bool:
    """Mark an unfinished job failed for good with a short reason."""
    return await _set(
        session_maker,
        job_id,
        (QUEUED, RUNNING),
        status=FAILED,
        error=error[:MAX_ERROR_LENGTH],
        finished_at=_now(),
    )


async def requeue_job(
    session_maker: SessionMaker, job_id: uuid.UUID, error: str | None = None
) -> bool:
    """Put a running job back to ``queued`` (an attempt failed and will be retried, or the
    worker is shutting down); ``error`` is the failed attempt's reason, kept for the client."""
    values: dict[str, Any] = {"status": QUEUED}
    if error is not None:
        values["error"] = error[:MAX_ERROR_LENGTH]
    return await _set(session_maker, job_id, (RUNNING,), **values)
