"""The app's two icons, drawn by code so they can be rebuilt: `python -m manifest.icons` rewrites them.

Teams wants a full-colour 192x192 PNG (`color.png`) and a 32x32 PNG outline (`outline.png`) that is
white (#FFFFFF) on a transparent background. The motif is two peers side by side, one slightly in
front of the other with a gap between them. Shapes are tested at 4x4 points per pixel; the share of
points inside gives the anti-aliased edge (a blend into the background on the colour icon, the alpha
of a white pixel on the outline). Pure Python and zlib: no imaging library, and the same pixels on
every machine.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

ACCENT = "#2F6F73"  # the colour icon's background, and the manifest's default accentColor
COLOR_SIZE = 192
OUTLINE_SIZE = 32
HERE = Path(__file__).resolve().parent
COLOR_FILE = HERE / "color.png"
OUTLINE_FILE = HERE / "outline.png"

_SAMPLES = 4  # per axis, per pixel
_GAP = 0.05  # the space kept between the two figures, in motif units
Shape = Callable[[float, float], bool]


def _person(cx: float, head_y: float, head_r: float, body_y: float, rx: float, ry: float) -> Shape:
    """A head (disc) above shoulders (the upper half of an ellipse whose centre is `body_y`)."""

    def inside(x: float, y: float) -> bool:
        if (x - cx) ** 2 + (y - head_y) ** 2 <= head_r**2:
            return True
        return y <= body_y and ((x - cx) / rx) ** 2 + ((y - body_y) / ry) ** 2 <= 1.0

    return inside


# The motif in a unit square (x right, y down): the peer on the right stands in front.
_FRONT = _person(0.63, 0.36, 0.145, 0.94, 0.29, 0.33)
_FRONT_WITH_GAP = _person(0.63, 0.36, 0.145 + _GAP, 0.94 + _GAP, 0.29 + _GAP, 0.33 + _GAP)
_BACK = _person(0.34, 0.23, 0.13, 0.80, 0.25, 0.29)


def motif(x: float, y: float) -> bool:
    """Whether a point of the unit square is ink: both peers, the one behind cut back by the gap."""
    if not (0.0 <= x <= 1.0 and 0.0 <= y <= 1.0):
        return False
    return _FRONT(x, y) or (_BACK(x, y) and not _FRONT_WITH_GAP(x, y))


def coverage(size: int, inset: float, shape: Shape = motif) -> list[list[float]]:
    """Per pixel of a size x size canvas, the share of it inside `shape`, drawn `inset` px from the edge."""
    scale = size - 2 * inset
    rows: list[list[float]] = []
    for py in range(size):
        row: list[float] = []
        for px in range(size):
            hits = 0
            for sy in range(_SAMPLES):
                for sx in range(_SAMPLES):
                    x = (px + (sx + 0.5) / _SAMPLES - inset) / scale
                    y = (py + (sy + 0.5) / _SAMPLES - inset) / scale
                    hits += shape(x, y)
            row.append(hits / _SAMPLES**2)
        rows.append(row)
    return rows


def _rgb(colour: str) -> tuple[int, int, int]:
    value = int(colour.removeprefix("#"), 16)
    return value >> 16, (value >> 8) & 0xFF, value & 0xFF


def png(width: int, height: int, pixels: list[bytes], channels: int) -> bytes:
    """A PNG of 8-bit RGB (3 channels) or RGBA (4) rows, each row `width * channels` bytes."""
    if len(pixels) != height or any(len(row) != width * channels for row in pixels):
        raise ValueError("pixel rows do not match the image size")
    colour_type = {3: 2, 4: 6}[channels]

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, colour_type, 0, 0, 0)
    raw = b"".join(b"\x00" + row for row in pixels)  # filter type 0 (none) on every row
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(raw, 9))
        + chunk(b"IEND", b"")
    )


def color_icon() -> bytes:
    """192x192, opaque: the motif in white on the accent colour, inside the central 120x120."""
    background = _rgb(ACCENT)
    rows = []
    for row in coverage(COLOR_SIZE, inset=36):
        line = bytearray()
        for ink in row:
            line += bytes(round(channel + (255 - channel) * ink) for channel in background)
        rows.append(bytes(line))
    return png(COLOR_SIZE, COLOR_SIZE, rows, channels=3)


def outline_icon() -> bytes:
    """32x32: white pixels whose alpha is the motif's coverage, fully transparent elsewhere."""
    rows = [
        b"".join(bytes((255, 255, 255, round(255 * ink))) for ink in row)
        for row in coverage(OUTLINE_SIZE, inset=1)
    ]
    return png(OUTLINE_SIZE, OUTLINE_SIZE, rows, channels=4)


def main() -> None:
    """Rewrite manifest/color.png and manifest/outline.png."""
    COLOR_FILE.write_bytes(color_icon())
    OUTLINE_FILE.write_bytes(outline_icon())
    print(f"wrote {COLOR_FILE} and {OUTLINE_FILE}")


if __name__ == "__main__":
    main()
