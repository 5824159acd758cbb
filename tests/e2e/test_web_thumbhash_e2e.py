"""The UI's ThumbHash decoder (static/js/thumbhash.js, run in Chromium) on hashes made by
Salon's own encoder, checked two ways: against a plain Python transcription of the format
(written here, loop for loop from the format's description), and against the source images'
mean colour, which the hash's DC terms must reproduce. (The ``thumbhash`` package's decoder
cannot serve as the reference: it keeps the first pixel's cosine table for every pixel.)"""

from __future__ import annotations

import base64
import math
import uuid
from typing import Any

import pytest
from PIL import Image, ImageStat
from salon.defaults.pillow_media import thumbhash_encode

from .conftest import Server, new_page

pytestmark = pytest.mark.e2e

DECODE = """async (hashes) => {
  const { decode } = await import("/static/js/thumbhash.js");
  return hashes.map((b64) => {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const { width, height, rgba } = decode(bytes);
    return { width, height, rgba: Array.from(rgba) };
  });
}"""


def reference_decode(h: bytes) -> tuple[int, int, list[float]]:
    """ThumbHash bytes to (width, height, RGBA floats in 0..255), written for clarity."""
    h24 = h[0] | h[1] << 8 | h[2] << 16
    h16 = h[3] | h[4] << 8
    has_alpha = (h24 >> 23) & 1
    landscape = (h16 >> 15) & 1
    long, short = (5 if has_alpha else 7), h16 & 7
    lx, ly = max(3, long if landscape else short), max(3, short if landscape else long)
    dc = {
        "l": (h24 & 63) / 63,
        "p": ((h24 >> 6) & 63) / 31.5 - 1,
        "q": ((h24 >> 12) & 63) / 31.5 - 1,
        "a": (h[5] & 15) / 15 if has_alpha else 1.0,
    }
    scales = {
        "l": ((h24 >> 18) & 31) / 31,
        "p": ((h16 >> 3) & 63) / 63 * 1.25,
        "q": ((h16 >> 9) & 63) / 63 * 1.25,
        "a": (h[5] >> 4) / 15 if has_alpha else 0.0,
    }
    start = 6 if has_alpha else 5
    nibbles = iter([(byte >> shift) & 15 for byte in h[start:] for shift in (0, 4)])
    grids = {"l": (lx, ly), "p": (3, 3), "q": (3, 3)} | ({"a": (5, 5)} if has_alpha else {})
    terms: dict[str, list[tuple[int, int, float]]] = {}
    for name, (nx, ny) in grids.items():
        terms[name] = [
            (cx, cy, (next(nibbles) / 7.5 - 1) * scales[name])
            for cy in range(ny)
            for cx in range(0 if cy else 1, nx)
            if cx * ny < nx * (ny - cy)
        ]
    ratio = (long if landscape else short) / (short if landscape else long)
    w = round(32 if ratio > 1 else 32 * ratio)
    hgt = round(32 / ratio if ratio > 1 else 32)
    out: list[float] = []
    for y in range(hgt):
        for x in range(w):
            v = dict(dc)
            for name, coefficients in terms.items():
                for cx, cy, c in coefficients:
                    fx = math.cos(math.pi / w * (x + 0.5) * cx)
                    fy = math.cos(math.pi / hgt * (y + 0.5) * cy)
                    v[name] += c * fx * fy * 2
            b = v["l"] - 2 / 3 * v["p"]
            r = (3 * v["l"] - b + v["q"]) / 2
            g = r - v["q"]
            out += [255 * max(0.0, min(1.0, c)) for c in (r, g, b, v["a"])]
    return w, hgt, out


def _samples() -> list[Image.Image]:
    gradient = Image.linear_gradient("L")
    flat = Image.new("L", (100, 60), 90)
    landscape = Image.merge(
        "RGB", [gradient.resize((100, 60)), gradient.rotate(90).resize((100, 60)), flat]
    ).convert("RGBA")
    portrait = Image.merge(
        "RGB",
        [
            Image.new("L", (45, 100), 200),
            gradient.resize((45, 100)),
            gradient.rotate(45).resize((45, 100)),
        ],
    ).convert("RGBA")
    translucent = landscape.resize((70, 70))
    translucent.putalpha(gradient.rotate(90).resize((70, 70)))
    return [landscape, portrait, translucent]


def test_js_decoder(browser: Any, server: Server) -> None:
    samples = _samples()
    hashes = [thumbhash_encode(im.width, im.height, im.tobytes()) for im in samples]
    context, page, console = new_page(browser, server)
    page.goto("/login")
    decoded = page.evaluate(DECODE, [base64.b64encode(h).decode() for h in hashes])
    context.close()
    for image, raw, js in zip(samples, hashes, decoded, strict=True):
        width, height, expected = reference_decode(raw)
        assert (js["width"], js["height"]) == (width, height)
        worst = max(abs(a - b) for a, b in zip(js["rgba"], expected, strict=True))
        assert worst <= 1, f"{width}x{height}: a channel is {worst:.1f} off the transcription"
        # Opaque samples: the placeholder's mean colour is the image's (quantised) mean colour.
        if image.getchannel("A").getextrema()[0] == 255:
            source = ImageStat.Stat(image.convert("RGB")).mean
            for channel in range(3):
                mean = sum(js["rgba"][channel::4]) / (width * height)
                assert abs(mean - source[channel]) < 12, (channel, mean, source)
    assert len({(d["width"], d["height"]) for d in decoded}) == 3
    assert min(decoded[2]["rgba"][3::4]) < 200  # the translucent one kept its alpha
    assert not console.csp_violations(), console.errors


def _transparent_png() -> bytes:
    import io

    image = Image.new("RGBA", (200, 120), (0, 0, 0, 0))
    image.paste((220, 40, 40, 255), (50, 30, 150, 90))  # an opaque block on a clear ground
    buffer = io.BytesIO()
    image.save(buffer, "PNG")
    return buffer.getvalue()


BACKGROUNDS = """(nodes) => nodes.map((n) => ({
  inline: n.style.backgroundImage, shown: getComputedStyle(n).backgroundImage,
}))"""


def test_the_placeholder_goes_once_the_picture_loaded(browser: Any, server: Server) -> None:
    """A transparent PNG must not show its blurred placeholder through its clear parts (a
    coloured halo): once the rendition has loaded, the grid tile and the lightbox show no
    background image, though the placeholder stays set for the next load."""
    from playwright.sync_api import expect

    from .conftest import sign_up

    context, page, console = new_page(browser, server)
    client = sign_up(page, server, f"e2e-alpha-{uuid.uuid4().hex[:8]}@example.com")
    sent = client.post(
        "/api/images?wait=true", files={"file": ("clear.png", _transparent_png(), "image/png")}
    )
    assert sent.status_code == 201, sent.text
    assert sent.json()["placeholder"], sent.json()
    page.goto("/")
    expect(page.locator(".tile-frame.loaded")).to_have_count(1, timeout=30_000)
    [tile] = page.locator(".tile-frame").evaluate_all(BACKGROUNDS)
    assert tile["inline"].startswith('url("data:image/png;base64,'), tile
    assert tile["shown"] == "none", tile
    page.locator(".tile-open").first.click()
    expect(page.locator(".lightbox-figure.loaded")).to_have_count(1, timeout=30_000)
    [figure] = page.locator(".lightbox-figure").evaluate_all(BACKGROUNDS)
    assert figure["shown"] == "none", figure
    assert not console.csp_violations(), console.errors
    context.close()
