"""The built-in media processor: Pillow decodes an upload once and derives WebP renditions.

Registered exactly like a third-party plugin (``SALON_MEDIA=pillow``, the default). What it does,
in the order that keeps it fast:

1. sniff the real format from the bytes (Pillow's identification, restricted to the formats
   Salon accepts) and check the *declared* size against ``max_pixels`` before decoding anything;
2. decode once: for JPEG, ``draft`` asks libjpeg for the smallest DCT scale that still covers the
   largest rendition, then a full ``load`` (truncated files fail here: Salon never sets
   ``LOAD_TRUNCATED_IMAGES``);
3. shrink the decoded pixels in their own mode by an integer factor to about twice the largest
   rendition (``reduce``; nearest-neighbour for 1-bit, palette and 16-bit modes, whose values
   cannot be averaged), and only then convert to RGB/RGBA: a 100 MP 1-bit PNG is 100 MB
   decoded but 400 MB as RGB;
4. bring the colours into sRGB through the file's ICC profile (CMYK, RGB or grey; LittleCMS via
   ``ImageCms``; CMYK without a usable profile through Salon's default CMYK profile, see
   ``salon.defaults.cmyk_profile``) and drop the profile: renditions carry no bytes of the
   uploader's profile;
5. resize to the largest rendition, apply the EXIF orientation to that smaller image, and make
   each smaller rendition from the previous one;
6. write the renditions with no EXIF, GPS, XMP or ICC profile (sRGB is what browsers assume),
   and a thumbhash placeholder. The encodes run in a few threads (Pillow releases the GIL
   while encoding), so each smaller rendition is resized while the larger ones are written;
   a rendition identical to another (a small upload's sm, md and lg are the same 320 px
   image) is a copy of its file, not another encode. WebP is written at libwebp's method 2
   (``SALON_WEBP_METHOD``): less than half the CPU of its default 4 for about 4 % more bytes
   at the same quality (benchmarks/ingest/README.md).

Memory: a decode holds at most ``max_pixels`` x 4 bytes (RGBA) at full size, and at most
``decode_concurrency`` decodes run at once in a process (a semaphore; steps 2-4), so decoding
needs at most ``decode_concurrency x max_pixels x 4`` bytes: 800 MB with the defaults (2 x 100
MP), reached only by huge lossless files. JPEG decodes at 1/8 scale or less when large
(``draft``). Files that declare far more pixels than their bytes could carry
(``max_pixels_per_byte``, for images over 16 MP) are refused before decoding: they are
decompression bombs (a 12 KiB PNG declaring 9999x9999), not photos.

Nothing here keeps state between calls but the semaphore, so the core may call :meth:`process`
from several worker threads at once (Pillow releases the GIL while decoding, resampling and
encoding), or pickle the processor into worker processes.
"""

from __future__ import annotations

import base64
import dataclasses
import datetime as dt
import functools
import io
import logging
import math
import operator
import os
import re
import shutil
import struct
import threading
from collections.abc import Mapping, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as wait_all
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

from PIL import (
    ExifTags,
    Image,
    ImageFile,
    ImageMath,
    ImageSequence,
    UnidentifiedImageError,
    features,
)

from salon import hookimpl
from salon.defaults.cmyk_profile import default_cmyk_profile
from salon.errors import MediaTooLarge, ProviderError, UnsupportedMedia
from salon.memory import return_large_blocks
from salon.providers import (
    DEFAULT_RENDITIONS,
    MediaInfo,
    ProcessedMedia,
    ProviderContext,
    RenditionFile,
    RenditionSpec,
)
from salon.text import offset_name

try:  # HEIC/HEIF (iPhones) through libheif; a core dependency, but an import failure (a platform
    # without a wheel) only loses the format, not the processor.
    import pillow_heif

    pillow_heif.register_heif_opener()
    _HAS_HEIF = True
except ImportError:  # pragma: no cover - pillow-heif is a dependency of core
    _HAS_HEIF = False

try:  # LittleCMS is optional in Pillow builds; without it CMYK is converted naively.
    from PIL import ImageCms
except ImportError:  # pragma: no cover - every wheel on PyPI ships it
    ImageCms = None  # type: ignore[assignment]

__all__ = ["DEFAULT_SPECS", "METADATA_KEYS", "PillowMediaProcessor", "register_media_processors"]

log = logging.getLogger("salon.media")

DEFAULT_SPECS: Final[tuple[RenditionSpec, ...]] = DEFAULT_RENDITIONS
"""The renditions the core asks for by default: ``SALON_RENDITIONS``'s default (kept under
this name for code that imported it)."""

# Pillow format name -> MIME type. MPO is how Pillow names multi-picture JPEGs (many phones).
_SNIFFED_TYPES: Final[dict[str, str]] = {
    "JPEG": "image/jpeg",
    "MPO": "image/jpeg",
    "PNG": "image/png",
    "WEBP": "image/webp",
    "GIF": "image/gif",
    "AVIF": "image/avif",
    "HEIF": "image/heic",  # pillow-heif's name for HEIC and HEIF; iPhones write HEIC
    "TIFF": "image/tiff",
}
# Formats whose several frames are an animation. An MPO's second picture (a depth or stereo
# view), a multi-page TIFF and a HEIF burst are not: only their first picture is shown.
_ANIMATION_FORMATS: Final = frozenset({"GIF", "PNG", "WEBP", "AVIF"})
_OUTPUT_TYPES: Final[dict[str, tuple[str, str]]] = {
    "WEBP": ("image/webp", ".webp"),
    "JPEG": ("image/jpeg", ".jpg"),
    "PNG": ("image/png", ".png"),
    "AVIF": ("image/avif", ".avif"),
}
_HAS_AVIF: Final[bool] = bool(features.check("avif"))
_OPEN_FORMATS: Final[tuple[str, ...]] = (
    ("JPEG", "PNG", "WEBP", "GIF")
    + (("AVIF",) if _HAS_AVIF else ())
    + (("HEIF",) if _HAS_HEIF else ())
    + ("TIFF",)
)
_FRIENDLY_FORMATS: Final[str] = (
    "JPEG, PNG, WebP, GIF"
    + (", AVIF" if _HAS_AVIF else "")
    + (", HEIC/HEIF" if _HAS_HEIF else "")
    + " or TIFF"
)

# Same table as ImageOps.exif_transpose: EXIF orientation -> the transposition that undoes it.
_TRANSPOSE: Final[dict[int, Image.Transpose]] = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}
_SWAPS: Final = frozenset(
    {
        Image.Transpose.ROTATE_90,
        Image.Transpose.ROTATE_270,
        Image.Transpose.TRANSPOSE,
        Image.Transpose.TRANSVERSE,
    }
)

MAX_SIDE: Final = 65_535
"""No camera or scanner makes a longer side; beyond it a header is lying or hostile."""
MAX_ASPECT: Final = 100
"""Panoramas reach about 20:1; a 1x100000 strip is not a photo and makes 0-pixel renditions."""
PLACEHOLDER_EDGE: Final = 32
"""Long edge of the image the thumbhash is computed from. Thumbhash keeps only the lowest
frequencies (at most 7x7 luma terms), so 32 px gives the same hash as 100 px to within a unit
in a few terms, at 1/15 of the pure-Python encoding cost (5 ms instead of 75 ms)."""

