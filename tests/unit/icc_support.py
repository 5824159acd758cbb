"""ICC profiles built here from the published definitions of each colour space, so the colour
tests need no profile files (and carry no third-party profile or its licence).

RGB spaces are matrix/TRC profiles (ICC v2, PCS XYZ): the primaries, adapted to the ICC's D50
with the Bradford transform, and each space's transfer curve. The CMYK profile is a lut16
(``mft2``) A2B0 table from CMYK to Lab with a 2-point grid: each corner (every ink at 0 or
100%) is given a Lab colour, which LittleCMS interpolates between, so a pure ink lands exactly
on its corner. The expected sRGB values are computed with the formulas in this file, not by
LittleCMS.
"""

from __future__ import annotations

import struct
from collections.abc import Sequence
from dataclasses import dataclass
from itertools import product

Matrix = tuple[tuple[float, float, float], ...]

D50 = (0.9642, 1.0, 0.8249)
D65 = (0.95047, 1.0, 1.08883)
_BRADFORD: Matrix = (
    (0.8951, 0.2664, -0.1614),
    (-0.7502, 1.7135, 0.0367),
    (0.0389, -0.0685, 1.0296),
)


def _mul(m: Matrix, v: Sequence[float]) -> tuple[float, float, float]:
    return (
        m[0][0] * v[0] + m[0][1] * v[1] + m[0][2] * v[2],
        m[1][0] * v[0] + m[1][1] * v[1] + m[1][2] * v[2],
        m[2][0] * v[0] + m[2][1] * v[1] + m[2][2] * v[2],
    )


def _matmul(a: Matrix, b: Matrix) -> Matrix:
    cols = list(zip(*b, strict=True))
    return tuple(
        tuple(sum(x * y for x, y in zip(row, col, strict=True)) for col in cols) for row in a
    )


def _inverse(m: Matrix) -> Matrix:
    (a, b, c), (d, e, f), (g, h, i) = m
    det = a * (e * i - f * h) - b * (d * i - f * g) + c * (d * h - e * g)
    return (
        ((e * i - f * h) / det, (c * h - b * i) / det, (b * f - c * e) / det),
        ((f * g - d * i) / det, (a * i - c * g) / det, (c * d - a * f) / det),
        ((d * h - e * g) / det, (b * g - a * h) / det, (a * e - b * d) / det),
    )


def _adaptation(source: Sequence[float], target: Sequence[float]) -> Matrix:
    """Bradford chromatic adaptation from white ``source`` to white ``target``."""
    s, t = _mul(_BRADFORD, source), _mul(_BRADFORD, target)
    scale: Matrix = ((t[0] / s[0], 0, 0), (0, t[1] / s[1], 0), (0, 0, t[2] / s[2]))
    return _matmul(_inverse(_BRADFORD), _matmul(scale, _BRADFORD))


def _rgb_to_xyz(primaries: Sequence[tuple[float, float]], white: Sequence[float]) -> Matrix:
    """The RGB -> XYZ matrix of chromaticities ``primaries`` (xy) and ``white`` (XYZ)."""
    columns = [(x / y, 1.0, (1 - x - y) / y) for x, y in primaries]
    m: Matrix = tuple(tuple(col[r] for col in columns) for r in range(3))
    s = _mul(_inverse(m), white)
    return tuple(tuple(m[r][c] * s[c] for c in range(3)) for r in range(3))


@dataclass(frozen=True)
class RgbSpace:
    name: str
    primaries: tuple[tuple[float, float], ...]
    white: tuple[float, float, float]
    # gamma, or the sRGB-style piecewise curve when None
    gamma: float | None

    def decode(self, v: float) -> float:
        if self.gamma is not None:
            return v**self.gamma
        return v / 12.92 if v <= 0.04045 else ((v + 0.055) / 1.055) ** 2.4

    def to_d50(self) -> Matrix:
        """Linear RGB -> XYZ (D50): the colorants an ICC profile carries."""
        return _matmul(_adaptation(self.white, D50), _rgb_to_xyz(self.primaries, self.white))


