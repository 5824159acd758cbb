"""Access-control matrix: every route of the app's OpenAPI schema, asked by four actors.

Actors: the owner of the resources; another signed-in user; an anonymous client; and a
share-link holder (no account, only a share token, which it also tries as a Bearer token).
Each (method, path) has an entry saying what each actor must get, with real ids filled in. A
route the schema lists but the matrix does not fails the test by name, so a new route cannot
ship without deciding who may call it. Not-yours and not-there answer the same 404 (same body).
"""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
from litestar import get
from salon import hookimpl
from salon.db.models import Video
from salon.domain.images.services import file_chunks
from salon.domain.videos.services import output_key
from salon.testing.fixtures import TEST_PASSWORD, RunningApp, running_app
from salon_nasa_apod.testing import FakeApodServer
from security_support import distinct_jpeg

ACTORS = ("owner", "other", "anon", "holder")
UUID_RE = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")
APOD_DAY = "2024-03-01"
ALBUM_PASSWORD = "matrix album password"


@dataclass
class World:
    """Two users and one of each resource the owner has, plus a share link to its image."""

    app: RunningApp
    owner_email: str
    other_email: str
    headers: dict[str, dict[str, str]]
    ids: dict[str, str] = field(default_factory=dict)
    intent_bytes: dict[str, bytes] = field(default_factory=dict)

    @property
    def client(self) -> Any:
        return self.app.client

    async def image(self) -> str:
        """An image with its renditions (no worker runs: ``upload`` makes them)."""
        response = await self.app.upload(self.headers["owner"], distinct_jpeg())
        assert response.status_code == 201, response.text
        assert response.json()["status"] == "ready"
        return str(response.json()["id"])

    async def album(self, *image_ids: str) -> str:
        response = await self.client.post(
            "/api/albums", json={"name": f"album {uuid.uuid4().hex}"}, headers=self.headers["owner"]
        )
        assert response.status_code == 201, response.text
        album_id = str(response.json()["id"])
        if image_ids:
            added = await self.client.post(
                f"/api/albums/{album_id}/images",
                json={"image_ids": list(image_ids)},
                headers=self.headers["owner"],
            )
            assert added.status_code == 200, added.text
        return album_id

    async def intent(self, *, send_file: bool) -> str:
        data = distinct_jpeg()
        response = await self.client.post(
            "/api/uploads",
            json={"filename": "direct.jpg", "content_type": "image/jpeg", "size": len(data)},
            headers=self.headers["owner"],
        )
        assert response.status_code == 201, response.text
        upload_id = str(response.json()["upload_id"])
        self.intent_bytes[upload_id] = data
        if send_file:
            sent = await self.client.post(
                f"/api/uploads/{upload_id}/file",
                files={"file": ("direct.jpg", data, "image/jpeg")},
                headers=self.headers["owner"],
            )
            assert sent.status_code == 204, sent.text
        return upload_id

    async def tokens(self, actor: str) -> dict[str, str]:
        """A fresh login of ``actor``: for routes that spend a token (refresh, logout)."""
        email = self.owner_email if actor == "owner" else self.other_email
        response = await self.client.post(
            "/api/auth/login", json={"email": email, "password": TEST_PASSWORD}
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def finished_video(self) -> tuple[str, str]:
        """A video whose job is queued (no worker runs) and whose row is then finalized by
        hand with a stored file: the file route needs a made video, making one needs ffmpeg."""
        response = await self.client.post(
            "/api/videos", json={"image_ids": [self.ids["image_id"]]}, headers=self.headers["owner"]
        )
        assert response.status_code == 202, response.text
        video_id, job_id = response.json()["video_id"], response.json()["job_id"]
        runtime = self.app.runtime
        async with runtime.session_maker() as session:
            video = await session.get(Video, uuid.UUID(video_id))
            assert video is not None
            key = output_key(video.owner_id, video.id)
            path = self.app.data_dir / "fake.mp4"
            path.write_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 64)
            info = await runtime.storage.put(key, file_chunks(path), content_type="video/mp4")
            video.status, video.storage_key, video.size, video.duration = (
                "succeeded",
                key,
                info.size,
                1.0,
            )
            await session.commit()
        return video_id, job_id


