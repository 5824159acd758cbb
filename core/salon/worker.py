"""The worker: receives job ids from the selected queue and runs the registered job handlers.

Jobs run in slots, one job per slot at a time. Each job kind has a lane, ``long`` (a video:
CPU bound, minutes) or ``short`` (everything else), declared where its handler is registered;
the worker runs ``short_slots`` slots that receive only short jobs and ``long_slots`` that
receive only long ones (``SALON_WORKER_SHORT_SLOTS`` / ``SALON_WORKER_LONG_SLOTS``, 1 and 1),
so an import never waits behind a video even while every long slot renders one. That needs a
queue that keeps lanes apart (:class:`~salon.providers.JobLanes`: the local queue, SQS with
its long-jobs queue); another queue is served by ``long_slots`` slots (``short_slots`` when
that is 0) taking every job. Scale out with processes or ECS tasks. For every delivery a slot:

1. claims the job row (``queued`` -> ``running``, attempts + 1) with one conditional update. A
   job that already finished is a duplicate delivery: the message is acked and nothing runs. A
   job another live worker is running is left alone (its message comes back later).
2. gives up on a job that already used ``max_attempts`` attempts (marks it failed, acks).
3. runs the handler while a heartbeat extends the message's visibility and renews the job's
   lease every ``visibility_timeout / 3`` seconds.
4. on success records the result, *then* acks, so a crash in between re-delivers a job whose
   result is already recorded (acked as a duplicate) rather than losing it.
5. on failure records a short reason and either makes the message visible again after a
   backoff (a retry) or, on the last attempt, marks the job failed and acks.

Poison messages: a job whose handler raises is failed by the worker after ``max_attempts``. A
job whose attempts never end (the worker is killed every time) is caught by the queue: on SQS
the redrive policy moves the message to the dead-letter queue after ``max_receives`` receives,
and the worker sweeps that queue (queues that offer :class:`DeadLetterQueue`) and marks those
jobs failed; on the local queue the claim step sees ``attempts >= max_attempts`` and fails it.

Shutdown (SIGTERM/SIGINT, or ``stop_event``): stop receiving, give the running jobs
``grace_seconds`` to finish, else cancel them, put them back to ``queued`` and release their
messages; then return. ECS sends SIGKILL 30 s after SIGTERM, hence the 25 s default.

Run it with ``salon worker`` (or ``python -m salon.worker``), or in the web process with
:func:`start_inprocess_worker` (the embedded default).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import importlib
import logging
import math
import signal
import time
import uuid
import warnings
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from salon import logs, metrics
from salon.composition import CoreServices, JobServices, ServiceByName, compose, service_by_name
from salon.context import SalonContext, handler_context
from salon.domain.jobs import services as jobs
from salon.domain.jobs.services import ClaimOutcome
from salon.errors import QueueUnavailable, SourceRateLimited
from salon.providers import (
    LONG,
    SHORT,
    DeadLetterQueue,
    Delivery,
    JobHandler,
    JobQueue,
    LongPollLimit,
    RedeliveryLimit,
    StorageBackend,
    StorageEvent,
    job_lanes,
)
from salon.runtime import Runtime
from salon.task_protection import SharedProtection, TaskProtection

MAX_RETRY_AFTER = 12 * 3600.0

__all__ = [
    "STORAGE_EVENT_KIND",
    "STORAGE_EVENT_PREFIX",
    "DeadLetterQueue",
    "InprocessWorker",
    "Worker",
    "WorkerConfig",
    "run_worker",
    "start_inprocess_worker",
    "storage_event_of",
]

log = logging.getLogger("salon.worker")

STORAGE_EVENT_PREFIX = "s3:"
"""Deprecated: a delivery whose ``job_id`` starts with this is read as a storage event for the
key after it (with a DeprecationWarning). Queues return ``Delivery(storage_event=...)``."""
STORAGE_EVENT_KIND = "storage.object_created"
"""The job-handler kind that receives storage events (payload ``{"key": ...}``), if any."""


@dataclass(frozen=True, slots=True)
class WorkerConfig:
    """How the worker behaves; the defaults suit production.

    ``max_attempts`` defaults to the queue's ``max_receives`` attribute when it has one (so the
    worker gives up at the same count as an SQS redrive policy), else 5.
    """

    wait_seconds: float = 20.0
    max_attempts: int | None = None
    grace_seconds: float = 25.0
    progress_interval: float = 1.0
    retry_backoff: float = 2.0
    max_retry_backoff: float = 300.0
    idle_backoff: float = 5.0
    dead_letter_interval: float = 60.0
    # How often abandoned direct uploads are deleted (SALON_UPLOAD_CLEANUP_INTERVAL); 0: never.
    upload_cleanup_interval: float = 300.0
    # How often a running job's status is read to see whether its owner cancelled it.
    cancel_poll: float = 1.0
    # Jobs run at once per lane (SALON_WORKER_SHORT_SLOTS / SALON_WORKER_LONG_SLOTS).
    short_slots: int = 1
    long_slots: int = 1

    @classmethod
    def of(cls, runtime: Runtime, **overrides: Any) -> WorkerConfig:
        """The config the settings ask for (slots, cleanup interval), with ``overrides``."""
        core = runtime.core
        values: dict[str, Any] = {
            "upload_cleanup_interval": float(core.upload_cleanup_interval),
            "short_slots": core.worker_short_slots,
            "long_slots": core.worker_long_slots,
        }
        return cls(**(values | overrides))


class JobCancelled(Exception):
    """The job's owner cancelled it while it ran; its handler was cancelled."""


