"""Test helpers for Salon and its plugins: one contract suite per provider Protocol, and
fixtures that start the app with a chosen set of plugins. See docs/plugins.md, "Testing".

Contract suites (subclass one, supply the fixture that builds your provider)::

    from salon.testing import StorageContract

    class TestMyStorage(StorageContract):
        @pytest.fixture
        def storage(self, tmp_path):
            return MyStorage(tmp_path)

==========================  ==============================  ================================
suite                       Protocol                        fixture(s) to supply
==========================  ==============================  ================================
``StorageContract``         ``StorageBackend``              ``storage``
``AuthProviderContract``    ``AuthProvider``                ``auth_provider``, ``make_user``,
                                                            ``expired_access_token``
``MediaProcessorContract``  ``MediaProcessor``              ``media_processor``
``StackedMediaProcessor``   ``StackedMediaProcessor``       ``stacked_processor`` (+ optional
``Contract``                                                ``base_processor``)
``ImageSourceContract``     ``ImageSource``                 ``image_source`` (+ optional
                                                            ``upstream_calls``,
                                                            ``failing_image_source``)
``JobQueueContract``        ``JobQueue``                    ``job_queue`` (+ optional
                                                            ``unavailable_job_queue``)
``MailSenderContract``      ``MailSender``                  ``mail_sender``, ``delivered``
                                                            (+ optional
                                                            ``failing_mail_sender``,
                                                            ``mail_secrets``)
``RequestAuthenticator``    ``RequestAuthenticator``        ``authenticator``,
``Contract``                                                ``make_credentials``,
                                                            ``bad_credentials`` (+ optional
                                                            ``enumeration_pair``); declare
                                                            ``claims``
==========================  ==============================  ================================

The app, with your plugin loaded and its provider selected::

    from salon.testing import running_app

    async def test_upload(tmp_path):
        async with running_app(tmp_path, plugins=[my_plugin], env={"SALON_STORAGE": "mine"}) as app:
            headers = await app.login()
            assert (await app.upload(headers)).status_code == 201

The pytest fixtures ``salon_app`` and ``salon_database`` are registered for every test run
through the ``pytest11`` entry point (``salon.testing.pytest_plugin``).

Names are imported on first use, so ``import salon.testing`` (which pytest does at start-up)
stays cheap and does not build the app.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from salon.testing.contracts.auth import AuthProviderContract, MakeUser, unique_email
    from salon.testing.contracts.authenticator import (
        BadCredentials,
        Credentials,
        MakeCredentials,
        RequestAuthenticatorContract,
    )
    from salon.testing.contracts.mail import Delivered, MailSenderContract
    from salon.testing.contracts.media import MediaProcessorContract
    from salon.testing.contracts.queue import JobQueueContract
    from salon.testing.contracts.source import (
        ImageSourceContract,
        UpstreamCalls,
        read_download,
    )
    from salon.testing.contracts.stacked_media import StackedMediaProcessorContract
    from salon.testing.contracts.storage import (
        StorageContract,
        UploadFailed,
        chunks_of,
        pattern_chunks,
        read_all,
    )
    from salon.testing.fixtures import (
        TEST_PASSWORD,
        RunningApp,
        base_environ,
        running_app,
        sample_jpeg,
    )

__all__ = [
    "TEST_PASSWORD",
    "AuthProviderContract",
    "BadCredentials",
    "Credentials",
    "Delivered",
    "ImageSourceContract",
    "JobQueueContract",
    "MailSenderContract",
    "MakeCredentials",
    "MakeUser",
    "MediaProcessorContract",
    "RequestAuthenticatorContract",
    "RunningApp",
    "StackedMediaProcessorContract",
    "StorageContract",
    "UploadFailed",
    "UpstreamCalls",
    "base_environ",
    "chunks_of",
    "pattern_chunks",
    "read_all",
    "read_download",
    "running_app",
    "sample_jpeg",
    "unique_email",
]

_WHERE: dict[str, str] = {
    "AuthProviderContract": "salon.testing.contracts.auth",
    "MakeUser": "salon.testing.contracts.auth",
    "unique_email": "salon.testing.contracts.auth",
    "BadCredentials": "salon.testing.contracts.authenticator",
    "Credentials": "salon.testing.contracts.authenticator",
    "MakeCredentials": "salon.testing.contracts.authenticator",
    "RequestAuthenticatorContract": "salon.testing.contracts.authenticator",
    "Delivered": "salon.testing.contracts.mail",
    "MailSenderContract": "salon.testing.contracts.mail",
    "MediaProcessorContract": "salon.testing.contracts.media",
    "StackedMediaProcessorContract": "salon.testing.contracts.stacked_media",
    "JobQueueContract": "salon.testing.contracts.queue",
    "ImageSourceContract": "salon.testing.contracts.source",
    "UpstreamCalls": "salon.testing.contracts.source",
    "read_download": "salon.testing.contracts.source",
    "StorageContract": "salon.testing.contracts.storage",
    "UploadFailed": "salon.testing.contracts.storage",
    "chunks_of": "salon.testing.contracts.storage",
    "pattern_chunks": "salon.testing.contracts.storage",
    "read_all": "salon.testing.contracts.storage",
    "TEST_PASSWORD": "salon.testing.fixtures",
    "RunningApp": "salon.testing.fixtures",
    "base_environ": "salon.testing.fixtures",
    "running_app": "salon.testing.fixtures",
    "sample_jpeg": "salon.testing.fixtures",
}


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'salon.testing' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value  # later lookups skip this function
    return value


def __dir__() -> list[str]:
    return sorted([*globals(), *__all__])