DENSITY_FLOOR_PIXELS: Final = 16_000_000
"""Below this many pixels a decode costs at most 64 MB whatever the file size, so the
pixels-per-byte bound applies only above it."""
_REDUCIBLE: Final = frozenset({"L", "LA", "La", "RGB", "RGBA", "RGBa", "CMYK", "I", "F"})
_ICC_SPACE: Final[dict[str, bytes]] = {"RGB": b"RGB ", "RGBA": b"RGB ", "L": b"GRAY"}

ANIMATION_PIXELS: Final = 16_000_000
"""An animated image's largest WebP rendition moves too when its frames hold at most this many
pixels at the rendition's size (they are all in memory while encoding: 64 MB at most), and"""
ANIMATION_SOURCE_PIXELS: Final = 200_000_000
"""... its frames at most this many at the source's size (each is decoded), and"""
ANIMATION_FRAMES: Final = 1000
"""... at most this many frames (each is a resize and an encode); else it stays the first
frame's still, and the owner's lightbox shows the original."""
_RESAMPLE: Final = Image.Resampling.LANCZOS
# reduce() by an integer factor first while the remaining scale is above this: much faster than
# resampling from the full size and indistinguishable at gallery sizes (thumbnail()'s default).
_REDUCING_GAP: Final = 2.0
DEFAULT_WEBP_METHOD: Final = 2
"""libwebp's effort (0-6) for WebP renditions. On 12 MP photos at quality 80, method 4
(libwebp's default) takes 2.3x the CPU of method 2 for 4 % fewer bytes at the same PSNR;
methods 0 and 1 save little more CPU for 17-19 % more bytes (benchmarks/ingest/README.md)."""
_ENCODE_THREADS: Final = max(1, min(3, os.cpu_count() or 1))
_DATE_RE: Final = re.compile(r"^(\d{4}):(\d{2}):(\d{2})[ T](\d{2}):(\d{2}):(\d{2})")
_OFFSET_RE: Final = re.compile(r"^([+-])(\d{2}):?(\d{2})$")

_TAG_MAKE: Final = 0x010F
_TAG_MODEL: Final = 0x0110
_TAG_ORIENTATION: Final = 0x0112
_TAG_DATETIME_ORIGINAL: Final = 0x9003
_TAG_DATETIME_DIGITIZED: Final = 0x9004
_TAG_OFFSET_TIME: Final = 0x9010
_TAG_OFFSET_TIME_ORIGINAL: Final = 0x9011
_TAG_OFFSET_TIME_DIGITIZED: Final = 0x9012
_TAG_EXPOSURE_TIME: Final = 0x829A
_TAG_F_NUMBER: Final = 0x829D
_TAG_ISO: Final = 0x8827
_TAG_FOCAL_LENGTH: Final = 0x920A
_TAG_LENS_MAKE: Final = 0xA433
_TAG_LENS_MODEL: Final = 0xA434


@dataclass(frozen=True, slots=True)
class _Exif:
    """The few EXIF facts Salon keeps. GPS is never read."""

    orientation: int = 1
    make: str | None = None
    model: str | None = None
    taken_at: dt.datetime | None = None
    # "+02:00" when the camera wrote its offset; "local" when it did not (``taken_at`` is
    # then the camera's wall-clock time, written as if it were UTC).
    taken_zone: str | None = None
    lens: str | None = None
    exposure_time: float | None = None
    f_number: float | None = None
    iso: int | None = None
    focal_length: float | None = None


