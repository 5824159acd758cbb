"""The web UI's server side, without a browser: which pages need a session, what they render,
how static files are served, and that nothing in the UI needs a CSP exception.

The browser behaviour itself is tested in tests/e2e/ with Chromium.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from salon.web.pages import STATIC, TEMPLATES

ROOT = Path(__file__).resolve().parents[2]
# The built-in plugins' own pages (register_pages): held to the same rules as the core's.
PLUGIN_WEB = sorted(ROOT.glob("plugins/*/salon_*/templates")) + sorted(
    ROOT.glob("plugins/*/salon_*/static")
)

PRIVATE = ["/", "/favorites", "/albums", "/upload", "/apod", "/video", "/account"]
ALBUM = "/albums/01a2007d-a2fa-77e3-be2b-5e08bd92c8b5"
SHARED_ALBUM = "/albums/shared/01a2007d-a2fa-77e3-be2b-5e08bd92c8b5"


@pytest.mark.parametrize("path", [*PRIVATE, ALBUM, SHARED_ALBUM])
async def test_private_pages_send_visitors_to_sign_in(salon_app: Any, path: str) -> None:
    response = await salon_app.client.get(path, follow_redirects=False)
    assert response.status_code in (302, 303, 307)
    location = response.headers["location"]
    assert location.startswith("/login?next=")
    assert location.endswith(path.replace("/", "%2F"))


async def test_pages_render_for_a_session(salon_app: Any) -> None:
    await salon_app.login()
    response = await salon_app.client.post(
        "/api/auth/login?session=cookie",
        json={"email": next(iter(salon_app.users)), "password": "correct horse battery staple"},
    )
    assert response.status_code == 200
    for path in [*PRIVATE, ALBUM, SHARED_ALBUM]:
        page = await salon_app.client.get(path, follow_redirects=False)
        assert page.status_code == 200, path
        assert page.headers["content-type"].startswith("text/html")
        assert "script-src 'self'" in page.headers["content-security-policy"]
        # The core's page modules, or a plugin's under /static/plugins/<plugin>/.
        module = r'<script type="module" src="/static/(js/pages|plugins/\w+)/\w+\.js">'
        assert re.search(module, page.text), path
        assert 'aria-label="Main"' in page.text
    album = await salon_app.client.get(ALBUM)
    assert 'data-album-id="01a2007d-a2fa-77e3-be2b-5e08bd92c8b5"' in album.text
    # The sign-in page renders even with (possibly stale) session cookies: no redirect loop.
    again = await salon_app.client.get("/login", follow_redirects=False)
    assert again.status_code == 200


async def _links(app: Any, password: str | None = None) -> tuple[str, str]:
    """The tokens of a new photo link and a new album link (with ``password`` if given)."""
    headers = await app.login()
    image = (await app.upload(headers)).json()
    album = (await app.client.post("/api/albums", json={"name": "Pages"}, headers=headers)).json()
    body = {"password": password} if password else {}
    tokens = []
    for path in (f"/api/images/{image['id']}/share", f"/api/albums/{album['id']}/share"):
        made = await app.client.post(path, json=body, headers=headers)
        assert made.status_code == 201, made.text
        tokens.append(made.json()["token"])
    return tokens[0], tokens[1]


async def test_public_pages(salon_app: Any) -> None:
    photo, album = await _links(salon_app)
    for path, marker in [
        ("/login", "data-login-form"),
        ("/signup", "data-signup-form"),
        ("/forgot-password", "data-forgot-form"),
        ("/reset-password", "data-reset-form"),
        (f"/share/{photo}", f'data-token="{photo}"'),
        (f"/share/album/{album}", f'data-token="{album}"'),
    ]:
        response = await salon_app.client.get(path, follow_redirects=False)
        assert response.status_code == 200, path
        assert marker in response.text
    # A token no link has: the page says so, 404; it is escaped into the page, never run.
    for path in ("/share/sometoken", "/share/album/sometoken"):
        missing = await salon_app.client.get(path)
        assert missing.status_code == 404 and "data-share-ended" in missing.text, path
    hostile = await salon_app.client.get('/share/"><img src=x onerror=alert(1)>')
    assert "<img src=x" not in hostile.text


async def test_static_files(salon_app: Any) -> None:
    script = await salon_app.client.get("/static/js/api.js")
    assert script.status_code == 200
    assert script.headers["content-type"].startswith("text/javascript")
    assert "no-cache" in script.headers["cache-control"]
    css = await salon_app.client.get("/static/css/salon.css")
    assert css.headers["content-type"].startswith("text/css")
    missing = await salon_app.client.get("/static/js/nope.js")
    assert missing.status_code == 404
    escape = await salon_app.client.get("/static/../pages.py")
    assert escape.status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/static/css/salon.css%00",
        "/static/%00",
        "/static/plugins/nasa_apod/%00",
        "/static/css/",
        "/static/%2e",
        "/static/plugins/nasa_apod/%2e",
        "/static/" + "a" * 3000,
    ],
)
async def test_odd_static_paths_get_a_404_that_names_no_folder(salon_app: Any, path: str) -> None:
    """A NUL was Litestar's ValueError and a name too long an OSError (500s, with a traceback
    in the log), and a folder's 404 named it on disk (outside attacker, s29)."""
    answer = await salon_app.client.get(path)
    assert answer.status_code == 404, answer.text
    assert answer.json()["detail"].startswith("no file at /static/")
    assert str(STATIC.parent) not in answer.text and "/core/" not in answer.text


