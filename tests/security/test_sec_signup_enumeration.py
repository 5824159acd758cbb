"""Issue 17.16, against a real ``salon serve`` on loopback: sign-up must not tell who has an
account, neither by its own answer nor by what a sign-in with the sign-up's password then
answers, and it refuses the most common passwords.

Before: sign-up answered a taken address like a new one, but the account was usable at once,
so signing up with an address and then signing in with the same password told the two apart
(200 for a new address, 401 for a taken one). With ``SALON_SIGNUP_CONFIRM=true`` a new account
works only after its mailed code is entered, so both answer 401 until the mailbox's owner
confirms; the owner of a taken address gets a note instead of a code."""

from __future__ import annotations

import re
import secrets
import statistics
import time
from collections.abc import Iterator
from urllib.parse import parse_qs

import httpx
import pytest
from serve_support import PASSWORD, Served, salon_serve

ATTACKER_PASSWORD = "the attacker's own password 7"


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with salon_serve(tmp_path_factory.mktemp("signup"), signup_confirm="true") as running:
        yield running


def _mails(served: Served, address: str) -> list[str]:
    """The console sender's messages to ``address`` (it logs them at WARNING)."""
    text = served.log_path.read_text(errors="replace")
    return [
        m for m in text.split("mail not sent (SALON_MAIL=console) to ")[1:] if m.startswith(address)
    ]


def _code(served: Served, address: str) -> str:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        for mail in reversed(_mails(served, address)):
            found = re.search(r"code is (\d{12})", mail)
            if found:
                return found.group(1)
        time.sleep(0.1)
    pytest.fail(f"no confirmation code for {address}:\n{served.log_tail()}")


def _post(client: httpx.Client, path: str, body: dict[str, str]) -> httpx.Response:
    return client.post(path, json=body)


def test_signup_then_login_tells_nothing(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        owner = f"owner-{secrets.token_hex(4)}@example.com"
        made = _post(client, "/api/auth/signup", {"email": owner, "password": PASSWORD})
        assert made.status_code == 201 and made.json()["confirmation_required"] is True
        # Not usable before the code; then usable.
        assert (
            _post(client, "/api/auth/login", {"email": owner, "password": PASSWORD}).status_code
            == 401
        )
        wrong = _post(client, "/api/auth/confirm", {"email": owner, "code": "000000000000"})
        assert wrong.status_code == 400, wrong.text
        confirmed = _post(
            client, "/api/auth/confirm", {"email": owner, "code": _code(served, owner)}
        )
        assert confirmed.status_code == 200, confirmed.text
        assert (
            _post(client, "/api/auth/login", {"email": owner, "password": PASSWORD}).status_code
            == 200
        )

        # The attacker signs up the owner's address and a new one, then tries to sign in.
        fresh = f"fresh-{secrets.token_hex(4)}@example.com"
        answers = {
            address: _post(
                client, "/api/auth/signup", {"email": address, "password": ATTACKER_PASSWORD}
            )
            for address in (owner, fresh)
        }
        assert {a.status_code for a in answers.values()} == {201}
        for address, answer in answers.items():
            assert answer.json()["email"] == address
            assert answer.json()["confirmation_required"] is True
        assert set(answers[owner].json()) == set(answers[fresh].json())
        logins = [
            _post(client, "/api/auth/login", {"email": a, "password": ATTACKER_PASSWORD})
            for a in (owner, fresh)
        ]
        assert [r.status_code for r in logins] == [401, 401]
        assert logins[0].json() == logins[1].json()
        # The owner's password still works, and they were told, without a code.
        assert (
            _post(client, "/api/auth/login", {"email": owner, "password": PASSWORD}).status_code
            == 200
        )
        note = _mails(served, owner)[-1]
        assert "already has an account" in note and not re.search(r"\d{12}", note)
        # The attacker cannot confirm the new address without its mailbox's code.
        guess = _post(client, "/api/auth/confirm", {"email": fresh, "code": "123456789012"})
        assert guess.status_code == 400


def test_signup_takes_as_long_for_a_taken_address(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        taken = f"taken-{secrets.token_hex(4)}@example.com"
        assert (
            _post(client, "/api/auth/signup", {"email": taken, "password": PASSWORD}).status_code
            == 201
        )
        _post(client, "/api/auth/confirm", {"email": taken, "code": _code(served, taken)})
        times: dict[str, list[float]] = {"taken": [], "new": []}
        for n in range(8):
            for kind in ("taken", "new"):
                address = (
                    taken if kind == "taken" else f"new-{n}-{secrets.token_hex(3)}@example.com"
                )
                start = time.perf_counter()
                answer = _post(client, "/api/auth/signup", {"email": address, "password": PASSWORD})
                times[kind].append(time.perf_counter() - start)
                assert answer.status_code == 201, answer.text
        taken_median, new_median = (statistics.median(times[k]) for k in ("taken", "new"))
        # Both hash the password (tens of ms); skipping it for a taken address would be many
        # times faster. Half the median is far above the noise of one insert.
        assert abs(taken_median - new_median) < 0.5 * max(taken_median, new_median), times


def test_common_passwords_are_refused(served: Served) -> None:
    with httpx.Client(base_url=served.url, timeout=30) as client:
        for password in ("password", "Password1", "12345678", "iloveyou"):
            answer = _post(
                client, "/api/auth/signup", {"email": "c@example.com", "password": password}
            )
            assert answer.status_code == 400, (password, answer.text)


def test_a_reset_link_confirms_a_pending_sign_up(served: Served) -> None:
    """The reset link proves the mailbox as the code does."""
    with httpx.Client(base_url=served.url, timeout=30) as client:
        address = f"reset-{secrets.token_hex(4)}@example.com"
        assert (
            _post(client, "/api/auth/signup", {"email": address, "password": PASSWORD}).status_code
            == 201
        )
        assert _post(client, "/api/auth/forgot-password", {"email": address}).status_code == 200
        deadline = time.monotonic() + 10
        links: list[str] = []
        while not links and time.monotonic() < deadline:
            links = [m for m in _mails(served, address) if "/reset-password#" in m]
            time.sleep(0.1)
        assert links, served.log_tail()
        fragment = re.search(r"/reset-password#(\S+)", links[-1])
        assert fragment is not None
        code = parse_qs(fragment.group(1))["code"][0]
        new_password = "a brand new password 9"
        reset = _post(
            client,
            "/api/auth/confirm-forgot-password",
            {"email": address, "code": code, "password": new_password},
        )
        assert reset.status_code == 200, reset.text
        login = _post(client, "/api/auth/login", {"email": address, "password": new_password})
        assert login.status_code == 200, login.text