class PillowMediaProcessor:
    """Decode with Pillow, derive renditions, compute a thumbhash placeholder.

    ``max_pixels`` is the largest declared pixel count accepted (decompression-bomb guard),
    checked per call against the header before any pixel is decoded. Pillow's own process-wide
    guard (``Image.MAX_IMAGE_PIXELS``, an error at twice its value, about 179 MP) is left as it
    is; a header past it is opened again without it, so ``max_pixels`` alone decides.
    """

    def __init__(
        self,
        *,
        max_pixels: int = 100_000_000,
        max_pixels_per_byte: int = 1000,
        decode_concurrency: int = 2,
        max_jpeg_scans: int = 256,
        webp_method: int = DEFAULT_WEBP_METHOD,
    ) -> None:
        if min(max_pixels, max_pixels_per_byte, decode_concurrency, max_jpeg_scans) <= 0:
            raise ValueError(
                "max_pixels, max_pixels_per_byte, decode_concurrency and max_jpeg_scans must be > 0"
            )
        if not 0 <= webp_method <= 6:
            raise ValueError(f"webp_method must be 0 to 6, not {webp_method}")
        self.webp_method = webp_method
        self.max_pixels = max_pixels
        self.max_pixels_per_byte = max_pixels_per_byte
        self.max_jpeg_scans = max_jpeg_scans
        self.decode_concurrency = decode_concurrency
        self._decode_slots = threading.BoundedSemaphore(decode_concurrency)
        self._encoders = _EncoderThreads()
        Image.init()  # load Pillow's format plugins now, not racing in the first worker threads
        self.content_types: frozenset[str] = frozenset(
            _SNIFFED_TYPES[f] for f in _OPEN_FORMATS if f in _SNIFFED_TYPES
        )

    @classmethod
    def from_context(cls, ctx: ProviderContext) -> PillowMediaProcessor:
        """The factory the plugin registers: reads ``max_pixels``, ``max_pixels_per_byte`` and
        ``media_decode_concurrency`` from the core settings."""
        return cls(
            max_pixels=int(ctx.core.max_pixels),
            # getattr: a core object from before these settings (tests, embedding) still works
            max_pixels_per_byte=int(getattr(ctx.core, "max_pixels_per_byte", 1000)),
            decode_concurrency=int(getattr(ctx.core, "media_decode_concurrency", 2)),
            max_jpeg_scans=int(getattr(ctx.core, "max_jpeg_scans", 256)),
            webp_method=int(getattr(ctx.core, "webp_method", DEFAULT_WEBP_METHOD)),
        )

    def __getstate__(self) -> dict[str, Any]:
        """Picklable (worker processes): each process makes its own semaphore and threads."""
        state = self.__dict__.copy()
        del state["_decode_slots"], state["_encoders"]
        return state

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._decode_slots = threading.BoundedSemaphore(self.decode_concurrency)
        self._encoders = _EncoderThreads()
        # A worker process that receives the processor decodes there: same tuning as the
        # process that built the runtime (salon.memory).
        return_large_blocks()

    # ------------------------------------------------------------------ public

    def process(
        self, source: Path, out_dir: Path, specs: Sequence[RenditionSpec]
    ) -> ProcessedMedia:
        """Decode ``source`` once and write one file per spec into ``out_dir``.

        Raises :class:`UnsupportedMedia` with a message for the uploader when the file is empty,
        not an image Salon accepts, damaged, or too large; nothing is left in ``out_dir`` then.
        """
        if ImageFile.LOAD_TRUNCATED_IMAGES:
            # Someone flipped Pillow's global: truncated uploads would be accepted silently.
            raise ProviderError(
                "PIL.ImageFile.LOAD_TRUNCATED_IMAGES is True; Salon needs it False to "
                "reject truncated uploads"
            )
        _check_specs(specs)
        try:
            size = source.stat().st_size
        except OSError as exc:
            raise ProviderError(f"cannot read the upload: {exc.strerror}") from exc
        if size == 0:
            raise UnsupportedMedia("The file is empty.", "empty")
        written: list[Path] = []
        try:
            with source.open("rb") as fp:
                return self._process(fp, size, out_dir, specs, written)
        except BaseException:
            for path in written:
                path.unlink(missing_ok=True)
            raise

    def probe(self, source: Path) -> MediaInfo:
        """What :meth:`process` will find, from the headers and EXIF alone (no pixels are
        decoded, so this costs about a millisecond): the sniffed type, the displayed size and
        the capture time. Raises :class:`UnsupportedMedia` for what ``process`` would refuse
        before decoding; a damaged pixel stream is only found by ``process``."""
        try:
            if source.stat().st_size == 0:
                raise UnsupportedMedia("The file is empty.", "empty")
        except OSError as exc:
            raise ProviderError(f"cannot read the upload: {exc.strerror}") from exc
        with source.open("rb") as fp, _open(fp) as im:
            fmt = im.format or ""
            content_type = _SNIFFED_TYPES.get(fmt)
            if content_type is None:  # pragma: no cover - _OPEN_FORMATS restricts this
                raise UnsupportedMedia(
                    f"This file is not a {_FRIENDLY_FORMATS} image.", "not_an_image"
                )
            raw_w, raw_h = im.size
            self._check_size(raw_w, raw_h)
            # A bomb is refused at intake, not only when its renditions are made.
            self._check_density(raw_w, raw_h, source.stat().st_size)
            self._check_scans(fmt, fp)
            exif = _read_exif(im)
        swap = _TRANSPOSE.get(exif.orientation) in _SWAPS
        return MediaInfo(
            content_type=content_type,
            width=raw_h if swap else raw_w,
            height=raw_w if swap else raw_h,
            taken_at=exif.taken_at,
            metadata=_metadata(fmt, exif),
        )

    # ------------------------------------------------------------------ steps

    def _process(
        self,
        fp: io.BufferedReader,
        file_size: int,
        out_dir: Path,
        specs: Sequence[RenditionSpec],
        written: list[Path],
    ) -> ProcessedMedia:
        im = _open(fp)
        with self._decode_slots, im:
            fmt = im.format or ""
            content_type = _SNIFFED_TYPES.get(fmt)
            if content_type is None:  # pragma: no cover - _OPEN_FORMATS restricts this
                raise UnsupportedMedia(
                    f"This file is not a {_FRIENDLY_FORMATS} image.", "not_an_image"
                )
            raw_w, raw_h = im.size
            self._check_size(raw_w, raw_h)
            self._check_density(raw_w, raw_h, file_size)
            self._check_scans(fmt, fp)

            # The long edge is the same before and after a 90-degree turn, so the decode target
            # can be chosen before the orientation is known.
            raw_long = max(raw_w, raw_h)
            edges = [min(s.long_edge, raw_long) for s in specs]
            largest = max([*edges, min(PLACEHOLDER_EDGE, raw_long)])
            if fmt in ("JPEG", "MPO"):
                # DCT scaling: libjpeg decodes at 1/2, 1/4 or 1/8 when that still covers the box.
                im.draft(None, _fit(raw_w, raw_h, largest))
            icc = im.info.get("icc_profile")
            profile = icc if isinstance(icc, bytes) else None
            _decode(im)
            work = _shrink(_key_to_alpha(im), largest)
            # An RGB or grey image's own profile is applied after the first resize (see
            # _late_profile); every other conversion happens here, at the decoded size.
            late = _late_profile(work, profile)
            if late is None:
                work = _to_srgb(work, profile)
            exif = _read_exif(im)
            # Counting frames seeks through the file, so it comes after the pixels are copied.
            animated = fmt in _ANIMATION_FORMATS and _is_animated(im)
            if work is not im:
                im.close()  # free the full-size pixels now, before the slot goes to the next

        work.info = {}  # no metadata (EXIF, XMP, ICC) rides along into the encoders
        transpose = _TRANSPOSE.get(exif.orientation)
        oriented_w, oriented_h = (raw_h, raw_w) if transpose in _SWAPS else (raw_w, raw_h)

        oriented = transpose is None
        order = sorted(range(len(specs)), key=lambda i: -edges[i])
        encodes = _Encodes(self._encoders.pool(), out_dir, written, self.webp_method)
        try:
            for i in order:
                target = _fit(oriented_w, oriented_h, edges[i])
                work, oriented = _resize_oriented(work, target, transpose, oriented)
                if late is not None:
                    work, late = _to_srgb(work, late), None
                encodes.add(i, work, specs[i])
            encodes.flush()
            if late is not None:  # no renditions asked for: only the placeholder
                work = _to_srgb(work, late)
            thumb_target = _fit(
                oriented_w, oriented_h, min(PLACEHOLDER_EDGE, max(oriented_w, oriented_h))
            )
            thumb, _ = _resize_oriented(work, thumb_target, transpose, oriented)
            placeholder = _thumbhash(thumb)  # while the encodes finish
            by_index = encodes.results()
        except BaseException:
            encodes.wait()  # no thread may write a file after process() cleans up
            raise
        renditions = [by_index[i] for i in range(len(specs))]

        metadata = _metadata(fmt, exif)
        if animated:
            metadata["animated"] = True
            animation = _animate(fp, specs, renditions, transpose, self.webp_method)
            if animation is not None:
                index, moves = animation
                rewritten = renditions[index]
                renditions[index] = dataclasses.replace(
                    rewritten, size=rewritten.path.stat().st_size
                )
                if moves:
                    metadata["animated_rendition"] = rewritten.name
        info = MediaInfo(
            content_type=content_type,
            width=oriented_w,
            height=oriented_h,
            taken_at=exif.taken_at,
            metadata=metadata,
        )
        return ProcessedMedia(info=info, renditions=renditions, placeholder=placeholder)

    def _check_size(self, width: int, height: int) -> None:
        if width <= 0 or height <= 0:
            raise UnsupportedMedia("The image has no pixels (its width or height is 0).", "damaged")
        if max(width, height) > MAX_SIDE:
            raise MediaTooLarge(
                f"The image is too large: {width}x{height} pixels; sides up to {MAX_SIDE} "
                "pixels are accepted."
            )
        if max(width, height) > MAX_ASPECT * min(width, height):
            raise UnsupportedMedia(
                f"The image is {width}x{height} pixels; images longer than {MAX_ASPECT} times "
                "their width are not accepted.",
                "unsupported_variant",
            )
        if width * height > self.max_pixels:
            # Names the setting: a 200 MP phone photo is refused by a server choice, not a fault.
            raise MediaTooLarge(
                f"The image is too large: {width} x {height} pixels "
                f"({_megapixels(width * height)} MP); "
                f"this server accepts at most {_megapixels(self.max_pixels)} MP (SALON_MAX_PIXELS)."
            )

    def _check_density(self, width: int, height: int, file_size: int) -> None:
        pixels = width * height
        if pixels > DENSITY_FLOOR_PIXELS and pixels > file_size * self.max_pixels_per_byte:
            raise MediaTooLarge(
                f"The image declares {width}x{height} pixels in only {file_size:,} bytes "
                f"(more than {self.max_pixels_per_byte} pixels per byte); it looks like a "
                "decompression bomb and is not accepted."
            )

    def _check_scans(self, fmt: str, fp: io.BufferedReader) -> None:
        if fmt not in ("JPEG", "MPO"):
            return
        scans = _count_jpeg_scans(fp)
        if scans > self.max_jpeg_scans:
            raise UnsupportedMedia(
                f"The JPEG has {scans} scans (at most {self.max_jpeg_scans} are accepted): "
                "decoding it would take minutes.",
                "unsupported_variant",
            )


