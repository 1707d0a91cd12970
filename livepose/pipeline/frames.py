"""Checking a frame before the detector and the network see it.

:func:`check_frame` turns a :class:`~livepose.types.DepthFrame` from any source
into (H, W) float32 millimetres that the detector can use, or says in one
short phrase why the frame cannot be used: not a frame, no camera intrinsics,
a depth array of the wrong shape or dtype, a size that does not match the
camera, a nonsensical depth unit, no pixel with a usable depth (all zero, all
NaN / negative, all beyond :data:`MAX_DEPTH_MM`). Usable frames keep their
depths; pixels that are NaN, infinite, negative or beyond
:data:`MAX_DEPTH_MM` become 0 ("no reading").

Pure functions, any thread.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from livepose.camera import Intrinsics
from livepose.types import DepthFrame

MAX_DEPTH_MM = 30_000.0
"""Depths beyond this (30 m: further than any depth camera measures) are treated as no reading."""

MAX_PIXELS = 4096 * 4096
"""Frames larger than this are refused (no depth camera comes near; a damaged header could claim anything)."""


@dataclass(frozen=True)
class FrameFields:
    """The bookkeeping fields of a frame, made safe for a result even when the frame is damaged."""

    frame_number: int
    t_device_ms: float
    t_host_ms: float


@dataclass(frozen=True)
class CheckedFrame:
    """What :func:`check_frame` found: ``depth_mm`` ((H, W) float32 mm) and ``intrinsics``, or a ``reason``."""

    fields: FrameFields
    depth_mm: np.ndarray | None = None
    intrinsics: Intrinsics | None = None
    reason: str = ""

    @property
    def usable(self) -> bool:
        return self.depth_mm is not None


def _number(value: object, default: float) -> float:
    try:
        number = float(value)  # type: ignore[arg-type]
    except (TypeError, ValueError, OverflowError):
        return default
    return number


def frame_fields(frame: object) -> FrameFields:
    """``frame_number``, ``t_device_ms``, ``t_host_ms`` of anything frame-like (-1 / NaN where unusable)."""
    number = getattr(frame, "frame_number", -1)
    try:
        number = int(number) if not isinstance(number, bool) else -1
    except (TypeError, ValueError, OverflowError):
        number = -1
    return FrameFields(number, _number(getattr(frame, "t_device_ms", math.nan), math.nan),
                       _number(getattr(frame, "t_host_ms", math.nan), math.nan))


def check_frame(frame: object, max_depth_mm: float = MAX_DEPTH_MM) -> CheckedFrame:
    """The frame's depth in millimetres, cleaned, or why it cannot be used (see the module docstring)."""
    fields = frame_fields(frame)
    if not isinstance(frame, DepthFrame):
        return CheckedFrame(fields, reason=f"not a depth frame (a {type(frame).__name__})")
    intrinsics = frame.intrinsics
    if not isinstance(intrinsics, Intrinsics):
        return CheckedFrame(fields, reason="no camera intrinsics")
    depth = frame.depth
    if not isinstance(depth, np.ndarray):
        return CheckedFrame(fields, reason=f"depth is a {type(depth).__name__}, expected an (H, W) array")
    if depth.ndim == 3 and depth.shape[2] == 1:
        depth = depth[:, :, 0]
    if depth.ndim != 2:
        return CheckedFrame(fields, reason=f"depth of shape {depth.shape}, expected (H, W)")
    if depth.dtype.kind not in "uif" or depth.dtype.itemsize > 8:
        return CheckedFrame(fields, reason=f"depth of dtype {depth.dtype}, expected integer or float depths")
    height, width = depth.shape
    if depth.size == 0 or depth.size > MAX_PIXELS:
        return CheckedFrame(fields, reason=f"depth of {width}x{height} pixels, expected 1 to {MAX_PIXELS}")
    if (width, height) != (int(intrinsics.width), int(intrinsics.height)):
        return CheckedFrame(fields, reason=f"depth is {width}x{height} but the camera is "
                                           f"{intrinsics.width}x{intrinsics.height}")
    unit = _number(frame.depth_unit_mm, math.nan)
    if not (math.isfinite(unit) and unit > 0):
        return CheckedFrame(fields, reason=f"depth unit {frame.depth_unit_mm!r} mm, expected a positive number")
    with np.errstate(invalid="ignore", over="ignore"):
        depth_mm = depth.astype(np.float32)
        if unit != 1.0:
            depth_mm *= np.float32(unit)
        valid = (depth_mm > 0) & (depth_mm <= max_depth_mm)  # NaN compares False: invalid too
    count = int(np.count_nonzero(valid))
    if count == 0:
        if not np.any(depth):
            return CheckedFrame(fields, reason="no depth reading (every pixel is 0)")
        return CheckedFrame(fields, reason=f"no usable depth (every pixel is 0, NaN, negative or beyond "
                                           f"{max_depth_mm / 1000:g} m)")
    if count != np.count_nonzero(depth_mm):  # some pixels are NaN, negative or too far (not just 0)
        np.copyto(depth_mm, np.float32(0), where=~valid)
    return CheckedFrame(fields, depth_mm=depth_mm, intrinsics=intrinsics)
