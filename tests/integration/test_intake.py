"""One intake (issue 19.3): a direct upload on local storage is written once (the body goes
straight into storage, completion hashes it where it lies and links it into place), bad input
leaves nothing, and every way in reads its bytes once. The real app on SQLite, local storage."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from salon.domain.images.intake import ByteStream, LocalFile, StoredObject, local_bytes
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg


class Counted:
    """Wraps the app's storage, counting reads (``open``) and writes (``put``) per key prefix."""

    def __init__(self, storage: Any) -> None:
        self._storage = storage
        self.opened: list[str] = []
        self.stored: list[str] = []

    def __getattr__(self, name: str) -> Any:
        return getattr(self._storage, name)

    def open(self, key: str, **kwargs: Any) -> AsyncIterator[bytes]:
        self.opened.append(key.split("/", 1)[0])
        result: AsyncIterator[bytes] = self._storage.open(key, **kwargs)
        return result

    async def put(self, key: str, chunks: Any, **kwargs: Any) -> Any:
        self.stored.append(key.split("/", 1)[0])
        return await self._storage.put(key, chunks, **kwargs)


def _files(root: Path) -> list[str]:
    return sorted(str(p.relative_to(root)) for p in root.rglob("*") if p.is_file())


async def _announce(app: RunningApp, headers: dict[str, str], size: int) -> str:
    made = await app.client.post(
        "/api/uploads",
        json={"filename": "dune.jpg", "content_type": "image/jpeg", "size": size},
        headers=headers,
    )
    assert made.status_code == 201, made.text
    return str(made.json()["upload_id"])


async def test_a_local_direct_upload_is_stored_once_and_read_in_place(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        runtime = app.app.state.runtime
        counted = Counted(runtime.storage)
        runtime.storage = counted
        headers = await app.login()
        data = sample_jpeg(640, 480, (30, 120, 200))
        upload_id = await _announce(app, headers, len(data))
        sent = await app.client.post(
            f"/api/uploads/{upload_id}/file",
            files={"file": ("dune.jpg", data, "image/jpeg")},
            headers=headers,
        )
        assert sent.status_code == 204, sent.text
        done = await app.client.post(
            f"/api/uploads/{upload_id}/complete", params={"wait": "true"}, headers=headers
        )
        assert done.status_code == 201, done.text
        assert done.json()["status"] == "ready" and done.json()["title"] == "dune"
        # The body went into uploads/ once; nothing was read back through storage or stored
        # again as the original (a link), only the renditions were written.
        assert counted.stored.count("uploads") == 1 and "originals" not in counted.stored
        assert counted.opened == []
        tmp = app.data_dir / "tmp"
        assert not tmp.exists() or _files(tmp) == []
        media = _files(app.data_dir / "media")
        assert [f for f in media if f.startswith(("uploads", "staging"))] == []
        assert len([f for f in media if f.startswith("originals")]) == 1


@pytest.mark.parametrize(
    "body",
    [
        {"data": {"title": "no file here"}},  # a form without its file part
        {"content": b"--x\r\nnot a form", "headers": {"content-type": "multipart/form-data"}},
    ],
)
async def test_a_bad_direct_upload_body_leaves_nothing(
    tmp_path: Path, body: dict[str, Any]
) -> None:
    async with running_app(tmp_path / "data") as app:
        headers = await app.login()
        data = sample_jpeg(64, 48, (1, 2, 3))
        upload_id = await _announce(app, headers, len(data))
        sent = await app.client.post(
            f"/api/uploads/{upload_id}/file",
            **{**body, "headers": {**headers, **body.get("headers", {})}},
        )
        assert sent.status_code == 400, sent.text
        assert sent.json()["detail"]
        media = app.data_dir / "media"
        assert not media.exists() or [f for f in _files(media) if "uploads" in f] == []
        tmp = app.data_dir / "tmp"
        assert not tmp.exists() or _files(tmp) == []


async def _chunks(parts: list[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def test_sources_are_read_once_and_leave_no_spool(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        storage = app.app.state.runtime.storage
        tmp = tmp_path / "spool"
        tmp.mkdir()
        data = sample_jpeg(64, 48, (4, 5, 6))
        stream = ByteStream(_chunks([data[:100], data[100:]]), len(data), ValueError("big"))
        async with local_bytes(stream, storage, tmp) as local:
            assert local.path.read_bytes() == data and local.size == len(data)
            assert local.stored_key is None and local.spooled
        assert _files(tmp) == []
        with pytest.raises(ValueError, match="big"):
            over = ByteStream(_chunks([data, b"x"]), len(data), ValueError("big"))
            async with local_bytes(over, storage, tmp):
                pass
        assert _files(tmp) == []
        given = tmp_path / "given.jpg"
        given.write_bytes(data)
        async with local_bytes(LocalFile(given), storage, tmp) as local:
            assert local.path == given and local.size == len(data) and not local.spooled
        assert given.exists()  # the caller's file stays the caller's
        await storage.put("staging/x/y", _chunks([data]), content_type="image/jpeg")
        stored = StoredObject("staging/x/y", len(data), ValueError("big"), KeyError("gone"))
        async with local_bytes(stored, storage, tmp) as local:
            # Local storage: hashed where it lies, nothing copied.
            assert local.path == storage.local_path("staging/x/y") and not local.spooled
            assert local.stored_key == "staging/x/y" and local.sha256 == local.sha256.lower()
        with pytest.raises(KeyError):
            gone = StoredObject("staging/x/none", len(data), ValueError("big"), KeyError("gone"))
            async with local_bytes(gone, storage, tmp):
                pass
        with pytest.raises(ValueError, match="big"):
            small = StoredObject("staging/x/y", len(data) - 1, ValueError("big"), KeyError("x"))
            async with local_bytes(small, storage, tmp):
                pass


async def test_an_empty_file_is_refused_alike_on_both_upload_paths(tmp_path: Path) -> None:
    """README: an empty file gets 415 ``empty``, whether sent to POST /api/images or announced
    to POST /api/uploads (an outside newcomer got a 400 there, the gallery showing the raw
    validator message ``Expected `int` >= 1``), and nothing is left behind."""
    async with running_app(tmp_path / "data") as app:
        headers = await app.login()
        announced = await app.client.post(
            "/api/uploads",
            json={"filename": "empty.jpg", "content_type": "image/jpeg", "size": 0},
            headers=headers,
        )
        sent = await app.client.post(
            "/api/images", files={"file": ("empty.jpg", b"", "image/jpeg")}, headers=headers
        )
        for response in (announced, sent):
            assert response.status_code == 415, response.text
            assert response.json()["reason"] == "empty"
            assert response.json()["detail"] == "the file is empty"
        listed = await app.client.get("/api/images", headers=headers)
        assert listed.json()["items"] == []
        uploads = tmp_path / "data" / "uploads"
        assert not uploads.exists() or _files(uploads) == []
