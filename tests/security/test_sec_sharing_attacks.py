"""The outside attack on sharing (report-auth items 5 and 6), replayed against a real
``salon serve`` on loopback, on SQLite and PostgreSQL.

Before: any signed-in user probed which e-mails have accounts through
``POST /api/albums/{id}/members`` (40 probes in 2 s, no limit) and a user added to an album
could not leave it (404); ten wrong passwords for an album link from one address locked every
other visitor out of it (429 for the right password from another address)."""

from __future__ import annotations

import secrets
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from security_support import distinct_jpeg
from serve_support import PASSWORD, Served, salon_serve

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

LIMIT = 4
LINK_LIMIT = 10
LINK_PASSWORD = "the album link password"


@pytest.fixture
def served(tmp_path: Path, salon_database: str) -> Iterator[Served]:
    with salon_serve(
        tmp_path / "data",
        database_url=salon_database,
        login_failure_limit=str(LIMIT),
        member_add_limit=str(LIMIT),
        share_password_failure_limit=str(LINK_LIMIT),
    ) as server:
        yield server


def _client(served: Served, source: str = "127.0.0.1") -> httpx.Client:
    transport = httpx.HTTPTransport(local_address=source)
    return httpx.Client(base_url=served.url, timeout=60, transport=transport)


def _account(client: httpx.Client, name: str) -> tuple[str, dict[str, str]]:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    made = client.post("/api/auth/signup", json={"email": email, "password": PASSWORD})
    assert made.status_code == 201, made.text
    login = client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
    assert login.status_code == 200, login.text
    return email, {"Authorization": f"Bearer {login.json()['access_token']}"}


def _album(client: httpx.Client, headers: dict[str, str]) -> str:
    album = client.post("/api/albums", json={"name": "holiday"}, headers=headers)
    assert album.status_code == 201, album.text
    album_id: str = album.json()["id"]
    return album_id


def test_one_visitor_cannot_lock_a_link_for_the_others(served: Served) -> None:
    with _client(served) as owner_client:
        _, owner = _account(owner_client, "owner")
        album_id = _album(owner_client, owner)
        share = owner_client.post(
            f"/api/albums/{album_id}/share", json={"password": LINK_PASSWORD}, headers=owner
        )
        assert share.status_code == 201, share.text
        unlock = f"/s/album/{share.json()['token']}/unlock"
    with _client(served, "127.0.0.2") as attacker, _client(served, "127.0.0.3") as visitor:
        guesses = [
            attacker.post(unlock, json={"password": f"guess {n}"}).status_code
            for n in range(LIMIT + 3)
        ]
        assert guesses == [403] * LIMIT + [429] * 3, guesses
        held = attacker.post(unlock, json={"password": LINK_PASSWORD})
        assert held.status_code == 429 and "your address" in held.json()["detail"], held.text
        # Before: 429 "too many wrong passwords for this link" for everyone.
        opened = visitor.post(unlock, json={"password": LINK_PASSWORD})
        assert opened.status_code == 204, opened.text
        assert visitor.get(unlock.removesuffix("/unlock")).status_code == 200


def test_many_addresses_cannot_guess_one_link_without_end(served: Served) -> None:
    """Second outside attack, item 4: 20 addresses made 200 wrong guesses on one link in 96 s
    (each address was limited, the link was not), and "123456" was accepted as its password.
    Now a link takes at most SALON_SHARE_PASSWORD_FAILURE_LIMIT wrong passwords from all
    addresses together per window; a browser that opened it before keeps it open."""
    with _client(served) as owner_client:
        _, owner = _account(owner_client, "owner")
        image = owner_client.post(
            "/api/images",
            files={"file": ("p.jpg", distinct_jpeg(), "image/jpeg")},
            headers=owner,
        )
        assert image.status_code == 201, image.text
        share = f"/api/images/{image.json()['id']}/share"
        for weak, says in (("123456", "length >= 8"), ("password1", "most common")):
            refused = owner_client.post(share, json={"password": weak}, headers=owner)
            assert refused.status_code == 400 and says in refused.json()["detail"], refused.text
        made = owner_client.post(share, json={"password": LINK_PASSWORD}, headers=owner)
        assert made.status_code == 201, made.text
        unlock = f"/s/{made.json()['token']}/unlock"
    with _client(served, "127.0.0.9") as friend:
        assert friend.post(unlock, json={"password": LINK_PASSWORD}).status_code == 204
        statuses = []
        for n in range(LINK_LIMIT + 2):  # three guesses from each of several addresses
            with _client(served, f"127.0.1.{2 + n // 3}") as attacker:
                statuses.append(attacker.post(unlock, json={"password": f"guess {n}"}))
        assert [s.status_code for s in statuses] == [403] * LINK_LIMIT + [429] * 2
        assert "wrong passwords for this link" in statuses[-1].json()["detail"]
        assert int(statuses[-1].headers["retry-after"]) > 0
        # The right password from a fresh address waits too; the friend's browser does not.
        with _client(served, "127.0.2.1") as late:
            assert late.post(unlock, json={"password": LINK_PASSWORD}).status_code == 429
        assert friend.get(unlock.removesuffix("/unlock")).status_code == 200


def test_member_probing_is_limited_and_members_can_leave(served: Served) -> None:
    with _client(served) as client:
        _, owner = _account(client, "owner")
        friend_email, friend = _account(client, "friend")
        album_id = _album(client, owner)
        members = f"/api/albums/{album_id}/members"
        added = client.post(members, json={"email": friend_email}, headers=owner)
        assert added.status_code == 201, added.text
        probes = [
            client.post(members, json={"email": f"who-{n}@example.com"}, headers=owner)
            for n in range(LIMIT + 2)
        ]
        statuses = [p.status_code for p in probes]
        assert statuses == [404] * (LIMIT - 1) + [429] * 3, statuses
        assert "retry-after" in probes[-1].headers
        # Another user's budget is their own.
        _, other = _account(client, "other")
        other_album = _album(client, other)
        probe = client.post(
            f"/api/albums/{other_album}/members", json={"email": "x@example.com"}, headers=other
        )
        assert probe.status_code == 404, probe.text

        # The friend leaves the album (before: 404), and no longer sees it.
        friend_id = client.get("/api/me", headers=friend).json()["id"]
        shared = client.get("/api/albums/shared", headers=friend).json()
        assert [a["id"] for a in shared] == [album_id]
        left = client.delete(f"{members}/{friend_id}", headers=friend)
        assert left.status_code == 204, left.text
        assert client.get("/api/albums/shared", headers=friend).json() == []
        assert client.get(members, headers=owner).json() == []
        # Leaving again, or "leaving" an album one is no member of: 404.
        assert client.delete(f"{members}/{friend_id}", headers=friend).status_code == 404
        other_id = client.get("/api/me", headers=other).json()["id"]
        assert client.delete(f"{members}/{other_id}", headers=other).status_code == 404
