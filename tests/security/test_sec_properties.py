"""Property-based tests (hypothesis) of what clients and operators type: list cursors, titles
and filenames, and settings values. Whatever the input: never a 5xx (or, for settings, never
anything but a ConfigurationError or a valid object), never a user string in a storage key."""

from __future__ import annotations

import contextlib
import re
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from salon.db.models import UploadIntent
from salon.errors import ConfigurationError
from salon.settings import CoreSettings, load_core_settings
from salon.testing.fixtures import RunningApp, running_app
from security_support import distinct_jpeg
from sqlalchemy import select

ON_MODULE_LOOP = pytest.mark.asyncio(loop_scope="module")

SAFE_KEY = re.compile(r"^[A-Za-z0-9/_.-]+$")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
HOSTILE_NAMES = [
    "../../../etc/passwd",
    "..\\..\\windows\\win.ini",
    "/absolute/path.jpg",
    "a\x00b.jpg",
    "line\r\nX-Injected: yes.jpg",
    "\u202etxt.exe.jpg",  # right-to-left override
    "🙂 фото 写真.jpg",
    "CON",
    "%2e%2e%2fsecret.jpg",
    "x" * 600 + ".jpg",
    ".hidden",
    "",
]
# Module-scoped: one app for many examples (each example is one request, not one app).
EXAMPLES = settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def app(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[RunningApp]:
    data = tmp_path_factory.mktemp("props") / "data"
    # One owner announces an upload per generated file name and leaves it open: more than
    # SALON_MAX_OPEN_UPLOADS_PER_USER allows (its 429 has a test of its own).
    env = {"SALON_INPROCESS_WORKER": "false", "SALON_MAX_OPEN_UPLOADS_PER_USER": "100000"}
    async with running_app(data, env=env) as running:
        yield running


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def owner(app: RunningApp) -> dict[str, str]:
    headers = await app.login()
    for _ in range(3):  # enough images for pages with a next cursor
        assert (await app.upload(headers, distinct_jpeg())).status_code == 201
    return headers


def stored_keys(data_dir: Path) -> list[str]:
    media = data_dir / "media"
    return [str(p.relative_to(media)) for p in media.rglob("*") if p.is_file()]


cursors = st.one_of(
    st.text(max_size=200),
    st.binary(max_size=120).map(lambda b: __import__("base64").urlsafe_b64encode(b).decode()),
    st.from_regex(r"[A-Za-z0-9_-]{0,120}", fullmatch=True),
)


@ON_MODULE_LOOP
@given(cursor=cursors, limit=st.integers(min_value=-5, max_value=300))
@EXAMPLES
async def test_any_cursor_is_a_page_or_400(
    app: RunningApp, owner: dict[str, str], cursor: str, limit: int
) -> None:
    response = await app.client.get(
        "/api/images", params={"cursor": cursor, "limit": limit}, headers=owner
    )
    assert response.status_code in (200, 400), (cursor, limit, response.text)
    body = response.json()
    if response.status_code == 200:
        assert set(body) == {"items", "next_cursor"}
        assert len(body["items"]) <= limit
    else:
        assert body["status_code"] == 400 and body["detail"]


@ON_MODULE_LOOP
async def test_real_cursors_walk_every_page(app: RunningApp, owner: dict[str, str]) -> None:
    seen: list[str] = []
    cursor = None
    while True:
        params = {"limit": 1, **({"cursor": cursor} if cursor else {})}
        page = (await app.client.get("/api/images", params=params, headers=owner)).json()
        seen += [item["id"] for item in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert len(seen) == len(set(seen)) >= 3


@ON_MODULE_LOOP
@given(title=st.text(max_size=700))
@EXAMPLES
async def test_titles_round_trip_or_are_cleaned(
    app: RunningApp, owner: dict[str, str], title: str
) -> None:
    listing = (await app.client.get("/api/images", params={"limit": 1}, headers=owner)).json()
    image_id = listing["items"][0]["id"]
    response = await app.client.patch(
        f"/api/images/{image_id}", json={"title": title}, headers=owner
    )
    assert response.status_code in (200, 400), response.text
    if response.status_code == 200:
        stored = response.json()["title"]
        again = (await app.client.get(f"/api/images/{image_id}", headers=owner)).json()["title"]
        assert stored == again
        assert stored == title.strip()[:500] or not CONTROL.search(stored), (title, stored)


@ON_MODULE_LOOP
@given(filename=st.one_of(st.sampled_from(HOSTILE_NAMES), st.text(max_size=300)))
@EXAMPLES
async def test_direct_upload_filenames_never_reach_storage_keys(
    app: RunningApp, owner: dict[str, str], filename: str
) -> None:
    response = await app.client.post(
        "/api/uploads",
        json={"filename": filename, "content_type": "image/jpeg", "size": 1000},
        headers=owner,
    )
    assert response.status_code in (201, 400), response.text
    if response.status_code != 201:
        return
    upload_id = uuid.UUID(response.json()["upload_id"])
    async with app.runtime.session_maker() as session:
        key = (
            await session.execute(
                select(UploadIntent.storage_key).where(UploadIntent.id == upload_id)
            )
        ).scalar_one()
    assert SAFE_KEY.match(key) and ".." not in key, key
    assert response.json()["url"].endswith(f"/api/uploads/{upload_id}/file")


@ON_MODULE_LOOP
@pytest.mark.parametrize("filename", HOSTILE_NAMES, ids=range(len(HOSTILE_NAMES)))
async def test_uploaded_filenames_and_titles_are_safe(
    app: RunningApp, owner: dict[str, str], filename: str
) -> None:
    data = distinct_jpeg()
    response = await app.client.post(
        "/api/images",
        files={"file": (filename, data, "image/jpeg")},
        data={"title": filename},
        headers=owner,
    )
    assert response.status_code in (201, 400), response.text
    for key in stored_keys(app.data_dir):
        assert SAFE_KEY.match(key) and ".." not in key.split("/"), key
    if response.status_code == 201:
        title = response.json()["title"]
        assert title == filename.strip()[:500] or not CONTROL.search(title)
        original = await app.client.get(
            f"/api/images/{response.json()['id']}/original", headers=owner
        )
        assert original.status_code == 200 and original.content == data
        disposition = original.headers.get("content-disposition", "")
        assert "\r" not in disposition and "\n" not in disposition and ".." not in disposition


# --------------------------------------------------------------------------- settings

CORE_FIELDS = sorted(set(CoreSettings.__struct_fields__) - {"data_dir", "secret_key"})
setting_values = st.one_of(
    st.text(max_size=40),
    st.integers(min_value=-(2**70), max_value=2**70).map(str),
    st.sampled_from(["", "0", "-1", "true", "false", "yes", "1e9", "nan", "a,b,,c", " , "]),
)


@given(
    values=st.dictionaries(st.sampled_from(CORE_FIELDS), setting_values, max_size=6),
    data_dir=st.one_of(
        st.none(),
        st.text(max_size=30),
        st.sampled_from(["a\x00b", "~no-such-user-x/data", "~", "/proc/1/nope"]),
    ),
)
@settings(max_examples=300, deadline=None)
def test_settings_are_valid_or_a_configuration_error(
    tmp_path_factory: pytest.TempPathFactory, values: dict[str, str], data_dir: str | None
) -> None:
    base = tmp_path_factory.getbasetemp()
    environ = {f"SALON_{name.upper()}": value for name, value in values.items()}
    # A secret is given, so parsing never writes one into whatever folder was generated.
    environ["SALON_SECRET_KEY"] = "k" * 40
    environ["SALON_DATA_DIR"] = str(base / "settings") if data_dir is None else data_dir
    try:
        core, leftovers = load_core_settings(environ, toml_path=base / "absent.toml")
    except ConfigurationError as exc:
        assert str(exc)
        return
    assert isinstance(core, CoreSettings)
    assert core.max_upload_bytes > 0 and core.access_token_ttl > 0
    assert core.download_mode in ("redirect", "proxy")
    assert leftovers == {}


@given(path=st.text(max_size=40))
@settings(max_examples=100, deadline=None)
def test_config_file_path_is_valid_or_a_configuration_error(
    tmp_path_factory: pytest.TempPathFactory, path: str
) -> None:
    environ = {"SALON_CONFIG": path, "SALON_SECRET_KEY": "k" * 40}
    environ["SALON_DATA_DIR"] = str(tmp_path_factory.getbasetemp() / "settings")
    with contextlib.suppress(ConfigurationError):
        load_core_settings(environ)