class _Context(JobServices):
    """The :class:`~salon.providers.JobContext` a handler gets; the core's own handlers read
    its typed ``core_services`` (salon.composition.job_services)."""

    def __init__(
        self,
        worker: Worker,
        *,
        job_id: str,
        job_uuid: uuid.UUID | None,
        kind: str,
        owner_id: str | None,
        payload: Mapping[str, Any],
        attempt: int,
    ) -> None:
        self.job_id = job_id
        self.kind = kind
        self.owner_id = owner_id
        self.payload = payload
        self.attempt = attempt
        self.storage: StorageBackend = worker.storage
        self.core_services = worker.services
        self._worker = worker
        self._job_uuid = job_uuid
        self._last_write = 0.0
        self.last_progress = 0.0

    async def progress(self, fraction: float) -> None:
        """Record progress, at most once per ``progress_interval`` (and always at 1.0)."""
        self.last_progress = min(max(float(fraction), 0.0), 1.0)
        now = time.monotonic()
        due = now - self._last_write >= self._worker.config.progress_interval
        if self._job_uuid is None or not (due or self.last_progress >= 1.0):
            return
        self._last_write = now
        try:
            await jobs.record_progress(
                self._worker.session_maker, self._job_uuid, self.last_progress
            )
        except Exception as exc:
            # Progress is advisory: a failed write must not fail the job.
            log.warning("job %s: progress not recorded: %r", self.job_id, exc)

    @property
    def salon(self) -> SalonContext:
        """The context of the plugin that registered this job's handler."""
        contexts = self._worker.contexts
        if contexts is None:
            raise NotImplementedError("this worker was built without a runtime: no context")
        return contexts(self.kind)

    @property
    def service(self) -> ServiceByName:
        """Deprecated (see :attr:`salon.providers.JobContext.service`): a core service by name."""
        return service_by_name(self.core_services)


