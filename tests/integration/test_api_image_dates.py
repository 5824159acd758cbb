"""Correcting when photos were taken (issue 20.7), through the real app: PATCH sets one
image's capture time, POST /api/images/bulk sets or shifts a selection's; the camera's own time
is kept in ``metadata.camera_taken_at``; impossible dates and half-made requests are 400 and
change nothing; another user's image is 404. EXIF times with and without their offset, from
real JPEG bytes."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from PIL import ExifTags, Image
from salon.testing.fixtures import RunningApp, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


async def test_single_and_bulk_date_corrections(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    ids = [
        (await salon_app.upload(headers, sample_jpeg(color=(30 * i, 90, 120)))).json()["id"]
        for i in range(3)
    ]
    one = await salon_app.client.patch(
        f"/api/images/{ids[0]}", json={"taken_at": "2019-05-04T12:30:15+02:00"}, headers=headers
    )
    assert one.status_code == 200, one.text
    assert one.json()["taken_at"].startswith("2019-05-04T10:30:15")
    assert one.json()["metadata"]["camera_taken_at"] is None  # sample_jpeg has no EXIF date
    # A second correction keeps the camera's time, not the first correction.
    again = await salon_app.client.patch(
        f"/api/images/{ids[0]}", json={"taken_at": "2019-05-05T00:00:00"}, headers=headers
    )
    assert again.json()["taken_at"].startswith("2019-05-05T00:00:00")
    assert again.json()["metadata"]["camera_taken_at"] is None
    listed = (await salon_app.client.get("/api/images", headers=headers)).json()["items"]
    assert {i["id"]: i["taken_at"] for i in listed}[ids[0]].startswith("2019-05-05")

    bulk = await salon_app.client.post(
        "/api/images/bulk",
        json={"action": "set_taken_at", "image_ids": ids[1:], "taken_at": "2020-01-02T03:04:05Z"},
        headers=headers,
    )
    assert bulk.status_code == 200 and bulk.json()["count"] == 2, bulk.text
    shift = await salon_app.client.post(
        "/api/images/bulk",
        json={"action": "shift_taken_at", "image_ids": ids, "shift_seconds": -3600},
        headers=headers,
    )
    assert shift.status_code == 200, shift.text
    taken = {
        i: (await salon_app.client.get(f"/api/images/{i}", headers=headers)).json()["taken_at"]
        for i in ids
    }
    assert taken[ids[0]].startswith("2019-05-04T23:00:00")
    assert taken[ids[1]].startswith("2020-01-02T02:04:05")
    assert taken[ids[2]].startswith("2020-01-02T02:04:05")


async def test_bad_dates_change_nothing(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    image = (await salon_app.upload(headers)).json()
    for body in (
        {"taken_at": "1700-01-01T00:00:00Z"},
        {"taken_at": "2999-01-01T00:00:00Z"},
        {"taken_at": "yesterday"},
        # UTC of these is past year 9999 or before year 1 (a 500 before; outside attacker, s29)
        {"taken_at": "9999-12-31T23:59:59-23:59"},
        {"taken_at": "0001-01-01T00:00:00+23:59"},
    ):
        response = await salon_app.client.patch(
            f"/api/images/{image['id']}", json=body, headers=headers
        )
        assert response.status_code == 400, (body, response.text)
    for body in (
        {"action": "set_taken_at", "image_ids": [image["id"]]},
        {"action": "shift_taken_at", "image_ids": [image["id"]]},
        {"action": "shift_taken_at", "image_ids": [image["id"]], "shift_seconds": -(10**13)},
        {
            "action": "set_taken_at",
            "image_ids": [image["id"]],
            "taken_at": "9999-12-31T23:59:59-23:59",
        },
    ):
        response = await salon_app.client.post("/api/images/bulk", json=body, headers=headers)
        assert response.status_code == 400, (body, response.text)
    now = (await salon_app.client.get(f"/api/images/{image['id']}", headers=headers)).json()
    assert now["taken_at"] == image["taken_at"]
    assert "camera_taken_at" not in now["metadata"]
    other = await salon_app.login()
    stranger = await salon_app.client.patch(
        f"/api/images/{image['id']}", json={"taken_at": "2020-01-01T00:00:00Z"}, headers=other
    )
    assert stranger.status_code == 404
    bulk = await salon_app.client.post(
        "/api/images/bulk",
        json={
            "action": "set_taken_at",
            "image_ids": [image["id"]],
            "taken_at": "2020-01-01T00:00:00Z",
        },
        headers=other,
    )
    assert bulk.status_code == 404


def _exif_jpeg(tags: dict[int, str]) -> bytes:
    """A real JPEG whose EXIF sub-IFD carries ``tags`` (DateTimeOriginal 0x9003, OffsetTime
    0x9010, OffsetTimeOriginal 0x9011), written by Pillow."""
    exif = Image.Exif()
    exif.get_ifd(ExifTags.IFD.Exif).update(tags)
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 120, 40)).save(buffer, "JPEG", exif=exif.tobytes())
    return buffer.getvalue()


async def test_exif_times_with_and_without_their_offset(salon_app: RunningApp) -> None:
    """OffsetTimeOriginal, else OffsetTime, makes the capture time a moment (stored in UTC);
    without either it is the camera's wall clock, kept as written and marked "local" so the
    UI shows it as the camera did, in any viewer's zone."""
    headers = await salon_app.login()
    cases = {
        "original offset": ({0x9003: "2024:05:17 14:03:21", 0x9011: "+09:00"}, "+09:00"),
        "offset time only": ({0x9003: "2024:05:17 14:03:21", 0x9010: "-05:30"}, "-05:30"),
        # OffsetTimeOriginal wins over OffsetTime (the time the file was last written).
        "both": ({0x9003: "2024:05:17 14:03:21", 0x9011: "+02:00", 0x9010: "+00:00"}, "+02:00"),
        "naive": ({0x9003: "2024:05:17 14:03:21"}, "local"),
    }
    expected = {
        "original offset": "2024-05-17T05:03:21",
        "offset time only": "2024-05-17T19:33:21",
        "both": "2024-05-17T12:03:21",
        "naive": "2024-05-17T14:03:21",  # as written on the camera
    }
    images = {}
    for name, (tags, zone) in cases.items():
        sent = await salon_app.upload(headers, _exif_jpeg(tags))
        assert sent.status_code == 201, sent.text
        image = await salon_app.client.get(f"/api/images/{sent.json()['id']}", headers=headers)
        body = image.json()
        taken = dt.datetime.fromisoformat(body["taken_at"])
        assert taken.utcoffset() == dt.timedelta(0), (name, body["taken_at"])
        assert taken.replace(tzinfo=None).isoformat() == expected[name], (name, body["taken_at"])
        assert body["metadata"]["taken_at_zone"] == zone, (name, body["metadata"])
        images[name] = body["id"]

    # A wall-clock time stays one when shifted; a correction without an offset is one too,
    # a correction with an offset is a moment again ...
    naive = f"/api/images/{images['naive']}"
    shifted = await salon_app.client.post(
        "/api/images/bulk",
        json={"action": "shift_taken_at", "image_ids": [images["naive"]], "shift_seconds": 3600},
        headers=headers,
    )
    assert shifted.status_code == 200, shifted.text
    body = (await salon_app.client.get(naive, headers=headers)).json()
    assert body["taken_at"].startswith("2024-05-17T15:03:21")
    assert body["metadata"]["taken_at_zone"] == "local"
    moment = await salon_app.client.patch(
        naive, json={"taken_at": "2024-05-17T16:00:00+02:00"}, headers=headers
    )
    assert moment.json()["taken_at"].startswith("2024-05-17T14:00:00")
    # ... whose offset is kept, as a camera's OffsetTime is: the UI shows it at +02:00.
    assert moment.json()["metadata"]["taken_at_zone"] == "+02:00"
    assert moment.json()["metadata"]["camera_taken_at"].startswith("2024-05-17T14:03:21")
    wall = await salon_app.client.patch(
        f"/api/images/{images['both']}", json={"taken_at": "2024-05-18T08:00:00"}, headers=headers
    )
    assert wall.json()["taken_at"].startswith("2024-05-18T08:00:00")
    assert wall.json()["metadata"]["taken_at_zone"] == "local"
