"""Issue 17.3, against real ``salon serve`` processes on loopback: the sign-in limits hold across
worker processes and across servers sharing one PostgreSQL database (the tasks of an ECS
service), and someone who knows an e-mail cannot lock its owner out (OWASP device cookies).

Before: the counters lived in each server's data folder (two servers counted apart), and any
client's failed guesses closed the account to its owner for the whole window."""

from __future__ import annotations

import contextlib
import secrets
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx
import pytest
from serve_support import PASSWORD, Served, salon_serve

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)

LIMIT = 10
WRONG = "not the password at all"


def _login(url: str, email: str, password: str = WRONG) -> httpx.Response:
    # A new connection each time, so granian hands the requests to either worker.
    return httpx.post(
        f"{url}/api/auth/login", json={"email": email, "password": password}, timeout=30
    )


def _serving_processes(url: str) -> int:
    """How many worker processes answer fresh connections. A process is told by its start
    time (``process_start_time_seconds``), but two workers started in the same 10 ms clock
    tick share one (on PostgreSQL they start together: SQLite's migration lock staggers
    them), so the count of ``/metrics`` requests each answer reports tells them apart too: one
    process never reports the same count twice."""
    starts: set[str] = set()
    answers: set[tuple[str, str]] = set()
    twins = False
    deadline = time.monotonic() + 90
    while len(starts) < 2 and not twins and time.monotonic() < deadline:
        lines = httpx.get(f"{url}/metrics", timeout=10).text.splitlines()
        start = next(x.split()[1] for x in lines if x.startswith("process_start_time_seconds "))
        served = [x.split()[-1] for x in lines if 'path="/metrics"' in x and "requests_total" in x]
        answer = (start, served[0] if served else "0")
        twins = answer in answers
        answers.add(answer)
        starts.add(start)
    return 2 if twins else len(starts)


def _in_one_minute(burst: Callable[[], list[int]]) -> list[int]:
    """The address limits count calendar minutes: run ``burst`` again if it straddled two."""
    for _ in range(3):
        if 60 - time.time() % 60 < 20:
            time.sleep(60 - time.time() % 60 + 0.05)
        minute = time.time() // 60
        statuses = burst()
        if time.time() // 60 == minute:
            return statuses
        time.sleep(60 - time.time() % 60 + 0.05)
    pytest.fail("three bursts each straddled a minute")


def _sign_up(url: str, name: str) -> str:
    email = f"{name}-{secrets.token_hex(4)}@example.com"
    created = httpx.post(
        f"{url}/api/auth/signup", json={"email": email, "password": PASSWORD}, timeout=30
    )
    assert created.status_code == 201, created.text
    return email


@contextlib.contextmanager
def _two_workers(tmp_path: Path, salon_database: str, **settings: str) -> Iterator[Served]:
    with salon_serve(
        tmp_path / "data", workers=2, database_url=salon_database, **settings
    ) as served:
        assert _serving_processes(served.url) == 2, "both workers should answer"
        yield served


@pytest.fixture
def limited(tmp_path: Path, salon_database: str) -> Iterator[Served]:
    with _two_workers(tmp_path, salon_database, auth_rate_limit=str(LIMIT)) as served:
        yield served


@pytest.fixture
def throttled(tmp_path: Path, salon_database: str) -> Iterator[Served]:
    with _two_workers(
        tmp_path,
        salon_database,
        login_failure_limit="4",
        login_device_failure_limit="3",
        login_failure_window="3600",
    ) as served:
        yield served


def test_the_address_limit_holds_across_two_workers(limited: Served) -> None:
    url = limited.url

    def burst() -> list[int]:
        with ThreadPoolExecutor(max_workers=2) as pool:  # below the hashing queue's 429
            answers = list(pool.map(lambda n: _login(url, f"nobody-{n}@example.com"), range(20)))
        for answer in answers:
            if answer.status_code == 429:
                assert "requests from your address" in answer.json()["detail"], answer.text
        return [a.status_code for a in answers]

    statuses = _in_one_minute(burst)
    assert Counter(statuses) == {401: LIMIT, 429: 20 - LIMIT}, statuses


