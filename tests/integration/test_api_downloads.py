"""ZIP downloads: an album or a selection, originals (byte for byte, under their upload names,
made unique) or the large rendition; only the owner's photos, never the trash; a single
photo's download keeps its original name. The real app, SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import io
import uuid
import zipfile
from typing import Any

import pytest
from salon.db.models import Image
from salon.domain.downloads.services import UniqueNames, member_name
from salon.testing.fixtures import RunningApp, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


async def _upload(app: RunningApp, headers: dict[str, str], name: str, data: bytes) -> Any:
    response = await app.client.post(
        "/api/images?wait=true", files={"file": (name, data, "image/jpeg")}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()


async def test_album_and_selection_zips(salon_app: RunningApp) -> None:
    client = salon_app.client
    owner = await salon_app.login()
    other = await salon_app.login()
    files = {
        "Été à Zürich.jpg": sample_jpeg(400, 300),
        "IMG_0001.jpg": sample_jpeg(320, 240),
        "img_0001.JPG": sample_jpeg(330, 240),  # same name but for case: made unique
        "C:\\Users\\me\\IMG_0001.jpg": sample_jpeg(340, 240),  # a client's whole path
    }
    images = [await _upload(salon_app, owner, name, data) for name, data in files.items()]
    album = (await client.post("/api/albums", json={"name": "Zürich / 2024"}, headers=owner)).json()
    await client.post(
        f"/api/albums/{album['id']}/images",
        json={"image_ids": [i["id"] for i in images]},
        headers=owner,
    )

    response = await client.get(f"/api/albums/{album['id']}/download", headers=owner)
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/zip"
    disposition = response.headers["content-disposition"]
    assert (
        disposition.startswith("attachment;")
        and "filename*=UTF-8''Z%C3%BCrich%20_%202024.zip" in disposition
    )
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None  # every CRC checks
    names = archive.namelist()
    assert names == ["Été à Zürich.jpg", "IMG_0001.jpg", "img_0001 (2).JPG", "IMG_0001 (3).jpg"]
    for name, data in zip(names, files.values(), strict=True):
        assert archive.read(name) == data  # originals, byte for byte

    large = await client.get(
        f"/api/albums/{album['id']}/download", params={"kind": "lg"}, headers=owner
    )
    lg = zipfile.ZipFile(io.BytesIO(large.content))
    assert lg.namelist()[0] == "Été à Zürich.webp" or lg.namelist()[0].startswith("Été à Zürich.")
    assert all(not n.endswith(".jpg") or n for n in lg.namelist()) and len(lg.namelist()) == 4
    assert (
        await client.get(f"/api/albums/{album['id']}/download", params={"kind": "x"}, headers=owner)
    ).status_code == 400

    # A selection, in the order given; the trash and other users' photos are refused whole.
    picked = [images[1]["id"], images[0]["id"]]
    selection = await client.post("/api/images/download", json={"image_ids": picked}, headers=owner)
    assert selection.status_code == 200, selection.text
    chosen = zipfile.ZipFile(io.BytesIO(selection.content))
    assert chosen.namelist() == ["IMG_0001.jpg", "Été à Zürich.jpg"]
    assert hashlib.sha256(chosen.read("IMG_0001.jpg")).hexdigest() == images[1]["sha256"]
    theirs = await _upload(salon_app, other, "theirs.jpg", sample_jpeg(200, 200))
    for body, status in (
        ({"image_ids": [images[0]["id"], theirs["id"]]}, 404),
        ({"image_ids": [str(uuid.uuid4())]}, 404),
        ({"image_ids": []}, 400),
        ({"image_ids": ["nope"]}, 400),
        ({"image_ids": [images[0]["id"]], "kind": "md"}, 400),
        ({"image_ids": [str(uuid.uuid4())] * 1001}, 404),
    ):
        refused = await client.post("/api/images/download", json=body, headers=owner)
        assert refused.status_code == status, (body, refused.text)
        assert refused.json()["detail"]
    assert (
        await client.get(f"/api/albums/{album['id']}/download", headers=other)
    ).status_code == 404
    assert (await client.get(f"/api/albums/{album['id']}/download")).status_code == 401
    assert (
        await client.post("/api/images/download", json={"image_ids": picked})
    ).status_code == 401

    assert (await client.delete(f"/api/images/{images[0]['id']}", headers=owner)).status_code == 204
    after = await client.get(f"/api/albums/{album['id']}/download", headers=owner)
    assert "Été à Zürich.jpg" not in zipfile.ZipFile(io.BytesIO(after.content)).namelist()
    trashed = await client.post(
        "/api/images/download", json={"image_ids": [images[0]["id"]]}, headers=owner
    )
    assert trashed.status_code == 404

    # An empty album is an empty (valid) archive.
    empty = (await client.post("/api/albums", json={"name": "Empty"}, headers=owner)).json()
    nothing = await client.get(f"/api/albums/{empty['id']}/download", headers=owner)
    assert zipfile.ZipFile(io.BytesIO(nothing.content)).namelist() == []


async def test_a_member_of_a_shared_album_downloads_its_large_renditions(
    salon_app: RunningApp,
) -> None:
    """Read-only sharing includes the download: the large renditions (what the shared view
    shows), never the originals with their EXIF; a non-member is still refused with 404."""
    client = salon_app.client
    owner = await salon_app.login()
    member_email = f"member-{uuid.uuid4().hex[:8]}@example.com"
    member = await salon_app.login(member_email)
    stranger = await salon_app.login()
    data = {"Beach.jpg": sample_jpeg(400, 300), "Dunes.jpg": sample_jpeg(320, 240)}
    images = [await _upload(salon_app, owner, name, body) for name, body in data.items()]
    album = (await client.post("/api/albums", json={"name": "Coast"}, headers=owner)).json()
    path = f"/api/albums/{album['id']}/download"
    await client.post(
        f"/api/albums/{album['id']}/images",
        json={"image_ids": [i["id"] for i in images]},
        headers=owner,
    )
    assert (await client.get(path, headers=member)).status_code == 404  # not shared yet
    shared = await client.post(
        f"/api/albums/{album['id']}/members", json={"email": member_email}, headers=owner
    )
    assert shared.status_code == 201, shared.text

    response = await client.get(path, headers=member)
    assert response.status_code == 200, response.text
    assert "filename*=UTF-8''Coast.zip" in response.headers["content-disposition"]
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert archive.testzip() is None
    assert sorted(archive.namelist()) == ["Beach.webp", "Dunes.webp"]
    assert archive.read("Beach.webp")[:4] == b"RIFF"
    assert all(archive.read(name) not in data.values() for name in archive.namelist())
    assert (await client.get(path, params={"kind": "lg"}, headers=member)).status_code == 200
    original = await client.get(path, params={"kind": "original"}, headers=member)
    assert original.status_code == 403 and "kind=lg" in original.json()["detail"]

    # The owner's archive is unchanged: originals, byte for byte.
    own = zipfile.ZipFile(io.BytesIO((await client.get(path, headers=owner)).content))
    assert {name: own.read(name) for name in own.namelist()} == data
    # Strangers, anonymous callers and a member once unshared are refused.
    assert (await client.get(path, headers=stranger)).status_code == 404
    assert (await client.get(path)).status_code == 401
    member_id = shared.json()[0]["user_id"]
    await client.delete(f"/api/albums/{album['id']}/members/{member_id}", headers=owner)
    assert (await client.get(path, headers=member)).status_code == 404


async def test_a_single_download_keeps_the_original_name(salon_app: RunningApp) -> None:
    owner = await salon_app.login()
    image = await _upload(salon_app, owner, "Été à Zürich.jpg", sample_jpeg(300, 200))
    response = await salon_app.client.get(
        f"/api/images/{image['id']}/original", headers=owner, follow_redirects=True
    )
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    assert "filename*=UTF-8''%C3%89t%C3%A9%20%C3%A0%20Z%C3%BCrich.jpg" in disposition


def test_unique_names(salon_database: str) -> None:
    names = UniqueNames()
    given = ["a.jpg", "A.JPG", "a.jpg", "noext", "NOEXT", "../x.jpg", "", "a (2).jpg", "b\x00.png"]
    assert [names(n) for n in given] == [
        "a.jpg",
        "A (2).JPG",
        "a (3).jpg",
        "noext",
        "NOEXT (2)",
        "_x.jpg",
        "photo",
        "a (2) (2).jpg",
        "b_.png",
    ]


def test_archive_names_unpack_on_windows_too(salon_database: str) -> None:
    """Windows makes no file named CON or LPT1.txt, and a member's ZIP named the renditions of
    ``.bashrc`` and ``..jpg`` ``webp`` (outside attackers, s29)."""
    names = UniqueNames()
    given = ["CON", "con.jpg", "LPT1.txt", "nul.tar.gz", "CONSOLE.jpg", "com10.png"]
    assert [names(n) for n in given] == [
        "_CON",
        "_con.jpg",
        "_LPT1.txt",
        "_nul.tar.gz",
        "CONSOLE.jpg",
        "com10.png",
    ]
    image = Image(
        title="x",
        content_type="image/png",
        meta={"filename": ".bashrc"},
        renditions={"lg": {"content_type": "image/webp", "key": "k", "size": 1}},
    )
    assert member_name(image, "lg") == "bashrc.webp"
    image.meta = {"filename": "..jpg"}
    assert member_name(image, "lg") == "photo.webp"
    image.meta = {"filename": "holiday.heic"}
    assert member_name(image, "lg") == "holiday.webp"
