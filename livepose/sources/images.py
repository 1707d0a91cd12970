"""A folder of depth PNGs played as a depth source.

The folder holds the frames (``*.png``, played in natural order: ``2.png``
before ``10.png``) and, unless another is named, a camera file ``camera.json``
-- a livepose calibration JSON with a ``camera`` entry (see
:mod:`livepose.calibration`); a shipped profile name such as ``sr305`` works
too. The camera's ``depth_unit_mm`` says what one PNG count means.

Encodings:

- ``uint16``: single-channel 16-bit PNGs holding raw depth counts.
- ``nyu_rgb``: 8-bit RGB PNGs in the NYU Hand Pose Dataset's encoding,
  ``depth = (G << 8) | B``.
- ``auto``: decided from the first image (16-bit grey: ``uint16``; 8-bit colour: ``nyu_rgb``).

A PNG that cannot be read further on ends the stream there with a warning
naming it (the frames before it play normally).
"""

from __future__ import annotations

import logging
import math
import re
import time
from pathlib import Path

import cv2
import numpy as np

from livepose.calibration import load_profile
from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.base import DepthSource
from livepose.sources.png import MAX_PIXELS, png_file_size
from livepose.types import DepthFrame

log = logging.getLogger(__name__)

ENCODINGS = ("uint16", "nyu_rgb", "auto")
CAMERA_FILE = "camera.json"


def natural_key(name: str) -> list:
    """Sort key that orders embedded numbers by value: ``frame2`` < ``frame10``."""
    return [(0, int(part), "") if part.isdigit() else (1, 0, part.lower())
            for part in re.split(r"(\d+)", name) if part]


def load_camera(camera: str | Path, what: str) -> Intrinsics:
    """Intrinsics from a calibration JSON file or a shipped profile name; ``what`` names the source in errors."""
    path = Path(camera).expanduser()
    if path.is_file() and path.suffix.lower() != ".json":
        raise LivePoseError(f"{what}: camera file {path} is not a .json calibration file "
                            "(expected a livepose calibration JSON with a 'camera' entry, or a profile name)")
    profile = load_profile(path if path.is_file() else str(camera))
    if profile.intrinsics is None:
        raise LivePoseError(f"{what}: camera file {profile.path} has no 'camera' entry "
                            "(expected fx, fy, cx, cy, width, height, depth_unit_mm)")
    return profile.intrinsics


class _Unusable(Exception):
    """An image that cannot be played (raised and caught inside this module): ``message`` names the file."""

    def __init__(self, message: str, wrong_size: bool = False) -> None:
        super().__init__(message)
        self.message, self.wrong_size = message, wrong_size


