"""Azure Kinect depth through pyk4a (the optional ``kinect`` extra).

pyk4a and the Azure Kinect Sensor SDK (libk4a) are not part of the default
install; they are imported when a :class:`KinectSource` is made (not when this
module is), and their absence is a one-line LivePoseError saying what to install.

The depth camera runs in NFOV unbinned mode (640x576, millimetres), colour
off. Intrinsics come from the device's factory calibration.
"""

from __future__ import annotations

import threading
import time

import numpy as np

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.base import NO_FRAMES_S, POLL_S, DepthSource
from livepose.types import DepthFrame

INSTALL_HINT = ("pip install livepose[kinect] (pyk4a), and install Microsoft's Azure Kinect Sensor SDK (libk4a) "
                "for your system")
NFOV_UNBINNED_SIZE = (640, 576)


def import_pyk4a():
    """The pyk4a module, or a LivePoseError saying how to install it."""
    try:
        import pyk4a
    except (ImportError, OSError) as exc:  # OSError: pyk4a present but libk4a missing
        raise LivePoseError(f"the Azure Kinect source needs pyk4a and the Azure Kinect SDK ({exc}); "
                            f"{INSTALL_HINT}") from None
    return pyk4a


class KinectSource(DepthSource):
    """A live Azure Kinect's depth stream.

    Args:
        device_id: which connected Kinect (0: the first).
        fps: 5, 15 or 30.

    Frames: ``frame_number`` counts captures from 0, ``t_device_ms`` is the device timestamp, depth is in mm.
    """

    is_live = True
    is_device = True

    def __init__(self, device_id: int = 0, fps: int = 30) -> None:
        super().__init__()
        if int(fps) not in (5, 15, 30):
            raise LivePoseError(f"Azure Kinect: fps {fps!r}, expected 5, 15 or 30")
        self.device_id = int(device_id)
        self.fps = int(fps)
        self._pyk4a = import_pyk4a()  # fail early, before anything else starts
        self._k4a = None
        self._intrinsics: Intrinsics | None = None
        self._sdk_lock = threading.Lock()
        self._count = 0
        self._last_frame_s = 0.0

    @property
    def description(self) -> str:
        return f"Azure Kinect {self.device_id}"

    @property
    def intrinsics(self) -> Intrinsics:
        if self._intrinsics is None:
            raise RuntimeError(f"{self.description}: intrinsics are known once the source is open")
        return self._intrinsics

    def _open(self) -> None:
        pyk4a = self._pyk4a
        if pyk4a.connected_device_count() <= self.device_id:
            raise LivePoseError("no Azure Kinect connected" if self.device_id == 0
                                else f"Azure Kinect {self.device_id}: not connected")
        config = pyk4a.Config(color_resolution=pyk4a.ColorResolution.OFF, depth_mode=pyk4a.DepthMode.NFOV_UNBINNED,
                              camera_fps={5: pyk4a.FPS.FPS_5, 15: pyk4a.FPS.FPS_15, 30: pyk4a.FPS.FPS_30}[self.fps],
                              synchronized_images_only=False)
        k4a = pyk4a.PyK4A(config, device_id=self.device_id)
        try:
            k4a.start()
        except pyk4a.K4AException as exc:
            raise LivePoseError(f"{self.description}: cannot start the depth camera ({exc or 'device busy?'})") \
                from None
        self._k4a = k4a
        try:
            matrix = k4a.calibration.get_camera_matrix(pyk4a.CalibrationType.DEPTH)
            width, height = NFOV_UNBINNED_SIZE
            self._intrinsics = Intrinsics(fx=float(matrix[0, 0]), fy=float(matrix[1, 1]), cx=float(matrix[0, 2]),
                                          cy=float(matrix[1, 2]), width=width, height=height, depth_unit_mm=1.0)
        except Exception:
            self._close()
            raise
        self._last_frame_s = time.monotonic()

    def _close(self) -> None:
        with self._sdk_lock:
            if self._k4a is not None:
                try:
                    self._k4a.stop()
                finally:
                    self._k4a = None

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        """The next depth image, or None when none came within ``timeout_s`` (None: wait) or once closed."""
        self._require_open()
        pyk4a = self._pyk4a
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        while not self._closed.is_set():
            wait = POLL_S if deadline is None else min(POLL_S, max(deadline - time.monotonic(), 0.001))
            capture = None
            with self._sdk_lock:
                if self._k4a is None:
                    return None
                try:
                    capture = self._k4a.get_capture(timeout=max(int(wait * 1000), 1))
                except pyk4a.K4ATimeoutException:
                    capture = None
                except pyk4a.K4AException as exc:
                    raise LivePoseError(f"{self.description}: capture failed ({exc or 'device lost?'})") from None
            now = time.monotonic()
            depth = None if capture is None else capture.depth
            if depth is not None:
                self._last_frame_s = now
                number = self._count
                self._count += 1
                return DepthFrame(depth=np.array(depth, dtype=np.uint16, copy=True), depth_unit_mm=1.0,
                                  intrinsics=self.intrinsics, frame_number=number,
                                  t_device_ms=capture.depth_timestamp_usec / 1000.0,
                                  t_host_ms=now * 1000.0, source=self.description)
            if now - self._last_frame_s > NO_FRAMES_S:
                raise LivePoseError(f"{self.description}: no depth image for {NO_FRAMES_S:.0f} s (unplugged?)")
            if deadline is not None and now >= deadline:
                return None
        return None
