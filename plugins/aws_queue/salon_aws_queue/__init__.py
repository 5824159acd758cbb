"""Salon job queue ``sqs``: jobs carried by Amazon SQS, so workers can run as their own service.

Select it with ``SALON_QUEUE=sqs`` and ``SALON_SQS_QUEUE_URL``; the other ``SALON_SQS_*``
settings are in :class:`~salon_aws_queue.settings.SqsSettings`. Region, credentials and endpoint
come from boto3's standard sources (``AWS_REGION``, ``AWS_ENDPOINT_URL_SQS`` for LocalStack,
profiles, task roles). Give the queue a redrive policy whose ``maxReceiveCount`` equals
``SALON_SQS_MAX_RECEIVES``: the worker fails jobs whose messages reach the dead-letter queue.
"""

from __future__ import annotations

from typing import Any

from salon import hookimpl

from salon_aws_queue.queue import SqsQueue, parse_message
from salon_aws_queue.settings import SqsSettings

__all__ = ["SqsQueue", "SqsSettings", "parse_message"]


@hookimpl
def register_settings(register: Any) -> None:
    """``SALON_SQS_*`` -> :class:`SqsSettings`."""
    register("SQS", SqsSettings)


@hookimpl
def register_job_queues(register: Any) -> None:
    """Offer ``sqs``; its factory raises ConfigurationError when SALON_SQS_QUEUE_URL is missing."""
    register("sqs", SqsQueue.from_context)