ADOBE_RGB = RgbSpace("Adobe RGB (1998)", ((0.64, 0.33), (0.21, 0.71), (0.15, 0.06)), D65, 563 / 256)
DISPLAY_P3 = RgbSpace("Display P3", ((0.68, 0.32), (0.265, 0.69), (0.15, 0.06)), D65, None)
PROPHOTO = RgbSpace(
    "ProPhoto RGB (ROMM)",
    ((0.7347, 0.2653), (0.1596, 0.8404), (0.0366, 0.0001)),
    D50,
    1.8,
)
SRGB = RgbSpace("sRGB", ((0.64, 0.33), (0.30, 0.60), (0.15, 0.06)), D65, None)


def _s15(v: float) -> bytes:
    return struct.pack(">i", round(v * 65536))


def _xyz_tag(xyz: Sequence[float]) -> bytes:
    return b"XYZ \0\0\0\0" + b"".join(_s15(v) for v in xyz)


def _desc_tag(text: str) -> bytes:
    ascii_ = text.encode("ascii") + b"\0"
    return (
        b"desc\0\0\0\0"
        + struct.pack(">I", len(ascii_))
        + ascii_
        + struct.pack(">II", 0, 0)  # no Unicode description
        + struct.pack(">HB", 0, 0)
        + bytes(67)  # no ScriptCode description
    )


def _text_tag(text: str) -> bytes:
    return b"text\0\0\0\0" + text.encode("ascii") + b"\0"


def _curve_tag(space: RgbSpace) -> bytes:
    if space.gamma is not None:
        return b"curv\0\0\0\0" + struct.pack(">IH", 1, round(space.gamma * 256)) + b"\0\0"
    # parametric type 3: Y = (aX + b)^g for X >= d, else cX (the sRGB curve)
    params = (2.4, 1 / 1.055, 0.055 / 1.055, 1 / 12.92, 0.04045)
    return b"para\0\0\0\0" + struct.pack(">HH", 3, 0) + b"".join(_s15(p) for p in params)


def _profile(
    device_class: bytes, space: bytes, pcs: bytes, tags: list[tuple[bytes, bytes]]
) -> bytes:
    table = struct.pack(">I", len(tags))
    offset = 128 + 4 + 12 * len(tags)
    data = b""
    for signature, body in tags:
        table += signature + struct.pack(">II", offset + len(data), len(body))
        data += body + bytes(-len(body) % 4)
    size = offset + len(data)
    header = (
        struct.pack(">I", size)
        + b"lcms"
        + struct.pack(">I", 0x02100000)
        + device_class
        + space
        + pcs
        + struct.pack(">6H", 2026, 1, 1, 0, 0, 0)
        + b"acsp"
        + bytes(4 + 4 + 4 + 4 + 8)  # platform, flags, manufacturer, model, attributes
        + struct.pack(">I", 0)  # perceptual
        + b"".join(_s15(v) for v in D50)
        + bytes(4 + 16 + 28)  # creator, profile id, reserved
    )
    assert len(header) == 128
    return header + table + data


def rgb_profile(space: RgbSpace) -> bytes:
    """A matrix/TRC display profile of ``space``."""
    m = space.to_d50()
    curve = _curve_tag(space)
    return _profile(
        b"mntr",
        b"RGB ",
        b"XYZ ",
        [
            (b"desc", _desc_tag(space.name + " (test profile)")),
            (b"cprt", _text_tag("No copyright, generated for Salon's tests")),
            (b"wtpt", _xyz_tag(D50)),
            (b"rXYZ", _xyz_tag([m[0][0], m[1][0], m[2][0]])),
            (b"gXYZ", _xyz_tag([m[0][1], m[1][1], m[2][1]])),
            (b"bXYZ", _xyz_tag([m[0][2], m[1][2], m[2][2]])),
            (b"rTRC", curve),
            (b"gTRC", curve),
            (b"bTRC", curve),
        ],
    )


# --------------------------------------------------------------------------- colour maths


def srgb_from_xyz_d50(xyz: Sequence[float]) -> tuple[int, int, int]:
    """XYZ (D50, Y of white = 1) to 8-bit sRGB, clipped."""
    to_srgb = _inverse(SRGB.to_d50())
    out = []
    for v in _mul(to_srgb, xyz):
        v = min(1.0, max(0.0, v))
        encoded = v * 12.92 if v <= 0.0031308 else 1.055 * v ** (1 / 2.4) - 0.055
        out.append(round(encoded * 255))
    return out[0], out[1], out[2]


