"""A bounded read cache whose entries hold only while the tables they came from are unchanged.

Public API for plugins as well as the core: build it with the ``changes`` of a
:class:`~salon.providers.ProviderContext` and the tables the cached values are read from::

    cache = VersionedCache(ctx.changes, ("images",), max_entries=1000)
    version = cache.version()           # read BEFORE the query
    value = cache.get(key, version)
    if value is None:
        value = await load(key)
        cache.put(key, value, version)  # stale at once if a commit raced the query

Without ``changes`` (or with ``max_entries=0``) it never holds anything.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from typing import Generic, TypeVar

from salon.providers import TableVersions

K = TypeVar("K")
V = TypeVar("V")


class VersionedCache(Generic[K, V]):
    """Least-recently-used map of ``key -> (version, value)``, bounded by entry count and by
    the total of the sizes given to :meth:`put`."""

    def __init__(
        self,
        changes: TableVersions | None,
        tables: Sequence[str],
        *,
        max_entries: int = 10_000,
        max_size: int | None = None,
    ) -> None:
        self._changes = changes if max_entries > 0 and max_size != 0 else None
        self._tables = tuple(tables)
        self._max_entries = max_entries
        self._max_size = max_size
        self._size = 0
        self._entries: OrderedDict[K, tuple[int, V, int]] = OrderedDict()

    @property
    def enabled(self) -> bool:
        return self._changes is not None

    def version(self) -> int:
        """The tables' version now (-1 when disabled, which no entry ever has)."""
        return -1 if self._changes is None else self._changes.version(*self._tables)

    def version_for(self, *scopes: tuple[str, str], whole: Sequence[str] = ()) -> int:
        """The version of only the rows in ``scopes`` (``(table, scope)`` pairs, e.g.
        ``("images", str(owner_id))``) when the tracker counts per scope (the core's
        :class:`~salon.db.changes.ChangeTracker` does for its ``SCOPED`` tables), else of the
        whole tables. ``whole`` adds tables any of whose rows matter (an entry that depends on
        rows no scope names). Every entry of one cache must use the same kind of version."""
        if self._changes is None:
            return -1
        scoped = getattr(self._changes, "version_for", None)
        if scoped is None:
            return self._changes.version(*self._tables)
        version: int = scoped(*scopes)
        if whole:
            # One clock behind both: the larger moves whenever either does.
            version = max(version, self._changes.version(*whole))
        return version

    def get(self, key: K, version: int) -> V | None:
        """The value stored under ``version``, or None (an older entry is dropped)."""
        entry = self._entries.get(key)
        if entry is None:
            return None
        if entry[0] != version:
            self._drop(key)
            return None
        self._entries.move_to_end(key)
        return entry[1]

    def put(self, key: K, value: V, version: int, size: int = 0) -> None:
        if self._changes is None or version < 0:
            return
        if self._max_size is not None and size > self._max_size:
            return
        self._drop(key)
        self._entries[key] = (version, value, size)
        self._size += size
        while len(self._entries) > self._max_entries or (
            self._max_size is not None and self._size > self._max_size
        ):
            _key, (_v, _value, dropped) = self._entries.popitem(last=False)
            self._size -= dropped

    def __len__(self) -> int:
        return len(self._entries)

    def _drop(self, key: K) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._size -= entry[2]
