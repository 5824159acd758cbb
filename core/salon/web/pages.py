"""The HTML pages of the gallery and the ``/static`` router.

Pages are rendered with Jinja2 (autoescaped). A page behind sign-in only checks that a session
cookie is present and otherwise redirects to ``/login``: the data comes from the JSON API, which
checks the token itself, so a stale cookie costs one redirect made by the page's script.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.handlers import HTTPRouteHandler
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from salon import __version__
from salon.domain.auth.services import SIGNUP_CLOSED
from salon.domain.deps import ACCESS_COOKIE, CSRF_COOKIE
from salon.runtime import Runtime

HERE = Path(__file__).parent
TEMPLATES = HERE / "templates"
STATIC = HERE / "static"

# Pages that need a session: (path, template, title, nav entry, script module).
PRIVATE_PAGES: tuple[tuple[str, str, str, str, str], ...] = (
    ("/", "gallery.html", "Photos", "photos", "gallery"),
    ("/favorites", "gallery.html", "Favorites", "favorites", "gallery"),
    ("/trash", "gallery.html", "Trash", "trash", "gallery"),
    ("/albums", "albums.html", "Albums", "albums", "albums"),
    ("/upload", "upload.html", "Upload", "upload", "upload"),
    ("/apod", "apod.html", "NASA APOD", "apod", "apod"),
    ("/video", "video.html", "Video maker", "video", "video"),
    ("/account", "account.html", "Account", "account", "account"),
)
NAV: tuple[tuple[str, str, str], ...] = (
    ("photos", "/", "Photos"),
    ("favorites", "/favorites", "Favorites"),
    ("albums", "/albums", "Albums"),
    ("upload", "/upload", "Upload"),
    ("apod", "/apod", "APOD"),
    ("video", "/video", "Video"),
    ("trash", "/trash", "Trash"),
)
NO_CACHE = {"cache-control": "no-cache"}


@lru_cache(maxsize=1)
def environment() -> Environment:
    """The Jinja2 environment, made once per process."""
    env = Environment(
        loader=FileSystemLoader(TEMPLATES),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.globals.update(nav=NAV, version=__version__)
    return env


def render(template: str, **context: Any) -> Response[str]:
    """An HTML response from one template."""
    html = environment().get_template(template).render(**context)
    return Response(html, media_type=MediaType.HTML, headers=NO_CACHE)


# Paths whose answers are for programs (JSON or bytes), whatever the client accepts.
MACHINE_PREFIXES = ("/api/", "/s/", "/media/", "/schema", "/static/")
MACHINE_PATHS = frozenset({"/api", "/health", "/ready", "/metrics"})


def wants_html(request: Request[Any, Any, Any]) -> bool:
    """A browser asking for a page: a GET/HEAD that accepts HTML, outside the API's paths."""
    path = request.url.path
    if request.method not in ("GET", "HEAD") or path in MACHINE_PATHS:
        return False
    if path.startswith(MACHINE_PREFIXES):
        return False
    return "text/html" in request.headers.get("accept", "")


def not_found_page(request: Request[Any, Any, Any]) -> Response[str]:
    """The 404 page a browser gets for an unknown page URL (the API keeps its JSON 404)."""
    response = render(
        "not_found.html",
        title="Page not found",
        active="",
        script="",
        public=True,
        path=request.url.path,
    )
    response.status_code = 404
    return response


def signed_in(request: Request[Any, Any, Any]) -> bool:
    """Whether the browser holds a session (the access cookie, or the CSRF cookie that outlives
    it while the refresh cookie can renew it)."""
    cookies: Mapping[str, str] = request.cookies
    return bool(cookies.get(ACCESS_COOKIE) or cookies.get(CSRF_COOKIE))


def _login_redirect(request: Request[Any, Any, Any]) -> Redirect:
    target = request.url.path
    if request.url.query:
        target = f"{target}?{request.url.query}"
    return Redirect(f"/login?next={quote(target, safe='')}", headers=NO_CACHE)