def expected_srgb(space: RgbSpace, rgb: Sequence[int]) -> tuple[int, int, int]:
    """Where 8-bit ``rgb`` in ``space`` lands in sRGB (relative colorimetric)."""
    linear = [space.decode(v / 255) for v in rgb]
    return srgb_from_xyz_d50(_mul(space.to_d50(), linear))


def _lab(xyz: Sequence[float]) -> tuple[float, float, float]:
    def f(t: float) -> float:
        return t ** (1 / 3) if t > (6 / 29) ** 3 else t / (3 * (6 / 29) ** 2) + 4 / 29

    fx, fy, fz = (f(v / w) for v, w in zip(xyz, D50, strict=True))
    return 116 * fy - 16, 500 * (fx - fy), 200 * (fy - fz)


def _xyz_d50_of_srgb(rgb: Sequence[int]) -> tuple[float, float, float]:
    return _mul(SRGB.to_d50(), [SRGB.decode(v / 255) for v in rgb])


# Inks as the sRGB colour each prints alone on white paper (roughly a coated stock's).
INKS: dict[str, tuple[int, int, int]] = {
    "C": (0, 158, 224),
    "M": (226, 0, 122),
    "Y": (255, 237, 0),
    "K": (35, 31, 32),
}


def cmyk_corner_srgb(
    c: int, m: int, y: int, k: int, inks: dict[str, tuple[int, int, int]] = INKS
) -> tuple[float, float, float]:
    """The colour of a corner of the grid (each ink 0 or 1): the inks' linear reflectances
    multiplied, as overprinted inks do."""
    out = [1.0, 1.0, 1.0]
    for ink, on in zip("CMYK", (c, m, y, k), strict=True):
        if on:
            for i, v in enumerate(inks[ink]):
                out[i] *= SRGB.decode(v / 255)
    return out[0], out[1], out[2]


def cmyk_profile(inks: dict[str, tuple[int, int, int]] = INKS) -> bytes:
    """An output profile whose A2B0 maps CMYK to Lab through the corners of
    :func:`cmyk_corner_srgb` (enough for LittleCMS to read CMYK images with it)."""
    grid = 2
    clut = b""
    for corner in product(range(grid), repeat=4):  # the first channel (C) varies slowest
        linear = cmyk_corner_srgb(*corner, inks=inks)
        lab = _lab(_mul(SRGB.to_d50(), linear))
        # ICC v2 16-bit Lab: L 0..100 -> 0..0xFF00, a/b -128..128 -> 0..0xFFFF (0 at 0x8000)
        encoded = (
            round(lab[0] * 0xFF00 / 100),
            round((lab[1] + 128) * 256),
            round((lab[2] + 128) * 256),
        )
        clut += struct.pack(">3H", *(min(0xFFFF, max(0, v)) for v in encoded))
    identity = b"".join(_s15(v) for v in (1, 0, 0, 0, 1, 0, 0, 0, 1))
    lut = (
        b"mft2\0\0\0\0"
        + struct.pack(">BBBB", 4, 3, grid, 0)
        + identity
        + struct.pack(">HH", 2, 2)
        + struct.pack(">2H", 0, 0xFFFF) * 4
        + clut
        + struct.pack(">2H", 0, 0xFFFF) * 3
    )
    return _profile(
        b"prtr",
        b"CMYK",
        b"Lab ",
        [
            (b"desc", _desc_tag("Salon test CMYK (test profile)")),
            (b"cprt", _text_tag("No copyright, generated for Salon's tests")),
            (b"wtpt", _xyz_tag(D50)),
            (b"A2B0", lut),
        ],
    )


def expected_cmyk_corner(
    corner: Sequence[int], inks: dict[str, tuple[int, int, int]] = INKS
) -> tuple[int, int, int]:
    """Where a pure corner of :func:`cmyk_profile` with ``inks`` lands in sRGB."""
    c, m, y, k = corner
    return srgb_from_xyz_d50(_mul(SRGB.to_d50(), cmyk_corner_srgb(c, m, y, k, inks)))
