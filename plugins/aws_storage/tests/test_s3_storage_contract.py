"""The S3 backend against Salon's StorageContract, on a moto server and on LocalStack."""

from __future__ import annotations

import pytest
from salon.testing.contracts.storage import StorageContract
from salon_aws_storage import S3Storage

from .conftest import MiB, make_storage


class S3Tuning:
    # The fixtures use 5 MiB parts (S3's minimum), so a put holds about 10 MiB at most (a part's
    # chunks and their joined copy), inside the default 16 MiB budget. The failing upload
    # crosses the multipart threshold so the abort path is exercised.
    failing_upload_size = 12 * MiB


class TestS3StorageContractMoto(S3Tuning, StorageContract):
    @pytest.fixture
    def storage(self, moto_url: str, moto_bucket: str) -> S3Storage:
        return make_storage(moto_url, moto_bucket, prefix="moto-run")


@pytest.mark.localstack
class TestS3StorageContractLocalStack(S3Tuning, StorageContract):
    @pytest.fixture
    def storage(self, localstack_url: str, localstack_bucket: str) -> S3Storage:
        return make_storage(localstack_url, localstack_bucket, prefix="ls-run/")
