"""The JobQueue contract on SQS: a moto server always, LocalStack when it can run here."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from salon.testing.contracts.queue import JobQueueContract
from salon_aws_queue import SqsQueue

from .conftest import create_queue, make_queue


class TestSqsQueueOnMoto(JobQueueContract):
    # moto, like SQS ("might not be deleted"), lets an old receipt act on the message.
    stale_receipts_are_ignored = False

    @pytest.fixture
    async def job_queue(self, moto_url: str) -> AsyncIterator[SqsQueue]:
        queue = make_queue(moto_url, create_queue(moto_url)["queue"], visibility_timeout=2)
        yield queue
        await queue.close()

    @pytest.fixture
    async def unavailable_job_queue(self, moto_url: str) -> AsyncIterator[SqsQueue]:
        missing = f"{moto_url}/123456789012/no-such-queue"
        queue = make_queue(moto_url, missing)
        yield queue
        await queue.close()


@pytest.mark.localstack
class TestSqsQueueOnLocalStack(JobQueueContract):
    stale_receipts_are_ignored = False

    @pytest.fixture
    async def job_queue(self, localstack_endpoint: str) -> AsyncIterator[SqsQueue]:
        url = create_queue(localstack_endpoint)["queue"]
        queue = make_queue(localstack_endpoint, url, visibility_timeout=2)
        yield queue
        await queue.close()

    @pytest.fixture
    async def unavailable_job_queue(self, localstack_endpoint: str) -> AsyncIterator[SqsQueue]:
        queue = make_queue(localstack_endpoint, f"{localstack_endpoint}/000000000000/nope")
        yield queue
        await queue.close()


class TestSqsLanesOnMoto(JobQueueContract):
    """With SALON_SQS_LONG_QUEUE_URL: long jobs in a queue of their own."""

    stale_receipts_are_ignored = False

    @pytest.fixture
    async def job_queue(self, moto_url: str) -> AsyncIterator[SqsQueue]:
        urls = create_queue(moto_url, long=True)
        queue = make_queue(moto_url, urls["queue"], long_queue_url=urls["long"])
        assert queue.lanes_apart
        yield queue
        await queue.close()


@pytest.mark.localstack
class TestSqsLanesOnLocalStack(JobQueueContract):
    stale_receipts_are_ignored = False

    @pytest.fixture
    async def job_queue(self, localstack_endpoint: str) -> AsyncIterator[SqsQueue]:
        urls = create_queue(localstack_endpoint, long=True)
        queue = make_queue(localstack_endpoint, urls["queue"], long_queue_url=urls["long"])
        yield queue
        await queue.close()
