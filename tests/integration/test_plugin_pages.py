"""The ``register_pages`` hook in a running app, with a tiny plugin defined here: its page
extends the core's layout and shows in the main navigation among the core's entries, its static
files are served under ``/static/plugins/<name>/`` within the CSP, sign-in applies as for the
core's pages, and a plugin left out takes its page and entry with it. Bad registrations stop
start-up naming the plugin."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from salon import hookimpl
from salon.errors import PluginError
from salon.providers import PageSpec, PluginFiles
from salon.testing import running_app


def plugin_folders(root: Path) -> tuple[Path, Path]:
    templates, static = root / "templates", root / "static"
    (static / "js").mkdir(parents=True)
    templates.mkdir()
    (templates / "stars.html").write_text(
        '{% extends "base.html" %}{% block main %}'
        '<h1 data-stars>Star charts</h1><img src="{{ static_url }}chart.svg" alt="chart">'
        "{% endblock %}"
    )
    (templates / "hello.html").write_text(
        '{% extends "base.html" %}{% block main %}<p data-hello>hello</p>{% endblock %}'
    )
    (static / "js" / "stars.js").write_text('import { api } from "/static/js/api.js";\n')
    (static / "stars.css").write_text(".stars { color: gold; }\n")
    (static / "chart.svg").write_text('<svg xmlns="http://www.w3.org/2000/svg"/>')
    return templates, static


class StarsPlugin:
    __name__ = "stars"

    def __init__(self, root: Path, *pages: PageSpec) -> None:
        self.templates, self.static = plugin_folders(root)
        self.pages = pages or (
            PageSpec(
                "/stars",
                "stars.html",
                "Star charts",
                nav_label="Stars",
                nav_order=35,
                scripts=["js/stars.js"],
                styles=["stars.css"],
            ),
            PageSpec("/stars/hello", "hello.html", "Hello", public=True),
        )

    @hookimpl
    def register_pages(self, register: Any) -> None:
        register(PluginFiles(templates=self.templates, static=self.static))
        for page in self.pages:
            register(page)


def _nav(html: str) -> list[str]:
    nav = html[html.index('aria-label="Main"') : html.index("</nav>")]
    return re.findall(r"<a href=\"([^\"]+)\"", nav)


async def test_a_plugin_page_with_its_static_files_and_nav_entry(tmp_path: Path) -> None:
    plugin = StarsPlugin(tmp_path / "plugin")
    async with running_app(tmp_path / "data", plugins=[plugin]) as app:
        anonymous = await app.client.get("/stars", follow_redirects=False)
        assert anonymous.status_code in (302, 303, 307)
        assert anonymous.headers["location"] == "/login?next=%2Fstars"
        public = await app.client.get("/stars/hello")
        assert public.status_code == 200 and "data-hello" in public.text

        await app.cookie_login()
        page = await app.client.get("/stars", follow_redirects=False)
        assert page.status_code == 200
        assert "<title>Star charts · Salon</title>" in page.text
        assert "<h1 data-stars>Star charts</h1>" in page.text
        assert '<script type="module" src="/static/plugins/stars/js/stars.js">' in page.text
        assert '<link rel="stylesheet" href="/static/plugins/stars/stars.css">' in page.text
        assert '<img src="/static/plugins/stars/chart.svg"' in page.text
        assert "script-src 'self'" in page.headers["content-security-policy"]
        # Placed by nav_order between Albums (30) and Upload (40), marked as the current page.
        nav = _nav(page.text)
        assert nav.index("/albums") < nav.index("/stars") < nav.index("/upload"), nav
        assert '<a href="/stars" aria-current="page">Stars</a>' in page.text
        # Core pages show the plugin's entry too; the public page has none of its own.
        photos = await app.client.get("/")
        assert "/stars" in _nav(photos.text) and "/stars/hello" not in _nav(photos.text)

        script = await app.client.get("/static/plugins/stars/js/stars.js")
        assert script.status_code == 200
        assert script.headers["content-type"].startswith("text/javascript")
        assert "no-cache" in script.headers["cache-control"]
        css = await app.client.get("/static/plugins/stars/stars.css")
        assert css.status_code == 200 and "gold" in css.text
        assert (await app.client.get("/static/plugins/stars/nope.js")).status_code == 404
        escape = await app.client.get("/static/plugins/stars/../../js/api.js")
        assert escape.status_code in (200, 404)  # normalised to the core's file or refused
        assert "gold" not in escape.text
        # The core's static files are still the core's.
        assert (await app.client.get("/static/js/api.js")).status_code == 200


async def test_template_names_are_each_plugins_own(tmp_path: Path) -> None:
    """A PageSpec's template is a bare name in the plugin's folder, so two plugins may both
    have ``hello.html``; a partial is included by the plugin's name, ``<plugin>/_row.html``,
    and ``base.html`` is the core's (docs/plugins.md, register_pages)."""
    plugins = []
    for name in ("stars", "comets"):
        plugin = StarsPlugin(tmp_path / name, PageSpec(f"/{name}", "hello.html", name, public=True))
        plugin.__name__ = name  # the plugin's name, as an entry point's
        include = '{% include "' + name + '/_row.html" %}'
        (plugin.templates / "hello.html").write_text(
            '{% extends "base.html" %}{% block main %}' + include + "{% endblock %}"
        )
        (plugin.templates / "_row.html").write_text(f"<p data-row>{name} row</p>")
        plugins.append(plugin)
    async with running_app(tmp_path / "data", plugins=plugins) as app:
        for name in ("stars", "comets"):
            page = await app.client.get(f"/{name}")
            assert page.status_code == 200, page.text
            assert f"<p data-row>{name} row</p>" in page.text
            assert f"<title>{name} · Salon</title>" in page.text


