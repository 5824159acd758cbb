"""The plugin inside a running Salon, found by its entry point: its source browsed page by page
through the API, a photo imported into the gallery, its page served with its nav entry, and all
of it gone with SALON_DISABLE_PLUGINS=folder_source."""

from __future__ import annotations

from pathlib import Path

import pytest
from salon.testing import TEST_PASSWORD, RunningApp, running_app

pytest.importorskip(
    "salon_folder_source", reason="salon-folder-source is not installed in this environment"
)

ENTRIES = "/api/sources/folder/entries"


def _env(folder: Path, **extra: str) -> dict[str, str]:
    return {"SALON_FOLDER_SOURCE_ROOT": str(folder), **extra}


async def _browser_session(app: RunningApp) -> None:
    """Sign in with the session cookie, as the web UI does: pages read the cookie."""
    await app.login()
    email = next(iter(app.users))
    body = {"email": email, "password": TEST_PASSWORD}
    response = await app.client.post("/api/auth/login?session=cookie", json=body)
    assert response.status_code == 200, response.text


def _nav(html: str) -> str:
    return html[html.index('aria-label="Main"') : html.index("</nav>")]


async def test_browse_the_folder_page_by_page(
    tmp_path: Path, photo_folder: Path, photo_names: list[str]
) -> None:
    env = _env(photo_folder, SALON_FOLDER_SOURCE_PAGE_SIZE="2")
    async with running_app(tmp_path / "data", env=env) as app:
        headers = await app.login()
        sources = (await app.client.get("/api/sources", headers=headers)).json()
        assert {"name": "folder", "title": "Folder"} in sources
        seen: list[str] = []
        params: dict[str, str] = {}
        for _ in range(5):
            page = await app.client.get(ENTRIES, params=params, headers=headers)
            assert page.status_code == 200, page.text
            seen += [entry["external_id"] for entry in page.json()]
            cursor = page.headers.get("x-next-cursor")
            if cursor is None:
                break
            params = {"cursor": cursor}
        assert seen == photo_names  # every photo once, in order, over three pages
        bad = await app.client.get(ENTRIES, params={"cursor": "bm9wZQ"}, headers=headers)
        assert bad.status_code == 400 and "cursor" in bad.json()["detail"]
        too_many = await app.client.get(ENTRIES, params={"per_page": "3"}, headers=headers)
        assert too_many.status_code == 400 and "per_page" in too_many.json()["detail"]
        anonymous = await app.client.get(ENTRIES)
        assert anonymous.status_code == 401


async def test_import_one_photo_into_the_gallery(tmp_path: Path, photo_folder: Path) -> None:
    async with running_app(tmp_path / "data", env=_env(photo_folder)) as app:
        headers = await app.login()
        started = await app.client.post(
            "/api/sources/folder/import", json={"name": "trips/coast.jpg"}, headers=headers
        )
        assert started.status_code == 202, started.text
        job = await app.finished_job(started.json()["job_id"], headers)
        assert job["status"] == "succeeded", job
        image_id = job["result"]["image_ids"]["trips/coast.jpg"]
        image = (await app.client.get(f"/api/images/{image_id}", headers=headers)).json()
        assert image["metadata"]["folder_path"] == "trips/coast.jpg"
        original = await app.client.get(image["urls"]["original"], headers=headers)
        assert original.content == (photo_folder / "trips/coast.jpg").read_bytes()
        # Browsing now marks the entry as imported, with its image.
        listed = (
            await app.client.get(ENTRIES, params={"name": "trips/coast.jpg"}, headers=headers)
        ).json()
        assert listed[0]["image_id"] == image_id
        missing = await app.client.post(
            "/api/sources/folder/import", json={"name": "../secret.jpg"}, headers=headers
        )
        assert missing.status_code == 400, missing.text


async def test_the_page_and_its_nav_entry_come_and_go_with_the_plugin(
    tmp_path: Path, photo_folder: Path
) -> None:
    async with running_app(tmp_path / "on", env=_env(photo_folder)) as app:
        await _browser_session(app)
        page = await app.client.get("/folder")
        assert page.status_code == 200, page.text
        assert 'href="/folder"' in _nav(page.text) and "Folder" in _nav(page.text)
        assert "/static/plugins/folder_source/folder.js" in page.text
        script = await app.client.get("/static/plugins/folder_source/folder.js")
        assert script.status_code == 200 and "X-Next-Cursor" in script.text
    # (Its SALON_FOLDER_SOURCE_* settings would now be unknown ones: start-up refuses them.)
    env = {"SALON_DISABLE_PLUGINS": "folder_source"}
    async with running_app(tmp_path / "off", env=env) as app:
        await _browser_session(app)
        home = await app.client.get("/")
        assert home.status_code == 200 and 'href="/folder"' not in _nav(home.text)
        assert (await app.client.get("/folder")).status_code == 404
        sources = (await app.client.get("/api/sources")).json()
        assert "folder" not in [source["name"] for source in sources]
