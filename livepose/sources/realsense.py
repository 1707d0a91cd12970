"""Intel RealSense cameras and RealSense recordings through pyrealsense2.

pyrealsense2 is imported only when a RealSense source is opened (or devices
are listed), so ``import livepose.sources`` works without it.

What pyrealsense2 2.59 does with recordings (checked with software-device
recordings, see tests/test_sources.py and :mod:`livepose.sources.rs_synthetic`):

- **Suffixes.** Its recorder writes ROS 2 ``.db3`` (SQLite) files only; any other
  name is refused ("Output file must have .db3 extension"). Playback picks the
  reader by suffix: ``.db3`` through SQLite, anything else through the ROS 1
  ``.bag`` reader, so ``.bag`` files from older SDKs still play.
- **Lock-step.** ``playback.set_real_time(False)`` makes playback wait for the
  reader, so every frame arrives, in order, even when the reader pauses for
  seconds. Calling it *after* ``pipeline.start()`` is a race: the first frames
  are already being pushed in real time and were lost in about one run in a
  hundred (frames 0 and 1). Resolving the config first
  (``config.resolve(pipeline)``), switching that playback device to
  non-real-time and then ``pipeline.start(config)`` (which reuses the resolved
  device) lost no frame in any run.
- **The file's timeline** is the host time at which the recorder received each
  frame, not the frames' own timestamps (which play back unchanged).
- **End of file.** The playback status turns ``stopped`` after the last frame
  has been queued; no end-of-stream frame comes. Right after ``start()`` the
  status still reads ``stopped`` for a fraction of a millisecond, so the end is
  taken as "the status reads stopped after a frame came (or after it read
  playing), and a whole wait after that brought nothing". ``get_position()``
  reads 0 once stopped.
- **No Python callbacks on SDK threads.** The SDK raises a playback's
  status-changed callback from its own thread while holding a lock that the
  playback's destructor takes, and that destructor runs with the GIL held (it
  runs when the last Python reference goes): a callback raised during a close
  then waits for the GIL forever and the close waits for the lock forever.
  Stopping a looping lock-step playback mid-file hung that way in about one
  close in twenty on two busy cores. The status is therefore polled
  (``current_status()``) from the reading thread, never delivered by callback.
  The same holds for a context's devices-changed callback (raised on the SDK's
  device-watcher thread), so the live camera's removal is polled too: after a
  wait that brought no frame, the reading thread asks the context whether it
  still lists the camera (at most every DEVICE_CHECK_S).
- **No repeat playback.** ``enable_device_from_file(path, repeat_playback=True)``
  crashes the process in about one close in a hundred to four hundred when a
  looping lock-step playback is stopped mid-file (at the end of the file the
  pipeline restarts the sensors on its own thread, racing the stop); the same
  closes without repeat crashed in none of 4,600. ``loop`` therefore plays
  the file once and opens it again at the end
  (:meth:`RealSenseRecordingSource.read`).
- **Closing.** ``pipeline.stop()`` stops the sensors, but a playback sensor's
  thread may still hand a queued frame to the pipeline's callbacks, or run on
  the device, for a moment afterwards; destroying the pipeline or the device
  then crashes (a use after free, "pure virtual method called"; once in 6,700
  closes, measured with and without the device dropped first). The SDK
  objects are therefore destroyed RELEASE_DELAY_S after the stop, on a timer
  thread, the device's handles before the pipeline (:func:`_destroy_later`).
- **Damaged files** (truncated or not a recording) fail when the config is
  resolved, before any frame plays; an empty ``.db3`` fails with an SQL error.
  Some damaged ``.bag`` files make the ROS 1 reader loop forever inside
  ``config.resolve()``; ``.bag`` files are therefore checked record by record
  in Python (:mod:`livepose.sources.rosbag_check`) and then opened in a child
  process first (:mod:`livepose.sources.rs_probe`), which is killed after 20 s.
- A depth sensor is recognised by its ``depth_units`` option; a recording
  without it has depth frames but no "depth sensor", so the depth unit is then
  taken from the frames (``depth_frame.get_units()``).
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.base import NO_FRAMES_S, POLL_S, DepthSource
from livepose.types import DepthFrame

log = logging.getLogger(__name__)

RECORDING_SUFFIXES = (".bag", ".db3")
STALL_S = 10.0
"""A playback that delivers nothing and does not move for this long is reported and treated as ended."""


RELEASE_DELAY_S = 0.5
"""How long SDK objects outlive their pipeline's stop (see "Closing" above)."""