Params = dict[str, str]
BodyFn = Callable[[World, str, Params], Awaitable[dict[str, Any]]]
ParamsFn = Callable[[World], Awaitable[Params]]


async def no_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    return {}


def json_body(value: Any) -> BodyFn:
    async def body(world: World, actor: str, params: Params) -> dict[str, Any]:
        return {"json": value() if callable(value) else value}

    return body


@dataclass(frozen=True)
class Rule:
    """Expected status per actor. ``fresh`` builds the path's resources anew for this route
    (owner last, so its success shows the other actors changed nothing)."""

    owner: int
    other: int
    anon: int
    holder: int
    body: BodyFn = no_body
    fresh: ParamsFn | None = None

    def expected(self, actor: str) -> int:
        return int(getattr(self, actor))


def private(ok: int, *, other: int = 404, **kwargs: Any) -> Rule:
    """An owner-only resource: strangers get 404, the unauthenticated 401."""
    return Rule(ok, other, 401, 401, **kwargs)


def signed_in(ok: int, **kwargs: Any) -> Rule:
    """Any account may call it (on its own data)."""
    return Rule(ok, ok, 401, 401, **kwargs)


def public(ok: int, **kwargs: Any) -> Rule:
    return Rule(ok, ok, ok, ok, **kwargs)


async def upload_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    return {"files": {"file": ("m.jpg", distinct_jpeg(), "image/jpeg")}}


async def refresh_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    if actor in ("owner", "other"):
        return {"json": {"refresh_token": (await world.tokens(actor))["refresh_token"]}}
    if actor == "holder":
        return {"json": {"refresh_token": world.ids["token"]}}
    return {}


async def logout_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    if actor in ("owner", "other"):
        token = (await world.tokens(actor))["access_token"]
        return {"headers": {"Authorization": f"Bearer {token}"}}
    return {}


async def throwaway_account_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    """A new account's token for the signed-in actors: ending every session of the owner's
    own account would sign out the matrix's owner for the routes after this one."""
    if actor not in ("owner", "other"):
        return {}
    email = await world.app.signup()
    response = await world.client.post(
        "/api/auth/login", json={"email": email, "password": TEST_PASSWORD}
    )
    return {"headers": {"Authorization": f"Bearer {response.json()['access_token']}"}}


async def fresh_share(world: World) -> Params:
    response = await world.client.post(
        f"/api/images/{world.ids['image_id']}/share", headers=world.headers["owner"]
    )
    assert response.status_code == 201, response.text
    return {"share_id": str(response.json()["id"])}


async def login_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    return {"json": {"email": world.owner_email, "password": TEST_PASSWORD}}


async def bulk_favorite_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    return {"json": {"action": "favorite", "image_ids": [world.ids["image_id"]]}}


async def fresh_image(world: World) -> Params:
    return {"image_id": await world.image()}


async def fresh_key(world: World) -> Params:
    made = await world.client.post(
        "/api/keys",
        json={"name": "matrix", "password": TEST_PASSWORD},
        headers=world.headers["owner"],
    )
    assert made.status_code == 201, made.text
    return {"key_id": made.json()["id"]}


async def fresh_video(world: World) -> Params:
    return {"video_id": (await world.finished_video())[0]}


async def fresh_album(world: World) -> Params:
    return {"album_id": await world.album()}


async def fresh_album_with_image(world: World) -> Params:
    image_id = await world.image()
    return {"album_id": await world.album(image_id), "image_id": image_id}


async def _locked_link(world: World, path: str) -> str:
    made = await world.client.post(
        path, json={"password": ALBUM_PASSWORD}, headers=world.headers["owner"]
    )
    assert made.status_code == 201, made.text
    return str(made.json()["token"])


async def fresh_locked_album_link(world: World) -> Params:
    path = f"/api/albums/{world.ids['album_id']}/share"
    return {"album_token": await _locked_link(world, path)}


async def fresh_locked_photo_link(world: World) -> Params:
    return {"token": await _locked_link(world, f"/api/images/{world.ids['image_id']}/share")}