class ImageFolderSource(DepthSource):
    """Depth PNGs from a folder, in natural order, with a camera file.

    Args:
        folder: the folder of PNGs.
        camera_file: a calibration JSON or a shipped profile name (default: ``camera.json`` in the folder).
        encoding: ``"uint16"``, ``"nyu_rgb"`` or ``"auto"`` (see the module docstring).
        fps: hand frames out at this rate (``read()`` waits for each one's turn); None: as fast as they are read.
        loop: start again after the last image (frame numbers restart at 0).

    Frames: ``frame_number`` is the image's index in the sorted folder, ``t_device_ms``
    ``index * 1000 / fps`` (NaN without ``fps``). Errors about the folder or the camera file are raised here,
    in the constructor, so a bad folder fails before anything starts.
    """

    is_live = False

    def __init__(self, folder: str | Path, camera_file: str | Path | None = None, encoding: str = "uint16",
                 fps: float | None = None, loop: bool = False) -> None:
        super().__init__()
        self.folder = Path(folder).expanduser()
        if encoding not in ENCODINGS:
            raise LivePoseError(f"image encoding {encoding!r}: expected one of {', '.join(ENCODINGS)}")
        if fps is not None and not (math.isfinite(fps) and fps > 0):
            raise LivePoseError(f"{self.folder}: fps {fps!r}, expected a positive frame rate")
        if not self.folder.is_dir():
            raise LivePoseError(f"{self.folder}: no such folder (expected a folder of depth PNGs and a {CAMERA_FILE})")
        self.fps = fps
        self.loop = loop
        self.files = sorted((p for p in self.folder.iterdir() if p.suffix.lower() == ".png" and p.is_file()),
                            key=lambda p: natural_key(p.name))
        if not self.files:
            raise LivePoseError(f"{self.folder}: no depth images (expected *.png files, 16-bit depth or NYU RGB, "
                                f"and a {CAMERA_FILE})")
        if camera_file is None:
            default = self.folder / CAMERA_FILE
            if not default.is_file():
                raise LivePoseError(f"{self.folder}: no camera file (expected {CAMERA_FILE} in the folder: a livepose "
                                    "calibration JSON with a 'camera' entry; or pass a camera file or profile name "
                                    "such as sr305)")
            camera_file = default
        self._intrinsics = load_camera(camera_file, str(self.folder))
        self.camera_file = camera_file
        self.encoding = encoding
        try:
            first = self._load(self.files[0])
        except _Unusable as exc:
            if exc.wrong_size:
                raise LivePoseError(f"{self.folder}: {exc.message} (expected images of the camera's size)") from None
            raise LivePoseError(f"{self.folder}: first image {exc.message}") from None
        self._next = 0  # index of the next file to read
        self._first = first  # decoded already: reused for the first read
        self._ended = False
        self._started_s: float | None = None
        self._count = 0  # frames handed out (for pacing)

    # -- DepthSource -------------------------------------------------------------------------------------------
    def _open(self) -> None:
        """Nothing to acquire: the folder and camera file were checked by the constructor. (Also on
        ``reconnect()``: pacing starts again from the next image.)"""
        self._started_s = None
        self._count = 0

    def _close(self) -> None:
        self._first = None

    @property
    def description(self) -> str:
        return f"folder {self.folder.name or self.folder} ({len(self.files)} images)"

    @property
    def intrinsics(self) -> Intrinsics:
        return self._intrinsics

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        """The next image (waiting for its turn when ``fps`` is set), or None after the last one or when closed."""
        self._require_open()
        if self._closed.is_set() or self._ended:
            return None
        if self._next >= len(self.files):
            if not self.loop:
                self._ended = True
                return None
            self._next = 0
        index = self._next
        path = self.files[index]
        if index == 0 and self._first is not None:
            depth, self._first = self._first, None  # decoded by the constructor (later loops decode it again)
        else:
            try:
                depth = self._load(path)
            except _Unusable as exc:
                log.warning("%s: %s; stopping after %d of %d images", self.folder, exc.message, index,
                            len(self.files))
                self._ended = True
                return None
        self._next += 1
        if self.fps is not None:
            now = time.monotonic()
            if self._started_s is None:
                self._started_s = now
            delay = self._started_s + self._count / self.fps - now
            if delay > 0 and self._closed.wait(delay):
                return None
        self._count += 1
        t_device = index * 1000.0 / self.fps if self.fps else math.nan
        return DepthFrame(depth=depth, depth_unit_mm=self._intrinsics.depth_unit_mm, intrinsics=self._intrinsics,
                          frame_number=index, t_device_ms=t_device, t_host_ms=time.monotonic() * 1000.0,
                          source=self.description)

    # -- decoding ----------------------------------------------------------------------------------------------
    def _expected(self) -> str:
        if self.encoding == "nyu_rgb":
            return "expected an 8-bit RGB PNG in NYU's encoding"
        if self.encoding == "uint16":
            return "expected a single-channel 16-bit PNG"
        return "expected a single-channel 16-bit PNG or an 8-bit RGB PNG in NYU's encoding"

    def _load(self, path: Path) -> np.ndarray:
        """(H, W) uint16 depth of the camera's size; raises _Unusable (naming the file) otherwise.

        The PNG header is read first: a file that is not a PNG is not decoded at all, nor one whose header
        claims another size than the camera's, so a damaged header never makes OpenCV allocate a huge image.
        """
        size = png_file_size(path)
        if size is not None and size != (self._intrinsics.width, self._intrinsics.height):
            raise _Unusable(f"{path.name} is {size[0]}x{size[1]} but the camera file says "
                            f"{self._intrinsics.width}x{self._intrinsics.height}", wrong_size=True)
        depth = None if size is None or size[0] * size[1] > MAX_PIXELS else self._decode(path)
        if depth is None:
            raise _Unusable(f"{path.name} is not a readable depth PNG ({self._expected()})")
        if depth.shape != (self._intrinsics.height, self._intrinsics.width):  # the header lied
            raise _Unusable(f"{path.name} is {depth.shape[1]}x{depth.shape[0]} but the camera file says "
                            f"{self._intrinsics.width}x{self._intrinsics.height}", wrong_size=True)
        return depth

    def _decode(self, path: Path) -> np.ndarray | None:
        """(H, W) uint16 depth, or None when the file cannot be read in this encoding."""
        try:
            image = cv2.imread(str(path), cv2.IMREAD_UNCHANGED)
        except cv2.error:
            image = None
        if image is None:
            return None
        encoding = self.encoding
        if encoding == "auto":
            if image.ndim == 2 and image.dtype == np.uint16:
                encoding = "uint16"
            elif image.ndim == 3 and image.shape[2] >= 3 and image.dtype == np.uint8:
                encoding = "nyu_rgb"
                log.info("%s: reading 8-bit colour PNGs as NYU-encoded depth ((G << 8) | B)", self.folder)
            else:
                return None
            self.encoding = encoding  # the first image decides for the whole folder
        if encoding == "uint16":
            if image.ndim != 2 or image.dtype != np.uint16:
                return None
            return np.ascontiguousarray(image)
        # nyu_rgb: OpenCV gives BGR(A): channel 0 is B, channel 1 is G.
        if image.ndim != 3 or image.shape[2] < 3 or image.dtype != np.uint8:
            return None
        return (image[:, :, 1].astype(np.uint16) << 8) | image[:, :, 0].astype(np.uint16)