def _private_page(
    path: str, template: str, title: str, active: str, script: str
) -> HTTPRouteHandler:
    async def page(request: Request[Any, Any, Any]) -> Response[Any]:
        if not signed_in(request):
            return _login_redirect(request)
        view = active if active in ("favorites", "trash") else ""
        trash_days = request.app.state.runtime.core.trash_days
        return render(
            template, title=title, active=active, script=script, view=view, trash_days=trash_days
        )

    name = "page_" + (active or "home")
    page.__name__ = name
    return get(path, name=name, include_in_schema=False)(page)


@get("/albums/{album_id:uuid}", name="page_album", include_in_schema=False)
async def album_page(request: Request[Any, Any, Any], album_id: uuid.UUID) -> Response[Any]:
    """One album: the gallery grid filtered to it."""
    if not signed_in(request):
        return _login_redirect(request)
    return render(
        "gallery.html",
        title="Album",
        active="albums",
        script="gallery",
        view="album",
        album_id=str(album_id),
    )


def _public_page(path: str, template: str, title: str, script: str) -> HTTPRouteHandler:
    # Always rendered, even with session cookies: those may be stale, and a server-side redirect
    # to "/" would bounce straight back here. The page's script checks the session instead.
    async def page() -> Response[str]:
        return render(template, title=title, active="", script=script, public=True)

    page.__name__ = f"page_{script}"
    return get(path, name=page.__name__, include_in_schema=False)(page)


@get("/signup", name="page_signup", include_in_schema=False)
async def signup_page(runtime: Runtime) -> Response[str]:
    """Sign-up, or a note that only administrators create accounts here."""
    closed = None if runtime.core.signup_enabled else SIGNUP_CLOSED
    return render(
        "signup.html",
        title="Create an account",
        active="",
        script="signup",
        public=True,
        signup_closed=closed,
    )


@get("/share/{token:str}", name="page_share", include_in_schema=False)
async def share_page(token: str) -> Response[str]:
    """A shared image for whoever holds the link; the script reads ``/s/{token}``."""
    return render(
        "share.html", title="Shared photo", active="", script="share", public=True, token=token
    )


@get("/share/album/{token:str}", name="page_share_album", include_in_schema=False)
async def share_album_page(token: str) -> Response[str]:
    """A shared album for whoever holds the link; the script reads ``/s/album/{token}`` and
    asks for the password when the link has one."""
    return render(
        "shared_album.html",
        title="Shared album",
        active="",
        script="shared_album",
        public=True,
        token=token,
    )


@get("/albums/shared/{album_id:uuid}", name="page_shared_album", include_in_schema=False)
async def shared_album_page(request: Request[Any, Any, Any], album_id: uuid.UUID) -> Response[Any]:
    """An album another user shared with the signed-in one (read-only)."""
    if not signed_in(request):
        return _login_redirect(request)
    return render(
        "shared_album.html",
        title="Shared album",
        active="albums",
        script="shared_album",
        album_id=str(album_id),
    )


def page_handlers() -> list[HTTPRouteHandler]:
    """Every HTML page."""
    handlers: list[HTTPRouteHandler] = [_private_page(*spec) for spec in PRIVATE_PAGES]
    handlers.append(album_page)
    handlers.append(_public_page("/login", "login.html", "Sign in", "login"))
    handlers.append(signup_page)
    handlers.append(
        _public_page(
            "/forgot-password", "forgot_password.html", "Forgot password", "forgot_password"
        )
    )
    handlers.append(
        _public_page("/reset-password", "reset_password.html", "New password", "reset_password")
    )
    handlers.append(share_page)
    handlers.append(share_album_page)
    handlers.append(shared_album_page)
    return handlers


def static_router() -> Router:
    """``/static``: CSS and ES modules. Browsers revalidate each time (cheap 304s), so a new
    release never runs against stale modules."""
    return create_static_files_router(
        path="/static",
        directories=[STATIC],
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
        name="web_static",
    )


__all__: list[str] = [
    "not_found_page",
    "page_handlers",
    "render",
    "signed_in",
    "static_router",
    "wants_html",
]