def _files(root: Path, suffix: str) -> list[Path]:
    found = sorted(root.rglob(f"*{suffix}"))
    assert found, f"no {suffix} files under {root}"
    return found


def test_templates_need_no_csp_exception() -> None:
    """No inline scripts, inline styles, style attributes or inline event handlers."""
    plugin_templates = [t for d in PLUGIN_WEB for t in d.rglob("*.html")]
    assert plugin_templates, "the built-in plugins' templates were not found"
    for template in [*_files(TEMPLATES, ".html"), *plugin_templates]:
        text = template.read_text()
        assert not re.search(r"<script(?![^>]*\ssrc=)[^>]*>", text), template
        assert "<style" not in text, template
        assert not re.search(r"\sstyle\s*=", text), template
        assert not re.search(r"\son[a-z]+\s*=", text), template


def test_scripts_need_no_csp_exception() -> None:
    """No eval-like calls and no style attributes written as markup from the scripts."""
    for script in _files(STATIC / "js", ".js"):
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|innerHTML|setAttribute\(\"style\"", text), (
            script
        )
        # Relative ES module imports only: everything is served from /static.
        for target in re.findall(r'from "([^"]+)"', text):
            assert target.startswith("./") or target.startswith("../"), (script, target)
            assert (script.parent / target).resolve().exists(), (script, target)


def test_plugin_scripts_need_no_csp_exception() -> None:
    """A plugin's modules import the core's by absolute /static/js/ URL (they are served from
    /static/plugins/<plugin>/), or their own files relatively: every import must exist."""
    scripts = [s for d in PLUGIN_WEB for s in d.rglob("*.js")]
    assert scripts, "the built-in plugins' scripts were not found"
    for script in scripts:
        text = script.read_text()
        assert not re.search(r"\beval\(|new Function\(|innerHTML|setAttribute\(\"style\"", text), (
            script
        )
        for target in re.findall(r'from "([^"]+)"', text):
            if target.startswith("/static/js/"):
                assert (STATIC / target.removeprefix("/static/")).is_file(), (script, target)
            else:
                assert target.startswith("./"), (script, target)
                assert (script.parent / target).resolve().exists(), (script, target)


async def test_password_forms_never_submit_natively_by_get(salon_app: Any) -> None:
    """A click before the page's module script runs submits a form natively: with the default
    GET that would put the password in the URL (history, logs). Every password form posts."""
    photo, album = await _links(salon_app, password="page passphrase")
    for path in (
        "/login",
        "/signup",
        "/reset-password",
        f"/share/{photo}",
        f"/share/album/{album}",
    ):
        page = await salon_app.client.get(path, headers={"Accept": "text/html"})
        assert page.status_code == 200, path
        for form in re.findall(r"<form[^>]*>", page.text):
            if "data-confirm-form" in form:
                continue  # holds a one-time code, no password
            assert 'method="post"' in form, (path, form)
