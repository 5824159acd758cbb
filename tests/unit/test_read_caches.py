"""The pieces behind the read caches: which statements count as writes, the change counters,
and the bounded versioned map."""

from __future__ import annotations

import pytest
from salon.caching import VersionedCache
from salon.db.changes import ALL, ChangeTracker, written_table


@pytest.mark.parametrize(
    ("statement", "table"),
    [
        ("SELECT images.id FROM images WHERE images.owner_id = ?", None),
        ("  select 1", None),
        ("SAVEPOINT sa_savepoint_1", None),
        ("RELEASE SAVEPOINT sa_savepoint_1", None),
        ("PRAGMA journal_mode=WAL", None),
        ("INSERT INTO images (id, owner_id) VALUES (?, ?)", "images"),
        ('INSERT INTO "Users" (id) VALUES ($1)', "users"),
        ("INSERT OR REPLACE INTO album_images (album_id) VALUES (?)", "album_images"),
        ("UPDATE refresh_tokens SET revoked_at=? WHERE session_id = ?", "refresh_tokens"),
        ("DELETE FROM albums WHERE albums.id = $1", "albums"),
        ("\n  update users set email = 'x'", "users"),
        # Anything else may write something it does not name plainly: everything changed.
        ("WITH moved AS (DELETE FROM images RETURNING id) SELECT count(*) FROM moved", ALL),
        ("TRUNCATE images", ALL),
        ("ALTER TABLE images ADD COLUMN x INTEGER", ALL),
        ("DROP TABLE images", ALL),
    ],
)
def test_written_table(statement: str, table: str | None) -> None:
    assert written_table(statement) == table


def test_versions_move_only_for_the_tables_that_changed() -> None:
    tracker = ChangeTracker()
    images, users = tracker.version("images"), tracker.version("users")
    tracker.bump(["images"])
    assert tracker.version("images") != images
    assert tracker.version("users") == users
    both = tracker.version("images", "users")
    tracker.bump(["users"])
    assert tracker.version("images", "users") != both
    before = tracker.version("images", "users")
    tracker.bump([ALL])
    assert tracker.version("users") != before and tracker.version("images") != before


def test_a_tracker_that_is_not_live_never_repeats_a_version() -> None:
    tracker = ChangeTracker(live=False)
    assert tracker.version("images") != tracker.version("images")
    tracker.set_live(True)
    assert tracker.version("images") == tracker.version("images")
    held = tracker.version("images")
    tracker.set_live(False)
    tracker.set_live(True)
    assert tracker.version("images") != held  # commits may have been missed meanwhile


def test_entries_hold_only_under_the_version_they_were_stored_with() -> None:
    tracker = ChangeTracker()
    cache: VersionedCache[str, str] = VersionedCache(tracker, ("images",))
    version = cache.version()
    cache.put("page", "body", version)
    assert cache.get("page", cache.version()) == "body"
    tracker.bump(["users"])
    assert cache.get("page", cache.version()) == "body"
    tracker.bump(["images"])
    assert cache.get("page", cache.version()) is None
    assert len(cache) == 0  # the stale entry is dropped, not kept


def test_a_value_read_before_a_commit_is_stale_at_once() -> None:
    tracker = ChangeTracker()
    cache: VersionedCache[str, str] = VersionedCache(tracker, ("images",))
    version = cache.version()  # read before the query
    tracker.bump(["images"])  # a commit lands while the query runs
    cache.put("page", "old body", version)
    assert cache.get("page", cache.version()) is None


def test_bounded_by_entries_and_by_size_least_recently_used_first() -> None:
    tracker = ChangeTracker()
    cache: VersionedCache[int, bytes] = VersionedCache(
        tracker, ("images",), max_entries=3, max_size=100
    )
    v = cache.version()
    for key in range(3):
        cache.put(key, b"x", v, size=10)
    assert cache.get(0, v) == b"x"  # 0 is now the most recently used
    cache.put(3, b"x", v, size=10)
    assert cache.get(1, v) is None and cache.get(0, v) == b"x"
    cache.put(4, b"y" * 91, v, size=91)  # 91 + 10 > 100: only the newest stays
    assert len(cache) == 1 and cache.get(4, v) == b"y" * 91
    cache.put(5, b"z" * 101, v, size=101)  # larger than the whole budget: not kept
    assert cache.get(5, v) is None and cache.get(4, v) is not None


@pytest.mark.parametrize("kwargs", [{"max_entries": 0}, {"max_size": 0}])
def test_disabled_caches_hold_nothing(kwargs: dict[str, int]) -> None:
    cache: VersionedCache[str, str] = VersionedCache(ChangeTracker(), ("images",), **kwargs)
    cache.put("k", "v", cache.version())
    assert not cache.enabled and cache.get("k", cache.version()) is None
    no_tracker: VersionedCache[str, str] = VersionedCache(None, ("images",))
    no_tracker.put("k", "v", no_tracker.version())
    assert no_tracker.get("k", no_tracker.version()) is None