# --------------------------------------------------------------------------- helpers


def _count_jpeg_scans(fp: io.BufferedReader) -> int:
    """How many start-of-scan markers (FF DA) the file holds, read without decoding. Entropy-
    coded data never contains one (an FF there is always followed by 00 or a restart marker),
    so this is the scan count, plus the few an embedded EXIF thumbnail brings."""
    position = fp.tell()
    fp.seek(0)
    count, tail = 0, b""
    try:
        while chunk := fp.read(1 << 20):
            data = tail + chunk
            count += data.count(b"\xff\xda")
            tail = data[-1:]
    finally:
        fp.seek(position)
    return count


def _check_specs(specs: Sequence[RenditionSpec]) -> None:
    names = [s.name for s in specs]
    if len(set(names)) != len(names):
        raise ValueError(f"rendition names must be unique: {names}")
    for spec in specs:
        if spec.long_edge <= 0:
            raise ValueError(f"rendition {spec.name!r}: long_edge must be positive")
        if spec.format.upper() not in _OUTPUT_TYPES:
            raise ValueError(f"rendition {spec.name!r}: unsupported format {spec.format!r}")
        if not re.fullmatch(r"[A-Za-z0-9_-]{1,64}", spec.name):
            raise ValueError(f"rendition name {spec.name!r} is not a safe file name")


def _open(fp: io.BufferedReader) -> ImageFile.ImageFile:
    """Identify the bytes; only Salon's formats are tried, so HTML/SVG/text never match."""
    try:
        return Image.open(fp, formats=_OPEN_FORMATS)
    except UnidentifiedImageError:
        # Pillow also lands here when a format's header parser gave up (a 12-bit JPEG).
        raise _unidentified(fp) from None
    except Image.DecompressionBombError:
        # Pillow's own process-wide guard (about 179 MP) tripped on the header: Salon's
        # max_pixels, a setting checked right after, decides instead and names the size.
        return _open_past_pillow_guard(fp)
    except (OSError, SyntaxError, ValueError, EOFError, struct.error):
        raise _damaged_header() from None


def _damaged_header() -> UnsupportedMedia:
    return UnsupportedMedia("The image is damaged and cannot be read.", "damaged")


def _open_past_pillow_guard(fp: io.BufferedReader) -> ImageFile.ImageFile:
    """What ``Image.open`` does for Salon's formats, minus Pillow's pixel-count guard: only
    the header is read, and the caller's own size checks run before any pixel is decoded."""
    fp.seek(0)
    prefix = fp.read(16)
    for fmt in _OPEN_FORMATS:
        factory, accept = Image.OPEN[fmt]
        accepted = accept is None or accept(prefix)
        if not accepted or isinstance(accepted, str):
            continue
        fp.seek(0)
        try:
            return factory(fp, "")
        except (SyntaxError, IndexError, TypeError, struct.error):
            continue  # as Image.open: not this format, try the next
        except Image.DecompressionBombError:  # a GIF frame past the guard: size unknown here
            raise MediaTooLarge("The image is too large (too many pixels).") from None
        except (OSError, ValueError, EOFError):
            raise _damaged_header() from None
    raise _damaged_header()


def _megapixels(pixels: int) -> str:
    """199756800 -> '200', 3.6e9 -> '3,600', 1_200_000 -> '1.2', 1_000 -> '0.001'."""
    value = pixels / 1e6
    return f"{value:,.0f}" if value >= 10 else f"{value:.2g}"


def _unidentified(fp: io.BufferedReader) -> UnsupportedMedia:
    """Why bytes none of Salon's formats would open were refused, as precisely as their first
    bytes tell: a variant of a format Salon reads, another image format, or no image."""
    fp.seek(0)
    head = fp.read(_SNIFF_BYTES)
    bits = _jpeg_precision(head)
    if bits is not None and bits != 8:
        return UnsupportedMedia(
            f"This is a {bits}-bit JPEG; Salon reads 8-bit JPEGs only (the usual kind).",
            "unsupported_variant",
        )
    own = next((name for magic, name in _OWN_MAGIC if head.startswith(magic)), None)
    if own is not None:
        return UnsupportedMedia(f"The {own} image is damaged and cannot be read.", "damaged")
    other = _other_format(head)
    if other is not None:
        return UnsupportedMedia(
            f"This file is in {other} format; Salon reads {_FRIENDLY_FORMATS} images.",
            "unsupported_format",
        )
    return UnsupportedMedia(
        f"This file is not an image Salon can read (accepted: {_FRIENDLY_FORMATS}).",
        "not_an_image",
    )


# Salon's own formats by their first bytes: such a file that does not open is damaged.
_OWN_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"\xff\xd8\xff", "JPEG"),
    (b"\x89PNG\r\n\x1a\n", "PNG"),
    (b"GIF87a", "GIF"),
    (b"GIF89a", "GIF"),
    (b"II*\x00", "TIFF"),
    (b"MM\x00*", "TIFF"),
)


_SNIFF_BYTES: Final = 64 * 1024
# Image formats Salon does not read, by their first bytes: named in the refusal so the
# uploader knows to convert the file rather than wonder whether it was damaged on the way.
_OTHER_MAGIC: Final[tuple[tuple[bytes, str], ...]] = (
    (b"BM", "BMP"),
    (b"8BPS", "Photoshop (PSD)"),
    (b"\x00\x00\x01\x00", "Windows icon (ICO)"),
    (b"\xff\x0a", "JPEG XL"),
    (b"\x00\x00\x00\x0cJXL \r\n\x87\n", "JPEG XL"),
    (b"\x00\x00\x00\x0cjP  \r\n\x87\n", "JPEG 2000"),
    (b"\xff\x4f\xff\x51", "JPEG 2000"),
    (b"%PDF-", "PDF"),
    (b"%!PS-Adobe", "EPS/PostScript"),
    (b"\xc5\xd0\xd3\xc6", "EPS/PostScript"),  # DOS binary EPS (PostScript + a TIFF preview)
    (b"qoif", "QOI"),
    (b"\x76\x2f\x31\x01", "OpenEXR"),
    (b"#?RADIANCE", "Radiance HDR"),
)
_PNM_RE: Final = re.compile(rb"^P[1-7]\s")
# No pattern with nested repetition here: these run on bytes anyone can send.
_SVG_TAG_RE: Final = re.compile(rb"<svg[\s>/]")


def _other_format(head: bytes) -> str | None:
    """The name of an image format Salon does not read, from the file's first bytes."""
    for magic, name in _OTHER_MAGIC:
        if head.startswith(magic):
            return name
    if _PNM_RE.match(head):
        return "Netpbm (PBM/PGM/PPM)"
    start = head[:4096].lstrip(b"\xef\xbb\xbf \t\r\n")
    if start.startswith(b"<") and _SVG_TAG_RE.search(start):
        return "SVG"
    return None


