"""Narrow ports: what a domain service needs from the running gallery, each a read-only
Protocol that :class:`salon.runtime.Runtime` satisfies. A service takes the ports it uses
(``UploadPorts``, ``SourcePorts``) instead of the whole runtime, so its dependencies are
visible in its signature and a test can hand it a small object.

The image events (``image_stored``, ``image_deleted``) go out through :class:`ImageEvents`:
the listeners get each their own plugin context (``salon``), which only the composition root
can build (``salon.composition``), so the image services import neither ``salon.runtime`` nor
``salon.context``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal, Protocol, TypeAlias

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from salon.db.changes import ChangeTracker
from salon.providers import (
    ImageSource,
    JobHandler,
    JobQueue,
    MediaProcessor,
    RenditionSpec,
    StorageBackend,
)
from salon.settings import CoreSettings

__all__ = [
    "Database",
    "Events",
    "ImageEvent",
    "ImageEvents",
    "ImagePorts",
    "Media",
    "Queue",
    "ReadinessPorts",
    "RenditionPorts",
    "Renditions",
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

    def lane_of(self, kind: str) -> str:
        """The lane ("short" or "long") a job of ``kind`` is queued in."""
        ...


class JobPorts(Database, Queue, Protocol):
    """Queueing jobs: their rows, the queue, each kind's lane."""


class Media(Protocol):
    @property
    def media(self) -> MediaProcessor: ...


class Renditions(Protocol):
    """Every rendition an image gets: SALON_RENDITIONS, then what stacked processors add."""

    @property
    def renditions(self) -> tuple[RenditionSpec, ...]: ...


# The event hooks the image services fire (salon.hookspecs; their signatures are the hooks').
ImageEvent: TypeAlias = Literal["image_stored", "image_updated", "image_deleted"]


class ImageEvents(Protocol):
    """Fires an image event to the plugins listening, each with its own ``salon`` context; a
    listener that raises is logged and skipped (``salon.plugins.notify``)."""

    def listening(self, event: ImageEvent) -> bool:
        """Whether any plugin implements ``event`` (else the image dict need not be built)."""
        ...

    def fire(self, event: ImageEvent, image: dict[str, Any], **details: Any) -> None:
        """``details``: the event's other arguments (``renditions`` for ``image_updated``)."""
        ...


class Events(Protocol):
    @property
    def events(self) -> ImageEvents: ...


class UploadPorts(Database, Settings, Storage, Protocol):
    """Direct uploads: intents in the database, objects in storage, limits from settings."""


class SourcePorts(Database, Settings, Sources, Protocol):
    """Imports from image sources: the sources, the database, the upload limit."""


class VideoPorts(Database, Settings, Storage, Queue, Protocol):
    """Videos: jobs on the queue, their rows, the rendered files in storage."""


class RenditionPorts(Database, Settings, Storage, Queue, Renditions, Events, Protocol):
    """Renditions: the rows, the original and renditions in storage, ``image.renditions`` jobs
    on the queue, every rendition an image gets, ``image_stored`` and ``image_updated`` for
    the listeners; the engine and its change tracker for the rows recorded without a session."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def changes(self) -> ChangeTracker | None: ...


class ImagePorts(Database, Settings, Storage, Media, Renditions, Events, Protocol):
    """Images: intake through the media processor into storage and the database, removal of
    every rendition an image may have, ``image_deleted`` for the listeners."""


class ReadinessPorts(Storage, Queue, Protocol):
    """``/ready``: the database engine, storage, the queue and the job handlers to check."""

    @property
    def engine(self) -> AsyncEngine: ...

    @property
    def job_handlers(self) -> Mapping[str, JobHandler]: ...