async def fresh_album_with_member(world: World) -> Params:
    """An album shared with a third account: the matrix's other user is no member, so its
    DELETE is a stranger's (a member may remove itself: test_sec_sharing_attacks)."""
    album_id = await world.album()
    added = await world.client.post(
        f"/api/albums/{album_id}/members",
        json={"email": await world.app.signup()},
        headers=world.headers["owner"],
    )
    assert added.status_code == 201, added.text
    return {"album_id": album_id, "user_id": added.json()[0]["user_id"]}


async def fresh_intent(world: World) -> Params:
    return {"upload_id": await world.intent(send_file=False)}


async def fresh_sent_intent(world: World) -> Params:
    return {"upload_id": await world.intent(send_file=True)}


async def file_body(world: World, actor: str, params: Params) -> dict[str, Any]:
    data = world.intent_bytes.get(params["upload_id"], distinct_jpeg())
    return {"files": {"file": ("d.jpg", data, "image/jpeg")}}


async def apod_day(world: World, actor: str, params: Params) -> dict[str, Any]:
    return {"params": {"date": APOD_DAY}}


MATRIX: dict[tuple[str, str], Rule] = {
    # accounts: public flows (local auth has no confirmation: 400 for all; a reset request
    # answers the same whether or not the account exists, and a made-up code is refused)
    ("POST", "/api/auth/signup"): public(
        201,
        body=json_body(
            lambda: {"email": f"new-{uuid.uuid4().hex[:8]}@example.com", "password": TEST_PASSWORD}
        ),
    ),
    ("POST", "/api/auth/login"): public(200, body=login_body),
    ("POST", "/api/auth/confirm"): public(
        400, body=json_body({"email": "a@example.com", "code": "123456"})
    ),
    ("POST", "/api/auth/forgot-password"): public(200, body=json_body({"email": "a@example.com"})),
    ("POST", "/api/auth/confirm-forgot-password"): public(
        400, body=json_body({"email": "a@example.com", "code": "1", "password": TEST_PASSWORD})
    ),
    ("POST", "/api/auth/refresh"): signed_in(200, body=refresh_body),
    ("POST", "/api/auth/logout"): signed_in(200, body=logout_body),
    ("GET", "/api/me"): signed_in(200),
    # a wrong current password: the check runs only for a signed-in caller
    ("POST", "/api/auth/change-password"): signed_in(
        400,
        body=json_body({"current_password": "not the password", "new_password": "whatever new 1"}),
    ),
    ("POST", "/api/auth/logout-all"): signed_in(200, body=throwaway_account_body),
    # images
    ("GET", "/api/images"): signed_in(200),
    ("GET", "/api/images/months"): signed_in(200),
    # examples/salon-photo-log, installed by `make sync` (its route exists while it is off)
    ("GET", "/api/photo-log"): signed_in(200),
    ("POST", "/api/images"): signed_in(201, body=upload_body),
    ("GET", "/api/images/{image_id}"): private(200),
    ("PATCH", "/api/images/{image_id}"): private(200, body=json_body({"title": "renamed"})),
    ("DELETE", "/api/images/{image_id}"): private(204, fresh=fresh_image),
    ("PUT", "/api/images/{image_id}/favorite"): private(200),
    ("DELETE", "/api/images/{image_id}/favorite"): private(200),
    ("GET", "/api/images/{image_id}/original"): private(200),
    ("GET", "/api/images/{image_id}/renditions/{name}"): private(200),
    ("POST", "/api/images/{image_id}/share"): private(201),
    # trash: restore is owner-only; a bulk action naming another's image is 404 for all of it
    ("POST", "/api/images/{image_id}/restore"): private(200),
    ("POST", "/api/images/bulk"): private(200, body=bulk_favorite_body),
    ("DELETE", "/api/images/trash"): signed_in(200),
    # personal API keys (built-in plugin salon.defaults.api_keys)
    ("GET", "/api/keys"): signed_in(200),
    ("POST", "/api/keys"): signed_in(
        201, body=json_body({"name": "script", "password": TEST_PASSWORD})
    ),
    ("DELETE", "/api/keys/{key_id}"): private(204, fresh=fresh_key),
    # albums
    ("GET", "/api/albums"): signed_in(200),
    ("POST", "/api/albums"): signed_in(
        201, body=json_body(lambda: {"name": f"a {uuid.uuid4().hex}"})
    ),
    ("GET", "/api/albums/{album_id}"): private(200),
    ("PATCH", "/api/albums/{album_id}"): private(
        200, body=json_body(lambda: {"name": f"r {uuid.uuid4().hex}"})
    ),
    ("DELETE", "/api/albums/{album_id}"): private(204, fresh=fresh_album),
    ("POST", "/api/albums/{album_id}/images"): private(
        200, body=lambda w, a, p: json_body({"image_ids": [w.ids["image_id"]]})(w, a, p)
    ),
    ("DELETE", "/api/albums/{album_id}/images/{image_id}"): private(
        204, fresh=fresh_album_with_image
    ),
    # album sharing: links (anyone holding the token; a password opens it for everyone who
    # knows it) and read-only members (the owner's and the members' views, never a stranger's)
    ("POST", "/api/albums/{album_id}/share"): private(201),
    ("GET", "/s/album/{album_token}"): public(200),
    ("POST", "/s/album/{album_token}/unlock"): public(
        204, body=json_body({"password": ALBUM_PASSWORD}), fresh=fresh_locked_album_link
    ),
    ("GET", "/s/album/{album_token}/images/{image_id}/renditions/{name}"): public(200),
    ("HEAD", "/s/album/{album_token}/images/{image_id}/renditions/{name}"): public(200),
    ("GET", "/api/albums/{album_id}/members"): private(200),
    ("POST", "/api/albums/{album_id}/members"): private(
        201, body=lambda w, a, p: json_body({"email": w.other_email})(w, a, p), fresh=fresh_album
    ),
    ("DELETE", "/api/albums/{album_id}/members/{user_id}"): private(
        204, fresh=fresh_album_with_member
    ),
    # ZIP downloads: the owner's album or selection (a member's album: test_api_downloads)
    ("GET", "/api/albums/{album_id}/download"): private(200),
    ("POST", "/api/images/download"): private(
        200, body=lambda w, a, p: json_body({"image_ids": [w.ids["image_id"]]})(w, a, p)
    ),
    ("GET", "/api/albums/shared"): signed_in(200),
    ("GET", "/api/albums/shared/{album_id}"): private(200),
    ("GET", "/api/albums/shared/{album_id}/images/{image_id}/renditions/{name}"): private(200),
    # share links: whoever holds the token sees that one image's renditions
    ("GET", "/s/{token}"): public(200),
    ("GET", "/s/{token}/renditions/{name}"): public(200),
    ("HEAD", "/s/{token}/renditions/{name}"): public(200),
    ("POST", "/s/{token}/unlock"): public(
        204, body=json_body({"password": ALBUM_PASSWORD}), fresh=fresh_locked_photo_link
    ),
    ("GET", "/api/shares"): signed_in(200),
    ("DELETE", "/api/shares/{share_id}"): private(204, fresh=fresh_share),
    # direct uploads
    ("POST", "/api/uploads"): signed_in(
        201, body=json_body({"filename": "x.jpg", "content_type": "image/jpeg", "size": 1000})
    ),
    ("POST", "/api/uploads/{upload_id}/file"): private(204, body=file_body, fresh=fresh_intent),
    ("POST", "/api/uploads/{upload_id}/complete"): private(201, fresh=fresh_sent_intent),
    # sources and jobs
    ("GET", "/api/sources"): signed_in(200),
    ("GET", "/api/sources/{name}/entries"): signed_in(200, body=apod_day),
    ("POST", "/api/sources/{name}/import"): signed_in(202, body=json_body({"date": APOD_DAY})),
    ("GET", "/api/jobs/{job_id}"): private(200),
    # the world's job stays queued (no worker runs): its owner cancels it, anyone else: 404
    ("POST", "/api/jobs/{job_id}/cancel"): private(200),
    # videos: another user naming the owner's images gets the same 404 as for missing ones
    ("POST", "/api/videos"): private(
        202, body=lambda w, a, p: json_body({"image_ids": [w.ids["image_id"]]})(w, a, p)
    ),
    ("GET", "/api/videos"): signed_in(200),
    ("GET", "/api/videos/{video_id}"): private(200),
    ("DELETE", "/api/videos/{video_id}"): private(204, fresh=fresh_video),
    ("GET", "/api/videos/{video_id}/file"): private(200),
    # operations
    ("GET", "/health"): public(200),
    ("GET", "/ready"): public(200),
    # only for SALON_INTERNAL_ALLOW addresses; the test client has no address at all
    ("GET", "/metrics"): public(404),
}


