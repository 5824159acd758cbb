"""The account routes' limits: a per-account failed-login throttle, and the counter file that
every worker process of one server shares (two CounterFile objects on one file stand for two
processes; tests/integration/test_nginx_media.py shows the same with two granian workers)."""

from __future__ import annotations

from pathlib import Path

import pytest
from salon.db import migrate
from salon.domain.auth.throttle import CounterFile, CounterTable
from salon.runtime import make_engine
from salon.testing.fixtures import running_app

PASSWORD = "a long enough password 1"


async def test_failed_logins_close_the_account_for_the_window(tmp_path: Path) -> None:
    env = {"SALON_LOGIN_FAILURE_LIMIT": "3", "SALON_LOGIN_FAILURE_WINDOW": "86400"}
    async with running_app(tmp_path / "data", env=env) as app:
        target = await app.signup("target@example.com", PASSWORD)
        bystander = await app.signup("bystander@example.com", PASSWORD)
        wrong = {"email": target, "password": "not the password at all"}
        statuses = [
            (await app.client.post("/api/auth/login", json=wrong)).status_code for _ in range(3)
        ]
        assert statuses == [401, 401, 401]
        # Now even the right password is refused, with the same casing tricks as the guesses.
        for email in (target, target.upper()):
            right = await app.client.post(
                "/api/auth/login", json={"email": email, "password": PASSWORD}
            )
            assert right.status_code == 429, right.text
            assert "failed sign-ins for this account" in right.json()["detail"]
            assert 0 < int(right.headers["retry-after"]) <= 86400
        # Another account, from the same address, is not affected.
        other = await app.client.post(
            "/api/auth/login", json={"email": bystander, "password": PASSWORD}
        )
        assert other.status_code == 200, other.text


async def test_a_successful_login_below_the_limit_is_not_throttled(tmp_path: Path) -> None:
    env = {"SALON_LOGIN_FAILURE_LIMIT": "3", "SALON_LOGIN_FAILURE_WINDOW": "86400"}
    async with running_app(tmp_path / "data", env=env) as app:
        email = await app.signup("typo@example.com", PASSWORD)
        for _ in range(2):
            bad = {"email": email, "password": "typo in the password"}
            assert (await app.client.post("/api/auth/login", json=bad)).status_code == 401
        good = await app.client.post("/api/auth/login", json={"email": email, "password": PASSWORD})
        assert good.status_code == 200, good.text


async def test_counter_file_is_shared_and_windows_restart(tmp_path: Path) -> None:
    path = tmp_path / "ratelimit.sqlite3"
    first, second = CounterFile(path), CounterFile(path)
    try:
        now = 60 * 16_667 + 20.0  # 20 s into a minute
        hits = [
            (await counter.hit("login:ip:192.0.2.1", 60, now=now))[0]
            for counter in (first, second, first, second)
        ]
        assert hits == [1, 2, 3, 4]
        assert await second.count("login:ip:192.0.2.1", 60, now=now) == (4, 40)
        assert await first.count("login:ip:192.0.2.2", 60, now=now) == (0, 40)
        # The next minute starts from one again.
        assert await second.hit("login:ip:192.0.2.1", 60, now=now + 45) == (1, 55)
    finally:
        first.close()
        second.close()


@pytest.mark.parametrize("salon_database", ["postgres"], indirect=True)
async def test_counter_table_is_shared_and_swept(salon_database: str) -> None:
    """Two engines on one PostgreSQL database stand for two servers."""
    migrate.upgrade(salon_database)
    first, second = make_engine(salon_database), make_engine(salon_database)
    try:
        one, two = CounterTable(first), CounterTable(second, sweep_one_in=1)
        now = 60 * 16_667 + 20.0
        hits = [(await c.hit("login:ip:192.0.2.1", 60, now=now))[0] for c in (one, two, one)]
        assert hits == [1, 2, 3]
        assert await two.count("login:ip:192.0.2.1", 60, now=now) == (3, 40)
        assert await one.hit("login:ip:192.0.2.1", 60, now=now + 45) == (1, 55)
        # Rows whose window ended are swept (here by every hit of ``two``).
        await one.hit("old", 60, now=now - 3600)
        await two.hit("login:ip:192.0.2.9", 60, now=now)
        assert await one.count("old", 60, now=now - 3600) == (0, 40)
    finally:
        await first.dispose()
        await second.dispose()