def _browser(url: str, email: str) -> httpx.Client:
    """A browser that signed in with a cookie session: it holds the device cookie."""
    client = httpx.Client(base_url=url, timeout=30)
    login = client.post(
        "/api/auth/login?session=cookie", json={"email": email, "password": PASSWORD}
    )
    assert login.status_code == 200, login.text
    device = next(h for h in login.headers.get_list("set-cookie") if h.startswith("salon_device="))
    attributes = {part.strip().lower() for part in device.split(";")[1:]}
    assert {"httponly", "path=/api/auth", "samesite=strict"} <= attributes, device
    assert "secure" not in attributes  # plain http here; https makes it Secure
    return client


def _login_from(client: httpx.Client, email: str, password: str) -> httpx.Response:
    return client.post(
        "/api/auth/login?session=cookie", json={"email": email, "password": password}
    )


def test_an_attacker_cannot_lock_the_owner_out(throttled: Served) -> None:
    url = throttled.url
    victim = _sign_up(url, "victim")
    attacker_account = _sign_up(url, "attacker")
    laptop, phone = _browser(url, victim), _browser(url, victim)
    attackers_browser = _browser(url, attacker_account)

    # The attacker knows the e-mail and guesses from fresh clients: after 4 failures clients
    # without the account's device cookie are held, even with the right password.
    assert [_login(url, victim).status_code for _ in range(4)] == [401] * 4
    held = _login(url, victim, PASSWORD)
    assert held.status_code == 429, held.text
    assert "failed sign-ins for this account" in held.json()["detail"]
    # Its own account's device cookie, or a made-up one, does not make it trusted here.
    assert _login_from(attackers_browser, victim, PASSWORD).status_code == 429
    forged = httpx.Client(base_url=url, cookies={"salon_device": "abc.def"}, timeout=30)
    assert _login_from(forged, victim, PASSWORD).status_code == 429

    # The owner's browsers are not held by that.
    assert _login_from(laptop, victim, PASSWORD).status_code == 200
    # A device cookie has its own small budget; past it, that cookie is locked ...
    assert [_login_from(laptop, victim, WRONG).status_code for _ in range(3)] == [401] * 3
    locked = _login_from(laptop, victim, PASSWORD)
    assert locked.status_code == 429, locked.text
    assert "failed sign-ins from this browser" in locked.json()["detail"]
    # ... and only that one.
    assert _login_from(phone, victim, PASSWORD).status_code == 200
    # The attacker's failures did not touch its own account from its own browser.
    assert _login_from(attackers_browser, attacker_account, PASSWORD).status_code == 200
    # API clients (no cookie session) get no cookies they did not ask for.
    api = httpx.post(
        f"{url}/api/auth/login",
        json={"email": attacker_account, "password": PASSWORD},
        timeout=30,
    )
    assert api.status_code == 200 and "set-cookie" not in api.headers
    for client in (laptop, phone, attackers_browser, forged):
        client.close()


def test_two_servers_on_one_database_share_the_limits(tmp_path: Path, salon_database: str) -> None:
    if not salon_database.startswith("postgresql"):
        pytest.skip("servers share limits through PostgreSQL; SQLite is one machine's file")
    shared = {
        "database_url": salon_database,
        "secret_key": secrets.token_urlsafe(32),
        "auth_rate_limit": str(LIMIT),
        "login_failure_limit": "4",
        "login_failure_window": "3600",
    }
    with (
        salon_serve(tmp_path / "one", **shared) as one,
        salon_serve(tmp_path / "two", **shared) as two,
    ):
        victim = _sign_up(one.url, "victim")
        failures = [_login(server.url, victim).status_code for server in (one, two, one, two)]
        assert failures == [401] * 4
        for server in (one, two):
            assert _login(server.url, victim, PASSWORD).status_code == 429

        def burst() -> list[int]:
            # 4 + 2 of this minute's LIMIT are spent above, unless the minute turned.
            return [
                _login(s.url, f"nobody-{n}@example.com").status_code
                for n, s in enumerate([one, two] * 10)
            ]

        statuses = _in_one_minute(burst)
        answered = statuses.count(401)
        assert answered <= LIMIT and statuses.count(429) >= 20 - LIMIT, statuses
        assert statuses[answered:] == [429] * (20 - answered), statuses
