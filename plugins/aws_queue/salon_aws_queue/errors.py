"""The one place where botocore's errors become Salon's."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from botocore.exceptions import BotoCoreError, ClientError
from salon.errors import QueueUnavailable

# A receipt from before a redelivery, or of a deleted message: the contract says ack, extend
# and release with such a receipt do nothing.
STALE_RECEIPT_CODES = frozenset(
    {
        "ReceiptHandleIsInvalid",
        "InvalidParameterValue",
        "AWS.SimpleQueueService.MessageNotInflight",
        "MessageNotInflight",
    }
)


def error_code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", "Unknown"))


@contextmanager
def translate(operation: str) -> Iterator[None]:
    """Re-raise botocore errors as :class:`QueueUnavailable` naming the operation and the AWS
    error code (never the request, which carries the signed URL)."""
    try:
        yield
    except ClientError as exc:
        raise QueueUnavailable(f"SQS {operation} failed: {error_code(exc)}") from exc
    except BotoCoreError as exc:
        raise QueueUnavailable(f"SQS {operation} failed: {type(exc).__name__}") from exc
