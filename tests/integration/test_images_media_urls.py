"""Signed /media/ URLs for local storage: the API redirects there, the media handler checks the
signature and expiry and keeps the caching contract (ETag, Last-Modified, immutable, 304)."""

from __future__ import annotations

import time
from pathlib import Path

from salon.domain.images.serving import MediaSigner, media_signer
from salon.testing.fixtures import RunningApp, running_app, sample_jpeg


async def _uploaded(app: RunningApp) -> tuple[dict[str, str], dict[str, object]]:
    headers = await app.login()
    response = await app.upload(headers, sample_jpeg(800, 600))
    assert response.status_code == 201, response.text
    return headers, response.json()


async def test_rendition_redirects_to_a_signed_media_url(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        headers, image = await _uploaded(app)
        url = image["urls"]["renditions"]["sm"]  # type: ignore[index]
        hop = await app.client.get(url, headers=headers, follow_redirects=False)
        assert hop.status_code == 307
        location = hop.headers["location"]
        assert location.startswith("/media/renditions/")
        assert "max-age" in hop.headers["cache-control"]

        media = await app.client.get(location)  # no credentials: the signature is the grant
        assert media.status_code == 200
        assert media.headers["content-type"] == "image/webp"
        assert "immutable" in media.headers["cache-control"]
        assert media.headers["content-length"] == str(len(media.content))
        etag, modified = media.headers["etag"], media.headers["last-modified"]
        assert etag == f'"{image["sha256"]}-sm"'

        assert (await app.client.get(location, headers={"if-none-match": etag})).status_code == 304
        again = await app.client.get(location, headers={"if-modified-since": modified})
        assert again.status_code == 304
        head = await app.client.head(location)
        assert head.status_code == 200 and head.content == b""
        assert (await app.client.post(location)).status_code == 405


async def test_tampered_expired_and_unknown_media_urls_are_refused(tmp_path: Path) -> None:
    async with running_app(tmp_path / "data") as app:
        headers, image = await _uploaded(app)
        hop = await app.client.get(
            image["urls"]["original"],  # type: ignore[index]
            headers=headers,
            follow_redirects=False,
        )
        location = hop.headers["location"]
        assert (await app.client.get(location.replace("s=", "s=A"))).status_code == 403
        other_key = location.replace("/media/originals/", "/media/originals/x", 1)
        assert (await app.client.get(other_key)).status_code == 403

        signer = media_signer(app.runtime)
        key = location.split("?", 1)[0][len("/media/") :]
        stale = signer.url(
            key, content_type="image/jpeg", etag="e", now=time.time() - 3 * signer.ttl
        )
        refused = await app.client.get(stale)
        assert refused.status_code == 403
        assert "expired" in refused.json()["detail"]

        foreign = MediaSigner("another secret", signer.ttl)
        forged = foreign.url(key, content_type="image/jpeg", etag="e")
        assert (await app.client.get(forged)).status_code == 403

        missing = signer.url("originals/nothing/here", content_type="image/jpeg", etag="e")
        assert (await app.client.get(missing)).status_code == 404


async def test_proxy_mode_still_serves_through_the_api(tmp_path: Path) -> None:
    env = {"SALON_DOWNLOAD_MODE": "proxy"}
    async with running_app(tmp_path / "data", env=env) as app:
        headers, image = await _uploaded(app)
        direct = await app.client.get(
            image["urls"]["renditions"]["md"],  # type: ignore[index]
            headers=headers,
            follow_redirects=False,
        )
        assert direct.status_code == 200
        assert direct.headers["content-type"] == "image/webp"
