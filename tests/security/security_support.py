"""Helpers shared by the security suite: small distinct images, and the check that an app holds
exactly what its rows say (no half-stored image, no orphan object, no leftover temp file)."""

from __future__ import annotations

import io
import itertools
import struct
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, TypeVar

import anyio
from PIL import Image
from salon.db.models import Image as ImageRow
from salon.doctor import diagnose
from salon.testing.fixtures import RunningApp
from sqlalchemy import func, select

T = TypeVar("T")
_colors = itertools.count(1)


def distinct_jpeg(size: tuple[int, int] = (48, 32)) -> bytes:
    """A small JPEG whose bytes differ from every other one this process made."""
    n = next(_colors)
    buffer = io.BytesIO()
    color = (n % 251, (n * 7) % 253, (n * 13) % 255)
    image = Image.new("RGB", size, color)
    image.putpixel((0, 0), (n % 256, (n >> 8) % 256, (n >> 16) % 256))
    image.save(buffer, "JPEG", quality=95)
    return buffer.getvalue()


async def on_app_loop(app: RunningApp, func: Callable[..., Awaitable[T]], *args: Any) -> T:
    """Run ``func`` on the loop the app serves requests on (the test client runs the app in a
    thread of its own; asyncpg connections must stay on the loop that made them)."""
    portal = app.client.blocking_portal
    return await anyio.to_thread.run_sync(lambda: portal.call(func, *args))


async def image_rows(app: RunningApp) -> int:
    async def query() -> int:
        async with app.runtime.session_maker() as session:
            result = await session.execute(select(func.count()).select_from(ImageRow))
            return int(result.scalar_one())

    return await on_app_loop(app, query)


def tmp_leftovers(data_dir: Path) -> list[Path]:
    tmp = data_dir / "tmp"
    return sorted(p for p in tmp.rglob("*")) if tmp.exists() else []


async def assert_consistent(app: RunningApp, images: int) -> None:
    """``images`` rows, every object referenced and present, and nothing in data_dir/tmp."""
    assert await image_rows(app) == images
    report = await on_app_loop(app, diagnose, app.runtime)
    assert report.healthy, report.as_dict()
    assert tmp_leftovers(app.data_dir) == []


