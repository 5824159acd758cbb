"""Routes a plugin adds in ``extend_app``: several methods on one path work (each plugin's
routes share one Router, so Litestar's automatic OPTIONS handler is added once per path), and
a route that cannot be registered stops start-up with an error naming the plugin and hook."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from litestar import get, post
from litestar.di import NamedDependency
from salon import SalonContext, hookimpl
from salon.errors import PluginError
from salon.testing import running_app


@get("/api/notes", operation_id="notes_list")
async def list_notes(salon: NamedDependency[SalonContext]) -> dict[str, str]:
    return {"plugin": salon.plugin}


@post("/api/notes", operation_id="notes_add")
async def add_note(salon: NamedDependency[SalonContext]) -> dict[str, str]:
    return {"added by": salon.plugin}


@get("/api/images", operation_id="notes_images")
async def clashing() -> dict[str, str]:
    return {}


class Notes:
    __name__ = "notes"

    def __init__(self, *handlers: Any) -> None:
        self.handlers = handlers

    @hookimpl
    def extend_app(self, app_config: Any) -> None:
        app_config.route_handlers.extend(self.handlers)


async def test_get_and_post_on_one_path(tmp_path: Path) -> None:
    async with running_app(tmp_path, plugins=[Notes(list_notes, add_note)]) as app:
        assert (await app.client.get("/api/notes")).json() == {"plugin": "notes"}
        assert (await app.client.post("/api/notes")).json() == {"added by": "notes"}


async def test_a_path_of_the_core_is_refused_naming_the_plugin(tmp_path: Path) -> None:
    with pytest.raises(PluginError, match=r"plugin 'notes', hook 'extend_app'.*/api/images"):
        async with running_app(tmp_path, plugins=[Notes(clashing)]):
            pass


async def test_an_undecorated_function_is_refused_naming_the_plugin(tmp_path: Path) -> None:
    async def forgot_the_decorator() -> None: ...

    with pytest.raises(PluginError, match=r"plugin 'notes', hook 'extend_app'.*decorate"):
        async with running_app(tmp_path, plugins=[Notes(forgot_the_decorator)]):
            pass
