"""Reading depth images from disk.

Two encodings are understood:

- ``"uint16"``: a single-channel 16-bit PNG holding raw depth counts (HANDS2017 / BigHand, ICVL,
  RealSense recordings, ...). Multiply by the camera's ``depth_unit_mm`` to get millimetres
  (1.0 for most cameras, 0.125 for an SR305).
- ``"nyu_rgb"``: the NYU Hand Pose Dataset's 8-bit colour PNGs, where
  ``depth_mm = (G << 8) | B`` and R is unused.

Both return an (H, W) ``uint16`` array of raw counts, 0 meaning "no reading". Errors are raised as
:class:`~livepose.errors.LivePoseError` with a one-line message that names the file and says what
was expected. The functions are pure and safe to call from any thread.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from livepose.errors import LivePoseError

#: The encodings :func:`read_depth_png` understands, with what each expects on disk.
ENCODINGS: dict[str, str] = {
    "uint16": "a single-channel 16-bit depth PNG",
    "nyu_rgb": "an 8-bit colour PNG in NYU's encoding (depth_mm = (G << 8) | B)",
}


def read_depth_png(path: str | Path, encoding: str = "uint16") -> np.ndarray:
    """Read one depth image.

    Args:
        path: the image file (PNG, or any lossless format OpenCV reads with the same layout).
        encoding: ``"uint16"`` or ``"nyu_rgb"`` (see the module docstring).

    Returns:
        (H, W) uint16 raw depth counts (millimetres for NYU; the camera's depth unit for uint16
        files), 0 where there is no reading. A new array owned by the caller.

    Raises:
        LivePoseError: unknown encoding; missing, unreadable or non-image file; or an image of the
            wrong kind for the encoding (bit depth or channel count).
    """
    if encoding not in ENCODINGS:
        raise LivePoseError(f"depth encoding {encoding!r}: expected one of {', '.join(map(repr, ENCODINGS))}")
    expected = ENCODINGS[encoding]
    path = Path(path)
    try:
        # Read the bytes ourselves so that paths OpenCV cannot open (non-ASCII on Windows) still work
        # and so that a missing file is told apart from an undecodable one.
        data = path.read_bytes()
    except FileNotFoundError:
        raise LivePoseError(f"{path}: no such file (expected {expected})") from None
    except IsADirectoryError:
        raise LivePoseError(f"{path}: is a folder (expected {expected})") from None
    except OSError as exc:
        raise LivePoseError(f"{path}: cannot be read ({exc.strerror or exc}); expected {expected}") from None
    image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_UNCHANGED) if data else None
    if image is None:
        raise LivePoseError(f"{path}: not a readable image (expected {expected})")
    if encoding == "uint16":
        return _as_uint16_depth(image, path, expected)
    return _decode_nyu(image, path, expected)


def _describe(image: np.ndarray) -> str:
    channels = 1 if image.ndim == 2 else image.shape[2]
    bits = {np.dtype(np.uint8): "8-bit", np.dtype(np.uint16): "16-bit"}.get(image.dtype, str(image.dtype))
    return f"a {bits} image with {channels} channel{'s' if channels != 1 else ''}"


def _as_uint16_depth(image: np.ndarray, path: Path, expected: str) -> np.ndarray:
    if image.ndim == 3 and image.shape[2] == 1:
        image = image[:, :, 0]
    if image.ndim != 2 or image.dtype != np.uint16:
        hint = " (use encoding 'nyu_rgb' for NYU colour-encoded depth)" if image.ndim == 3 else ""
        raise LivePoseError(f"{path}: {_describe(image)}, expected {expected}{hint}")
    return np.ascontiguousarray(image)


def _decode_nyu(image: np.ndarray, path: Path, expected: str) -> np.ndarray:
    if image.ndim != 3 or image.shape[2] not in (3, 4) or image.dtype != np.uint8:
        raise LivePoseError(f"{path}: {_describe(image)}, expected {expected}")
    # OpenCV returns BGR(A): channel 0 is blue (low byte), channel 1 is green (high byte).
    return (image[:, :, 1].astype(np.uint16) << 8) | image[:, :, 0].astype(np.uint16)