def fat_icc(marker: bytes, size: int) -> bytes:
    """A valid sRGB ICC profile carrying a private ``mrkr`` tag of ``size`` bytes that repeat
    ``marker``: what an uploader can hide in a profile (LittleCMS opens it)."""
    import struct

    from PIL import ImageCms

    base = ImageCms.ImageCmsProfile(ImageCms.createProfile("sRGB")).tobytes()
    count = struct.unpack(">I", base[128:132])[0]
    table_end = 132 + 12 * count
    entries = [struct.unpack(">4sII", base[132 + 12 * i : 144 + 12 * i]) for i in range(count)]
    payload = b"data" + b"\0" * 4 + b"\0\0\0\1" + (marker * (size // len(marker) + 1))[:size]
    body = base[table_end:]
    body += b"\0" * (-len(body) % 4)
    new_table_end = table_end + 12
    table = b"".join(struct.pack(">4sII", sig, off + 12, sz) for sig, off, sz in entries)
    table += struct.pack(">4sII", b"mrkr", new_table_end + len(body), len(payload))
    profile = bytearray(base[:128] + struct.pack(">I", count + 1) + table + body + payload)
    profile[0:4] = struct.pack(">I", len(profile))
    profile[84:100] = b"\0" * 16  # profile id: "not computed"
    return bytes(profile)


def cmyk_icc(swap_red_green: bool = False) -> bytes:
    """A small CMYK output profile made with LittleCMS (no CMYK profile ships with Pillow or
    Debian's base system): naive CMYK -> sRGB -> Lab at the 16 corners of the CMYK cube. With
    ``swap_red_green`` its red and green are exchanged, so an image converted through it comes
    out visibly different from one converted without it."""
    import ctypes
    import glob
    import itertools

    import PIL
    from PIL import ImageCms

    candidates = ["liblcms2.so.2", *glob.glob(f"{PIL.__path__[0]}/../pillow.libs/liblcms2*")]
    lcms = None
    for name in candidates:
        try:
            lcms = ctypes.CDLL(name)
            break
        except OSError:
            continue
    if lcms is None:
        import pytest

        pytest.skip("no LittleCMS library to build a CMYK profile with")
    ptr, u32, u16p = ctypes.c_void_p, ctypes.c_uint32, ctypes.POINTER(ctypes.c_uint16)
    lcms.cmsCreateProfilePlaceholder.restype = ptr
    lcms.cmsCreateProfilePlaceholder.argtypes = [ptr]
    lcms.cmsPipelineAlloc.restype = ptr
    lcms.cmsPipelineAlloc.argtypes = [ptr, ctypes.c_uint, ctypes.c_uint]
    lcms.cmsStageAllocCLut16bit.restype = ptr
    lcms.cmsStageAllocCLut16bit.argtypes = [ptr, ctypes.c_uint, ctypes.c_uint, ctypes.c_uint, u16p]
    lcms.cmsPipelineInsertStage.argtypes = [ptr, ctypes.c_int, ptr]
    lcms.cmsWriteTag.argtypes = [ptr, u32, ptr]
    for setter in ("cmsSetDeviceClass", "cmsSetColorSpace", "cmsSetPCS"):
        getattr(lcms, setter).argtypes = [ptr, u32]
    lcms.cmsSetProfileVersion.argtypes = [ptr, ctypes.c_double]
    lcms.cmsSaveProfileToMem.argtypes = [ptr, ptr, ctypes.POINTER(u32)]
    lcms.cmsCloseProfile.argtypes = [ptr]

    def sig(text: str) -> int:
        return int.from_bytes(text.encode(), "big")

    to_lab = ImageCms.buildTransform(
        ImageCms.createProfile("sRGB"), ImageCms.createProfile("LAB"), "RGB", "LAB"
    )

    def lab_v2(rgb: tuple[int, int, int]) -> list[int]:
        light, a, b = ImageCms.applyTransform(Image.new("RGB", (1, 1), rgb), to_lab).getpixel(
            (0, 0)
        )  # type: ignore[misc, union-attr]
        return [round(light / 255 * 0xFF00), round(a * 256), round(b * 256)]  # v2 Lab encoding

    def clut(inputs: int, outputs: int, table: list[int]) -> int:
        array = (ctypes.c_uint16 * len(table))(*table)
        pipeline = lcms.cmsPipelineAlloc(None, inputs, outputs)
        stage = lcms.cmsStageAllocCLut16bit(None, 2, inputs, outputs, array)
        lcms.cmsPipelineInsertStage(pipeline, 0, stage)
        return int(pipeline)

    forward: list[int] = []
    for c, m, y, k in itertools.product((0, 1), repeat=4):
        r, g, b = (round((1 - v) * (1 - k) * 255) for v in (c, m, y))
        forward += lab_v2((g, r, b) if swap_red_green else (r, g, b))
    # A crude inverse (lightness drives black) so the profile is complete.
    backward = [v for light in (0, 1) for _ in range(4) for v in (0, 0, 0, 0 if light else 65535)]
    profile = lcms.cmsCreateProfilePlaceholder(None)
    lcms.cmsSetProfileVersion(profile, 2.1)  # v2 stores a lone CLUT as lut16
    lcms.cmsSetDeviceClass(profile, sig("prtr"))
    lcms.cmsSetColorSpace(profile, sig("CMYK"))
    lcms.cmsSetPCS(profile, sig("Lab "))
    lcms.cmsWriteTag(profile, sig("A2B0"), clut(4, 3, forward))
    lcms.cmsWriteTag(profile, sig("B2A0"), clut(3, 4, backward))
    size = u32(0)
    assert lcms.cmsSaveProfileToMem(profile, None, ctypes.byref(size))
    buffer = ctypes.create_string_buffer(size.value)
    assert lcms.cmsSaveProfileToMem(profile, buffer, ctypes.byref(size))
    lcms.cmsCloseProfile(profile)
    return buffer.raw[: size.value]


def scan_bomb_jpeg(side: int, repeats: int) -> bytes:
    """A progressive JPEG whose first AC scan is repeated ``repeats`` more times: libjpeg
    only warns, and its decode time grows with every copy (the outside attack's 187 KB
    4000x4000 file with 4000 copies took 23 s)."""
    buffer = io.BytesIO()
    Image.new("L", (side, side), 128).save(buffer, "JPEG", progressive=True, quality=90)
    data = buffer.getvalue()
    out, at, repeated = bytearray(data[:2]), 2, False
    while at < len(data):
        marker = data[at + 1]
        if marker == 0xD9:
            out += data[at:]
            break
        (length,) = struct.unpack(">H", data[at + 2 : at + 4])
        end = at + 2 + length
        if marker == 0xDA:  # the scan's entropy-coded data runs to the next real marker
            while not (
                data[end] == 0xFF and data[end + 1] != 0 and not 0xD0 <= data[end + 1] <= 0xD7
            ):
                end += 1
        segment = data[at:end]
        out += segment
        if marker == 0xDA and not repeated:
            components = segment[4]
            spectral_start = segment[5 + 2 * components]
            if spectral_start > 0 and segment[7 + 2 * components] >> 4 == 0:
                out += segment * repeats
                repeated = True
        at = end
    assert repeated, "no AC first scan to repeat"
    return bytes(out)
