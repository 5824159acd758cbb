"""The image services on narrow ports (issue 16.8): ImageService takes ``ImagePorts``, not the
Runtime, so a small object of its own parts drives it; its events go out through
``ImageEvents``, which the composition root wires with each plugin's ``salon`` context
(salon.plugins.PluginEvents), and which the runtime refuses to fire before that."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import pytest
from salon import hookimpl
from salon.composition import compose
from salon.context import SalonContext
from salon.db.models import Image, metadata
from salon.domain.images.processing import RenditionService
from salon.domain.images.services import ImageService
from salon.domain.ports import ImageEvent, ImagePorts
from salon.plugins import PluginEvents, make_plugin_manager
from salon.providers import MediaProcessor, RenditionSpec, StorageBackend
from salon.runtime import build_runtime, load_settings
from salon.settings import CoreSettings
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

SECRET = "unit-test-secret-key-long-enough-for-hs256-signing"


def _listeners(seen: list[tuple[str, object]]) -> list[object]:
    class WithContext:
        __name__ = "with_context"

        @hookimpl
        def image_stored(self, image: dict[str, Any], salon: object) -> None:
            seen.append((str(image["id"]), salon))

    class Old:
        """A 0.1 listener: names only ``image``, and fails; the others still run."""

        __name__ = "old"

        @hookimpl
        def image_stored(self, image: dict[str, Any]) -> None:
            seen.append(("old", image["id"]))
            raise RuntimeError("listener bug")

    return [WithContext(), Old()]


def test_plugin_events_give_each_listener_its_own_arguments_and_isolate_failures() -> None:
    seen: list[tuple[str, object]] = []
    pm = make_plugin_manager(include_entry_points=False, extra_plugins=_listeners(seen))
    events = PluginEvents(pm, lambda plugin: {"salon": f"context of {plugin}"})
    assert events.listening("image_stored")
    assert not events.listening("image_deleted")
    events.fire("image_stored", {"id": "i1"})
    assert sorted(seen, key=str) == [("i1", "context of with_context"), ("old", "i1")]


async def test_runtime_fires_image_events_only_once_composed(tmp_path: Path) -> None:
    seen: list[tuple[str, object]] = []
    settings, pm, registry = load_settings(
        {
            "SALON_DATA_DIR": str(tmp_path),
            "SALON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp_path}/s.db",
        },
        extra_plugins=_listeners(seen),
    )
    runtime = build_runtime(settings, pm, registry)
    try:
        with pytest.raises(RuntimeError, match="compose"):
            runtime.events.fire("image_stored", {"id": "early"})
        compose(runtime)
        runtime.events.fire("image_stored", {"id": "i2"})
        contexts = [salon for image, salon in seen if image == "i2"]
        assert len(contexts) == 1 and isinstance(contexts[0], SalonContext)
        assert contexts[0].plugin == "with_context"
    finally:
        await runtime.close()


class _Storage:
    def __init__(self) -> None:
        self.deleted: list[str] = []

    async def delete(self, key: str) -> None:
        self.deleted.append(key)


@dataclass
class _Events:
    fired: list[tuple[ImageEvent, dict[str, Any]]] = field(default_factory=list)

    def listening(self, event: ImageEvent) -> bool:
        return True

    def fire(self, event: ImageEvent, image: dict[str, Any], **details: Any) -> None:
        self.fired.append((event, image))


@dataclass
class _Ports:
    """Only what ImageService uses; no Runtime, no plugin manager."""

    session_maker: async_sessionmaker[AsyncSession]
    core: CoreSettings
    storage: StorageBackend
    media: MediaProcessor
    renditions: tuple[RenditionSpec, ...]
    events: _Events


@pytest.fixture
async def sessions(tmp_path: Path) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_async_engine(f"sqlite+aiosqlite:///{tmp_path / 'ports.db'}")
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield async_sessionmaker(engine, expire_on_commit=False)
    await engine.dispose()


async def test_image_service_deletes_and_tells_listeners_through_its_ports(
    tmp_path: Path, sessions: async_sessionmaker[AsyncSession]
) -> None:
    storage, events = _Storage(), _Events()
    ports: ImagePorts = _Ports(
        session_maker=sessions,
        core=CoreSettings(data_dir=tmp_path, secret_key=SECRET),
        storage=cast(StorageBackend, storage),
        media=cast(MediaProcessor, None),
        renditions=(),
        events=events,
    )
    service = ImageService(ports, cast(RenditionService, None))
    image = Image(
        owner_id=uuid.uuid4(),
        title="t",
        content_type="image/jpeg",
        size=3,
        width=1,
        height=1,
        sha256="a" * 64,
        storage_key="originals/o",
        renditions={"thumb": {"key": "renditions/t"}},
    )
    async with sessions() as session:
        session.add(image)
        await session.commit()
        await service.delete(session, image)
    async with sessions() as session:
        assert await session.get(Image, image.id) is None
    assert storage.deleted == ["originals/o", "renditions/t"]
    assert [(event, body["id"]) for event, body in events.fired] == [
        ("image_deleted", str(image.id))
    ]
