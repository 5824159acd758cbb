"""The HTML pages of the gallery and the ``/static`` router.

Pages are rendered with Jinja2 (autoescaped). A page behind sign-in only checks that a session
cookie is present and otherwise redirects to ``/login``: the data comes from the JSON API, which
checks the token itself, so a stale cookie costs one redirect made by the page's script.

Plugins add pages through the ``register_pages`` hook: their templates are found as
``<plugin>/<template>`` beside the core's (so they extend ``base.html``), their static files are
served under ``/static/plugins/<plugin>/``, and the main navigation is the core's entries plus
theirs, so a disabled plugin's pages and entries are simply absent.
"""

from __future__ import annotations

import errno
import logging
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from jinja2 import (
    BaseLoader,
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    PrefixLoader,
    select_autoescape,
)
from litestar import Request, Response, Router, get
from litestar.datastructures import CacheControlHeader
from litestar.enums import MediaType
from litestar.exceptions import InternalServerException, NotFoundException
from litestar.handlers import HTTPRouteHandler
from litestar.params import FromPath
from litestar.response import Redirect
from litestar.static_files import create_static_files_router

from salon import __version__
from salon.domain.auth.services import SIGNUP_CLOSED
from salon.domain.deps import ACCESS_COOKIE, CSRF_COOKIE, DbSession, RuntimeDep
from salon.domain.shares.services import LinkGone, UnknownLink, shared_link, valid_link
from salon.errors import PluginError
from salon.plugins import PluginPage
from salon.providers import PluginFiles
from salon.runtime import runtime_of

logger = logging.getLogger(__name__)

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
    ("/account", "account.html", "Account", "account", "account"),
)


@dataclass(frozen=True, slots=True)
class NavEntry:
    """One link of the main navigation; ``key`` is what a page passes as ``active``."""

    key: str
    href: str
    label: str
    order: int


# Plugins place their entries among these by PageSpec.nav_order (documented in providers.py).
CORE_NAV: tuple[NavEntry, ...] = (
    NavEntry("photos", "/", "Photos", 10),
    NavEntry("favorites", "/favorites", "Favorites", 20),
    NavEntry("albums", "/albums", "Albums", 30),
    NavEntry("upload", "/upload", "Upload", 40),
    NavEntry("trash", "/trash", "Trash", 90),
)
PLUGIN_STATIC = "/static/plugins"
NO_CACHE = {"cache-control": "no-cache"}


class WebUI:
    """The Jinja environment and navigation of one app: the core's plus its plugins' pages."""

    def __init__(
        self, pages: Sequence[PluginPage] = (), files: Mapping[str, PluginFiles] = {}
    ) -> None:
        self.pages = list(pages)
        self.files = dict(files)
        folders = {name: f.templates for name, f in self.files.items() if f.templates}
        loaders: list[BaseLoader] = [FileSystemLoader(TEMPLATES)]
        if folders:
            prefixed = {name: FileSystemLoader(folder) for name, folder in folders.items()}
            loaders.append(PrefixLoader(dict(prefixed)))
        self.env = Environment(
            loader=ChoiceLoader(loaders),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        plugin_nav = [
            NavEntry(p.spec.path, p.spec.path, p.spec.nav_label, p.spec.nav_order)
            for p in self.pages
            if p.spec.nav_label
        ]
        nav = sorted([*CORE_NAV, *plugin_nav], key=lambda e: e.order)  # stable: core first
        self.env.globals.update(
            nav=[(e.key, e.href, e.label) for e in nav],
            # Core templates link to a plugin's page only when it is there (e.g. /video).
            page_paths=frozenset(
                [*(spec[0] for spec in PRIVATE_PAGES), *(p.spec.path for p in self.pages)]
            ),
            version=__version__,
        )

    def render(self, template: str, **context: Any) -> Response[str]:
        """An HTML response from one template."""
        html = self.env.get_template(template).render(**context)
        return Response(html, media_type=MediaType.HTML, headers=NO_CACHE)


@lru_cache(maxsize=1)
def core_web() -> WebUI:
    """The core's pages alone: for the 404 page, which shows no navigation."""
    return WebUI()


def render(template: str, **context: Any) -> Response[str]:
    """An HTML response from one core template."""
    return core_web().render(template, **context)


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
    web: WebUI, path: str, template: str, title: str, active: str, script: str
) -> HTTPRouteHandler:
    async def page(request: Request[Any, Any, Any]) -> Response[Any]:
        if not signed_in(request):
            return _login_redirect(request)
        view = active if active in ("favorites", "trash") else ""
        trash_days = runtime_of(request).core.trash_days
        return web.render(
            template, title=title, active=active, script=script, view=view, trash_days=trash_days
        )

    name = "page_" + (active or "home")
    page.__name__ = name
    return get(path, name=name, include_in_schema=False)(page)