DEVICE_CHECK_S = 0.5
"""While a live camera sends nothing, how often the reading thread checks that the SDK still lists it."""


def _destroy_later(objects: list) -> None:
    """Drop the last references to ``objects`` (SDK handles), in order, RELEASE_DELAY_S from now.

    Any thread. The timer thread is not a daemon, so the interpreter waits for it at exit and the handles are
    destroyed before it finalises.
    """
    def destroy() -> None:
        while objects:
            objects.pop(0)

    timer = threading.Timer(RELEASE_DELAY_S, destroy)
    timer.name = "realsense-release"
    timer.start()


def import_pyrealsense2():
    """The pyrealsense2 module, or a LivePoseError saying how to install it."""
    try:
        import pyrealsense2 as rs
    except ImportError as exc:
        raise LivePoseError(f"RealSense sources need pyrealsense2, which is not installed ({exc}); "
                            "pip install pyrealsense2") from None
    return rs


def depth_unit_mm_from_scale(metres_per_unit: float) -> float:
    """Millimetres per depth count from the SDK's depth scale (a float32: 0.001 reads 0.0010000000475)."""
    return float(f"{metres_per_unit * 1000.0:.6g}")


def _intrinsics_from_profile(video_profile, depth_unit_mm: float) -> Intrinsics:
    intr = video_profile.get_intrinsics()
    return Intrinsics(fx=intr.fx, fy=intr.fy, cx=intr.ppx, cy=intr.ppy, width=intr.width, height=intr.height,
                      depth_unit_mm=depth_unit_mm)


def _sdk_reason(exc: BaseException) -> str:
    """The informative part of a librealsense error message."""
    text = " ".join(str(exc).split())
    marker = "Reason:"
    return text.split(marker, 1)[1].strip() if marker in text else text


@dataclass(frozen=True)
class RealSenseDevice:
    """A connected RealSense camera."""

    serial: str
    name: str
    usb: str = ""

    def __str__(self) -> str:
        usb = f", USB {self.usb}" if self.usb else ""
        return f"{self.name} (serial {self.serial}{usb})"


def list_realsense_devices() -> list[RealSenseDevice]:
    """The RealSense cameras connected now (empty when none). Raises LivePoseError without pyrealsense2."""
    rs = import_pyrealsense2()
    found = []
    for dev in rs.context().query_devices():
        def info(key, dev=dev) -> str:
            return dev.get_info(key) if dev.supports(key) else ""
        found.append(RealSenseDevice(serial=info(rs.camera_info.serial_number), name=info(rs.camera_info.name),
                                     usb=info(rs.camera_info.usb_type_descriptor)))
    return found


