"""Write RealSense recordings without a camera, through pyrealsense2's software device.

:func:`write_software_device_recording` feeds given depth images to an
``rs.software_device`` (one depth sensor, one z16 stream with the given
intrinsics and a ``depth_units`` option) wrapped in an ``rs.recorder``, so the
file is written by the SDK itself and plays back like a camera's recording.
Used by the tests and for demo recordings.

pyrealsense2 2.59 records ``.db3`` files only; see :mod:`livepose.sources.realsense`
for what was learnt about its recordings. The file's playback timeline is the
host time at which each frame reached the recorder, so ``pace=True`` feeds
frames at ``fps`` for a file that plays back at the right speed in real-time
mode; by default frames are fed as fast as possible (the frames' own
timestamps, ``i * 1000 / fps`` ms, are recorded either way).
"""

from __future__ import annotations

import gc
import threading
import time
from collections.abc import Iterable
from pathlib import Path

import numpy as np

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.realsense import import_pyrealsense2

DEVICE_NAME = "livepose software device"


def write_software_device_recording(path: str | Path, frames: Iterable[np.ndarray], intrinsics: Intrinsics,
                                    depth_unit_mm: float | None = None, fps: int = 30, *, pace: bool = False,
                                    first_frame_number: int = 0, serial: str = "000000000000") -> Path:
    """Record ``frames`` ((H, W) uint16 depth images) as a RealSense recording at ``path``; returns the path.

    Args:
        path: the file to write (``.db3`` for pyrealsense2 2.59; an existing file is replaced).
        frames: the depth images, each (intrinsics.height, intrinsics.width) uint16, in order.
        intrinsics: the camera to record (no distortion).
        depth_unit_mm: millimetres per depth count (default: ``intrinsics.depth_unit_mm``), recorded as the
            depth sensor's depth scale.
        fps: the stream's nominal frame rate; frame ``i`` gets timestamp ``i * 1000 / fps`` ms.
        pace: feed the frames at ``fps`` (see the module docstring).
        first_frame_number: the frame number of the first frame (then counting up by one).
        serial: the device serial number written into the file.

    Raises LivePoseError when pyrealsense2 is missing, cannot write ``path`` or a frame does not fit.
    """
    rs = import_pyrealsense2()
    path = Path(path)
    unit_mm = float(intrinsics.depth_unit_mm if depth_unit_mm is None else depth_unit_mm)
    if not unit_mm > 0:
        raise LivePoseError(f"depth_unit_mm {unit_mm!r}: expected a positive number")
    if not 1 <= int(fps) <= 1000:
        raise LivePoseError(f"fps {fps!r}: expected a frame rate between 1 and 1000")
    fps = int(fps)
    width, height = int(intrinsics.width), int(intrinsics.height)
    if path.exists():
        path.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)

    device = rs.software_device()
    device.register_info(rs.camera_info.name, DEVICE_NAME)
    device.register_info(rs.camera_info.serial_number, serial)
    sensor = device.add_sensor("Depth")
    rs_intrinsics = rs.intrinsics()
    rs_intrinsics.width, rs_intrinsics.height = width, height
    rs_intrinsics.fx, rs_intrinsics.fy = float(intrinsics.fx), float(intrinsics.fy)
    rs_intrinsics.ppx, rs_intrinsics.ppy = float(intrinsics.cx), float(intrinsics.cy)
    rs_intrinsics.model = rs.distortion.none
    rs_intrinsics.coeffs = [0.0] * 5
    stream = rs.video_stream()
    stream.type, stream.index, stream.uid = rs.stream.depth, 0, 0
    stream.width, stream.height, stream.fps = width, height, fps
    stream.bpp, stream.fmt, stream.intrinsics = 2, rs.format.z16, rs_intrinsics
    profile = sensor.add_video_stream(stream)
    # Without this option the playback has no "depth sensor" (first_depth_sensor() fails).
    sensor.add_read_only_option(rs.option.depth_units, unit_mm / 1000.0)

    try:
        recorder = rs.recorder(str(path), device)
    except RuntimeError as exc:
        raise LivePoseError(f"{path}: pyrealsense2 cannot record to this file ({' '.join(str(exc).split())})") \
            from None
    delivered = 0
    lock = threading.Condition()

    def on_frame(_frame) -> None:  # SDK thread: the recorder has written the frame before the callback
        nonlocal delivered
        with lock:
            delivered += 1
            lock.notify_all()

    recorded_sensor = recorder.query_sensors()[0]
    recorded_sensor.open(profile)
    recorded_sensor.start(on_frame)
    video_profile = profile.as_video_stream_profile()
    count = 0
    started = time.monotonic()
    complete = False
    try:
        for depth in frames:
            depth = np.asarray(depth)
            if depth.shape != (height, width) or depth.dtype != np.uint16:
                raise LivePoseError(f"{path}: frame {count} is {depth.dtype} {depth.shape}, expected uint16 "
                                    f"({height}, {width}) to match the intrinsics")
            if pace:
                delay = started + count / fps - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            frame = rs.software_video_frame()
            frame.pixels = np.ascontiguousarray(depth)  # copied by pyrealsense2
            frame.stride, frame.bpp = width * 2, 2
            frame.timestamp = count * 1000.0 / fps
            frame.domain = rs.timestamp_domain.hardware_clock
            frame.frame_number = first_frame_number + count
            frame.profile = video_profile
            frame.depth_units = unit_mm / 1000.0
            sensor.on_video_frame(frame)
            count += 1
        with lock:  # every frame through the recorder before it is closed
            lock.wait_for(lambda: delivered >= count, timeout=10.0 + count * 0.05)
            missing = count - delivered
        if count == 0:
            raise LivePoseError(f"{path}: no frames to record")
        if missing:
            raise LivePoseError(f"{path}: the recorder took {count - missing} of {count} frames")
        complete = True
    finally:
        recorded_sensor.stop()
        recorded_sensor.close()
        # The file is complete once the recorder is destroyed: drop every reference to it.
        del recorded_sensor, recorder, sensor, device, profile, video_profile
        gc.collect()
        if not complete:
            path.unlink(missing_ok=True)
    return path
