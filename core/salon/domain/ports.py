"""Narrow ports: what a domain service needs from the running gallery, each a read-only
Protocol that :class:`salon.runtime.Runtime` satisfies. A service takes the ports it uses
(``UploadPorts``, ``SourcePorts``) instead of the whole runtime, so its dependencies are
visible in its signature and a test can hand it a small object."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Protocol

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from salon.providers import ImageSource, JobHandler, JobQueue, StorageBackend
from salon.settings import CoreSettings

__all__ = [
    "Database",
    "Queue",
    "ReadinessPorts",
    "Settings",
    "SourcePorts",
    "Sources",
    "Storage",
    "UploadPorts",
    "VideoPorts",
]


class Database(Protocol):
    @property
    def session_maker(self) -> async_sessionmaker[AsyncSession]: ...


class Settings(Protocol):
    @property
    def core(self) -> CoreSettings: ...


class Storage(Protocol):
    @property
    def storage(self) -> StorageBackend: ...


class Sources(Protocol):
    @property
    def sources(self) -> Mapping[str, ImageSource]: ...


class Queue(Protocol):
    @property
    def queue(self) -> JobQueue: ...


class UploadPorts(Database, Settings, Storage, Protocol):
    """Direct uploads: intents in the database, objects in storage, limits from settings."""


class SourcePorts(Database, Settings, Sources, Protocol):
    """Imports from image sources: the sources, the database, the upload limit."""


class VideoPorts(Database, Settings, Storage, Queue, Protocol):
    """Videos: jobs on the queue, their rows, the rendered files in storage."""


class ReadinessPorts(Storage, Queue, Protocol):
    """``/ready``: the database engine, storage, the queue and the job handlers to check."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def job_handlers(self) -> Mapping[str, JobHandler]: ...