class _PipelineSource(DepthSource):
    """What the camera and the recording share: a pipeline read in short, closable waits."""

    def __init__(self) -> None:
        super().__init__()
        self._sdk_lock = threading.Lock()  # the reader's waits and close()'s pipeline.stop() never overlap
        self._rs = None
        self._pipeline = None
        self._started = False
        self._intrinsics: Intrinsics | None = None
        self._depth_unit_mm: float | None = None

    @property
    def intrinsics(self) -> Intrinsics:
        if self._intrinsics is None:
            raise RuntimeError(f"{self.description}: intrinsics are known once the source is open")
        return self._intrinsics

    def _wait(self, seconds: float):
        """One bounded wait for a frameset; None on timeout or once closed."""
        with self._sdk_lock:
            if self._closed.is_set() or not self._started:
                return None
            ok, frames = self._pipeline.try_wait_for_frames(max(int(seconds * 1000), 1))
        return frames if ok else None

    def _to_frame(self, frames) -> DepthFrame | None:
        depth = frames.get_depth_frame()
        if not depth:
            return None
        # Copy out of the SDK's frame pool at once: the pool is small and reused.
        pixels = np.asanyarray(depth.get_data()).copy()
        unit = self._depth_unit_mm
        if unit is None:
            unit = depth_unit_mm_from_scale(depth.get_units())
        intrinsics = self.intrinsics
        if unit != intrinsics.depth_unit_mm:
            intrinsics = Intrinsics(**{**intrinsics.to_dict(), "depth_unit_mm": unit})
        return DepthFrame(depth=pixels, depth_unit_mm=unit, intrinsics=intrinsics,
                          frame_number=int(depth.get_frame_number()), t_device_ms=float(depth.get_timestamp()),
                          t_host_ms=time.monotonic() * 1000.0, source=self.description)

    def _close(self) -> None:
        with self._sdk_lock:
            if self._started:
                self._started = False
                try:
                    self._pipeline.stop()
                except RuntimeError as exc:  # already stopped by the SDK (device gone)
                    log.debug("%s: pipeline.stop(): %s", self.description, exc)
            # Destroyed a moment later, device first: see "Closing" in the module docstring.
            _destroy_later([*self._release(), self._pipeline])
            self._pipeline = None

    def _release(self) -> list:
        """Drop the SDK objects that hold the device (after the pipeline stopped) and return them (subclasses)."""
        return []


