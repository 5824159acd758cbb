"""RunningApp's helpers for plugin tests: a browser session for pages (``cookie_login``),
and a plugin's ``salon`` object (``salon``)."""

from __future__ import annotations

from pathlib import Path

from salon.testing import RunningApp, running_app


async def test_cookie_login_signs_pages_in_and_gives_the_csrf_header(tmp_path: Path) -> None:
    async with running_app(tmp_path) as app:
        anonymous = await app.client.get("/albums", follow_redirects=False)
        assert anonymous.status_code in (302, 303, 307)
        csrf = await app.cookie_login()
        assert (await app.client.get("/albums", follow_redirects=False)).status_code == 200
        refused = await app.client.post("/api/albums", json={"name": "trip"})
        assert refused.status_code == 403, refused.text
        created = await app.client.post("/api/albums", json={"name": "trip"}, headers=csrf)
        assert created.status_code == 201, created.text


async def test_cookie_login_again_for_a_known_user(tmp_path: Path) -> None:
    async with running_app(tmp_path) as app:
        await app.login("kit@example.com")
        csrf = await app.cookie_login("kit@example.com")
        me = await app.client.get("/api/me")
        assert me.json()["email"] == "kit@example.com" and csrf["X-CSRF-Token"]


async def test_a_plugins_salon_object_from_a_test(tmp_path: Path) -> None:
    async with running_app(tmp_path) as app:
        salon = app.salon("api_keys")
        assert salon is app.salon("api_keys") and salon.plugin == "api_keys"
        headers = await app.login()
        me = (await app.client.get("/api/me", headers=headers)).json()
        album = await app.call(lambda: salon.albums.create(me["id"], "from a test"))
        listed = await app.client.get("/api/albums", headers=headers)
        assert [a["name"] for a in listed.json()] == [album["name"]]
        # The ids it takes are UUIDs or their strings; a string that is none finds nothing.
        assert await app.call(lambda: salon.albums.get(album["id"], owner_id=me["id"]))
        assert await app.call(lambda: salon.images.get("not-a-uuid")) is None
        assert await app.call(lambda: salon.albums.get("x", owner_id=me["id"])) is None


def test_running_app_is_exported_where_the_guide_says() -> None:
    from salon.testing.fixtures import RunningApp as Defined

    assert RunningApp is Defined
