"""Security defaults of a freshly started app: rate limiting on the auth routes, security
headers on every kind of answer, CORS only for configured origins, and secrets never logged
nor echoed in error bodies (checked by grepping everything the app logged at DEBUG)."""

from __future__ import annotations

import logging
from pathlib import Path

import pytest
from salon.testing.fixtures import RunningApp, running_app
from salon_nasa_apod.testing import Canned, FakeApodServer
from security_support import distinct_jpeg

ALLOWED_ORIGIN = "https://gallery.example.org"


async def test_auth_burst_beyond_the_limit_is_429(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", env={"SALON_AUTH_RATE_LIMIT": "5"}) as app:
        body = {"email": "nobody@example.com", "password": "wrong password here"}
        statuses = [
            (await app.client.post("/api/auth/login", json=body)).status_code for _ in range(8)
        ]
        assert statuses[:5] == [401] * 5, statuses
        assert set(statuses[5:]) == {429}, statuses
        limited = await app.client.post("/api/auth/login", json=body)
        assert limited.json() == {"status_code": 429, "detail": limited.json()["detail"]}
        assert 1 <= int(limited.headers["retry-after"]) <= 60
        # Refresh and the other account forms count in buckets of their own.
        refresh = await app.client.post("/api/auth/refresh", json={"refresh_token": "x" * 20})
        assert refresh.status_code == 401, refresh.text
        signups = [
            (await app.client.post("/api/auth/signup", json=body)).status_code for _ in range(6)
        ]
        assert signups[-1] == 429 and 429 not in signups[:5], signups
        # The limit is on the auth routes only: the rest of the API still answers.
        for _ in range(10):
            assert (await app.client.get("/health")).status_code == 200
            assert (await app.client.get("/api/images")).status_code == 401


def _csp_directives(value: str) -> dict[str, str]:
    out: dict[str, str] = {}
    for part in value.split(";"):
        name, _, rest = part.strip().partition(" ")
        if name:
            out[name] = rest
    return out


async def test_security_headers_on_every_kind_of_answer(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    upload = await salon_app.upload(headers, distinct_jpeg())
    image_id = upload.json()["id"]
    answers = {
        "json": await salon_app.client.get("/api/images", headers=headers),
        "created": upload,
        "bytes": await salon_app.client.get(f"/api/images/{image_id}/original", headers=headers),
        "401": await salon_app.client.get("/api/images"),
        "404": await salon_app.client.get("/api/nothing-here"),
        "400": await salon_app.client.get("/api/images?cursor=x", headers=headers),
        "html": await salon_app.client.get("/"),
        "health": await salon_app.client.get("/health"),
    }
    for name, response in answers.items():
        assert response.status_code < 500, name
        assert response.headers.get("x-content-type-options") == "nosniff", name
        assert response.headers.get("x-frame-options") == "DENY", name
        assert response.headers.get("referrer-policy"), name
        csp = response.headers.get("content-security-policy", "")
        assert "unsafe-inline" not in csp and "unsafe-eval" not in csp, (name, csp)
        directives = _csp_directives(csp)
        if name == "bytes":
            # Stored bytes get a stricter policy of their own: nothing loads, and a sandbox.
            assert directives.get("default-src") == "'none'" and "sandbox" in directives, csp
            continue
        assert directives.get("frame-ancestors") == "'none'", (name, csp)
        assert directives.get("object-src") == "'none'", (name, csp)
        assert directives.get("script-src") == "'self'", (name, csp)
    assert "text/html" in answers["html"].headers["content-type"]
    # API answers carry one user's data: nothing may cache them (the outside attack found
    # /api/me, /api/images, /api/keys and /api/shares without Cache-Control).
    me = await salon_app.client.get("/api/me", headers=headers)
    for name, response in {**answers, "me": me}.items():
        if name in ("json", "created", "401", "404", "400", "me"):
            assert response.headers.get("cache-control") == "private, no-store", name


async def test_cors_only_for_configured_origins(tmp_path: Path) -> None:
    preflight = {
        "access-control-request-method": "POST",
        "access-control-request-headers": "authorization",
    }
    async with running_app(
        tmp_path / "with", env={"SALON_CORS_ORIGINS": f"{ALLOWED_ORIGIN}, https://b.example"}
    ) as app:
        ok = await app.client.options(
            "/api/images", headers={"origin": ALLOWED_ORIGIN, **preflight}
        )
        assert ok.status_code in (200, 204)
        assert ok.headers.get("access-control-allow-origin") == ALLOWED_ORIGIN
        evil = await app.client.options(
            "/api/images", headers={"origin": "https://evil.example", **preflight}
        )
        assert evil.headers.get("access-control-allow-origin") in (None, "")
        simple = await app.client.get("/health", headers={"origin": "https://evil.example"})
        assert "access-control-allow-origin" not in simple.headers
        assert (await app.client.get("/health", headers={"origin": ALLOWED_ORIGIN})).headers.get(
            "access-control-allow-origin"
        ) == ALLOWED_ORIGIN
    async with running_app(tmp_path / "without") as app:
        for origin in (ALLOWED_ORIGIN, "https://evil.example", "null"):
            response = await app.client.get("/health", headers={"origin": origin})
            assert "access-control-allow-origin" not in response.headers, origin
            pre = await app.client.options("/api/images", headers={"origin": origin, **preflight})
            assert "access-control-allow-origin" not in pre.headers, origin


async def test_secrets_never_logged_nor_echoed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, capfd: pytest.CaptureFixture[str]
) -> None:
    password = "Tr0ub4dor&3-unique-password-6f1d"
    with FakeApodServer(api_key="apod-secret-key-9d3e2b71") as fake:
        env = {
            "SALON_LOG_LEVEL": "DEBUG",
            "SALON_APOD_API_KEY": fake.api_key,
            "SALON_APOD_BASE_URL": fake.base_url,
            "SALON_APOD_BACKOFF": "0",
            "SALON_APOD_MAX_RETRIES": "1",
        }
        async with running_app(tmp_path / "data", env=env) as app:
            # Litestar configures logging at start-up; capture from the root logger after it.
            root = logging.getLogger()
            root.addHandler(caplog.handler)
            caplog.set_level(logging.DEBUG)
            try:
                secrets, bodies = await _exercise(app, password, fake)
            finally:
                root.removeHandler(caplog.handler)
    captured = capfd.readouterr()
    records = "\n".join(f"{r.getMessage()} {r.exc_text or ''} {r.args!r}" for r in caplog.records)
    assert len(caplog.records) > 5, "nothing was logged: the check would prove nothing"
    haystacks = {"logs": records, "stderr": captured.err, "stdout": captured.out, "bodies": bodies}
    for name, secret in secrets.items():
        for where, text in haystacks.items():
            assert secret not in text, f"{name} found in {where}"


async def _exercise(
    app: RunningApp, password: str, fake: FakeApodServer
) -> tuple[dict[str, str], str]:
    client = app.client
    email = "secret-check@example.com"
    bodies: list[str] = []

    async def keep(response: object) -> None:
        bodies.append(getattr(response, "text", ""))

    await keep(await client.post("/api/auth/signup", json={"email": email, "password": password}))
    await keep(
        await client.post("/api/auth/login", json={"email": email, "password": password + "x"})
    )
    login = await client.post("/api/auth/login", json={"email": email, "password": password})
    assert login.status_code == 200
    tokens = login.json()
    headers = {"Authorization": f"Bearer {tokens['access_token']}"}
    await keep(await app.upload(headers, distinct_jpeg()))
    await keep(await app.upload(headers, b"not an image at all"))
    fake.script.extend([Canned(500, {"msg": f"upstream echo {fake.api_key}"})] * 3)
    failed = await client.get(
        "/api/sources/apod/entries", params={"date": "2024-03-01"}, headers=headers
    )
    await keep(failed)
    assert failed.status_code in (502, 503), failed.text
    refreshed = await client.post(
        "/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]}
    )
    assert refreshed.status_code == 200
    # Reuse of the spent refresh token is logged (as reuse), never with the token itself.
    await keep(
        await client.post("/api/auth/refresh", json={"refresh_token": tokens["refresh_token"]})
    )
    forged = tokens["access_token"][:-6] + "AAAAAA"
    await keep(await client.get("/api/me", headers={"Authorization": f"Bearer {forged}"}))
    secrets = {
        "password": password,
        "access token": tokens["access_token"],
        "refresh token": tokens["refresh_token"],
        "refreshed access token": refreshed.json()["access_token"],
        "refreshed refresh token": refreshed.json()["refresh_token"],
        "forged token": forged,
        "secret key": app.runtime.core.secret_key,
        "APOD key": fake.api_key,
    }
    return secrets, "\n".join(bodies)
