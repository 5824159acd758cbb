"""``SALON_SQS_*`` settings."""

from __future__ import annotations

import msgspec

# SQS limits: long polls wait at most 20 s; visibility timeouts are at most 12 hours.
MAX_WAIT_SECONDS = 20
MAX_VISIBILITY_TIMEOUT = 12 * 3600


class SqsSettings(msgspec.Struct, frozen=True, forbid_unknown_fields=True, kw_only=True):
    """The SQS queue.

    ``queue_url`` (``SALON_SQS_QUEUE_URL``) is required when ``SALON_QUEUE=sqs``.
    ``long_queue_url`` (``SALON_SQS_LONG_QUEUE_URL``): a second queue for long jobs (videos),
    so the worker's short slots never wait behind them; empty: every job in ``queue_url``.
    ``wait_seconds`` is the long-poll wait (1-20); ``visibility_timeout`` how long a received job
    stays hidden between heartbeats; ``max_receives`` must equal the queue's redrive policy
    ``maxReceiveCount`` (the worker gives up on a failing job at the same count).
    """

    queue_url: str = ""
    long_queue_url: str = ""
    wait_seconds: int = MAX_WAIT_SECONDS
    visibility_timeout: int = 60
    max_receives: int = 5

    def __post_init__(self) -> None:
        if not 0 <= self.wait_seconds <= MAX_WAIT_SECONDS:
            raise ValueError(f"wait_seconds must be between 0 and {MAX_WAIT_SECONDS}")
        if not 1 <= self.visibility_timeout <= MAX_VISIBILITY_TIMEOUT:
            raise ValueError(f"visibility_timeout must be between 1 and {MAX_VISIBILITY_TIMEOUT}")
        if not 1 <= self.max_receives <= 1000:
            raise ValueError("max_receives must be between 1 and 1000")
        for name in ("queue_url", "long_queue_url"):
            url = getattr(self, name)
            if url and not url.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be the queue's URL (https://sqs.<region>...)")
        if self.long_queue_url and self.long_queue_url == self.queue_url:
            raise ValueError("long_queue_url must be another queue than queue_url")
