"""A PNG's size from its header, read before anything is decoded.

A damaged or hostile PNG can claim any size in its header (up to 2^31 x 2^31
pixels); decoding it would allocate that much. The readers of depth PNGs
(folders, sessions) check :func:`png_size` against the camera first and never
decode an image larger than :data:`MAX_PIXELS`. Pure functions, any thread.
"""

from __future__ import annotations

import struct
from pathlib import Path

SIGNATURE = b"\x89PNG\r\n\x1a\n"
MAX_PIXELS = 4096 * 4096
"""The largest depth image livepose decodes (16.7 million pixels, 32 MB of 16-bit depth)."""


def png_size(head: bytes) -> tuple[int, int] | None:
    """(width, height) from the first 24 bytes of a PNG, or None when ``head`` does not start a PNG."""
    if len(head) < 24 or head[:8] != SIGNATURE or head[12:16] != b"IHDR":
        return None
    width, height = struct.unpack(">II", head[16:24])
    return width, height


def png_file_size(path: str | Path) -> tuple[int, int] | None:
    """(width, height) of a PNG file from its header, or None when it is not a PNG (or cannot be read)."""
    try:
        with Path(path).open("rb") as handle:
            return png_size(handle.read(24))
    except OSError:
        return None