async def test_without_the_plugin_there_is_no_page_and_no_nav_entry(tmp_path: Path) -> None:
    plugin = StarsPlugin(tmp_path / "plugin")
    env = {"SALON_DISABLE_PLUGINS": "stars"}
    async with running_app(tmp_path / "data", plugins=[plugin], env=env) as app:
        await app.cookie_login()
        missing = await app.client.get("/stars", headers={"Accept": "text/html"})
        assert missing.status_code == 404
        photos = await app.client.get("/")
        assert photos.status_code == 200
        assert "/stars" not in _nav(photos.text)
        assert (await app.client.get("/static/plugins/stars/stars.css")).status_code == 404


@pytest.mark.parametrize(
    ("page", "message"),
    [
        (PageSpec("/stars", "absent.html", "Stars"), "template 'absent.html' not in"),
        (PageSpec("/stars", "stars.html", "Stars", scripts=["nope.js"]), "file 'nope.js' not in"),
        (PageSpec("/stars", "stars.html", "Stars", scripts=["../../x.js"]), "file '../../x.js'"),
        (PageSpec("/upload", "stars.html", "Stars"), "/upload is the core's"),
        (PageSpec("/api/stars", "stars.html", "Stars"), "/api/stars is the core's"),
        (PageSpec("/Stars/{x}", "stars.html", "Stars"), "is not /a-z0-9_-"),
    ],
    ids=["template", "script", "outside", "core-page", "api", "path"],
)
async def test_a_bad_page_stops_start_up_naming_the_plugin(
    tmp_path: Path, page: PageSpec, message: str
) -> None:
    plugin = StarsPlugin(tmp_path / "plugin", page)
    with pytest.raises(PluginError) as caught:
        async with running_app(tmp_path / "data", plugins=[plugin]):
            pass
    assert "stars" in str(caught.value) and "register_pages" in str(caught.value)
    assert message in str(caught.value)


async def test_two_plugins_cannot_offer_one_path(tmp_path: Path) -> None:
    first = StarsPlugin(tmp_path / "one")
    second = StarsPlugin(tmp_path / "two")
    second.__name__ = "more-stars"
    with pytest.raises(PluginError, match="already offered by"):
        async with running_app(tmp_path / "data", plugins=[first, second]):
            pass


async def test_disabling_the_apod_plugin_removes_its_page_and_nav_entry(tmp_path: Path) -> None:
    pytest.importorskip("salon_nasa_apod", reason="the built-in APOD plugin is not installed")
    async with running_app(tmp_path / "with") as app:
        await app.cookie_login()
        page = await app.client.get("/apod")
        assert page.status_code == 200
        assert '<script type="module" src="/static/plugins/nasa_apod/apod.js">' in page.text
        assert "/apod" in _nav(page.text)
        script = await app.client.get("/static/plugins/nasa_apod/apod.js")
        assert script.status_code == 200 and "/api/sources/" in script.text
        assert (await app.client.get("/static/plugins/nasa_apod/apod.css")).status_code == 200

    env = {"SALON_DISABLE_PLUGINS": "nasa_apod"}
    async with running_app(tmp_path / "without", env=env) as app:
        await app.cookie_login()
        missing = await app.client.get("/apod", headers={"Accept": "text/html"})
        assert missing.status_code == 404
        assert "Page not found" in missing.text
        photos = await app.client.get("/")
        assert photos.status_code == 200
        assert "/apod" not in _nav(photos.text)
        assert 'href="/apod"' not in photos.text  # nor the empty gallery's import hint
        gone = await app.client.get("/static/plugins/nasa_apod/apod.js")
        assert gone.status_code == 404


async def test_disabling_the_video_plugin_removes_its_page_nav_entry_and_button(
    tmp_path: Path,
) -> None:
    pytest.importorskip("salon_ffmpeg_video", reason="the built-in video plugin is not installed")
    async with running_app(tmp_path / "with") as app:
        await app.cookie_login()
        page = await app.client.get("/video")
        assert page.status_code == 200
        assert '<script type="module" src="/static/plugins/ffmpeg_video/video.js">' in page.text
        assert "/video" in _nav(page.text)
        assert "data-make-video" in (await app.client.get("/")).text

    env = {"SALON_DISABLE_PLUGINS": "ffmpeg_video"}
    async with running_app(tmp_path / "without", env=env) as app:
        await app.cookie_login()
        missing = await app.client.get("/video", headers={"Accept": "text/html"})
        assert missing.status_code == 404
        photos = await app.client.get("/")
        assert "/video" not in _nav(photos.text)
        assert "data-make-video" not in photos.text  # the gallery's button would lead nowhere
        assert "/apod" in _nav(photos.text)  # the other plugin's page stays