def _album_pages(web: WebUI) -> list[HTTPRouteHandler]:
    @get("/albums/{album_id:uuid}", name="page_album", include_in_schema=False)
    async def album_page(
        request: Request[Any, Any, Any], album_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """One album: the gallery grid filtered to it."""
        if not signed_in(request):
            return _login_redirect(request)
        return web.render(
            "gallery.html",
            title="Album",
            active="albums",
            script="gallery",
            view="album",
            album_id=str(album_id),
        )

    @get("/albums/shared/{album_id:uuid}", name="page_shared_album", include_in_schema=False)
    async def shared_album_page(
        request: Request[Any, Any, Any], album_id: FromPath[uuid.UUID]
    ) -> Response[Any]:
        """An album another user shared with the signed-in one (read-only)."""
        if not signed_in(request):
            return _login_redirect(request)
        return web.render(
            "shared_album.html",
            title="Shared album",
            active="albums",
            script="shared_album",
            album_id=str(album_id),
        )

    return [album_page, shared_album_page]


def _public_page(path: str, template: str, title: str, script: str) -> HTTPRouteHandler:
    # Always rendered, even with session cookies: those may be stale, and a server-side redirect
    # to "/" would bounce straight back here. The page's script checks the session instead.
    async def page() -> Response[str]:
        return render(template, title=title, active="", script=script, public=True)

    page.__name__ = f"page_{script}"
    return get(path, name=page.__name__, include_in_schema=False)(page)


@get("/signup", name="page_signup", include_in_schema=False)
async def signup_page(runtime: RuntimeDep) -> Response[str]:
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


ENDED_HEADINGS = {404: "Link not found", 410: "This link no longer works"}


def _link_ended_page(ended: LinkGone | UnknownLink) -> Response[str]:
    """A share link's page when there is no link (404) or it ended (410, saying why: revoked,
    expired, its photo removed), so a browser, a crawler and a link checker all see it."""
    response = render(
        "share_ended.html",
        title=ENDED_HEADINGS.get(ended.status_code, "Link not found"),
        active="",
        script="",
        public=True,
        detail=str(ended),
        gone=ended.status_code == 410,
    )
    response.status_code = ended.status_code
    response.headers["cache-control"] = "no-store"
    return response


@get("/share/{token:str}", name="page_share", include_in_schema=False)
async def share_page(token: FromPath[str], db_session: DbSession) -> Response[str]:
    """A shared image for whoever holds the link; the script reads ``/s/{token}`` (and asks
    for the password when the link has one). An unknown link is 404, an ended one 410."""
    try:
        await shared_link(db_session, token)
    except (LinkGone, UnknownLink) as ended:
        return _link_ended_page(ended)
    return render(
        "share.html", title="Shared photo", active="", script="share", public=True, token=token
    )


@get("/share/album/{token:str}", name="page_share_album", include_in_schema=False)
async def share_album_page(token: FromPath[str], db_session: DbSession) -> Response[str]:
    """A shared album for whoever holds the link; the script reads ``/s/album/{token}`` and
    asks for the password when the link has one. An unknown link is 404, an ended one 410."""
    try:
        await valid_link(db_session, token)
    except (LinkGone, UnknownLink) as ended:
        return _link_ended_page(ended)
    return render(
        "shared_album.html",
        title="Shared album",
        active="",
        script="shared_album",
        public=True,
        token=token,
    )


def page_handlers(web: WebUI | None = None) -> list[HTTPRouteHandler]:
    """Every HTML page: the core's, then the plugins' (``register_pages``)."""
    web = web or core_web()
    handlers: list[HTTPRouteHandler] = [_private_page(web, *spec) for spec in PRIVATE_PAGES]
    handlers.extend(_album_pages(web))
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
    taken = {path for handler in handlers for path in handler.paths}
    for page in web.pages:
        if page.spec.path in taken or page.spec.path.startswith(RESERVED_PREFIXES):
            raise PluginError(page.plugin, "register_pages", f"{page.spec.path} is the core's")
        handlers.append(_plugin_page(web, page))
    return handlers


# Paths of the API, static files and media: never a plugin's page.
RESERVED_PREFIXES = (*MACHINE_PREFIXES, *MACHINE_PATHS, "/api", "/static", "/share", "/s/")


def plugin_static_url(plugin: str, relative: str) -> str:
    return f"{PLUGIN_STATIC}/{plugin}/{relative.lstrip('/')}"


def _plugin_page(web: WebUI, page: PluginPage) -> HTTPRouteHandler:
    spec, plugin = page.spec, page.plugin
    context = {
        "title": spec.title,
        "active": spec.path,
        "script": "",
        "scripts": [plugin_static_url(plugin, s) for s in spec.scripts],
        "styles": [plugin_static_url(plugin, s) for s in spec.styles],
        "static_url": plugin_static_url(plugin, ""),
        "public": spec.public,
    }
    template = f"{plugin}/{spec.template}"

    async def plugin_page(request: Request[Any, Any, Any]) -> Response[Any]:
        if not spec.public and not signed_in(request):
            return _login_redirect(request)
        return web.render(template, **context)

    name = f"plugin_page_{plugin}_{spec.path}"
    return get(spec.path, name=name, include_in_schema=False)(plugin_page)


def static_router() -> Router:
    """``/static``: CSS and ES modules. Browsers revalidate each time (cheap 304s), so a new
    release never runs against stale modules."""
    return _static_files("/static", STATIC, "web_static")


def plugin_static_routers(web: WebUI) -> list[Router]:
    """``/static/plugins/<plugin>/``: each plugin's static folder, served like the core's."""
    return [
        _static_files(f"{PLUGIN_STATIC}/{plugin}", files.static, f"plugin_static_{plugin}")
        for plugin, files in web.files.items()
        if files.static is not None
    ]


def _static_files(path: str, directory: Path, name: str) -> Router:
    return create_static_files_router(
        path=path,
        directories=[directory],
        cache_control=CacheControlHeader(no_cache=True),
        include_in_schema=False,
        name=name,
        # Litestar's own 404 names the folder on disk, a NUL in the path is its ValueError,
        # and a name too long for the file system its 500: each is a plain 404 (outside
        # attacker, s29).
        exception_handlers={
            NotFoundException: _no_such_file,
            ValueError: _no_such_file,
            InternalServerException: _no_such_file,
        },
    )


# What a malformed path gives the file system; anything else (a permission error) stays a 500.
_PATH_ERRNOS = frozenset({errno.ENAMETOOLONG, errno.ENOTDIR, errno.ELOOP, errno.EINVAL})


def _no_such_file(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    if isinstance(exc, InternalServerException):
        cause = exc.__cause__
        if not (isinstance(cause, OSError) and cause.errno in _PATH_ERRNOS):
            logger.error("serving %s failed", request.url.path, exc_info=cause or exc)
            return Response(
                {"status_code": 500, "detail": "Internal Server Error"}, status_code=500
            )
    return Response(
        {"status_code": 404, "detail": f"no file at {quote(request.url.path)}"},
        status_code=404,
    )


__all__: list[str] = [
    "WebUI",
    "not_found_page",
    "page_handlers",
    "plugin_static_routers",
    "render",
    "signed_in",
    "static_router",
    "wants_html",
]
