"""SALON_LOG_FORMAT=json against a real `salon serve`: a log line written while serving a
request is one JSON object naming that request's id (the one the answer's X-Request-Id
carries) and the signed-in user, so CloudWatch Logs Insights can follow one request or one
user. A client's own X-Request-Id is kept only when it is a plain token."""

from __future__ import annotations

import io
import json
from pathlib import Path

import httpx
from PIL import Image
from serve_support import salon_serve, sign_up


def jpeg() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (64, 48), (200, 30, 30)).save(buffer, "JPEG")
    return buffer.getvalue()


def json_lines(text: str) -> list[dict[str, object]]:
    lines = []
    for line in text.splitlines():
        if line.startswith("{"):
            lines.append(json.loads(line))
    return lines


async def test_log_lines_name_the_request_and_the_user(tmp_path: Path) -> None:
    data = tmp_path / "data"
    with salon_serve(data, log_format="json", log_level="INFO", download_mode="proxy") as served:
        async with httpx.AsyncClient(base_url=served.url, timeout=30) as client:
            auth = await sign_up(client, "logs")
            me = (await client.get("/api/me", headers=auth)).json()
            # wait=true: the renditions are made before the original is removed below, so
            # the only "object missing" line is the one this request writes.
            upload = await client.post(
                "/api/images",
                params={"wait": "true"},
                headers=auth,
                files={"file": ("red.jpg", jpeg(), "image/jpeg")},
            )
            assert upload.status_code == 201, upload.text
            image_id = upload.json()["id"]
            for original in (data / "media").rglob("*"):
                if original.is_file() and "original" in str(original):
                    original.unlink()
            missing = await client.get(f"/api/images/{image_id}/original", headers=auth)
            assert missing.status_code == 404
            request_id = missing.headers["x-request-id"]

            kept = await client.get("/health", headers={"X-Request-Id": "trace-42.a"})
            assert kept.headers["x-request-id"] == "trace-42.a"
            forged = await client.get("/health", headers={"X-Request-Id": "bad id {injected}"})
            assert forged.headers["x-request-id"] != "bad id {injected}"

        log = served.log_path.read_text(errors="replace")
    lines = json_lines(log)
    (line,) = [entry for entry in lines if "object missing from storage" in str(entry["message"])]
    assert line["request_id"] == request_id
    assert line["user_id"] == me["id"]
    assert line["level"] == "WARNING" and line["logger"] == "salon.app"
    assert "job_id" not in line