class RealSenseSource(_PipelineSource):
    """A live RealSense camera's depth stream (z16).

    Args:
        serial: the camera's serial number; None: the first one connected.
        width, height, fps: the depth mode. When the camera has no such mode (an SR305 streams 640x480 only),
            the closest one it has is used, with a warning.
        context: the ``rs.context`` to find the camera in (default: a new one at each open). Recordings loaded
            into a context with ``context.load_device(path)`` act as cameras there (the tests use this).

    Frames: ``frame_number`` is the camera's counter, ``t_device_ms`` its timestamp, the depth unit the depth
    sensor's depth scale (an SR305: 0.125 mm; D400: 1 mm by default).

    Faults: when the SDK no longer lists the camera (checked while no frames come, see the module docstring),
    or the stream fails, or no frame comes for NO_FRAMES_S, ``read()`` raises LivePoseError; ``reconnect()``
    (the engine calls it) finds the camera again by serial number once it is back. A frame the SDK hands over
    damaged is skipped (``skipped_frames``); frame timeouts are simply waits that brought nothing.
    """

    is_live = True
    is_device = True

    def __init__(self, serial: str | None = None, width: int = 848, height: int = 480, fps: int = 30,
                 context=None) -> None:
        super().__init__()
        self.serial = serial or None
        self.width, self.height, self.fps = int(width), int(height), int(fps)
        self._name = "RealSense" + (f" {serial}" if serial else "")
        self._last_frame_s = 0.0
        self._context = context
        self._ctx = None  # the rs.context in use while open (``context`` or one of our own)
        self._device = None  # the rs.device streaming now
        self._serial_open: str | None = None  # its serial number
        self._last_device_check_s = 0.0
        self.skipped_frames = 0

    @property
    def description(self) -> str:
        return self._name

    def _open(self) -> None:
        rs = self._rs = import_pyrealsense2()
        ctx = self._ctx = self._context if self._context is not None else rs.context()
        try:
            devices = list(ctx.query_devices())
        except RuntimeError as exc:
            raise LivePoseError(f"RealSense: cannot list cameras ({_sdk_reason(exc)})") from None
        if not devices:
            raise LivePoseError("no RealSense camera connected (check the USB 3 cable and that no other program "
                                "uses the camera)")
        serials = [d.get_info(rs.camera_info.serial_number) for d in devices]
        if self.serial is None:
            device = devices[0]
        elif self.serial in serials:
            device = devices[serials.index(self.serial)]
        else:
            raise LivePoseError(f"RealSense {self.serial}: not connected (connected: {', '.join(serials)})")
        try:
            serial = device.get_info(rs.camera_info.serial_number)
            name = device.get_info(rs.camera_info.name) if device.supports(rs.camera_info.name) else "RealSense"
            self._name = f"{name} ({serial})"
            width, height, fps = self._choose_mode(rs, device)
        except RuntimeError as exc:  # unplugged while being opened
            raise LivePoseError(f"{self._name}: cannot be opened ({_sdk_reason(exc)})") from None
        self._device = device
        self._serial_open = serial
        self._pipeline = rs.pipeline(ctx)
        config = rs.config()
        config.enable_device(serial)
        config.enable_stream(rs.stream.depth, width, height, rs.format.z16, fps)
        try:
            profile = self._pipeline.start(config)
        except RuntimeError as exc:
            raise LivePoseError(f"{self._name}: cannot start the depth stream {width}x{height} at {fps} FPS "
                                f"({_sdk_reason(exc)})") from None
        self._started = True
        try:
            scale = profile.get_device().first_depth_sensor().get_depth_scale()
            self._depth_unit_mm = depth_unit_mm_from_scale(scale)
            video = profile.get_stream(rs.stream.depth).as_video_stream_profile()
            self._intrinsics = _intrinsics_from_profile(video, self._depth_unit_mm)
        except Exception:
            self._close()
            raise
        self._name = f"{name} ({serial}) {width}x{height}@{fps}"
        self._last_frame_s = time.monotonic()

    def _camera_removed(self, now: float) -> bool:
        """True when the SDK no longer lists the open camera (asked at most every DEVICE_CHECK_S; reading thread).

        A poll, not a devices-changed callback: see "No Python callbacks on SDK threads" in the module docstring.
        """
        ctx = self._ctx  # close() may clear it from another thread meanwhile
        if now - self._last_device_check_s < DEVICE_CHECK_S or ctx is None:
            return False
        self._last_device_check_s = now
        try:
            serials = {d.get_info(self._rs.camera_info.serial_number) for d in ctx.query_devices()}
        except RuntimeError as exc:  # cannot tell now; NO_FRAMES_S still ends a dead stream
            log.debug("%s: cannot list cameras (%s)", self._name, exc)
            return False
        return self._serial_open not in serials

    def _release(self) -> list:
        device, self._device = self._device, None
        ctx, self._ctx = self._ctx, None
        return [device, ctx]

    def _choose_mode(self, rs, device) -> tuple[int, int, int]:
        """The requested depth mode if the camera has it, else the closest one it has."""
        modes = set()
        for sensor in device.query_sensors():
            for profile in sensor.get_stream_profiles():
                if profile.stream_type() == rs.stream.depth and profile.format() == rs.format.z16:
                    video = profile.as_video_stream_profile()
                    modes.add((video.width(), video.height(), profile.fps()))
        wanted = (self.width, self.height, self.fps)
        if not modes or wanted in modes:
            return wanted
        chosen = min(modes, key=lambda m: (abs(m[0] * m[1] - self.width * self.height), abs(m[2] - self.fps)))
        log.warning("%s has no %dx%d depth at %d FPS; using %dx%d at %d FPS", self._name, *wanted, *chosen)
        return chosen

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        """The next depth frame, or None when none came within ``timeout_s`` (None: wait) or once closed.

        Raises LivePoseError when the camera has sent nothing for NO_FRAMES_S seconds (unplugged?).
        """
        self._require_open()
        deadline = None if timeout_s is None else time.monotonic() + max(timeout_s, 0.0)
        while not self._closed.is_set():
            wait = POLL_S if deadline is None else min(POLL_S, max(deadline - time.monotonic(), 0.001))
            try:
                frames = self._wait(wait)
            except RuntimeError as exc:
                if self._closed.is_set():
                    return None
                raise LivePoseError(f"{self._name}: the depth stream failed ({_sdk_reason(exc)})") from None
            now = time.monotonic()
            if frames is not None:
                try:
                    frame = self._to_frame(frames)
                except (RuntimeError, ValueError, LivePoseError) as exc:  # one damaged frame: skip it
                    self.skipped_frames += 1
                    log.debug("%s: skipped a damaged frame (%s)", self._name, exc)
                    frame = None
                if frame is not None:
                    self._last_frame_s = now
                    return frame
            elif self._camera_removed(now) and not self._closed.is_set():
                raise LivePoseError(f"{self._name}: disconnected (removed: the RealSense SDK no longer lists it)")
            elif now - self._last_frame_s > NO_FRAMES_S and not self._closed.is_set():
                raise LivePoseError(f"{self._name}: no depth frame for {NO_FRAMES_S:.0f} s (camera unplugged or "
                                    "in use by another program?)")
            if deadline is not None and now >= deadline:
                return None
        return None