def _jpeg_precision(head: bytes) -> int | None:
    """The sample precision in a JPEG's frame header (8 for ordinary JPEGs, 12 or 16 for
    medical and some camera files), or None when these bytes are not a readable JPEG start."""
    if not head.startswith(b"\xff\xd8"):
        return None
    at = 2
    while at + 4 <= len(head):
        if head[at] != 0xFF:
            return None
        marker = head[at + 1]
        if marker == 0xFF:  # fill byte
            at += 1
            continue
        if marker in (0x01, 0xD8) or 0xD0 <= marker <= 0xD7:
            at += 2
            continue
        (length,) = struct.unpack(">H", head[at + 2 : at + 4])
        # SOF0-SOF15 but DHT (C4), JPG (C8) and DAC (CC): the frame header's first byte.
        if 0xC0 <= marker <= 0xCF and marker not in (0xC4, 0xC8, 0xCC):
            return head[at + 4] if at + 4 < len(head) else None
        if marker in (0xD9, 0xDA) or length < 2:
            return None
        at += 2 + length
    return None


def _decode(im: ImageFile.ImageFile) -> None:
    """Decode every pixel now, so truncation and corruption surface here as UnsupportedMedia."""
    try:
        im.load()
    except Image.DecompressionBombError:
        raise MediaTooLarge("The image is too large (too many pixels).") from None
    except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error):
        compression = im.info.get("compression") if im.format == "TIFF" else None
        if isinstance(compression, str) and _tiff_codec_missing(compression):
            raise UnsupportedMedia(
                f"This TIFF uses {_TIFF_CODEC_NAMES.get(compression, compression)} compression, "
                "which this server's TIFF library "
                "cannot decode; save it with LZW, Deflate or no compression.",
                "unsupported_variant",
            ) from None
        raise UnsupportedMedia(
            "The image is damaged or incomplete (was the upload cut short?).", "damaged"
        ) from None
    except MemoryError:
        raise MediaTooLarge("The image is too large to decode.") from None


_TIFF_CODEC_NAMES: Final = {"webp": "WebP", "zstd": "Zstandard", "lzma": "LZMA", "jpeg": "JPEG"}


@functools.cache
def _tiff_codec_missing(compression: str) -> bool:
    """Whether libtiff was built without this compression (WebP, JBIG... are optional), found
    by writing a tiny TIFF with it: a valid file in such a variant is not a damaged one."""
    for mode in ("RGB", "1"):  # the fax codecs (group3/4) write 1-bit images only
        try:
            Image.new(mode, (8, 8)).save(io.BytesIO(), "TIFF", compression=compression)
        except (OSError, ValueError, KeyError):
            continue
        return False
    return True


def _metadata(fmt: str, exif: _Exif) -> dict[str, Any]:
    metadata: dict[str, Any] = {"format": fmt if fmt != "MPO" else "JPEG"}
    if exif.make:
        metadata["camera_make"] = exif.make
    if exif.model:
        metadata["camera_model"] = exif.model
    for key in ("lens", "exposure_time", "f_number", "iso", "focal_length"):
        value = getattr(exif, key)
        if value is not None:
            metadata[key] = value
    if exif.taken_zone:
        metadata["taken_at_zone"] = exif.taken_zone
    metadata["orientation"] = exif.orientation
    return metadata


def _is_animated(im: Image.Image) -> bool:
    try:
        return bool(getattr(im, "n_frames", 1) > 1)
    except Exception:  # a damaged later frame does not matter: only the first is used
        return False


def _fit(width: int, height: int, long_edge: int) -> tuple[int, int]:
    """``(width, height)`` scaled so the longer side is ``long_edge`` (never below 1 px)."""
    if width >= height:
        return long_edge, max(1, round(height * long_edge / width))
    return max(1, round(width * long_edge / height)), long_edge