def schema_routes(app: RunningApp) -> list[tuple[str, str]]:
    schema = app.app.openapi_schema.to_schema()
    methods = {"get", "post", "put", "patch", "delete", "head", "options"}
    return sorted(
        (method.upper(), path)
        for path, item in schema["paths"].items()
        for method in item
        if method in methods
    )


def unlisted(routes: list[tuple[str, str]]) -> list[str]:
    return [f"{method} {path}" for method, path in routes if (method, path) not in MATRIX]


def fill(path: str, params: Params) -> str:
    values = dict(params)
    if path.startswith("/api/sources/"):
        values["name"] = "apod"
    return path.format(**values)


def actor_headers(world: World, actor: str) -> dict[str, str]:
    return dict(world.headers[actor])


@pytest.fixture
async def world(tmp_path: Path) -> AsyncIterator[World]:
    with FakeApodServer() as fake:
        env = {
            # No worker: jobs stay queued, so the matrix never waits on ffmpeg or imports.
            "SALON_INPROCESS_WORKER": "false",
            "SALON_APOD_API_KEY": fake.api_key,
            "SALON_APOD_BASE_URL": fake.base_url,
            "SALON_APOD_BACKOFF": "0",
        }
        async with running_app(tmp_path / "data", env=env) as app:
            owner = await app.login()
            owner_email = list(app.users)[-1]
            other = await app.login()
            other_email = list(app.users)[-1]
            world = World(app, owner_email, other_email, {"owner": owner, "other": other})
            world.ids["image_id"] = await world.image()
            world.ids["album_id"] = await world.album(world.ids["image_id"])
            share = await app.client.post(
                f"/api/images/{world.ids['image_id']}/share", headers=owner
            )
            assert share.status_code == 201, share.text
            world.ids["token"] = share.json()["token"]
            album_share = await app.client.post(
                f"/api/albums/{world.ids['album_id']}/share", headers=owner
            )
            assert album_share.status_code == 201, album_share.text
            world.ids["album_token"] = album_share.json()["token"]
            world.ids["name"] = "sm"
            world.ids["upload_id"] = await world.intent(send_file=False)
            world.ids["video_id"], world.ids["job_id"] = await world.finished_video()
            world.headers["anon"] = {}
            world.headers["holder"] = {"Authorization": f"Bearer {world.ids['token']}"}
            yield world


