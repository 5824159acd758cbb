"""A small on-disk cache of APOD records, one JSON file per date under ``data_dir/apod-cache``.

A past day's entry never changes, so it is kept for good; so is the fact that the API has no
entry for a past day (it skips a few). Today's entry may still be edited, so it is kept for
``today_ttl`` seconds only; that today is not published yet is kept for at most
``UNPUBLISHED_TTL`` seconds, so a gallery showing "today" does not ask on every page view but
sees the new picture soon after it appears. File access runs in a worker thread.
"""

from __future__ import annotations

import datetime as dt
import logging
import os
import tempfile
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import anyio
import msgspec

log = logging.getLogger("salon_nasa_apod")

Record = dict[str, Any]
UNPUBLISHED_TTL = 300


class ApodCache:
    """Maps a date to its APOD record, or to ``None`` when the API has no entry for it."""

    def __init__(
        self, folder: Path, *, today_ttl: int, clock: Callable[[], float] = time.time
    ) -> None:
        self.folder = folder
        self.today_ttl = today_ttl
        self._clock = clock

    def _path(self, day: dt.date) -> Path:
        return self.folder / f"{day.isoformat()}.json"

    async def load_many(
        self, days: Iterable[dt.date], *, today: dt.date
    ) -> dict[dt.date, Record | None]:
        """The fresh cached answers among ``days``; a day not in the result must be fetched."""
        wanted = list(days)
        return await anyio.to_thread.run_sync(self._load_many, wanted, today)

    async def store_many(self, answers: Mapping[dt.date, Record | None], *, today: dt.date) -> None:
        """Remember each day's record (``None``: the API has none, or not yet)."""
        if answers:
            await anyio.to_thread.run_sync(self._store_many, dict(answers))

    def _load_many(self, days: list[dt.date], today: dt.date) -> dict[dt.date, Record | None]:
        found: dict[dt.date, Record | None] = {}
        now = self._clock()
        for day in days:
            try:
                data = msgspec.json.decode(self._path(day).read_bytes())
                fetched_at = float(data["fetched_at"])
                record = data["record"]
            except FileNotFoundError:
                continue
            except (OSError, msgspec.DecodeError, KeyError, TypeError, ValueError):
                log.warning("ignoring unreadable APOD cache file for %s", day)
                continue
            if record is not None and not isinstance(record, dict):
                continue
            if day >= today:
                ttl = self.today_ttl if record else min(self.today_ttl, UNPUBLISHED_TTL)
                if now - fetched_at >= ttl:
                    continue
            found[day] = record
        return found

    def _store_many(self, answers: Mapping[dt.date, Record | None]) -> None:
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            now = self._clock()
            for day, record in answers.items():
                payload = msgspec.json.encode({"fetched_at": now, "record": record})
                # Write then rename, so a reader never sees half a file.
                fd, tmp = tempfile.mkstemp(dir=self.folder, prefix=".tmp-", suffix=".json")
                try:
                    with os.fdopen(fd, "wb") as handle:
                        handle.write(payload)
                    os.replace(tmp, self._path(day))
                except BaseException:
                    Path(tmp).unlink(missing_ok=True)
                    raise
        except OSError as exc:
            # A cache that cannot be written costs quota, not correctness.
            log.warning("cannot write the APOD cache in %s: %s", self.folder, exc)