@dataclass(slots=True)
class Worker:
    """Runs job handlers for deliveries from ``queue``. See the module docstring."""

    queue: JobQueue
    session_maker: async_sessionmaker[AsyncSession]
    handlers: Mapping[str, JobHandler]
    storage: StorageBackend
    # The process's core services (salon.composition); None in a bare worker (tests).
    services: CoreServices | None = None
    # A job kind's SalonContext: that of the plugin that registered its handler.
    contexts: Callable[[str], SalonContext] | None = None
    config: WorkerConfig = field(default_factory=WorkerConfig)
    # Keeps ECS from scaling this task in while a job runs (None outside ECS).
    protection: TaskProtection | None = None
    jobs_handled: int = 0
    uploads_removed: int = 0
    _last_sweep: float = field(default=-math.inf)
    _last_cleanup: float = field(default=-math.inf)
    _last_purge: float = field(default=-math.inf)
    trash_purged: int = 0
    _shared: SharedProtection | None = None

    @classmethod
    def from_runtime(cls, runtime: Runtime, config: WorkerConfig | None = None) -> Worker:
        config = config or WorkerConfig.of(runtime)
        return cls(
            queue=runtime.queue,
            session_maker=runtime.session_maker,
            handlers=runtime.job_handlers,
            storage=runtime.storage,
            services=runtime.composed,
            contexts=lambda kind: handler_context(runtime, kind),
            config=config,
        )

    @property
    def max_attempts(self) -> int:
        if self.config.max_attempts is not None:
            return self.config.max_attempts
        if isinstance(self.queue, RedeliveryLimit):
            return int(self.queue.max_receives) or 5
        return 5

    @property
    def receive_wait(self) -> float:
        """The long-poll wait: the config's, or the queue's own ``wait_seconds`` if shorter.

        A receive abandoned at shutdown may still hold a thread (SQS) for this long, so it also
        bounds how long an idle worker takes to exit after SIGTERM.
        """
        if isinstance(self.queue, LongPollLimit):
            return min(self.config.wait_seconds, float(self.queue.wait_seconds))
        return self.config.wait_seconds

    @property
    def visibility_timeout(self) -> int:
        return int(self.queue.visibility_timeout)

    # ------------------------------------------------------------------ the loop

    def slots(self) -> list[tuple[str | None, int]]:
        """``(lane, slots)`` this worker runs; lane None takes every job (a queue without
        lanes, see the module docstring)."""
        if job_lanes(self.queue) is None:
            return [(None, self.config.long_slots or self.config.short_slots)]
        lanes = ((SHORT, self.config.short_slots), (LONG, self.config.long_slots))
        return [(lane, count) for lane, count in lanes if count > 0]

    async def run(self, stop: asyncio.Event | None = None, *, once: bool = False) -> None:
        """Receive and handle deliveries in every slot until ``stop`` is set; with ``once``,
        handle at most one (the short lane waited for, the long lane looked at)."""
        stop = stop or asyncio.Event()
        slots = self.slots()
        log.info(
            "worker started: handlers %s, slots %s, visibility timeout %d s, max attempts %d",
            ", ".join(sorted(self.handlers)) or "none",
            ", ".join(f"{count} {lane or 'any'}" for lane, count in slots),
            self.visibility_timeout,
            self.max_attempts,
        )
        if once:
            for index, (lane, _count) in enumerate(slots):
                if await self._step(lane, stop, self.receive_wait if index == 0 else 0.0):
                    break
        else:
            async with asyncio.TaskGroup() as group:
                for lane, count in slots:
                    for number in range(count):
                        name = f"salon-worker-{lane or 'any'}-{number}"
                        group.create_task(self._slot(lane, stop), name=name)
        log.info("worker stopped after %d job(s)", self.jobs_handled)

    async def _slot(self, lane: str | None, stop: asyncio.Event) -> None:
        """One slot: receive from ``lane`` and handle, one job at a time, until ``stop``."""
        while not stop.is_set():
            if not await self._step(lane, stop, self.receive_wait) and self.receive_wait <= 0:
                await _sleep_unless(stop, 1.0)  # short polling: do not spin

    async def _step(self, lane: str | None, stop: asyncio.Event, wait: float) -> bool:
        """The chores that are due, then one receive from ``lane`` (waiting up to ``wait``)
        and the delivery's handling. True when there was a delivery."""
        await self._maybe_sweep_dead_letters()
        await self._maybe_clean_uploads()
        await self._maybe_purge_trash()
        try:
            delivery = await self._receive(stop, lane, wait)
        except QueueUnavailable as exc:
            log.warning("queue unavailable, retrying in %.0f s: %s", self.config.idle_backoff, exc)
            await _sleep_unless(stop, self.config.idle_backoff)
            return False
        except Exception as exc:
            # A queue plugin that lets a driver error through (a database refusing
            # connections) must not end the worker: it backs off as for QueueUnavailable.
            log.warning(
                "queue receive failed, retrying in %.0f s: %s",
                self.config.idle_backoff,
                type(exc).__name__,
            )
            await _sleep_unless(stop, self.config.idle_backoff)
            return False
        if delivery is None:
            return False
        try:
            async with self._protected():
                await self.handle(delivery, stop)
        except Exception:
            # The message was not acked, so it comes back: nothing is lost.
            log.exception("worker failed handling job %s", delivery.job_id)
            await _sleep_unless(stop, self.config.idle_backoff)
        return True

    def _protected(self) -> contextlib.AbstractAsyncContextManager[None]:
        if self.protection is None:
            return contextlib.nullcontext()
        if self._shared is None:
            # Held while any slot runs a job (slots share one task).
            self._shared = SharedProtection(self.protection)
        return self._shared.held()

    async def _receive(self, stop: asyncio.Event, lane: str | None, wait: float) -> Delivery | None:
        """Long-poll ``lane`` of the queue, returning early (with None) when ``stop`` is set."""
        lanes = job_lanes(self.queue)
        call = (
            self.queue.receive(wait_seconds=wait)
            if lane is None or lanes is None
            else lanes.receive(wait_seconds=wait, lane=lane)
        )
        receiving = asyncio.ensure_future(call)
        stopping = asyncio.ensure_future(stop.wait())
        try:
            await asyncio.wait({receiving, stopping}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            stopping.cancel()
            if not receiving.done():
                # A message claimed by the abandoned call comes back after the visibility timeout.
                receiving.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await receiving
        if receiving.cancelled():
            return None
        return receiving.result()

    # ------------------------------------------------------------------ one delivery

    async def handle(self, delivery: Delivery, stop: asyncio.Event | None = None) -> None:
        """Handle one delivery completely: run, record, ack or release."""
        stop = stop or asyncio.Event()
        with logs.bind(job_id=delivery.job_id):
            await self._handle(delivery, stop)

    async def _handle(self, delivery: Delivery, stop: asyncio.Event) -> None:
        if (event := storage_event_of(delivery)) is not None:
            await self._handle_storage_event(delivery, event, stop)
            return
        lease = self.visibility_timeout * 2 / 3
        outcome, job = await jobs.claim_job(
            self.session_maker, delivery.job_id, lease_seconds=lease
        )
        if outcome is ClaimOutcome.MISSING:
            log.warning("message for unknown job %r dropped", delivery.job_id)
            await self.queue.ack(delivery)
            return
        if outcome is ClaimOutcome.FINISHED:
            log.info("job %s already finished: duplicate delivery acked", delivery.job_id)
            await self.queue.ack(delivery)
            return
        if outcome is ClaimOutcome.BUSY or job is None:
            # Another worker holds a fresh lease; if it dies the message comes back to us.
            log.info("job %s is running elsewhere; leaving its message", delivery.job_id)
            return
        if job.attempts > self.max_attempts:
            reason = f"gave up after {self.max_attempts} attempts"
            await self._give_up(delivery, job.id, reason, kind=job.kind)
            return
        handler = self.handlers.get(job.kind)
        if handler is None:
            reason = f"no handler for job kind {job.kind!r}"
            await self._give_up(delivery, job.id, reason, kind=job.kind)
            return
        context = _Context(
            self,
            job_id=str(job.id),
            job_uuid=job.id,
            kind=job.kind,
            owner_id=str(job.owner_id) if job.owner_id else None,
            payload=job.payload or {},
            attempt=job.attempts,
        )
        log.info(
            "job %s (%s, %s lane) attempt %d started", job.id, job.kind, delivery.lane, job.attempts
        )
        started = time.monotonic()
        finished, result, error = await self._run_handler(handler, context, delivery, stop)
        if isinstance(error, JobCancelled):
            await self.queue.ack(delivery)  # the row says cancelled already
            self.jobs_handled += 1
            metrics.JOBS.labels(job.kind, "cancelled").inc()
            log.info(
                "job %s cancelled by its owner after %.2f s", job.id, time.monotonic() - started
            )
            return
        if not finished:
            await jobs.requeue_job(self.session_maker, job.id)
            await self.queue.release(delivery)
            log.warning("job %s released: shutdown grace period ran out", job.id)
            return
        elapsed = time.monotonic() - started
        if error is None:
            recorded = await jobs.succeed_job(self.session_maker, job.id, result)
            await self.queue.ack(delivery)  # only now: the result is recorded
            self.jobs_handled += 1
            metrics.JOB_SECONDS.labels(job.kind, "succeeded").observe(elapsed)
            metrics.JOBS.labels(job.kind, "succeeded").inc()
            log.info("job %s succeeded in %.2f s (recorded: %s)", job.id, elapsed, recorded)
            return
        metrics.JOB_SECONDS.labels(job.kind, "failed").observe(elapsed)
        reason = jobs.short_error(error)
        log.error("job %s attempt %d failed after %.2f s: %r", job.id, job.attempts, elapsed, error)
        if job.attempts >= self.max_attempts or delivery.receive_count >= self.max_attempts:
            await self._give_up(delivery, job.id, reason, kind=job.kind)
            return
        await jobs.requeue_job(self.session_maker, job.id, reason)
        metrics.JOB_RETRIES.labels(job.kind).inc()
        wait = error.retry_after if isinstance(error, SourceRateLimited) else None
        await self._retry_later(delivery, job.attempts, wait)

    async def _give_up(
        self, delivery: Delivery, job_id: uuid.UUID, reason: str, *, kind: str
    ) -> None:
        await jobs.fail_job(self.session_maker, job_id, reason)
        await self.queue.ack(delivery)
        self.jobs_handled += 1
        metrics.JOBS.labels(kind, "failed").inc()
        log.error("job %s failed for good: %s", job_id, reason)

    async def _retry_later(
        self, delivery: Delivery, attempt: int, retry_after: float | None = None
    ) -> None:
        delay = min(self.config.retry_backoff * 2 ** (attempt - 1), self.config.max_retry_backoff)
        if retry_after is not None:
            # An upstream that said when to come back: sooner is wasted quota, later is a wait
            # nobody asked for. Bounded by SQS's longest visibility timeout (12 h).
            delay = min(max(retry_after, 0.0), MAX_RETRY_AFTER)
        if delay <= 0:
            await self.queue.release(delivery)
        else:
            # Setting the visibility timeout to the delay makes the message reappear then.
            await self.queue.extend(delivery, math.ceil(delay))

    async def _run_handler(
        self,
        handler: JobHandler,
        context: _Context,
        delivery: Delivery,
        stop: asyncio.Event,
    ) -> tuple[bool, Mapping[str, Any] | None, BaseException | None]:
        """Run the handler beside a heartbeat. Returns (finished, result, error); not finished
        means shutdown cancelled it after the grace period."""
        task = asyncio.ensure_future(handler(context))
        done = asyncio.Event()
        heartbeat = asyncio.ensure_future(self._heartbeat(delivery, context, done))
        stopping = asyncio.ensure_future(stop.wait())
        cancelled = asyncio.Event()
        watcher = asyncio.ensure_future(self._watch_cancel(context, task, cancelled))
        try:
            await asyncio.wait({task, stopping}, return_when=asyncio.FIRST_COMPLETED)
            if not task.done():
                log.info(
                    "shutdown requested: job %s has %.0f s to finish",
                    context.job_id,
                    self.config.grace_seconds,
                )
                await asyncio.wait({task}, timeout=self.config.grace_seconds)
            if not task.done():
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
                return False, None, None
        except asyncio.CancelledError:
            task.cancel()
            raise
        finally:
            stopping.cancel()
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
            # Not cancelled: a beat cancelled mid-query can leave the pooled connection in a
            # transaction nobody rolls back (seen on SQLite), wedging the job's own result write.
            done.set()
            with contextlib.suppress(asyncio.CancelledError):
                await heartbeat
        if cancelled.is_set():
            return True, None, JobCancelled(jobs.CANCELLED_ERROR)
        if task.cancelled():
            return True, None, asyncio.CancelledError("the job was cancelled")
        error = task.exception()
        if error is not None:
            return True, None, error
        result = task.result()
        if result is not None and not isinstance(result, Mapping):
            return True, None, TypeError("a job handler must return a mapping or None")
        return True, result, None

    async def _watch_cancel(
        self, context: _Context, task: asyncio.Future[Any], cancelled: asyncio.Event
    ) -> None:
        """Cancel ``task`` once the job's row says ``cancelled`` (its owner asked, maybe in
        another process): the handler's ``finally`` blocks stop its subprocesses."""
        job_uuid = context._job_uuid
        if job_uuid is None:
            return
        while not task.done():
            await asyncio.sleep(self.config.cancel_poll)
            try:
                status = await jobs.job_status(self.session_maker, job_uuid)
            except Exception as exc:  # a missed look is harmless: the next one may work
                log.debug("job %s: status not read: %r", context.job_id, exc)
                continue
            if status == jobs.CANCELLED:
                cancelled.set()
                task.cancel()
                return

    async def _heartbeat(self, delivery: Delivery, context: _Context, done: asyncio.Event) -> None:
        """Renew the lease and the message every third of the visibility timeout; returns
        between beats once ``done`` is set."""
        interval = max(self.visibility_timeout / 3, 0.2)
        job_uuid = context._job_uuid
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(done.wait(), interval)
            if done.is_set():
                return
            try:
                if job_uuid is not None:
                    await jobs.touch_job(self.session_maker, job_uuid)
                await self.queue.extend(delivery, self.visibility_timeout)
            except Exception as exc:
                # A missed beat is survivable; the next one may get through.
                log.warning("heartbeat for job %s failed: %r", context.job_id, exc)

    # ------------------------------------------------------------------ storage events

    async def _handle_storage_event(
        self, delivery: Delivery, event: StorageEvent, stop: asyncio.Event
    ) -> None:
        key = event.key
        handler = self.handlers.get(STORAGE_EVENT_KIND)
        if handler is None:
            log.info("storage event for %r: no %s handler; acked", key, STORAGE_EVENT_KIND)
            await self.queue.ack(delivery)
            return
        context = _Context(
            self,
            job_id=delivery.job_id,
            job_uuid=None,
            kind=STORAGE_EVENT_KIND,
            owner_id=None,
            payload={"key": key},
            attempt=delivery.receive_count,
        )
        finished, _result, error = await self._run_handler(handler, context, delivery, stop)
        if not finished:
            await self.queue.release(delivery)
        elif error is None or delivery.receive_count >= self.max_attempts:
            if error is not None:
                log.error(
                    "storage event for %r dropped after %d attempts: %r",
                    key,
                    delivery.receive_count,
                    error,
                )
            await self.queue.ack(delivery)
        else:
            await self._retry_later(delivery, delivery.receive_count)

    # ------------------------------------------------------------------ housekeeping

    async def _maybe_clean_uploads(self) -> None:
        """Delete abandoned direct uploads now and then (as ``salon uploads cleanup`` does), so
        their objects do not stay in storage until someone runs it."""
        action = self.services.uploads.cleanup_expired if self.services is not None else None
        self.uploads_removed += await self._chore("_last_cleanup", action, "abandoned uploads")

    async def _maybe_purge_trash(self) -> None:
        """Delete images past their time in the trash (SALON_TRASH_DAYS), rows and objects."""
        action = self.services.images.purge_trash if self.services is not None else None
        self.trash_purged += await self._chore("_last_purge", action, "images from the trash")

    async def _chore(
        self, last: str, action: Callable[[], Awaitable[int]] | None, what: str
    ) -> int:
        """Run ``action`` at most once per SALON_UPLOAD_CLEANUP_INTERVAL (the time of its last
        run kept in attribute ``last``, set before it runs, so two slots never both run it);
        returns how many things it removed. Between any slot's receives: a job that every
        slot is busy with delays it, which is harmless."""
        interval = self.config.upload_cleanup_interval
        if interval <= 0 or action is None or time.monotonic() - getattr(self, last) < interval:
            return 0
        setattr(self, last, time.monotonic())
        try:
            removed = int(await action())
        except Exception as exc:  # another worker may be removing the same rows
            log.warning("removing %s failed: %r", what, exc)
            return 0
        if removed:
            log.info("removed %d %s", removed, what)
        return removed

    # ------------------------------------------------------------------ dead letters

    async def _maybe_sweep_dead_letters(self) -> None:
        if not isinstance(self.queue, DeadLetterQueue):
            return
        if time.monotonic() - self._last_sweep < self.config.dead_letter_interval:
            return
        self._last_sweep = time.monotonic()
        try:
            await self.sweep_dead_letters()
        except Exception as exc:
            log.warning("dead-letter sweep failed: %r", exc)

    async def sweep_dead_letters(self) -> int:
        """Mark the jobs of dead-lettered messages failed and delete those messages."""
        if not isinstance(self.queue, DeadLetterQueue):
            return 0
        swept = 0
        while (delivery := await self.queue.receive_dead_letter()) is not None:
            event = storage_event_of(delivery)
            job = None if event else await jobs.load_job(self.session_maker, delivery.job_id)
            if job is not None:
                reason = "the job kept failing and was moved to the dead-letter queue"
                if await jobs.fail_job(self.session_maker, job.id, reason):
                    log.error("job %s failed: its message reached the dead-letter queue", job.id)
            else:
                log.warning("dead-letter message %r is not a known job; deleted", delivery.job_id)
            await self.queue.ack_dead_letter(delivery)
            swept += 1
        return swept


def storage_event_of(delivery: Delivery) -> StorageEvent | None:
    """The delivery's storage event, if it carries one. A ``job_id`` of ``"s3:<key>"`` (how
    queues reported storage events before :class:`~salon.providers.StorageEvent`) still counts,
    with a DeprecationWarning, so such third-party queues keep working."""
    if delivery.storage_event is not None:
        return delivery.storage_event
    if not delivery.job_id.startswith(STORAGE_EVENT_PREFIX):
        return None
    warnings.warn(
        f"a job_id of {STORAGE_EVENT_PREFIX!r}<key> is deprecated: the queue should return "
        "Delivery(storage_event=StorageEvent(key)) (see docs/plugins.md)",
        DeprecationWarning,
        stacklevel=2,
    )
    return StorageEvent(key=delivery.job_id[len(STORAGE_EVENT_PREFIX) :])


async def _sleep_unless(stop: asyncio.Event, seconds: float) -> None:
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(stop.wait(), seconds)


# ---------------------------------------------------------------------- entry points


async def run_worker(
    runtime: Runtime,
    *,
    once: bool = False,
    stop_event: asyncio.Event | None = None,
    config: WorkerConfig | None = None,
    protection: TaskProtection | None = None,
) -> None:
    """Run a worker on ``runtime`` until SIGTERM/SIGINT (or ``stop_event``); ``salon worker``.

    Without ``stop_event`` the signals are handled here: the first one starts the graceful
    shutdown described in the module docstring. Returns normally (exit status 0).
    ``protection`` keeps the orchestrator from scaling the task in while a job runs.
    """
    # A stand-alone worker process needs the same core services as the web app.
    services = runtime.composed or compose(runtime)
    # A worker makes renditions: first for images a crash left half-processed.
    services.renditions.start_sweeper()
    worker = Worker.from_runtime(runtime, config)
    worker.protection = protection
    stop = stop_event or asyncio.Event()
    loop = asyncio.get_running_loop()
    installed: list[signal.Signals] = []
    if stop_event is None:
        for signum in (signal.SIGTERM, signal.SIGINT):
            with contextlib.suppress(NotImplementedError, RuntimeError):
                loop.add_signal_handler(signum, _on_signal, stop, signum)
                installed.append(signum)
    try:
        await worker.run(stop, once=once)
    finally:
        for signum in installed:
            loop.remove_signal_handler(signum)


def _on_signal(stop: asyncio.Event, signum: signal.Signals) -> None:
    log.info("%s received: finishing the running jobs, then exiting", signum.name)
    stop.set()


@dataclass(slots=True)
class InprocessWorker:
    """A worker running as a task of the web app's event loop; ``await stop()`` at shutdown."""

    worker: Worker
    task: asyncio.Task[None]
    stop_event: asyncio.Event

    async def stop(self) -> None:
        """Stop receiving, let the running jobs finish within the grace period, then return."""
        self.stop_event.set()
        try:
            await asyncio.wait_for(asyncio.shield(self.task), self.worker.config.grace_seconds + 5)
        except TimeoutError:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.task
        except Exception:
            # Shutdown goes on: the worker's failure is logged, not raised into the lifespan.
            log.exception("the in-process worker had stopped with an error")


# `salon serve` has granian kill a worker 25 s after SIGTERM (workers_kill_timeout): the job in
# the web process must be cancelled before then, so its ffmpeg is killed and its scratch folder
# removed by the job itself, with time left for the rest of the shutdown (issue 17).
INPROCESS_GRACE_SECONDS = 10.0


async def start_inprocess_worker(
    runtime: Runtime, config: WorkerConfig | None = None
) -> InprocessWorker:
    """Start a worker inside the running event loop (the embedded default)."""
    config = config or WorkerConfig.of(runtime, grace_seconds=INPROCESS_GRACE_SECONDS)
    worker = Worker.from_runtime(runtime, config)
    stop = asyncio.Event()
    task = asyncio.create_task(worker.run(stop), name="salon-inprocess-worker")
    return InprocessWorker(worker=worker, task=task, stop_event=stop)


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m salon.worker [--once] [--plugin MODULE ...]``: settings from ``SALON_*``.

    ``--plugin`` loads extra plugin modules by import path (handlers under test, ad-hoc jobs)
    without packaging them; ``salon worker`` is the usual command.
    """
    parser = argparse.ArgumentParser(prog="python -m salon.worker", description=main.__doc__)
    parser.add_argument("--once", action="store_true", help="handle at most one delivery")
    parser.add_argument("--plugin", action="append", default=[], help="extra plugin module")
    parser.add_argument(
        "--grace-seconds",
        type=float,
        default=WorkerConfig().grace_seconds,
        help="how long a job may run on after SIGTERM before it is released",
    )
    args = parser.parse_args(argv)
    from salon.runtime import build_runtime, load_settings

    plugins = [importlib.import_module(name) for name in args.plugin]
    settings, pm, registry = load_settings(extra_plugins=plugins)
    logging.basicConfig(
        level=settings.core.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    runtime = build_runtime(settings, pm, registry)
    metrics.serve_worker_metrics(runtime.core)

    async def _main() -> None:
        try:
            await run_worker(
                runtime,
                once=args.once,
                config=WorkerConfig.of(runtime, grace_seconds=args.grace_seconds),
            )
        finally:
            await runtime.close()

    asyncio.run(_main())
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
