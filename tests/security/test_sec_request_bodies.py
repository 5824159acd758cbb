"""Issue 17.1: request bodies cannot exhaust a real ``salon serve``.

Each test is an attack that worked before: a 150 MiB anonymous log-in body (the worker grew by
800 MiB), a 200k-deep JSON array (500 RecursionError), half a million multipart fields (13 s of
parsing), an anonymous upload whose body was read before anyone asked who sent it. Limits:
``SALON_MAX_JSON_BODY_BYTES`` (64 KiB), ``SALON_MAX_JSON_DEPTH`` (32), ``SALON_MAX_FORM_PARTS``
(16), passwords at most 1024 characters."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Iterable, Iterator

import httpx
import pytest
from security_support import distinct_jpeg
from serve_support import (
    RawResponse,
    Served,
    multipart_head,
    raw_request,
    read_response,
    salon_serve,
    sign_up,
)

MiB = 1 << 20
ANSWER_TIMEOUT = 20.0  # a bound for the test, not a speed claim: the answer must come at all
OVER_JSON_LIMIT = (
    "the request body is larger than the limit of 65536 bytes (SALON_MAX_JSON_BODY_BYTES)"
)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Served]:
    with salon_serve(tmp_path_factory.mktemp("bodies")) as running:
        yield running


@pytest.fixture
async def client(served: Served) -> httpx.AsyncClient:
    async with httpx.AsyncClient(base_url=served.url, timeout=ANSWER_TIMEOUT) as http:
        yield http  # type: ignore[misc]


async def _raw_answer(
    served: Served, method: str, path: str, headers: dict[str, str], body: bytes = b""
) -> RawResponse:
    """Send a request on a connection of its own (``body`` may be less than its headers
    promise: a server that reads before it refuses would wait for the rest instead) and wait
    for the answer."""
    reader, writer = await raw_request(served, method, path, headers, body)
    try:
        return await asyncio.wait_for(read_response(reader), ANSWER_TIMEOUT)
    finally:
        writer.close()


async def _aiter(chunks: Iterable[bytes]) -> AsyncIterator[bytes]:
    for chunk in chunks:
        yield chunk


def _assert_413_that_closes(response: RawResponse) -> None:
    """A 413 that says the connection closes after it (the body stays unread)."""
    assert response.status == 413
    assert "\r\nconnection: close\r\n" in response.head.lower(), response.head


async def test_huge_declared_json_body_is_refused_unread(served: Served) -> None:
    headers = {"Content-Type": "application/json", "Content-Length": str(150 * MiB)}
    _assert_413_that_closes(await _raw_answer(served, "POST", "/api/auth/login", headers))


async def _stream_chunked(served: Served, path: str, total: int) -> int | None:
    """Send ``total`` bytes of JSON-ish body in chunks, until the server answers; the status,
    or None when the server cut the connection (also a refusal)."""
    reader, writer = await raw_request(
        served,
        "POST",
        path,
        {"Content-Type": "application/json", "Transfer-Encoding": "chunked"},
    )
    chunk = b"x" * MiB

    async def send() -> None:
        for _ in range(total // MiB):
            writer.write(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            await writer.drain()
        writer.write(b"0\r\n\r\n")
        await writer.drain()

    sender = asyncio.create_task(send())
    try:
        response = await asyncio.wait_for(read_response(reader), ANSWER_TIMEOUT)
        return response.status
    except (ConnectionError, asyncio.IncompleteReadError):
        return None
    finally:
        sender.cancel()
        with contextlib.suppress(BaseException):
            await sender
        writer.close()


async def test_six_streamed_anonymous_bodies_do_not_grow_memory(served: Served) -> None:
    before = served.rss_mib()
    peak = before

    async def sample() -> None:
        nonlocal peak
        while True:
            peak = max(peak, served.rss_mib())
            await asyncio.sleep(0.05)

    sampler = asyncio.create_task(sample())
    try:
        statuses = await asyncio.gather(
            *(_stream_chunked(served, "/api/auth/login", 48 * MiB) for _ in range(6))
        )
    finally:
        sampler.cancel()
    # 413, or the connection cut right after it (the unread rest of the body makes the kernel
    # reset the connection, which can swallow the answer). Before: 400 after reading it all.
    assert all(status in (413, None) for status in statuses), statuses
    # Before the fix each body was buffered and decoded: 6 x 48 MiB, several times over.
    assert peak - before < 100, f"server RSS went from {before:.0f} to {peak:.0f} MiB"
    async with httpx.AsyncClient(base_url=served.url) as http:
        assert (await http.get("/health")).status_code == 200


async def test_deep_json_is_a_400(client: httpx.AsyncClient) -> None:
    half = b"[" * 30_000 + b"]" * 30_000  # under the 64 KiB body limit
    answer = await client.post(
        "/api/auth/login", content=half, headers={"Content-Type": "application/json"}
    )
    assert answer.status_code == 400, answer.text
    assert "nested deeper than 32" in answer.json()["detail"]
    user = await sign_up(client, "deep")
    album = await client.post(
        "/api/albums",
        content=b'{"name": ' + b"[" * 33 + b"]" * 33 + b"}",
        headers={**user, "Content-Type": "application/json"},
    )
    assert album.status_code == 400 and "nested" in album.json()["detail"], album.text
    # Brackets inside strings are text, not nesting.
    named = await client.post("/api/albums", json={"name": "[" * 200}, headers=user)
    assert named.status_code == 201, named.text


async def test_routes_needing_a_user_refuse_before_reading_the_body(served: Served) -> None:
    for path, content_type, length in (
        ("/api/images", "multipart/form-data; boundary=x", 100 * MiB),
        ("/api/albums", "application/json", 60_000),
        (
            "/api/uploads/00000000-0000-4000-8000-000000000000/file",
            "multipart/form-data; boundary=x",
            100 * MiB,
        ),
    ):
        headers = {"Content-Type": content_type, "Content-Length": str(length)}
        assert (await _raw_answer(served, "POST", path, headers)).status == 401, path


async def test_passwords_are_capped_at_signup_and_login(client: httpx.AsyncClient) -> None:
    long = "p" * 1025
    signup = await client.post(
        "/api/auth/signup", json={"email": "long@example.com", "password": long}
    )
    assert signup.status_code == 400, signup.text
    login = await client.post("/api/auth/login", json={"email": "a@example.com", "password": long})
    assert login.status_code == 400, login.text
    assert "password" in login.json()["detail"]
    huge = await client.post(
        "/api/auth/login", json={"email": "a@example.com", "password": "p" * (70 * 1024)}
    )
    assert huge.status_code == 413, huge.text


async def test_multipart_part_count_is_capped(served: Served, client: httpx.AsyncClient) -> None:
    user = await sign_up(client, "parts")
    boundary = "b0undary"
    fields = b"".join(
        f'--{boundary}\r\nContent-Disposition: form-data; name="f{i}"\r\n\r\nv\r\n'.encode()
        for i in range(50_000)
    )
    body = fields + multipart_head(boundary) + distinct_jpeg() + f"\r\n--{boundary}--\r\n".encode()
    answer = await client.post(
        "/api/images",
        content=body,
        headers={**user, "Content-Type": f"multipart/form-data; boundary={boundary}"},
    )
    assert answer.status_code == 400, answer.text
    assert "more than 16 parts" in answer.json()["detail"]
    listing = await client.get("/api/images", headers=user)
    assert listing.json()["items"] == []
    assert not list((served.data_dir / "tmp").glob("upload-*"))


async def test_uploads_still_take_large_files(client: httpx.AsyncClient) -> None:
    """The 64 KiB JSON limit is not the upload limit."""
    user = await sign_up(client, "large")
    photo = distinct_jpeg((1600, 1200))
    big = photo + b"\0" * max(0, 300 * 1024 - len(photo))  # JPEG readers ignore the tail
    answer = await client.post(
        "/api/images", files={"file": ("big.jpg", big, "image/jpeg")}, headers=user
    )
    assert answer.status_code == 201, answer.text
    assert answer.json()["size"] == len(big)


async def test_a_413_says_connection_close_and_keep_alive_clients_go_on(
    served: Served, client: httpx.AsyncClient
) -> None:
    """The server closes the connection after a 413 (the body stays unread). Without
    ``Connection: close`` a keep-alive client sent its next request on that connection and got
    "Server disconnected without sending a response" (second outside attack, item 9)."""
    user = await sign_up(client, "closing")
    too_big = await client.post("/api/albums", json={"name": "x" * (70 * 1024)}, headers=user)
    assert too_big.status_code == 413, too_big.text
    assert too_big.headers.get("connection") == "close"
    assert too_big.json()["detail"] == OVER_JSON_LIMIT  # "Request Entity Too Large" before
    # The same with the whole body on the wire before the answer (curl's way).
    body = b'{"name": "' + b"x" * (70 * 1024) + b'"}'
    headers = {**user, "Content-Type": "application/json", "Content-Length": str(len(body))}
    raw = await _raw_answer(served, "POST", "/api/albums", headers, body)
    _assert_413_that_closes(raw)
    assert json.loads(raw.body)["detail"] == OVER_JSON_LIMIT
    json_headers = {**user, "Content-Type": "application/json"}
    # Chunked: no length declared, the limit is met while the body arrives.
    chunks = (body[i : i + 8192] for i in range(0, len(body), 8192))
    streamed = await client.post("/api/albums", content=_aiter(chunks), headers=json_headers)
    assert streamed.status_code == 413, streamed.text
    assert streamed.json()["detail"] == OVER_JSON_LIMIT
    after = await client.get("/api/albums", headers=user)  # the same httpx client: keep-alive
    assert after.status_code == 200, after.text
    small = await client.post("/api/albums", json={"name": "ok"}, headers=user)
    assert small.status_code == 201 and small.headers.get("connection") != "close"


async def test_a_boundary_over_256_characters_is_a_400(
    served: Served, client: httpx.AsyncClient
) -> None:
    """python_multipart refuses a boundary over 256 characters with an error of its own, which
    was a 500 on both upload routes (outside attacker, s29); the upload stays usable."""
    user = await sign_up(client, "boundary")
    photo = distinct_jpeg()
    intent = await client.post(
        "/api/uploads",
        json={"filename": "b.jpg", "content_type": "image/jpeg", "size": len(photo)},
        headers=user,
    )
    assert intent.status_code == 201, intent.text
    file_path = f"/api/uploads/{intent.json()['upload_id']}/file"
    for boundary in ("B" * 257, "B" * 5000):
        body = multipart_head(boundary) + photo + f"\r\n--{boundary}--\r\n".encode()
        headers = {**user, "Content-Type": f"multipart/form-data; boundary={boundary}"}
        for path in ("/api/images", file_path):
            answer = await client.post(path, content=body, headers=headers)
            assert answer.status_code == 400, (path, answer.text)
            detail = answer.json()["detail"]
            assert f"boundary is {len(boundary)} characters long" in detail, detail
            assert "1 to 256" in detail, detail
    assert (await client.get("/api/images", headers=user)).json()["items"] == []
    assert not list((served.data_dir / "tmp").glob("upload-*"))
    # Nothing was kept for the upload, which still takes its file.
    sent = await client.post(file_path, files={"file": ("b.jpg", photo)}, headers=user)
    assert sent.status_code == 204, sent.text
    done = await client.post(file_path.replace("/file", "/complete"), headers=user)
    assert done.status_code == 201, done.text
