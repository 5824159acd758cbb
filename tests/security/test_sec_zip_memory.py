"""A large album ZIP is streamed in bounded memory: a real ``salon serve`` sends 200 MiB of
originals as one archive while the server's RSS (process tree, from /proc) is sampled; it
must grow by less than 50 MiB, and the archive must be whole (every CRC checks)."""

from __future__ import annotations

import os
import time
import zipfile
from pathlib import Path

import httpx
from security_support import distinct_jpeg
from serve_support import salon_serve, sign_up

PHOTOS = 20
PHOTO_BYTES = 10 * 1024 * 1024  # 20 x 10 MiB = 200 MiB of originals
MAX_GROWTH_MIB = 50


async def test_a_200_mib_album_zip_streams_in_bounded_memory(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    with salon_serve(data_dir) as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=120) as client:
            headers = await sign_up(client, "zip")
            images = []
            for _ in range(PHOTOS):
                files = {"file": ("photo.jpg", distinct_jpeg((64, 48)), "image/jpeg")}
                sent = await client.post(
                    "/api/images", params={"wait": "true"}, files=files, headers=headers
                )
                assert sent.status_code == 201, sent.text
                images.append(sent.json())
            album = await client.post("/api/albums", json={"name": "Big"}, headers=headers)
            album_id = album.json()["id"]
            added = await client.post(
                f"/api/albums/{album_id}/images",
                json={"image_ids": [i["id"] for i in images]},
                headers=headers,
            )
            assert added.status_code == 200, added.text

            # A warm-up archive first: imports and the thread pool are not what is measured.
            warm = await client.get(f"/api/albums/{album_id}/download", headers=headers)
            assert warm.status_code == 200 and zipfile.is_zipfile(_save(tmp_path, warm.content))

            # Each stored original becomes 10 MiB of incompressible bytes: the archive streams
            # what storage holds.
            originals = [p for p in data_dir.rglob("*") if p.is_file() and "originals" in p.parts]
            assert len(originals) == PHOTOS, originals
            for path in originals:
                path.write_bytes(os.urandom(PHOTO_BYTES))

            baseline = served.rss_mib()
            peak, total, next_sample = baseline, 0, 0
            out = tmp_path / "big.zip"
            started = time.monotonic()
            with out.open("wb") as sink:
                async with client.stream(
                    "GET", f"/api/albums/{album_id}/download", headers=headers
                ) as response:
                    assert response.status_code == 200
                    assert "content-length" not in response.headers  # streamed, not built
                    async for chunk in response.aiter_raw():
                        sink.write(chunk)
                        total += len(chunk)
                        if total >= next_sample:
                            peak = max(peak, served.rss_mib())
                            next_sample = total + 4 * 1024 * 1024
            seconds = time.monotonic() - started
            peak = max(peak, served.rss_mib())

    assert total > PHOTOS * PHOTO_BYTES
    with zipfile.ZipFile(out) as archive:
        assert archive.testzip() is None
        assert len(archive.namelist()) == PHOTOS
        assert all(info.file_size == PHOTO_BYTES for info in archive.infolist())
    growth = peak - baseline
    print(
        f"album ZIP: {total / 2**20:.0f} MiB in {seconds:.1f} s; server RSS {baseline:.0f} MiB "
        f"-> peak {peak:.0f} MiB (+{growth:.1f} MiB)"
    )
    assert growth < MAX_GROWTH_MIB, f"server RSS grew {growth:.1f} MiB while streaming"


def _save(folder: Path, data: bytes) -> Path:
    path = folder / "warm.zip"
    path.write_bytes(data)
    return path