def normalised(response: httpx.Response) -> tuple[int, str]:
    return response.status_code, UUID_RE.sub("<id>", response.text)


async def test_every_route_answers_each_actor_as_the_matrix_says(world: World) -> None:
    routes = schema_routes(world.app)
    missing = unlisted(routes)
    assert not missing, f"routes without an access-matrix entry: {', '.join(missing)}"
    stale = sorted(set(MATRIX) - set(routes))
    assert not stale, f"matrix entries for routes the schema no longer has: {stale}"

    failures: list[str] = []
    not_there_checked = 0
    for method, path in routes:
        rule = MATRIX[(method, path)]
        params = dict(world.ids)
        if rule.fresh is not None:
            params.update(await rule.fresh(world))
        url = fill(path, params)
        answers: dict[str, httpx.Response] = {}
        for actor in ("other", "anon", "holder", "owner"):
            kwargs = await rule.body(world, actor, params)
            headers = {**actor_headers(world, actor), **kwargs.pop("headers", {})}
            response = await world.client.request(method, url, headers=headers, **kwargs)
            answers[actor] = response
            if response.status_code != rule.expected(actor):
                failures.append(
                    f"{method} {path} as {actor}: {response.status_code} "
                    f"(expected {rule.expected(actor)}): {response.text[:160]}"
                )
            assert response.status_code < 500, f"{method} {path} as {actor}: {response.text}"
        if rule.other == 404 and "{" in path:
            # The owner asking for ids that do not exist gets what the stranger got.
            ghost = {k: str(uuid.uuid4()) if UUID_RE.fullmatch(v) else v for k, v in params.items()}
            kwargs = await rule.body(world, "owner", ghost)
            headers = {**actor_headers(world, "owner"), **kwargs.pop("headers", {})}
            absent = await world.client.request(
                method, fill(path, ghost), headers=headers, **kwargs
            )
            if normalised(absent) != normalised(answers["other"]):
                failures.append(
                    f"{method} {path}: not-there {normalised(absent)} differs from "
                    f"not-yours {normalised(answers['other'])}"
                )
            not_there_checked += 1
    assert not failures, "\n".join(failures)
    assert not_there_checked >= 15


