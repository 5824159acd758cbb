"""Album sharing in a real browser against ``salon serve``: on the album's page the owner
renames it, picks its cover, makes a password link and shares it with a friend; a stranger
opens the link (wrong password, then the right one) and sees the photos; the friend finds it
under Albums, "Shared with you"; the owner revokes the link on the Account page and unshares
the friend, and both stop at once."""

from __future__ import annotations

import re
import uuid
from typing import Any

import httpx
import pytest

from .conftest import PASSWORD, Server, jpeg, new_page, shot, unlabelled, wait_until

pytestmark = pytest.mark.e2e

LINK_PASSWORD = "a link passphrase"


def _sign_in(page: Any, server: Server, email: str, target: str) -> None:
    page.goto(target)
    page.wait_for_url(re.compile(r"/login\?next="))
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    page.wait_for_url(f"{server.url}{target}")


def test_share_an_album_by_link_and_with_a_friend(
    browser: Any, server: Server, failure_context: list[Any]
) -> None:
    from playwright.sync_api import expect

    tag = uuid.uuid4().hex[:8]
    email, friend_email = f"e2e-as-{tag}@example.com", f"e2e-friend-{tag}@example.com"
    owner = server.api_user(email)
    friend_api = server.api_user(friend_email)
    ids = []
    for i, colours in enumerate((((200, 40, 40), (40, 40, 200)), ((30, 160, 60), (250, 250, 0)))):
        data = jpeg((480 + 32 * i, 360), colours)
        sent = owner.post(
            "/api/images?wait=true", files={"file": (f"p{i}.jpg", data, "image/jpeg")}
        )
        assert sent.status_code == 201, sent.text
        ids.append(sent.json()["id"])
    album = owner.post("/api/albums", json={"name": f"Holiday {tag}"}).json()
    owner.post(f"/api/albums/{album['id']}/images", json={"image_ids": ids}).raise_for_status()

    context, page, console = new_page(browser, server, viewport={"width": 1280, "height": 900})
    failure_context.append(page)
    _sign_in(page, server, email, f"/albums/{album['id']}")
    expect(page.locator(".tile")).to_have_count(2)

    # Rename and cover.
    page.get_by_text("Rename, share or delete this album").click()
    page.get_by_label("Album name").fill(f"Summer {tag}")
    page.get_by_role("button", name="Rename", exact=True).click()
    expect(page.locator("[data-page-title]")).to_have_text(f"Summer {tag}")
    oldest = min(ids)
    page.locator(f".tile[data-id='{oldest}'] .tile-check").check()
    page.get_by_role("button", name="Use as cover").click()
    expect(page.locator("[data-toast]")).to_contain_text("Cover chosen")
    assert owner.get(f"/api/albums/{album['id']}").json()["cover_id"] == oldest

    # A password link that shows titles.
    tools = page.locator("[data-album-tools]")
    tools.get_by_label("Titles").check()
    tools.get_by_label("Password (optional, at least 8 characters)").fill(LINK_PASSWORD)
    page.get_by_role("button", name="Create link").click()
    url_box = page.locator("[data-album-share-url]")
    expect(url_box).to_have_value(re.compile(rf"^{re.escape(server.url)}/share/album/[\w-]+$"))
    share_url = url_box.input_value()

    # Shared with a friend by e-mail.
    page.get_by_label("Their e-mail").fill(friend_email)
    page.get_by_role("button", name="Share", exact=True).click()
    expect(page.locator("[data-member-list] li")).to_have_text(re.compile(friend_email))
    assert unlabelled(page) == []
    shot(page, "album-share-01-tools")

    # A stranger: the password form, a wrong password, the right one, then the photos.
    stranger_ctx, stranger, stranger_console = new_page(browser, server)
    failure_context.append(stranger)
    stranger.goto(share_url)
    form = stranger.locator("[data-unlock-form]")
    expect(form).to_be_visible()
    stranger.get_by_label("Password").fill("not the password")
    stranger.get_by_role("button", name="Open the album").click()
    expect(stranger.locator("[data-unlock-error]")).to_have_text("Wrong password.")
    assert LINK_PASSWORD not in stranger.url
    stranger.get_by_label("Password").fill(LINK_PASSWORD)
    stranger.get_by_role("button", name="Open the album").click()
    expect(stranger.locator(".tile")).to_have_count(2)
    expect(form).to_be_hidden()
    expect(stranger.locator("[data-album-title]")).to_have_text(f"Summer {tag}")
    wait_until(
        stranger,
        "() => [...document.querySelectorAll('.tile-img')].every(i => i.naturalWidth > 0)",
    )
    stranger.locator(".tile-open").first.click()
    expect(stranger.locator("[data-viewer]")).to_have_attribute("open", "")
    expect(stranger.locator("[data-viewer-caption]")).to_contain_text("p")
    wait_until(stranger, "() => document.querySelector('[data-viewer-img]').naturalWidth > 0")
    assert unlabelled(stranger) == []
    shot(stranger, "album-share-02-stranger")
    stranger.get_by_role("button", name="Close").click()
    # The unlocked page reloads without asking again (the cookie, not the URL, holds it).
    stranger.reload()
    expect(stranger.locator(".tile")).to_have_count(2)
    assert stranger_console.csp_violations() == []

    # The friend finds it under Albums, shared with them, read-only.
    friend_ctx, friend, _ = new_page(browser, server)
    failure_context.append(friend)
    _sign_in(friend, server, friend_email, "/albums")
    shared = friend.locator("[data-shared-list] .album-link")
    expect(shared).to_have_count(1)
    expect(shared).to_contain_text(f"Summer {tag}")
    expect(shared).to_contain_text(email)
    shared.click()
    friend.wait_for_url(f"{server.url}/albums/shared/{album['id']}")
    expect(friend.locator(".tile")).to_have_count(2)
    expect(friend.locator("[data-album-tools]")).to_have_count(0)
    shot(friend, "album-share-03-friend")

    # The owner revokes the link on the Account page: the stranger's page stops at once.
    page.goto("/account")
    item = page.locator("[data-share-list] li", has_text=f"Album “Summer {tag}”")
    expect(item).to_contain_text("password")
    page.once("dialog", lambda dialog: dialog.accept())  # Revoke asks first
    item.get_by_role("button", name="Revoke").click()
    expect(item).to_have_count(0)
    stranger.reload()
    expect(stranger.locator("[data-share-ended]")).to_contain_text("revoked by its owner")
    expect(stranger.locator(".tile")).to_have_count(0)
    token = share_url.rsplit("/", 1)[1]
    assert httpx.get(f"{server.url}/s/album/{token}").status_code == 410
    assert httpx.get(share_url).status_code == 410

    # Unshared: the friend's view ends too.
    page.goto(f"/albums/{album['id']}")
    page.get_by_text("Rename, share or delete this album").click()
    page.locator("[data-member-list] li").get_by_role("button", name="Unshare").click()
    expect(page.locator("[data-member-list] li")).to_have_count(0)
    assert friend_api.get("/api/albums/shared").json() == []
    friend.goto("/albums")
    expect(friend.locator("[data-shared-section]")).to_be_hidden()

    # Delete the album: its photos stay.
    page.once("dialog", lambda dialog: dialog.accept())
    page.get_by_role("button", name="Delete album").click()
    page.wait_for_url(f"{server.url}/albums")
    assert owner.get(f"/api/albums/{album['id']}").status_code == 404
    assert owner.get(f"/api/images/{ids[0]}").status_code == 200
    assert console.csp_violations() == []
    for ctx in (context, stranger_ctx, friend_ctx):
        ctx.close()
