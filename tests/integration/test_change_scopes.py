"""Per-owner invalidation (issue 19): a write by one user moves only that user's (and that
album's) counters, so other users' cached pages stay; a write whose owner is not known for
certain still moves the whole table. In this process (an in-memory SQLite engine, so no WAL
watch blurs the picture), across processes on PostgreSQL (row triggers, migration 0008), and
on a SQLite file, whose WAL header moves on every commit (this process's too) and whose change
log (migration 0011) says whose rows changed."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
import uuid
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from salon.db import migrate
from salon.db.changes import ChangeTracker
from salon.db.models import (
    Album,
    AlbumImage,
    Image,
    LocalAccount,
    RefreshToken,
    User,
    metadata,
)
from salon.runtime import make_engine
from salon.testing.fixtures import RunningApp, sample_jpeg
from sqlalchemy import text, update
from sqlalchemy.ext.asyncio import AsyncEngine, async_sessionmaker, create_async_engine
from sqlalchemy.pool import StaticPool


@pytest.fixture
async def engine() -> AsyncIterator[AsyncEngine]:
    engine = create_async_engine("sqlite+aiosqlite://", poolclass=StaticPool)
    async with engine.begin() as conn:
        await conn.run_sync(metadata.create_all)
    yield engine
    await engine.dispose()


def _image(owner: uuid.UUID) -> Image:
    return Image(
        owner_id=owner,
        content_type="image/jpeg",
        size=1,
        width=1,
        height=1,
        sha256=uuid.uuid4().hex,
        storage_key=uuid.uuid4().hex,
    )


async def test_an_orm_write_moves_only_its_owners_counters(engine: AsyncEngine) -> None:
    tracker = ChangeTracker().watch(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    a, b = str(uuid.uuid4()), str(uuid.uuid4())

    def versions() -> tuple[int, int]:
        return tracker.version_for(("images", a)), tracker.version_for(("images", b))

    before = versions()
    tables = tracker.version("images")
    async with sessions() as session:
        image = _image(uuid.UUID(a))
        session.add(image)
        await session.commit()
    after = versions()
    assert after[0] != before[0], "A's insert did not move A's counter"
    assert after[1] == before[1], "A's insert moved B's counter"
    assert tracker.version("images") != tables, "the table-wide version must still move"

    async with sessions() as session:
        image = await session.get(Image, image.id)
        assert image is not None
        image.favorite = True
        await session.commit()
    favored = versions()
    assert favored[0] != after[0] and favored[1] == after[1]

    # Moving the row to B changes both owners' pages.
    async with sessions() as session:
        image = await session.get(Image, image.id)
        assert image is not None
        image.owner_id = uuid.UUID(b)
        await session.commit()
    moved = versions()
    assert moved[0] != favored[0] and moved[1] != favored[1]


async def test_a_write_without_a_known_owner_moves_every_owner(engine: AsyncEngine) -> None:
    tracker = ChangeTracker().watch(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    b = str(uuid.uuid4())
    before = tracker.version_for(("images", b))
    async with sessions() as session:
        await session.execute(update(Image).values(favorite=True))  # Core: no owner named
        await session.commit()
    assert tracker.version_for(("images", b)) != before


async def test_a_core_write_naming_its_scope_moves_only_that_owner(engine: AsyncEngine) -> None:
    """A Core statement may name the scopes it writes (``SCOPES_OPTION``), as the renditions'
    ``processing`` -> ``ready`` update does: then only that owner's pages move."""
    from salon.db.changes import SCOPES_OPTION

    tracker = ChangeTracker().watch(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    a, b = uuid.uuid4(), str(uuid.uuid4())
    async with sessions() as session:
        session.add(_image(a))
        await session.commit()
    before_a, before_b = tracker.version_for(("images", str(a))), tracker.version_for(("images", b))
    statement = (
        update(Image)
        .where(Image.owner_id == a)
        .values(favorite=True)
        .execution_options(**{SCOPES_OPTION: (("images", str(a)),)})
    )
    async with sessions() as session:
        await session.execute(statement)
        await session.commit()
    assert tracker.version_for(("images", str(a))) != before_a
    assert tracker.version_for(("images", b)) == before_b
    # Naming another table's scope does not count: the write stays table-wide.
    wrong = statement.execution_options(**{SCOPES_OPTION: (("albums", str(a)),)})
    async with sessions() as session:
        await session.execute(wrong)
        await session.commit()
    assert tracker.version_for(("images", b)) != before_b


async def test_a_rolled_back_flush_moves_nothing(engine: AsyncEngine) -> None:
    tracker = ChangeTracker().watch(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    b = str(uuid.uuid4())
    before = tracker.version_for(("images", b))
    async with sessions() as session:
        session.add(_image(uuid.uuid4()))
        await session.flush()
        await session.rollback()
    assert tracker.version_for(("images", b)) == before


async def test_album_pages_move_with_their_album(engine: AsyncEngine) -> None:
    tracker = ChangeTracker().watch(engine)
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    owner = uuid.uuid4()
    async with sessions() as session:
        image, first, second = _image(owner), Album(owner_id=owner, name="1"), None
        second = Album(owner_id=owner, name="2")
        session.add_all([image, first, second])
        await session.commit()

    def album(a: Album) -> int:
        return tracker.version_for(
            ("images", str(owner)), ("albums", str(owner)), ("album_images", str(a.id))
        )

    v1, v2 = album(first), album(second)
    plain = tracker.version_for(("images", str(owner)))
    async with sessions() as session:
        session.add(AlbumImage(album_id=first.id, image_id=image.id))
        await session.commit()
    assert album(first) != v1
    assert album(second) == v2, "adding to album 1 dropped album 2's pages"
    assert tracker.version_for(("images", str(owner))) == plain


# ---------------------------------------------------------------- a SQLite file (migration 0011)


@pytest.fixture
async def sqlite_file(tmp_path: Path) -> AsyncIterator[tuple[AsyncEngine, AsyncEngine]]:
    """Two engines on one migrated SQLite file: the one a tracker watches (this process) and
    another (any other process: the tracker sees only the file)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'salon.db'}"
    migrate.upgrade(url)
    mine, other = make_engine(url), make_engine(url)
    yield mine, other
    await mine.dispose()
    await other.dispose()


async def _owner_with_image(engine: AsyncEngine) -> tuple[str, uuid.UUID]:
    sessions = async_sessionmaker(engine, expire_on_commit=False)
    async with sessions() as session:
        name = uuid.uuid4().hex[:8]
        user = User(provider="local", subject=name, email=f"{name}@example.com")
        session.add(user)
        await session.flush()
        image = _image(user.id)
        session.add(image)
        await session.commit()
    return str(user.id), image.id


async def _sql(engine: AsyncEngine, statement: str, **params: Any) -> None:
    async with engine.begin() as conn:
        await conn.execute(text(statement), params)


async def _fetch(engine: AsyncEngine, statement: str) -> tuple[Any, ...]:
    async with engine.connect() as conn:
        row = (await conn.execute(text(statement))).one()
    return tuple(row)


async def test_sqlite_own_writes_keep_other_owners_pages(
    sqlite_file: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """The embedded default: before 0011 every commit of the process itself (a favorite, a
    job's heartbeat) moved the WAL header and so every user's counters."""
    mine, _other = sqlite_file
    tracker = ChangeTracker().watch(mine)
    a, image = await _owner_with_image(mine)
    b, _ = await _owner_with_image(mine)
    before = tracker.version_for(("images", a)), tracker.version_for(("images", b))
    users, jobs = tracker.version("users", "refresh_tokens"), tracker.version("jobs")
    sessions = async_sessionmaker(mine, expire_on_commit=False)
    async with sessions() as session:
        row = await session.get(Image, image)
        assert row is not None
        row.favorite = True
        await session.commit()
    after = tracker.version_for(("images", a)), tracker.version_for(("images", b))
    assert after[0] != before[0], "A's favorite did not move A's counter"
    assert after[1] == before[1], "A's favorite moved B's counter"
    # The log names every change of users and refresh_tokens (0018): the token and user caches
    # stay; a table it does not name still moves on any commit.
    assert tracker.version("users", "refresh_tokens") == users, "a favorite moved the users"
    assert tracker.version("jobs") != jobs, "a commit must still move tables the log omits"


async def test_sqlite_another_process_moving_users_or_sessions_is_seen(
    sqlite_file: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = sqlite_file
    tracker = ChangeTracker().watch(mine)
    a, image = await _owner_with_image(mine)
    sessions = tracker.version("refresh_tokens")
    users = tracker.version("users")
    await _sql(other, "UPDATE images SET favorite = 1 WHERE id = :id", id=image.bytes)
    assert (tracker.version("refresh_tokens"), tracker.version("users")) == (sessions, users)
    await _sql(
        other, "UPDATE users SET email = 'moved@example.com' WHERE id = :id", id=uuid.UUID(a).bytes
    )
    assert tracker.version("users") != users, "another process's user change was missed"
    users = tracker.version("users")
    await _sql(other, "DELETE FROM refresh_tokens")
    assert tracker.version("refresh_tokens") == sessions, "no row deleted: nothing to see"
    async with async_sessionmaker(other)() as session:
        account = LocalAccount(email="x@example.com", password_hash="-")
        session.add(account)
        await session.flush()
        expires = dt.datetime(2030, 1, 1, tzinfo=dt.UTC)
        session.add(
            RefreshToken(
                account_id=account.id, session_id=uuid.uuid4(), token_hash="h", expires_at=expires
            )
        )
        await session.commit()
    assert tracker.version("refresh_tokens") != sessions, "another process's session was missed"
    assert tracker.version("users") == users


async def test_sqlite_another_process_moves_only_the_owner_it_wrote(
    sqlite_file: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = sqlite_file
    tracker = ChangeTracker().watch(mine)
    a, image = await _owner_with_image(mine)
    b, _ = await _owner_with_image(mine)

    def versions() -> tuple[int, int]:
        return tracker.version_for(("images", a)), tracker.version_for(("images", b))

    # Raw SQL from elsewhere: no ORM flush names the owner; the trigger does.
    before = versions()
    await _sql(other, "UPDATE images SET favorite = 1 WHERE id = :id", id=image.bytes)
    after = versions()
    assert after[0] != before[0] and after[1] == before[1], (before, after)
    # Moving the image to B moves both.
    before = after
    await _sql(
        other,
        "UPDATE images SET owner_id = :b WHERE id = :id",
        b=uuid.UUID(b).bytes,
        id=image.bytes,
    )
    after = versions()
    assert after[0] != before[0] and after[1] != before[1], (before, after)
    # A delete moves its (new) owner only.
    before = after
    await _sql(other, "DELETE FROM images WHERE id = :id", id=image.bytes)
    after = versions()
    assert after[0] == before[0] and after[1] != before[1], (before, after)


async def test_sqlite_without_the_triggers_every_owner_moves(
    sqlite_file: tuple[AsyncEngine, AsyncEngine],
) -> None:
    """A later migration that rebuilds the table (SQLite's batch ALTER) drops its triggers:
    the log then cannot vouch for anything."""
    mine, other = sqlite_file
    tracker = ChangeTracker().watch(mine)
    _a, image = await _owner_with_image(mine)
    b, _ = await _owner_with_image(mine)
    await _sql(other, "DROP TRIGGER salon_log_images_update")
    before = tracker.version_for(("images", b))
    await _sql(other, "UPDATE images SET favorite = 1 WHERE id = :id", id=image.bytes)
    assert tracker.version_for(("images", b)) != before


async def test_sqlite_a_reader_behind_the_pruned_log_moves_every_owner(
    sqlite_file: tuple[AsyncEngine, AsyncEngine],
) -> None:
    mine, other = sqlite_file
    tracker = ChangeTracker().watch(mine)
    a, _image = await _owner_with_image(mine)
    b, _ = await _owner_with_image(mine)
    before = tracker.version_for(("images", b))
    # Over 5,000 log rows for A before the tracker looks again: the oldest are pruned.
    numbers = "WITH RECURSIVE n(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM n WHERE i < 6000)"
    await _sql(
        other,
        f"INSERT INTO salon_change_log (tbl, scope) {numbers} SELECT 'images', :a FROM n",
        a=uuid.UUID(a).bytes,
    )
    (oldest,) = await _fetch(other, "SELECT min(seq) FROM salon_change_log")
    assert oldest > 1000, f"the log was not pruned (oldest row {oldest})"
    assert tracker.version_for(("images", b)) != before


# ---------------------------------------------------------------- across processes (PostgreSQL)

NOTIFY_WAIT_S = 5.0


async def _wait_live(app: RunningApp) -> None:
    deadline = time.monotonic() + NOTIFY_WAIT_S
    while not app.runtime.changes.live:
        assert time.monotonic() < deadline, "the change listener did not connect"
        await asyncio.sleep(0.05)


async def _ids(app: RunningApp, headers: dict[str, str], query: str = "") -> list[str]:
    response = await app.client.get(f"/api/images{query}", headers=headers)
    assert response.status_code == 200, response.text
    return [item["id"] for item in response.json()["items"]]


@pytest.mark.parametrize("salon_database", ["postgres"], indirect=True)
async def test_another_process_writing_for_a_keeps_bs_pages(salon_app: RunningApp) -> None:
    import asyncpg  # type: ignore[import-untyped]

    a_headers, b_headers = await salon_app.login(), await salon_app.login()
    await _wait_live(salon_app)
    a_image = (await salon_app.upload(a_headers, sample_jpeg(color=(5, 5, 5)))).json()
    b_image = (await salon_app.upload(b_headers, sample_jpeg(color=(6, 6, 6)))).json()
    assert await _ids(salon_app, b_headers) == [b_image["id"]]
    me = (await salon_app.client.get("/api/me", headers=a_headers)).json()
    b_me = (await salon_app.client.get("/api/me", headers=b_headers)).json()
    changes = salon_app.runtime.changes
    await asyncio.sleep(0.5)  # notifications of the uploads above have arrived
    a_version = changes.version_for(("images", me["id"]))
    b_version = changes.version_for(("images", b_me["id"]))

    url = salon_app.runtime.engine.url
    conn = await asyncpg.connect(**url.translate_connect_args(username="user"))
    try:
        await conn.execute(
            "UPDATE images SET favorite = NOT favorite WHERE id = $1", uuid.UUID(a_image["id"])
        )
    finally:
        await conn.close()

    deadline = time.monotonic() + NOTIFY_WAIT_S
    while changes.version_for(("images", me["id"])) == a_version:
        assert time.monotonic() < deadline, "A's change was not notified"
        await asyncio.sleep(0.02)
    assert changes.version_for(("images", b_me["id"])) == b_version, "A's write dropped B's"
    assert await _ids(salon_app, a_headers, "?favorite=true") == [a_image["id"]]

    # The same through the API (an ORM flush here, its row notification arriving later).
    favored = await salon_app.client.put(f"/api/images/{a_image['id']}/favorite", headers=a_headers)
    assert favored.status_code == 200, favored.text
    await asyncio.sleep(0.5)
    assert changes.version_for(("images", b_me["id"])) == b_version, "A's favorite dropped B's"
    assert await _ids(salon_app, b_headers) == [b_image["id"]]