async def test_lists_show_strangers_nothing_of_the_owner(world: World) -> None:
    other = world.headers["other"]
    images = (await world.client.get("/api/images", headers=other)).json()
    albums = (await world.client.get("/api/albums", headers=other)).json()
    assert images == {"items": [], "next_cursor": None}
    assert albums == []
    filtered = await world.client.get(
        "/api/images", params={"album_id": world.ids["album_id"]}, headers=other
    )
    assert filtered.status_code in (200, 404)
    if filtered.status_code == 200:
        assert filtered.json()["items"] == []
    shared = (await world.client.get(f"/s/{world.ids['token']}")).json()
    # The share view leads only to share routes, never to the owner's API or the original.
    urls = [shared["urls"]["original"], *shared["urls"]["renditions"].values()]
    assert all(u.startswith(f"/s/{world.ids['token']}/renditions/") for u in urls), urls
    wrong = await world.client.get(f"/s/{world.ids['token'][:-2]}xx")
    assert wrong.status_code == 404


class _ExtraRoute:
    """A plugin adding a route through ``extend_app``, as a third-party plugin would."""

    @hookimpl
    def extend_app(self, app_config: Any) -> None:
        @get("/api/plugin-extra", operation_id="plugin_extra")
        async def extra() -> dict[str, str]:
            return {"ok": "yes"}

        app_config.route_handlers.append(extra)


async def test_a_route_without_an_entry_is_named(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data", plugins=[_ExtraRoute()]) as app:
        assert unlisted(schema_routes(app)) == ["GET /api/plugin-extra"]


async def test_signed_media_urls_grant_one_object_only(world: World) -> None:
    """``/media/`` is answered ahead of the router (not in the schema): a signed URL from the
    API is a short-lived bearer link to exactly one object, and any change to it is refused."""
    client, owner = world.client, world.headers["owner"]
    image_id = world.ids["image_id"]
    redirect = await client.get(
        f"/api/images/{image_id}/original", headers=owner, follow_redirects=False
    )
    if redirect.status_code != 307:
        pytest.skip(f"local downloads are not redirected here ({redirect.status_code})")
    location = redirect.headers["location"]
    path, _, query = location.partition("?")
    assert path.startswith("/media/originals/")
    served = await client.get(location)
    assert served.status_code == 200 and served.content[:2] == b"\xff\xd8"
    other_image = (await world.app.upload(world.headers["other"], distinct_jpeg())).json()
    theirs = await client.get(
        f"/api/images/{other_image['id']}/original",
        headers=world.headers["other"],
        follow_redirects=False,
    )
    their_path = theirs.headers["location"].partition("?")[0]
    params = dict(pair.split("=", 1) for pair in query.split("&"))
    forged = {
        "another object, my signature": f"{their_path}?{query}",
        "tampered signature": location.replace(f"s={params['s']}", "s=AAAA" + params["s"][4:]),
        "expired": location.replace(f"x={params['x']}", "x=1000"),
        "traversal": f"/media/../salon.db?{query}",
        "unsigned": path,
    }
    for name, url in forged.items():
        response = await client.get(url)
        assert response.status_code in (403, 404), (name, response.status_code)
        assert response.content[:2] != b"\xff\xd8", name
