"""The data that flows through the live pipeline.

- :class:`DepthFrame`: one depth image from any source (camera, recording,
  folder, synthetic), with everything needed to interpret it.
- :class:`PoseResult`: what the inference worker makes of one frame.

Both are immutable after construction and may be handed between threads.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from livepose.camera import Intrinsics


@dataclass(frozen=True)
class DepthFrame:
    """One depth image.

    Attributes:
        depth: (H, W) uint16 (or float32) raw depth; 0 means no reading. Owned by the frame
            (sources copy out of SDK buffers), never written after construction.
        depth_unit_mm: millimetres per raw depth count (1.0 for most cameras, 0.125 for an SR305).
        intrinsics: the camera that took it (pixels, fy > 0, y down).
        frame_number: the source's frame counter (device number for cameras, index for files).
        t_device_ms: the device's timestamp in milliseconds (file time for recordings), or NaN if unknown.
        t_host_ms: host receive time, ``time.monotonic() * 1000`` when the source handed it over.
        source: a short description of where it came from (for logs and the HUD).
    """

    depth: np.ndarray
    depth_unit_mm: float
    intrinsics: Intrinsics
    frame_number: int
    t_device_ms: float
    t_host_ms: float
    source: str = ""

    def depth_mm(self) -> np.ndarray:
        """(H, W) float32 depth in millimetres (0 where there is no reading)."""
        depth = self.depth.astype(np.float32)
        if self.depth_unit_mm != 1.0:
            depth *= np.float32(self.depth_unit_mm)
        return depth


@dataclass(frozen=True)
class PoseResult:
    """The pose found in one frame (or why none was).

    Attributes:
        frame_number, t_device_ms, t_host_ms: copied from the frame.
        layout: joint layout name (``hand21``, ``nyu14``, ``itop15``...).
        found: False when no target was found; ``reason`` then says why.
        joints_mm: (J, 3) camera-frame millimetres (x right, y down, z forward), NaN when not found.
        joints_uvd: (J, 3) image u, v (px) and depth (mm), NaN when not found.
        confidence: (J,) in [0, 1], 0 when not found.
        anchor_weights: (A, J) softmax anchor weights of the crop, or None.
        crop_box: (x_min, y_min, x_max, y_max) of the crop in image pixels, or None.
        timings_ms: per-stage durations (``detect``, ``crop``, ``network``, ``uncrop``, ``total``) and
            ``latency`` (frame arrival to result).
        dropped: cumulative frames dropped per stage.
    """

    frame_number: int
    t_device_ms: float
    t_host_ms: float
    layout: str
    found: bool
    joints_mm: np.ndarray
    joints_uvd: np.ndarray
    confidence: np.ndarray
    anchor_weights: np.ndarray | None = None
    crop_box: tuple[float, float, float, float] | None = None
    reason: str = ""
    timings_ms: dict[str, float] = field(default_factory=dict)
    dropped: dict[str, int] = field(default_factory=dict)
