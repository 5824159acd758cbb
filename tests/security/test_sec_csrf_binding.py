"""Second outside attack, item 7: the CSRF token was not tied to the session. With Alice's
access cookie, a ``salon_csrf`` cookie of the attacker's choosing and the same value in
``X-CSRF-Token`` made ``PATCH /api/images/{id}`` answer 200 (someone able to set cookies for
the host, such as a sibling subdomain, could do it). The token is now signed for the session's
account; a chosen value, or a valid token of the attacker's own session, gets 403."""

from __future__ import annotations

import httpx
from salon.domain.deps import ACCESS_COOKIE, CSRF_COOKIE
from salon.testing.fixtures import RunningApp


def _plant(client: httpx.AsyncClient, access: str, csrf: str) -> None:
    client.cookies.clear()
    client.cookies.set(ACCESS_COOKIE, access)
    client.cookies.set(CSRF_COOKIE, csrf)


async def test_planted_csrf_cookies_do_not_pass(salon_app: RunningApp) -> None:
    client = salon_app.client
    mallory = await salon_app.cookie_login()
    mallory_csrf = mallory["X-CSRF-Token"]
    alice = await salon_app.cookie_login()
    alice_access = client.cookies[ACCESS_COOKIE]
    alice_csrf = alice["X-CSRF-Token"]
    assert "." in alice_csrf and alice_csrf != mallory_csrf

    for planted in ("attackerchosen0123456789", mallory_csrf):
        _plant(client, alice_access, planted)
        forged = await client.post(
            "/api/albums", json={"name": "forged"}, headers={"X-CSRF-Token": planted}
        )
        assert forged.status_code == 403, forged.text
        assert "not this session's" in forged.json()["detail"]

    _plant(client, alice_access, alice_csrf)
    made = await client.post("/api/albums", json={"name": "mine"}, headers=alice)
    assert made.status_code == 201, made.text
    names = [album["name"] for album in (await client.get("/api/albums")).json()]
    assert names == ["mine"], names
    # Logout checks the signed token too.
    _plant(client, alice_access, mallory_csrf)
    refused = await client.post("/api/auth/logout", headers={"X-CSRF-Token": mallory_csrf})
    assert refused.status_code == 403, refused.text
    _plant(client, alice_access, alice_csrf)
    assert (await client.post("/api/auth/logout", headers=alice)).status_code == 200
