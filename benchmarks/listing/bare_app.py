"""The listing benchmark's reference: a bare Litestar route answering 50 small dicts.

Served by granian with the same options as ``salon serve`` (one worker, ASGI, factory, no
access log), so the gap to ``GET /api/images`` is what Salon adds: authentication, the user
lookup, the database query and the larger items.

    granian --interface asgi --factory benchmarks.listing.bare_app:create_app
"""

from __future__ import annotations

from typing import Any

from litestar import Litestar, get

ITEMS = 50


@get("/items", sync_to_thread=False)
def items() -> dict[str, Any]:
    """A page of 50 small dicts, built per request as a real handler would."""
    return {
        "items": [
            {"id": i, "title": f"photo {i}", "width": 4000, "height": 3000} for i in range(ITEMS)
        ],
        "next_cursor": None,
    }


@get("/ready", sync_to_thread=False)
def ready() -> dict[str, str]:
    return {"status": "ok"}


def create_app() -> Litestar:
    return Litestar([items, ready], debug=False)
