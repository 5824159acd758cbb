"""Sign-up does not reveal who has an account, and refuses the most common passwords
(issue 17.16)."""

from __future__ import annotations

from salon.testing.fixtures import RunningApp

PASSWORD = "a long enough password 1"


async def test_signup_for_a_taken_address_looks_like_a_new_one(salon_app: RunningApp) -> None:
    client = salon_app.client
    first = await client.post(
        "/api/auth/signup", json={"email": "Known@Example.com", "password": PASSWORD}
    )
    assert first.status_code == 201, first.text
    fresh = await client.post(
        "/api/auth/signup", json={"email": "fresh@example.com", "password": PASSWORD}
    )
    taken = await client.post(
        "/api/auth/signup", json={"email": "known@example.com", "password": "another password 2"}
    )
    assert taken.status_code == fresh.status_code == 201, taken.text
    assert set(taken.json()) == set(fresh.json())
    assert taken.json()["email"] == "known@example.com"
    assert taken.json()["confirmation_required"] is fresh.json()["confirmation_required"]
    assert taken.json()["id"] not in (first.json()["id"], fresh.json()["id"])
    assert "exist" not in taken.text
    # The account keeps its own password; the second sign-up changed nothing.
    old = await client.post(
        "/api/auth/login", json={"email": "known@example.com", "password": PASSWORD}
    )
    assert old.status_code == 200, old.text
    me = await client.get(
        "/api/me", headers={"Authorization": f"Bearer {old.json()['access_token']}"}
    )
    assert me.json()["id"] == first.json()["id"]
    other = await client.post(
        "/api/auth/login", json={"email": "known@example.com", "password": "another password 2"}
    )
    assert other.status_code == 401


async def test_common_passwords_are_refused(salon_app: RunningApp) -> None:
    for password in ("password", "Password", "12345678", "iloveyou", " qwertyuiop ", "trustno1"):
        answer = await salon_app.client.post(
            "/api/auth/signup", json={"email": "common@example.com", "password": password}
        )
        assert answer.status_code == 400, (password, answer.text)
        if len(password.strip()) >= 8:
            assert "common" in answer.json()["detail"], answer.text
    fine = await salon_app.client.post(
        "/api/auth/signup", json={"email": "common@example.com", "password": PASSWORD}
    )
    assert fine.status_code == 201, fine.text
