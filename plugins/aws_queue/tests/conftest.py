"""Fixtures for the SQS queue's tests: a moto server (fast, in-process thread) and LocalStack
(real, host mode; skipped with the reason when it cannot be started)."""

from __future__ import annotations

import importlib.util
import json
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType
from typing import Any

import boto3
import pytest
from botocore.config import Config
from salon.testing.localstack import localstack_endpoint  # noqa: F401 (a fixture)
from salon.testing.moto import MotoServer, moto_server
from salon_aws_queue import SqsQueue, SqsSettings

REGION = "us-east-1"
# Both emulators accept any credentials; these are not secrets.
CREDENTIALS = {"aws_access_key_id": "test", "aws_secret_access_key": "test"}


def sqs_client(endpoint_url: str, config: Config | None = None) -> Any:
    """A client aimed at an emulator (the app itself uses boto3's standard chain)."""
    session = boto3.session.Session(region_name=REGION, **CREDENTIALS)
    return session.client("sqs", endpoint_url=endpoint_url, config=config)


def make_queue(endpoint_url: str, queue_url: str, **settings: Any) -> SqsQueue:
    values: dict[str, Any] = {"queue_url": queue_url, "visibility_timeout": 2}
    values.update(settings)
    return SqsQueue(
        SqsSettings(**values), client_factory=lambda config: sqs_client(endpoint_url, config)
    )


def create_queue(
    endpoint_url: str, *, max_receives: int | None = None, long: bool = False
) -> dict[str, str]:
    """A fresh queue (with a DLQ and redrive policy when ``max_receives`` is given), and with
    ``long`` a second one for long jobs (``urls["long"]``) sharing that DLQ, as the Terraform
    makes them."""
    client = sqs_client(endpoint_url)
    name = f"salon-test-{uuid.uuid4().hex[:12]}"
    attributes: dict[str, str] = {"VisibilityTimeout": "30"}
    urls: dict[str, str] = {}
    if max_receives is not None:
        dlq_url = client.create_queue(QueueName=name + "-dlq")["QueueUrl"]
        arn = client.get_queue_attributes(QueueUrl=dlq_url, AttributeNames=["QueueArn"])
        attributes["RedrivePolicy"] = json.dumps(
            {
                "deadLetterTargetArn": arn["Attributes"]["QueueArn"],
                "maxReceiveCount": str(max_receives),
            }
        )
        urls["dlq"] = dlq_url
    urls["queue"] = client.create_queue(QueueName=name, Attributes=attributes)["QueueUrl"]
    if long:
        created = client.create_queue(QueueName=name + "-long", Attributes=attributes)
        urls["long"] = created["QueueUrl"]
    return urls


@pytest.fixture(scope="session")
def moto() -> Iterator[MotoServer]:
    with moto_server() as server:
        yield server


@pytest.fixture
def moto_url(moto: MotoServer) -> str:
    return moto.endpoint_url


def load_handlers() -> ModuleType:
    """The test job handlers' plugin module (a sibling file), imported once."""
    name = "sqs_test_handlers"
    if name not in sys.modules:
        path = Path(__file__).with_name("sqs_test_handlers.py")
        spec = importlib.util.spec_from_file_location(name, path)
        assert spec is not None and spec.loader is not None
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module
        spec.loader.exec_module(module)
    return sys.modules[name]
