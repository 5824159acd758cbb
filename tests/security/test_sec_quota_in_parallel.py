"""Attack report 3 item 5 against a real ``salon serve``: four 1 MB uploads at once were all
stored against a 3 MB quota, and 40 upload announcements at once were all accepted against a
cap of 32 open ones. Now one account's quota count and the row it admits take turns."""

from __future__ import annotations

import asyncio
import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from PIL import Image
from serve_support import BIN, Served, salon_serve, sign_up

UPLOADS = 6
FIT = 3
OPEN_CAP = 32
INTENTS = 40


def noisy_jpeg(side: int = 560) -> bytes:
    """A JPEG of random pixels (about 0.8 MB, every one different)."""
    buffer = io.BytesIO()
    Image.frombytes("RGB", (side, side), os.urandom(side * side * 3)).save(
        buffer, "JPEG", quality=95
    )
    return buffer.getvalue()


FILES = [noisy_jpeg() for _ in range(UPLOADS)]
# Room for the FIT largest files, not for one more of any size.
QUOTA = sum(sorted(len(f) for f in FILES)[-FIT:])
assert sum(sorted(len(f) for f in FILES)[: FIT + 1]) > QUOTA


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with salon_serve(
        tmp_path_factory.mktemp("parallel-quota"),
        storage_quota_bytes=str(QUOTA),
        max_open_uploads_per_user=str(OPEN_CAP),
        max_concurrent_uploads_per_user=str(UPLOADS),
    ) as running:
        yield running


def originals(data_dir: Path) -> list[Path]:
    return [p for d in data_dir.rglob("originals") for p in d.rglob("*") if p.is_file()]


def doctor(served: Served) -> dict[str, object]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALON_")}
    env["SALON_DATA_DIR"] = str(served.data_dir)
    done = subprocess.run(
        [str(BIN / "salon"), "doctor", "--json"],
        env=env,
        cwd=served.data_dir,
        capture_output=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout.decode() + done.stderr.decode()
    report: dict[str, object] = json.loads(done.stdout)
    return report


async def test_parallel_uploads_store_at_most_what_the_quota_holds(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=120) as client:
        owner = await sign_up(client, "eve")
        answers = await asyncio.gather(
            *(
                client.post(
                    "/api/images", files={"file": (f"{i}.jpg", f, "image/jpeg")}, headers=owner
                )
                for i, f in enumerate(FILES)
            )
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * FIT + [413] * (UPLOADS - FIT), statuses
        for refused in (a for a in answers if a.status_code == 413):
            assert "storage quota exceeded" in refused.text, refused.text
        listed = await client.get("/api/images", headers=owner)
        assert len(listed.json()["items"]) == FIT, listed.text
    assert len(originals(served.data_dir)) == FIT
    report = doctor(served)
    assert not report["orphan_objects"] and not report["missing_originals"], report


async def test_parallel_upload_announcements_stop_at_the_cap(served: Served) -> None:
    async with httpx.AsyncClient(base_url=served.url, timeout=120) as client:
        owner = await sign_up(client, "mallory")
        intent = {"filename": "a.jpg", "content_type": "image/jpeg", "size": 1000}
        answers = await asyncio.gather(
            *(client.post("/api/uploads", json=intent, headers=owner) for _ in range(INTENTS))
        )
        statuses = sorted(a.status_code for a in answers)
        assert statuses == [201] * OPEN_CAP + [429] * (INTENTS - OPEN_CAP), statuses
        refused = next(a for a in answers if a.status_code == 429)
        assert f"(the limit is {OPEN_CAP})" in refused.text, refused.text
