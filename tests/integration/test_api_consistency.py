"""One answer for one question, whichever way in: album name conflicts, the user id, the title
an upload gets, the name a download is saved under, and the 404 a browser sees."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import quote

import pytest
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg

pytestmark = pytest.mark.parametrize("salon_database", ["sqlite", "postgres"], indirect=True)


async def test_renaming_an_album_to_a_used_name_is_a_conflict(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    other = await salon_app.login()
    client = salon_app.client
    first = (await client.post("/api/albums", json={"name": "Trips"}, headers=headers)).json()
    second = (await client.post("/api/albums", json={"name": "Pets"}, headers=headers)).json()
    # Another owner's album of the same name is no conflict.
    theirs = await client.post("/api/albums", json={"name": "Trips"}, headers=other)
    assert theirs.status_code == 201

    clash = await client.patch(
        f"/api/albums/{second['id']}", json={"name": "  Trips "}, headers=headers
    )
    assert clash.status_code == 409, clash.text
    assert clash.json()["detail"] == "you already have an album named 'Trips'"
    # Nothing changed, and the session that saw the conflict is usable again.
    albums = (await client.get("/api/albums", headers=headers)).json()
    assert sorted(a["name"] for a in albums) == ["Pets", "Trips"]
    renamed = await client.patch(
        f"/api/albums/{second['id']}", json={"name": "Dogs"}, headers=headers
    )
    assert renamed.status_code == 200 and renamed.json()["name"] == "Dogs"
    same = await client.patch(f"/api/albums/{first['id']}", json={"name": "Trips"}, headers=headers)
    assert same.status_code == 200


async def test_signup_and_me_give_the_same_user_id(salon_app: RunningApp) -> None:
    email = "same-id@example.com"
    signup = await salon_app.client.post(
        "/api/auth/signup", json={"email": email, "password": "correct horse battery staple"}
    )
    assert signup.status_code == 201, signup.text
    login = await salon_app.client.post(
        "/api/auth/login", json={"email": email, "password": "correct horse battery staple"}
    )
    headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
    me = (await salon_app.client.get("/api/me", headers=headers)).json()
    assert me["email"] == email
    assert signup.json()["id"] == me["id"]


async def _direct_upload(app: RunningApp, headers: dict[str, str], filename: str) -> dict[str, str]:
    data = sample_jpeg(64, 48, (9, 99, 199))
    done = await app.direct_upload(headers, data, filename=filename, wait=False)
    assert done.status_code == 201, done.text
    image: dict[str, str] = done.json()
    return image


async def test_upload_title_rule_is_the_same_for_the_api_and_the_browser(
    salon_app: RunningApp,
) -> None:
    headers = await salon_app.login()
    # The multipart API upload, as curl sends it.
    api = await salon_app.client.post(
        "/api/images",
        files={"file": ("beach day.jpg", sample_jpeg(color=(1, 2, 3)), "image/jpeg")},
        headers=headers,
    )
    assert api.status_code == 201 and api.json()["title"] == "beach day"
    # The direct upload the browser's Upload page makes.
    browser = await _direct_upload(salon_app, headers, "beach night.jpeg")
    assert browser["title"] == "beach night"
    # A title given wins, trimmed; a name that is only an extension stays as it is.
    titled = await salon_app.upload(headers, sample_jpeg(color=(4, 5, 6)), title="  Sunset ")
    assert titled.json()["title"] == "Sunset"
    dotted = await salon_app.client.post(
        "/api/images",
        files={"file": (".jpg", sample_jpeg(color=(7, 8, 9)), "image/jpeg")},
        headers=headers,
    )
    assert dotted.json()["title"] == ".jpg"


@pytest.mark.parametrize("mode", ["redirect", "proxy"])
async def test_original_download_carries_the_original_file_name(
    tmp_path: Path, salon_database: str, mode: str
) -> None:
    env = {"SALON_DOWNLOAD_MODE": mode}
    async with running_app(tmp_path / "data", env=env, database_url=salon_database) as app:
        await _check_download_names(app)


async def _check_download_names(salon_app: RunningApp) -> None:
    headers = await salon_app.login()
    name = "Été à Zürich (1) l'été.jpg"
    upload = await salon_app.client.post(
        "/api/images",
        files={"file": (name, sample_jpeg(color=(11, 22, 33)), "image/jpeg")},
        headers=headers,
    )
    assert upload.status_code == 201, upload.text
    response = await salon_app.client.get(upload.json()["urls"]["original"], headers=headers)
    assert response.status_code == 200
    disposition = response.headers["content-disposition"]
    # RFC 6266: an ASCII fallback, and the exact name in RFC 5987 encoding.
    assert disposition.startswith('inline; filename="')
    assert disposition.endswith(f"filename*=UTF-8''{quote(name, safe='')}")
    assert disposition.isascii()
    # The API upload of a browser-made direct upload keeps its name the same way.
    direct = await _direct_upload(salon_app, headers, "IMG_0001.JPG")
    again = await salon_app.client.get(direct["urls"]["original"], headers=headers)
    assert again.headers["content-disposition"].endswith("filename*=UTF-8''IMG_0001.JPG")


async def test_unknown_pages_are_html_for_browsers_and_json_for_the_api(
    salon_app: RunningApp,
) -> None:
    browser = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}
    page = await salon_app.client.get("/nope", headers=browser)
    assert page.status_code == 404
    assert page.headers["content-type"].startswith("text/html")
    assert "Page not found" in page.text and "/nope" in page.text
    assert "content-security-policy" in page.headers
    escaped = await salon_app.client.get("/<script>x</script>", headers=browser)
    assert escaped.status_code == 404 and "<script>x" not in escaped.text

    for path in ("/api/nope", "/api/images/not-a-uuid", "/s/nope/renditions/x/y"):
        api = await salon_app.client.get(path, headers=browser)
        assert api.status_code == 404
        assert api.headers["content-type"].startswith("application/json"), path
        assert api.json()["status_code"] == 404
    plain = await salon_app.client.get("/nope", headers={"accept": "application/json"})
    assert plain.status_code == 404 and plain.json()["status_code"] == 404


async def test_source_import_body_is_what_the_document_says(salon_app: RunningApp) -> None:
    """The body is a flat query of short scalars (values of any other shape were stringified)."""
    headers = await salon_app.login()
    for body in ({"date": {"nested": 1}}, {"date": ["2024-03-01"]}, {"date": "9" * 101}):
        response = await salon_app.client.post(
            "/api/sources/nope/import", json=body, headers=headers
        )
        assert response.status_code == 400, (body, response.text)