def _resize_oriented(
    im: Image.Image,
    target: tuple[int, int],
    transpose: Image.Transpose | None,
    oriented: bool,
) -> tuple[Image.Image, bool]:
    """Resize ``im`` to ``target`` (given in displayed orientation) and make sure the result is
    displayed upright. The transposition happens once, on the first (largest) resized image,
    because turning 3 MP costs a quarter of turning 12 MP."""
    if not oriented and transpose is not None:
        raw_target = (target[1], target[0]) if transpose in _SWAPS else target
        if im.size != raw_target:
            im = im.resize(raw_target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
        return im.transpose(transpose), True
    if im.size != target:
        im = im.resize(target, _RESAMPLE, reducing_gap=_REDUCING_GAP)
    return im, True


def _key_to_alpha(im: Image.Image) -> Image.Image:
    """An RGB or grey PNG whose ``tRNS`` names one colour as transparent, as RGBA or LA.

    This happens before :func:`_shrink`: averaging pixels would blend the key colour into its
    neighbours, so no pixel would match the key any more and it would show (a bright green
    block). 16-bit grey is shrunk by picking pixels, which keeps the key exact; it gets its
    alpha in :func:`_to_rgb`, where its values are still 16-bit.
    """
    key = im.info.get("transparency")
    if key is None or isinstance(key, bytes):
        return im  # no key, or a palette's per-entry alphas (handled with the palette)
    if im.mode == "RGB" and isinstance(key, tuple):
        return im.convert("RGBA")
    if im.mode == "L" and isinstance(key, int):
        return im.convert("LA")
    return im


def _shrink(im: Image.Image, box: int) -> Image.Image:
    """``im`` made smaller by an integer factor, in its own mode, while it stays at least twice
    ``box`` on its long side (what ``reducing_gap=2`` would do, but before mode conversion)."""
    factor = max(im.size) // (2 * box)
    if factor < 2:
        return im
    if im.mode in _REDUCIBLE:
        return im.reduce(factor)
    # Bits, palette indexes and 16-bit values cannot be averaged here: every factor-th pixel.
    size = (max(1, -(-im.width // factor)), max(1, -(-im.height // factor)))
    return im.resize(size, Image.Resampling.NEAREST)


def _late_profile(im: Image.Image, icc: bytes | None) -> bytes | None:
    """``icc`` when it is an RGB or grey profile for ``im`` that may wait until the image is
    resized to the largest rendition, else None (convert now).

    A colour transform costs per pixel: 0.15 s of CPU on 12 MP, 0.04 s at 2048 px, and every
    phone writes a profile (iPhones Display P3). RGB working spaces (P3, Adobe RGB, ProPhoto)
    have sRGB-like tone curves, so resizing before or after the transform gives the same
    renditions to within rounding. CMYK and anything else are converted at the decoded size.
    """
    if icc and im.mode in _ICC_SPACE and icc[16:20] == _ICC_SPACE[im.mode]:
        return icc
    return None


def _to_srgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """L, RGB or RGBA, 8 bits per channel, sRGB colours; the ICC profile is used, not kept."""
    if im.mode == "CMYK":
        return _cmyk_to_rgb(im, icc)
    if icc and im.mode in _ICC_SPACE and icc[16:20] == _ICC_SPACE[im.mode]:
        converted = _profile_to_srgb(im, icc)
        if converted is not None:
            return converted
    return _to_rgb(im)


def _profile_to_srgb(im: Image.Image, icc: bytes) -> Image.Image | None:
    """Through LittleCMS from the embedded profile to sRGB; None when it cannot be used."""
    if ImageCms is None:  # pragma: no cover - every wheel on PyPI ships it
        return None
    try:
        src = ImageCms.ImageCmsProfile(io.BytesIO(icc))
        out_mode = "RGBA" if im.mode == "RGBA" else "RGB"
        if out_mode == im.mode and ImageCms.getProfileDescription(src).strip() in _SRGB_NAMES:
            return im  # already sRGB: nothing to convert
        return ImageCms.profileToProfile(
            im, src, _srgb(), renderingIntent=ImageCms.Intent.PERCEPTUAL, outputMode=out_mode
        )
    except (ImageCms.PyCMSError, OSError, ValueError, TypeError):
        log.info("image with an unusable ICC profile: its colours are taken as sRGB")
        return None


_SRGB_NAMES: Final = frozenset(
    {"sRGB IEC61966-2.1", "sRGB IEC61966-2-1 black scaled", "sRGB", "sRGB built-in"}
)
_SRGB_PROFILE: list[Any] = []


def _srgb() -> Any:
    """LittleCMS's built-in sRGB profile, made once per process."""
    if not _SRGB_PROFILE:
        _SRGB_PROFILE.append(ImageCms.createProfile("sRGB"))
    return _SRGB_PROFILE[0]


def _to_rgb(im: Image.Image) -> Image.Image:
    """L, RGB or RGBA, 8 bits per channel, whatever the source mode (but CMYK). Grey stays
    grey (a third of the memory through the resizes); the encoders widen it at the end."""
    mode = im.mode
    if mode in ("RGB", "RGBA"):
        return im
    if mode.startswith("I;16") or mode == "I":
        # 16-bit grey: scale 0..65535 down to 0..255 (a plain convert would clip at 255).
        wide = im.convert("I")
        grey = wide.point(lambda v: v * (1 / 256)).convert("L")
        key = im.info.get("transparency")
        if not isinstance(key, int):
            return grey
        # tRNS names one 16-bit value: compared before scaling, where it is still exact.
        alpha = ImageMath.lambda_eval(lambda a: (a["v"] != key) * 255, v=wide)
        rgba = grey.convert("RGBA")
        rgba.putalpha(alpha.convert("L"))
        return rgba
    if mode == "P":
        has_alpha = "transparency" in im.info or (
            im.palette is not None and im.palette.mode == "RGBA"
        )
        return im.convert("RGBA" if has_alpha else "RGB")
    if mode in ("LA", "PA", "La", "RGBa"):
        return im.convert("RGBA")
    if mode == "L" and "transparency" in im.info:
        return im.convert("RGBA")
    if mode in ("1", "L"):
        return im.convert("L")
    return im.convert("RGB")


def _cmyk_to_rgb(im: Image.Image, icc: bytes | None) -> Image.Image:
    """Through LittleCMS with the file's CMYK profile, or without one (or with an unusable one)
    with Salon's default CMYK profile (real inks, not Pillow's ideal ones)."""
    if ImageCms is None:  # pragma: no cover - every wheel on PyPI ships it
        return im.convert("RGB")
    if icc and icc[16:20] == b"CMYK":
        try:
            out = ImageCms.profileToProfile(
                im,
                ImageCms.ImageCmsProfile(io.BytesIO(icc)),
                _srgb(),
                renderingIntent=ImageCms.Intent.PERCEPTUAL,
                outputMode="RGB",
            )
            if out is not None:
                return out
        except (ImageCms.PyCMSError, OSError, ValueError):
            log.info("CMYK image with an unusable ICC profile: using the default CMYK profile")
    out = ImageCms.applyTransform(im, _default_cmyk_transform())
    return out if out is not None else im.convert("RGB")


_CMYK_TRANSFORM: list[Any] = []


def _default_cmyk_transform() -> Any:
    """Default CMYK profile to sRGB, built once per process (LittleCMS transforms may be used
    from several threads at once)."""
    if not _CMYK_TRANSFORM:
        source = ImageCms.ImageCmsProfile(io.BytesIO(default_cmyk_profile()))
        _CMYK_TRANSFORM.append(
            ImageCms.buildTransform(
                source, _srgb(), "CMYK", "RGB", renderingIntent=ImageCms.Intent.PERCEPTUAL
            )
        )
    return _CMYK_TRANSFORM[0]


class _EncoderThreads:
    """The threads a processor encodes in: started on first use, made again in a forked
    child (which inherits the pool but not its threads, so work handed to it would wait
    forever)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._pid = -1
        self._pool: ThreadPoolExecutor | None = None

    def pool(self) -> ThreadPoolExecutor:
        with self._lock:
            if self._pool is None or self._pid != os.getpid():
                self._pool = ThreadPoolExecutor(
                    max_workers=_ENCODE_THREADS, thread_name_prefix="salon-encode"
                )
                self._pid = os.getpid()
            return self._pool


class _Encodes:
    """One image's rendition encodes, in the processor's threads.

    The cascade hands over each resized image in turn; all renditions of one image object are
    encoded by one task, in order (``Image.save`` sets attributes on the image, so one image is
    never saved from two threads at once). Within it, a rendition with the format and quality
    of one already written is a copy of that file.
    """

    def __init__(
        self, pool: ThreadPoolExecutor, out_dir: Path, written: list[Path], webp_method: int
    ) -> None:
        self._pool = pool
        self._out_dir = out_dir
        self._written = written
        self._webp_method = webp_method
        self._image: Image.Image | None = None
        self._batch: list[tuple[int, RenditionSpec]] = []
        self._tasks: list[Future[list[tuple[int, RenditionFile]]]] = []

    def add(self, index: int, im: Image.Image, spec: RenditionSpec) -> None:
        if im is not self._image:
            self.flush()
            self._image = im
        self._batch.append((index, spec))

    def flush(self) -> None:
        """Start encoding the image handed over last."""
        if self._image is not None and self._batch:
            self._tasks.append(self._pool.submit(self._encode, self._image, self._batch))
        self._image, self._batch = None, []

    def results(self) -> dict[int, RenditionFile]:
        """Every rendition by its index in the specs; the first failure is raised."""
        return {i: r for task in self._tasks for i, r in task.result()}

    def wait(self) -> None:
        wait_all(self._tasks)

    def _encode(
        self, im: Image.Image, batch: list[tuple[int, RenditionSpec]]
    ) -> list[tuple[int, RenditionFile]]:
        done: dict[tuple[str, int], RenditionFile] = {}
        out: list[tuple[int, RenditionFile]] = []
        for index, spec in batch:
            key = (spec.format.upper(), spec.quality)
            same = done.get(key)
            if same is None:
                done[key] = rendition = _save(
                    im, spec, self._out_dir, self._written, self._webp_method
                )
            else:
                rendition = _copy(same, spec, self._out_dir, self._written)
            out.append((index, rendition))
        return out


def _animate(
    fp: io.BufferedReader,
    specs: Sequence[RenditionSpec],
    renditions: Sequence[RenditionFile],
    transpose: Image.Transpose | None,
    webp_method: int,
) -> tuple[int, bool] | None:
    """Write the largest WebP rendition again with every frame; return its index and whether
    it moves (frames that never change are merged into a still). Share pages and members'
    lightboxes show renditions only (an original keeps its EXIF and GPS), so an animation must
    move in one. None, the still untouched, when no rendition is WebP, the frames are over the
    budgets (``ANIMATION_PIXELS``) or a later frame does not decode."""
    webp = [i for i, spec in enumerate(specs) if spec.format == "WEBP"]
    if not webp:
        return None
    index = max(
        webp, key=lambda i: (renditions[i].width * renditions[i].height, specs[i].long_edge)
    )
    still = renditions[index]
    size = (still.height, still.width) if transpose in _SWAPS else (still.width, still.height)
    try:
        # Opened again: closing a GIF's first image closed the reader it was given.
        with open(fp.name, "rb") as again, _open(again) as im:
            count = int(getattr(im, "n_frames", 1))
            if (
                not 2 <= count <= ANIMATION_FRAMES
                or count * still.width * still.height > ANIMATION_PIXELS
                or count * im.width * im.height > ANIMATION_SOURCE_PIXELS
            ):
                return None
            frames, durations = [], []
            for frame in ImageSequence.Iterator(im):
                small = frame.convert("RGBA").resize(size, _RESAMPLE, reducing_gap=_REDUCING_GAP)
                frames.append(small if transpose is None else small.transpose(transpose))
                durations.append(int(frame.info.get("duration") or 100))
            loop = int(im.info.get("loop", 0))
    except (OSError, ValueError, EOFError, SyntaxError, Image.DecompressionBombError) as exc:
        # A later frame damaged, or a bomb in its extents (the first frame was fine).
        log.info("animation kept still: a frame did not decode (%s)", type(exc).__name__)
        return None
    try:
        frames[0].save(
            still.path,
            "WEBP",
            save_all=True,
            append_images=frames[1:],
            duration=durations,
            loop=loop,
            quality=specs[index].quality,
            method=webp_method,
        )
    except OSError as exc:
        raise ProviderError(f"cannot write rendition {still.name!r}: {exc}") from exc
    with Image.open(still.path) as written:
        # libwebp merges identical frames: frames that never change make a still.
        return index, getattr(written, "n_frames", 1) > 1


def _copy(
    same: RenditionFile, spec: RenditionSpec, out_dir: Path, written: list[Path]
) -> RenditionFile:
    """``same``'s file under ``spec``'s name: the same pixels, format and quality."""
    path = out_dir / f"{spec.name}{Path(same.path).suffix}"
    written.append(path)
    try:
        shutil.copyfile(same.path, path)
    except OSError as exc:
        raise ProviderError(f"cannot write rendition {spec.name!r}: {exc}") from exc
    return dataclasses.replace(same, name=spec.name, path=path)


def _save(
    im: Image.Image,
    spec: RenditionSpec,
    out_dir: Path,
    written: list[Path],
    webp_method: int = DEFAULT_WEBP_METHOD,
) -> RenditionFile:
    fmt = spec.format.upper()
    content_type, suffix = _OUTPUT_TYPES[fmt]
    path = out_dir / f"{spec.name}{suffix}"
    params: dict[str, Any] = {"quality": spec.quality}
    if fmt == "WEBP":
        params["method"] = webp_method
    elif fmt == "JPEG":
        params["optimize"] = True
        if im.mode == "RGBA":  # JPEG has no alpha: flatten on white
            flat = Image.new("RGB", im.size, (255, 255, 255))
            flat.paste(im, mask=im.getchannel("A"))
            im = flat
    elif fmt == "PNG":
        params = {}
    written.append(path)
    try:
        im.save(path, fmt, **params)
    except OSError as exc:
        raise ProviderError(f"cannot write rendition {spec.name!r}: {exc}") from exc
    return RenditionFile(
        name=spec.name,
        path=path,
        width=im.width,
        height=im.height,
        content_type=content_type,
        size=path.stat().st_size,
    )


def _thumbhash(im: Image.Image) -> str:
    rgba = im if im.mode == "RGBA" else im.convert("RGBA")
    return base64.b64encode(thumbhash_encode(rgba.width, rgba.height, rgba.tobytes())).decode()


def _round(x: float) -> int:
    return math.floor(x + 0.5)  # JavaScript's Math.round, as in the reference encoder


def thumbhash_encode(width: int, height: int, rgba: bytes) -> bytes:
    """ThumbHash of an RGBA image of at most 100x100 (Evan Wallace's reference algorithm).

    Salon carries its own encoder because the ``thumbhash`` 0.1.2 package fails on every image
    with transparency (an operator-precedence bug). The DCT is computed separably (row sums
    first), which makes this pure-Python encoder several times faster than the naive loops.
    """
    w, h = width, height
    if not (0 < w <= 100 and 0 < h <= 100) or len(rgba) != w * h * 4:
        raise ValueError(f"{w}x{h} RGBA image expected, at most 100x100")
    n = w * h
    alphas = [v / 255 for v in rgba[3::4]]
    reds, greens, blues = rgba[0::4], rgba[1::4], rgba[2::4]
    avg_a = sum(alphas)
    if avg_a:
        avg_r = sum(a * r for a, r in zip(alphas, reds, strict=True)) / 255 / avg_a
        avg_g = sum(a * g for a, g in zip(alphas, greens, strict=True)) / 255 / avg_a
        avg_b = sum(a * b for a, b in zip(alphas, blues, strict=True)) / 255 / avg_a
    else:
        avg_r = avg_g = avg_b = 0.0
    has_alpha = avg_a < n
    l_limit = 5 if has_alpha else 7
    lx = max(1, _round(l_limit * w / max(w, h)))
    ly = max(1, _round(l_limit * h / max(w, h)))
    lum: list[float] = []
    pch: list[float] = []
    qch: list[float] = []
    for a, r8, g8, b8 in zip(alphas, reds, greens, blues, strict=True):
        # composite over the average colour, so transparent pixels do not pull towards black
        r = avg_r * (1 - a) + a / 255 * r8
        g = avg_g * (1 - a) + a / 255 * g8
        b = avg_b * (1 - a) + a / 255 * b8
        lum.append((r + g + b) / 3)
        pch.append((r + g) / 2 - b)
        qch.append(r - g)

    def encode_channel(channel: list[float], nx: int, ny: int) -> tuple[float, list[float], float]:
        cos_x = [[math.cos(math.pi / w * cx * (x + 0.5)) for x in range(w)] for cx in range(nx)]
        cos_y = [[math.cos(math.pi / h * cy * (y + 0.5)) for y in range(h)] for cy in range(ny)]
        rows = [channel[y * w : (y + 1) * w] for y in range(h)]
        # row_sums[cx][y] = sum over x of channel[x, y] * cos_x[cx][x]
        row_sums = [[sum(map(operator.mul, row, cx_row)) for row in rows] for cx_row in cos_x]
        dc, ac, scale = 0.0, [], 0.0
        for cy in range(ny):
            cx = 0
            while cx * ny < nx * (ny - cy):
                f = sum(map(operator.mul, row_sums[cx], cos_y[cy])) / n
                if cx or cy:
                    ac.append(f)
                    scale = max(scale, abs(f))
                else:
                    dc = f
                cx += 1
        if scale:
            ac = [0.5 + 0.5 / scale * f for f in ac]
        return dc, ac, scale

    l_dc, l_ac, l_scale = encode_channel(lum, max(3, lx), max(3, ly))
    p_dc, p_ac, p_scale = encode_channel(pch, 3, 3)
    q_dc, q_ac, q_scale = encode_channel(qch, 3, 3)
    is_landscape = w > h
    header24 = (
        _round(63 * l_dc)
        | (_round(31.5 + 31.5 * p_dc) << 6)
        | (_round(31.5 + 31.5 * q_dc) << 12)
        | (_round(31 * l_scale) << 18)
        | (int(has_alpha) << 23)
    )
    header16 = (
        (ly if is_landscape else lx)
        | (_round(63 * p_scale) << 3)
        | (_round(63 * q_scale) << 9)
        | (int(is_landscape) << 15)
    )
    out = [header24 & 255, (header24 >> 8) & 255, header24 >> 16, header16 & 255, header16 >> 8]
    channels = [l_ac, p_ac, q_ac]
    if has_alpha:
        a_dc, a_ac, a_scale = encode_channel(alphas, 5, 5)
        out.append(_round(15 * a_dc) | (_round(15 * a_scale) << 4))
        channels.append(a_ac)
    start = len(out)
    values = [_round(15 * f) for ac in channels for f in ac]
    out.extend([0] * ((len(values) + 1) // 2))
    for i, v in enumerate(values):
        out[start + (i >> 1)] |= v << ((i & 1) << 2)
    return bytes(out)


# --------------------------------------------------------------------------- EXIF


def _read_exif(im: Image.Image) -> _Exif:
    """Orientation, camera and capture time; a damaged EXIF block just means no facts."""
    try:
        exif = im.getexif()
        orientation = _int(exif.get(_TAG_ORIENTATION))
        make = _text(exif.get(_TAG_MAKE))
        model = _text(exif.get(_TAG_MODEL))
        sub = exif.get_ifd(ExifTags.IFD.Exif)
    except Exception:  # EXIF comes from the uploader: any parse failure means "no EXIF"
        return _Exif()
    taken, zone = _taken(sub)
    lens = _text(sub.get(_TAG_LENS_MODEL))
    lens_make = _text(sub.get(_TAG_LENS_MAKE))
    if lens and lens_make and not lens.lower().startswith(lens_make.lower()):
        lens = f"{lens_make} {lens}"[:64]
    iso = _number(sub.get(_TAG_ISO), 1, 10_000_000)
    return _Exif(
        orientation=orientation if orientation in _TRANSPOSE else 1,
        make=make,
        model=model,
        taken_at=taken,
        taken_zone=zone,
        lens=lens,
        exposure_time=_number(sub.get(_TAG_EXPOSURE_TIME), 1e-6, 100_000),
        f_number=_number(sub.get(_TAG_F_NUMBER), 0.5, 1000),
        iso=round(iso) if iso is not None else None,
        focal_length=_number(sub.get(_TAG_FOCAL_LENGTH), 0.1, 100_000),
    )


def _number(value: object, low: float, high: float) -> float | None:
    """An EXIF rational or integer within [low, high] (a sequence: its first value); None
    for anything else (0/0, garbage, a value no camera writes)."""
    if isinstance(value, tuple | list):
        value = value[0] if value else None
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, ZeroDivisionError):
        return None
    if not math.isfinite(number) or not low <= number <= high:
        return None
    return round(number, 6)


def _int(value: object) -> int:
    try:
        return int(value)  # type: ignore[call-overload, no-any-return]
    except (TypeError, ValueError):
        return 1


def _text(value: object, limit: int = 64) -> str | None:
    if isinstance(value, bytes):
        value = value.decode("ascii", "ignore")
    if not isinstance(value, str):
        return None
    cleaned = "".join(ch for ch in value if ch.isprintable()).strip()
    return cleaned[:limit] or None


def _taken(sub: Mapping[int, Any]) -> tuple[dt.datetime | None, str | None]:
    """DateTimeOriginal (else DateTimeDigitized) and its zone: the offset of its own
    ``OffsetTime*`` tag, else of ``OffsetTime`` (the camera's zone when it wrote the file), else
    "local" (see :func:`_parse_taken`)."""
    for date_tag, offset_tag in (
        (_TAG_DATETIME_ORIGINAL, _TAG_OFFSET_TIME_ORIGINAL),
        (_TAG_DATETIME_DIGITIZED, _TAG_OFFSET_TIME_DIGITIZED),
    ):
        own = sub.get(offset_tag)
        offset = own if _parse_offset(own) is not None else sub.get(_TAG_OFFSET_TIME)
        taken = _parse_taken(sub.get(date_tag), offset)
        if taken is not None:
            zone = _parse_offset(offset)
            return taken, offset_name(zone.utcoffset(None)) if zone is not None else "local"
    return None, None


def _parse_offset(offset: object) -> dt.timezone | None:
    """An EXIF ``OffsetTime*`` value ("+02:00", "-0530") as a zone; None for anything else."""
    off = _text(offset)
    if off is None or (om := _OFFSET_RE.match(off)) is None:
        return None
    minutes = int(om.group(2)) * 60 + int(om.group(3))
    if minutes >= 24 * 60:
        return None
    sign = -1 if om.group(1) == "-" else 1
    return dt.timezone(sign * dt.timedelta(minutes=minutes))


def _parse_taken(value: object, offset: object) -> dt.datetime | None:
    """EXIF ``YYYY:MM:DD HH:MM:SS`` to an aware UTC datetime.

    With an offset (``OffsetTime*``) the local time is converted to UTC: the moment is known.
    Without one the time is the camera's wall clock in a zone nobody recorded: it is kept as
    written, labelled UTC, so it reads back as the camera showed it (the image's
    ``taken_at_zone`` metadata is then "local", and the UI shows it without converting it to
    the viewer's zone). Guessing a zone (the server's, the viewer's) would move it by hours.
    """
    text = _text(value)
    if text is None:
        return None
    m = _DATE_RE.match(text)
    if m is None:
        return None
    try:
        year, month, day, hour, minute, second = (int(g) for g in m.groups())
        naive = dt.datetime(year, month, day, hour, minute, second)
    except ValueError:  # "0000:00:00 00:00:00" and friends
        return None
    tz = _parse_offset(offset) or dt.UTC
    return naive.replace(tzinfo=tz).astimezone(dt.UTC)


METADATA_KEYS: Final[Mapping[str, str]] = {
    "format": "sniffed Pillow format name: JPEG, PNG, WEBP, GIF, AVIF, HEIF, TIFF",
    "camera_make": "EXIF Make",
    "camera_model": "EXIF Model",
    "lens": "EXIF LensModel (with LensMake when the model does not name it)",
    "exposure_time": "EXIF ExposureTime in seconds",
    "f_number": "EXIF FNumber",
    "iso": "EXIF ISOSpeedRatings (PhotographicSensitivity)",
    "focal_length": "EXIF FocalLength in millimetres",
    "orientation": "EXIF Orientation as found (1-8); the renditions are already upright",
    "taken_at_zone": "the capture time's zone: EXIF OffsetTimeOriginal (or OffsetTime) as "
    '"+02:00", or "local" when the file has none (taken_at is then the camera\'s wall clock, '
    "kept as written and labelled UTC); the UI shows taken_at at this offset",
    "animated": "present and true when a GIF, PNG (APNG), WebP or AVIF has several frames "
    "(the renditions are stills of the first); an MPO, multi-page TIFF or HEIF burst is not "
    "animated",
    "animated_rendition": "the name of the rendition that moves (the largest WebP one, every "
    "frame at its size), when the frames fit ANIMATION_PIXELS; absent: every rendition is a "
    "still",
}
"""The keys :class:`PillowMediaProcessor` may put in ``MediaInfo.metadata``; GPS never."""


# --------------------------------------------------------------------------- plugin


@hookimpl
def register_media_processors(register: Any) -> None:
    """Offer the Pillow processor as ``pillow`` (the default ``SALON_MEDIA``)."""
    register("pillow", PillowMediaProcessor.from_context)
