"""API fuzzing with schemathesis against the app's own OpenAPI schema (``/schema/openapi.json``).

Every operation, called in-process through ASGI, authenticated as a real user, with a bounded
number of generated examples (``SALON_FUZZ_EXAMPLES``, default 25, so the run stays well under two
minutes here). Checks: no 5xx, and every answer the schema documents conforms to it.
"""

from __future__ import annotations

import os
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from litestar import Litestar
from litestar.testing import TestClient
from salon.app import create_app
from salon.db.migrate import upgrade
from salon.testing.fixtures import TEST_PASSWORD, base_environ
from salon_nasa_apod.testing import FakeApodServer
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import response_schema_conformance
from security_support import distinct_jpeg

EXAMPLES = int(os.environ.get("SALON_FUZZ_EXAMPLES", "25"))


@pytest.fixture(scope="module")
def fuzz_target(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[Litestar, dict[str, str]]]:
    data = tmp_path_factory.mktemp("fuzz") / "data"
    data.mkdir(parents=True)
    with FakeApodServer() as fake:
        environ = base_environ(data)
        environ.update(
            SALON_DATABASE_URL=f"sqlite+aiosqlite:///{data / 'salon.db'}",
            SALON_INPROCESS_WORKER="false",
            SALON_APOD_API_KEY=fake.api_key,
            SALON_APOD_BASE_URL=fake.base_url,
            SALON_APOD_BACKOFF="0",
            SALON_APOD_MAX_RETRIES="0",
        )
        upgrade(environ["SALON_DATABASE_URL"])
        app = create_app(environ=environ)
        # The client runs the app's lifespan; schemathesis then calls the same app through ASGI.
        with TestClient(app=app) as client:
            email = "fuzzer@example.com"
            signup = client.post(
                "/api/auth/signup", json={"email": email, "password": TEST_PASSWORD}
            )
            assert signup.status_code == 201, signup.text
            login = client.post("/api/auth/login", json={"email": email, "password": TEST_PASSWORD})
            headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
            upload = client.post(
                "/api/images",
                files={"file": ("seed.jpg", distinct_jpeg(), "image/jpeg")},
                headers=headers,
            )
            assert upload.status_code == 201, upload.text
            yield app, headers


@pytest.fixture(scope="module")
def api_schema(fuzz_target: tuple[Litestar, dict[str, str]]) -> Any:
    app, _ = fuzz_target
    return schemathesis.openapi.from_asgi("/schema/openapi.json", app)


@pytest.fixture(scope="module")
def auth_headers(fuzz_target: tuple[Litestar, dict[str, str]]) -> dict[str, str]:
    return fuzz_target[1]


def _is_logout(case: Any) -> bool:
    return str(case.path) == "/api/auth/logout"


def _fuzz(operation: Any, auth_headers: dict[str, str], seen: Counter[int]) -> None:
    @given(case=operation.as_strategy())
    @settings(
        max_examples=EXAMPLES,
        deadline=None,
        database=None,
        suppress_health_check=list(HealthCheck),
    )
    def run(case: Any) -> None:
        # Logging out would revoke the token every later example uses: fuzz it anonymously.
        headers = {} if _is_logout(case) else dict(auth_headers)
        response = case.call_and_validate(
            headers=headers, checks=[not_a_server_error, response_schema_conformance]
        )
        seen[response.status_code] += 1

    run()


def test_every_operation_conforms_and_never_fails(
    api_schema: Any, auth_headers: dict[str, str]
) -> None:
    """One hypothesis run per operation (schemathesis' pytest loader does not support the
    pytest in use, so the loop is ours); all failures are reported together."""
    failures: list[str] = []
    seen: Counter[int] = Counter()
    operations = 0
    for result in api_schema.get_all_operations():
        operation = result.ok()
        operations += 1
        try:
            _fuzz(operation, auth_headers, seen)
        except Exception as exc:
            failures.append(f"{operation.label}: {str(exc)[:2000]}")
    assert operations >= 40
    assert not failures, "\n\n".join(failures)
    # The fuzzer got past authentication and validation, not only 401s and 400s.
    assert sum(n for status, n in seen.items() if status < 300) >= 10, seen
    print(f"schemathesis: {sum(seen.values())} calls, statuses {dict(sorted(seen.items()))}")


def test_schema_lists_every_api_route(api_schema: Any, tmp_path: Path) -> None:
    operations = {
        f"{result.ok().method.upper()} {result.ok().path}"
        for result in api_schema.get_all_operations()
    }
    assert "POST /api/images" in operations and "GET /s/{token}" in operations
    assert len(operations) >= 40
