"""ZIP downloads in a real browser: the album page's "Download ZIP" saves the album's
originals under their upload names; the grid's selection toolbar saves the selected photos;
a user an album is shared with (read-only) downloads its large renditions."""

from __future__ import annotations

import re
import uuid
import zipfile
from pathlib import Path
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, Server, jpeg, new_page, sign_up

pytestmark = pytest.mark.e2e


def _album(client: httpx.Client, name: str, files: list[str]) -> tuple[dict[str, Any], list[str]]:
    """An album ``name`` of distinct JPEGs uploaded under the ``files`` names."""
    ids = []
    for i, filename in enumerate(files):
        data = jpeg((320 + 16 * i, 240), ((40 * i, 80, 160), (240, 200, 40)))
        sent = client.post("/api/images?wait=true", files={"file": (filename, data, "image/jpeg")})
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["id"])
    album = client.post("/api/albums", json={"name": name}).json()
    client.post(f"/api/albums/{album['id']}/images", json={"image_ids": ids}).raise_for_status()
    return album, ids


def test_album_and_selection_zip(
    browser: Any, server: Server, failure_context: list[Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    email = f"e2e-zip-{uuid.uuid4().hex[:8]}@example.com"
    client = server.api_user(email)
    names = ["Été à Zürich.jpg", "IMG_0001.jpg", "img_0001.jpg"]
    album, ids = _album(client, f"Trip {uuid.uuid4().hex[:4]}", names)

    context, page, console = new_page(browser, server, accept_downloads=True)
    failure_context.append(page)
    page.goto(f"/albums/{album['id']}")
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}/albums/{album['id']}")
    expect(page.locator(".tile")).to_have_count(3)

    with page.expect_download() as caught:
        page.get_by_role("link", name="Download ZIP", exact=True).click()
    download = caught.value
    assert download.suggested_filename == f"{album['name']}.zip"
    saved = tmp_path / "album.zip"
    download.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == sorted(
            ["Été à Zürich.jpg", "IMG_0001.jpg", "img_0001 (2).jpg"]
        )

    page.locator(f".tile[data-id='{ids[0]}'] .tile-check").check()
    page.locator(f".tile[data-id='{ids[2]}'] .tile-check").check()
    with page.expect_download() as caught:
        page.locator("[data-toolbar]").get_by_role("button", name="Download ZIP").click()
    picked = tmp_path / "selection.zip"
    caught.value.save_as(picked)
    assert caught.value.suggested_filename.endswith(".zip")
    with zipfile.ZipFile(picked) as archive:
        assert archive.namelist() == ["Été à Zürich.jpg", "img_0001.jpg"]
    assert console.csp_violations() == []
    context.close()


def test_a_member_downloads_a_shared_album(
    browser: Any, server: Server, failure_context: list[Any], tmp_path: Path
) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:8]
    owner = server.api_user(f"e2e-zip-owner-{tag}@example.com")
    album, _ids = _album(owner, f"Coast {tag}", ["Beach.jpg", "Dunes.jpg"])

    context, page, console = new_page(browser, server, accept_downloads=True)
    failure_context.append(page)
    member_email = f"e2e-zip-member-{tag}@example.com"
    sign_up(page, server, member_email)
    owner.post(
        f"/api/albums/{album['id']}/members", json={"email": member_email}
    ).raise_for_status()
    page.goto(f"/albums/shared/{album['id']}")
    expect(page.locator(".tile")).to_have_count(2)
    with page.expect_download() as caught:
        page.get_by_role("link", name="Download ZIP", exact=True).click()
    assert caught.value.suggested_filename == f"Coast {tag}.zip"
    saved = tmp_path / "shared.zip"
    caught.value.save_as(saved)
    with zipfile.ZipFile(saved) as archive:
        assert archive.testzip() is None
        assert sorted(archive.namelist()) == ["Beach.webp", "Dunes.webp"]
    assert console.csp_violations() == []
    context.close()