class RealSenseRecordingSource(_PipelineSource):
    """A RealSense recording (``.db3``, or ``.bag`` from older SDKs) played through pyrealsense2.

    Args:
        path: the recording.
        realtime: play at the recorded speed, frames the reader misses being dropped by the SDK.
            False (default): lock-step, every frame in order, as fast as it is read.
        loop: start again at the end: the file is opened again (not the SDK's repeat playback, see the module
            docstring), so frame numbers start over as recorded.

    Only the depth stream is played. ``read()`` returns None at the end of the file (never with ``loop``).
    One thread reads; ``close()`` may come from any thread.
    """

    is_live = False

    def __init__(self, path: str | Path, realtime: bool = False, loop: bool = False) -> None:
        super().__init__()
        self.path = Path(path).expanduser()
        self.realtime = bool(realtime)
        self.loop = bool(loop)
        if not self.path.is_file():
            raise LivePoseError(f"{self.path}: no such recording file (expected a RealSense .bag or .db3 file)")
        if self.path.stat().st_size == 0:
            raise LivePoseError(f"{self.path}: the recording file is empty")
        self._playback = None
        self._config = None
        self._played = False  # the status read "playing" (reading thread only)
        self._stopped = False  # ... and then "stopped": the end of the file
        self._ended = False
        self._duration_s = 0.0
        self.frames_read = 0
        self.plays = 0  # how many times the file started playing (more than one with ``loop``)
        self._frames_this_play = 0
        self._file_checked = False

    @property
    def description(self) -> str:
        mode = "real time" if self.realtime else "lock-step"
        return f"recording {self.path.name} ({mode}{', loop' if self.loop else ''})"

    def _open(self) -> None:
        rs = self._rs = import_pyrealsense2()
        self._played = self._stopped = False
        self._frames_this_play = 0
        if not self._file_checked and self.path.suffix.lower() != ".db3":
            # the ROS 1 reader can hang on a damaged file: check it first (once; ``loop`` opens it again)
            from livepose.sources.rosbag_check import check_rosbag
            from livepose.sources.rs_probe import probe_recording

            problem = check_rosbag(self.path)
            if problem:
                raise LivePoseError(f"{self.path}: not a readable RealSense recording ({problem})")
            probe_recording(self.path)
        self._file_checked = True
        self._pipeline = rs.pipeline()
        config = rs.config()
        config.enable_device_from_file(str(self.path), repeat_playback=False)
        config.enable_stream(rs.stream.depth)
        try:
            # Resolve first, so that the playback device can be switched to lock-step before a frame plays;
            # pipeline.start(config) then reuses this same device (see the module docstring).
            profile = config.resolve(self._pipeline)
        except RuntimeError as exc:
            raise LivePoseError(self._open_error(rs, exc)) from None
        # The lock-step setting is read through this playback handle later on; the config holds the device too.
        self._config = config
        self._playback = profile.get_device().as_playback()
        self._playback.set_real_time(self.realtime)  # no status callback: see the module docstring
        try:
            profile = self._pipeline.start(config)
        except RuntimeError as exc:
            raise LivePoseError(f"{self.path}: cannot play the recording ({_sdk_reason(exc)})") from None
        self._started = True
        try:
            started = profile.get_device().as_playback()
            if started.is_real_time() != self.realtime:  # not the device we configured: set it late
                log.warning("%s: playback mode set after start; the first frames may be lost", self.path)
                started.set_real_time(self.realtime)
                self._playback = started
            video = profile.get_stream(rs.stream.depth).as_video_stream_profile()
            try:
                self._depth_unit_mm = depth_unit_mm_from_scale(
                    profile.get_device().first_depth_sensor().get_depth_scale())
            except RuntimeError:
                self._depth_unit_mm = None  # no depth_units option recorded: taken from each frame
            self._intrinsics = _intrinsics_from_profile(video, self._depth_unit_mm or 1.0)
            self._duration_s = self._playback.get_duration().total_seconds()
            self.plays += 1
        except Exception:
            self._close()
            raise

    def _release(self) -> list:
        held = [self._playback, self._config]
        self._playback = self._config = None
        return held

    def _open_error(self, rs, exc: RuntimeError) -> str:
        reason = _sdk_reason(exc)
        # Readable but without depth? Try again without asking for a depth stream.
        try:
            config = rs.config()
            config.enable_device_from_file(str(self.path), repeat_playback=False)
            streams = config.resolve(rs.pipeline()).get_streams()
        except RuntimeError:
            return f"{self.path}: not a readable RealSense recording ({reason})"
        names = ", ".join(sorted({str(s.stream_type()).split(".")[-1] for s in streams})) or "none"
        return f"{self.path}: the recording has no depth stream (it has: {names})"

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        """The next depth frame, or None at the end of the file (or once closed).

        ``timeout_s`` is not applied (a None would end the run); waits are bounded all the same: the end is
        seen within POLL_S of the last frame, and a playback that neither delivers nor moves for STALL_S is
        reported and treated as the end.
        """
        self._require_open()
        if self._ended:
            return None
        stall_since = time.monotonic()
        position = None
        while not self._closed.is_set():
            stopped_before = self._stopped
            try:
                frames = self._wait(POLL_S)
            except RuntimeError as exc:
                if self._closed.is_set():
                    return None
                return self._end(f"playback failed after {self.frames_read} frames ({_sdk_reason(exc)})")
            if frames is not None:
                frame = self._to_frame(frames)
                if frame is None:
                    continue
                self.frames_read += 1
                self._frames_this_play += 1
                return frame
            if stopped_before:
                if not self.loop:
                    return self._end(None)
                problem = self._play_again()
                if problem:
                    return self._end(problem)
                stall_since, position = time.monotonic(), None
                continue
            with self._sdk_lock:
                if self._closed.is_set() or not self._started:
                    return None
                now_position = self._playback.get_position()
                status = self._playback.current_status()
            if status == self._rs.playback_status.playing:
                self._played = True
            elif status == self._rs.playback_status.stopped and (self._played or self._frames_this_play):
                self._stopped = True  # the next wait that brings nothing ends it
            if now_position != position:
                position, stall_since = now_position, time.monotonic()
            elif time.monotonic() - stall_since > STALL_S:
                return self._end(f"playback stalled for {STALL_S:.0f} s at {position / 1e9:.3f} s of "
                                 f"{self._duration_s:.3f} s after {self.frames_read} frames; treating it as the end")
        return None

    def _play_again(self) -> str | None:
        """Open the file again after its end (``loop``; the reading thread). A problem as text, else None."""
        log.debug("%s: end of file after %d frames; playing it again", self.path, self.frames_read)
        try:
            self.reconnect()  # returns at once once closed; the read loop then sees it
        except LivePoseError as exc:
            return f"cannot play the file again ({exc})"
        return None

    def _end(self, problem: str | None) -> None:
        self._ended = True
        if problem:
            log.warning("%s: %s", self.path, problem)
        else:
            log.info("%s: end of recording after %d frames", self.path, self.frames_read)
        return None


__all__ = ["RECORDING_SUFFIXES", "RealSenseDevice", "RealSenseRecordingSource", "RealSenseSource",
           "depth_unit_mm_from_scale", "import_pyrealsense2", "list_realsense_devices"]
