"""Odd path segments on every route, signed in, on both databases: nothing answers 5xx.

The schema fuzz (test_sec_fuzz.py) generates values the OpenAPI document allows; these are the
ones it does not: a NUL, bytes that are not UTF-8, a name longer than any file system takes,
a number past any column, dots. The pages and ``/static`` (not in the document) are here too:
a NUL or a 3000-character name under ``/static`` was a 500 (outside attacker, s29)."""

from __future__ import annotations

import re

import pytest
from salon.testing.fixtures import RunningApp

ODD = ("%00", "%ff", "a" * 3000, "%2e", "..%2f..%2f", "-1", "99999999999999999999999")
# Routes outside the OpenAPI document, with a segment to replace.
PAGES = (
    "/static/{x}",
    "/static/js/{x}",
    "/static/plugins/nasa_apod/{x}",
    "/albums/{x}",
    "/share/{x}",
    "/share/album/{x}",
    "/media/{x}",
    "/{x}",
)


@pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)
async def test_odd_path_segments_never_answer_5xx(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    spec = (await salon_app.client.get("/schema/openapi.json")).json()
    routes = [
        (method.upper(), path)
        for path, operations in spec["paths"].items()
        if "{" in path
        for method in operations
        if method in ("get", "post", "patch", "put", "delete")
    ]
    routes += [("GET", path) for path in PAGES]
    assert len(routes) > 40, routes
    failures = []
    for method, template in routes:
        for odd in ODD:
            path = re.sub(r"\{[^}]+\}", odd, template)
            answer = await salon_app.client.request(method, path, headers=headers)
            if answer.status_code >= 500:
                failures.append((method, path[:60], answer.status_code, answer.text[:80]))
    assert not failures, failures
