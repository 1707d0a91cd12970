"""Reading livepose sessions, complete or cut short by a crash.

The reader walks the MCAP records in file order (it does not need the index
at the end), so a file whose writer was killed reads up to its last complete
chunk; where it stops early it says so (``stopped_at``). :class:`SessionSource`
plays a session through the engine like any other source.
"""

from __future__ import annotations

import logging
import math
import struct
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.recording import format as fmt
from livepose.sources.base import DepthSource
from livepose.types import DepthFrame

log = logging.getLogger(__name__)

MAX_RECORD_BYTES = 256 * 1024 * 1024  # no single message of a session is anywhere near this


@dataclass(frozen=True)
class SessionMessage:
    """One message: ``topic``, wall-clock ``log_time_ns`` and the decoded ``frame`` or ``pose``."""

    topic: str
    log_time_ns: int
    frame: DepthFrame | None = None
    pose: dict[str, Any] | None = None


class SessionReader:
    """Iterates the messages of a session file in order. One thread at a time."""

    def __init__(self, path: str | Path) -> None:
        self.path = Path(path)
        if not self.path.is_file():
            raise LivePoseError(f"{self.path}: no such session file")
        with self.path.open("rb") as handle:
            magic = handle.read(8)
        if magic != b"\x89MCAP0\r\n":
            raise LivePoseError(f"{self.path}: not a livepose session (expected an MCAP file)")
        self.stopped_at: str = ""

    def messages(self) -> Iterator[SessionMessage]:
        from mcap.exceptions import McapError
        from mcap.records import Channel, Message
        from mcap.stream_reader import StreamReader

        channels: dict[int, str] = {}
        count = 0
        with self.path.open("rb") as handle:
            reader = StreamReader(handle, record_size_limit=MAX_RECORD_BYTES)
            records = reader.records
            while True:
                try:
                    record = next(records)
                except StopIteration:
                    return
                except (McapError, EOFError, struct.error, ValueError, MemoryError) as exc:
                    self.stopped_at = (f"{self.path}: readable up to message {count}; the rest is cut short or "
                                       f"damaged ({type(exc).__name__})")
                    log.warning("%s", self.stopped_at)
                    return
                if isinstance(record, Channel):
                    channels[record.id] = record.topic
                elif isinstance(record, Message):
                    topic = channels.get(record.channel_id, "")
                    where = f"{self.path} message {count}"
                    count += 1
                    if topic == fmt.DEPTH_TOPIC:
                        yield SessionMessage(topic, record.log_time, frame=fmt.decode_depth(record.data, where))
                    elif topic == fmt.POSE_TOPIC:
                        yield SessionMessage(topic, record.log_time, pose=fmt.decode_pose(record.data, where))

    def frames(self) -> Iterator[DepthFrame]:
        for message in self.messages():
            if message.frame is not None:
                yield message.frame

    def poses(self) -> Iterator[dict[str, Any]]:
        for message in self.messages():
            if message.pose is not None:
                yield message.pose


class SessionSource(DepthSource):
    """Plays a session's depth frames: lock-step (every frame) or at the recorded pace (``realtime``)."""

    is_live = False

    def __init__(self, path: str | Path, realtime: bool = False, loop: bool = False) -> None:
        super().__init__()
        self._reader = SessionReader(path)
        self.realtime = realtime or loop
        self.loop = loop
        self._frames: Iterator[DepthFrame] | None = None
        self._first: DepthFrame | None = None  # kept for the intrinsics
        self._pending: DepthFrame | None = None  # read ahead by open() to check the file
        self._clock: tuple[float, float] | None = None  # (first frame's time stamp in ms, wall start)

    @property
    def description(self) -> str:
        return f"session {self._reader.path.name}"

    @property
    def intrinsics(self) -> Intrinsics:
        if self._first is None:
            raise LivePoseError(f"{self._reader.path}: no frame read yet")
        return self._first.intrinsics

    def _open(self) -> None:
        self._frames = self._reader.frames()
        self._first = self._pending = next(self._frames, None)
        if self._first is None:
            raise LivePoseError(f"{self._reader.path}: no readable depth frame in this session")

    def _close(self) -> None:
        if self._frames is not None:
            try:
                self._frames.close()  # closes the generator and with it the file
            except ValueError:
                pass  # the capture thread is inside it right now; it stops at its next read (closed is set)

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        self._require_open()
        if self.closed:
            return None
        frame = self._next()
        if frame is None:
            if self._reader.stopped_at:
                log.warning("%s", self._reader.stopped_at)
            return None
        if self.realtime:
            self._wait_for(frame)
        return DepthFrame(depth=frame.depth, depth_unit_mm=frame.depth_unit_mm, intrinsics=frame.intrinsics,
                          frame_number=frame.frame_number, t_device_ms=frame.t_device_ms,
                          t_host_ms=time.monotonic() * 1e3, source=self.description)

    def _next(self) -> DepthFrame | None:
        if self._pending is not None:
            frame, self._pending = self._pending, None
            return frame
        frame = next(self._frames, None)
        if frame is None and self.loop and not self.closed:
            self._frames = self._reader.frames()
            self._clock = None
            frame = next(self._frames, None)
        return frame

    def _wait_for(self, frame: DepthFrame) -> None:
        """Sleep until ``frame`` is due at the recorded pace (device timestamps, else host receive times)."""
        stamp = frame.t_device_ms if math.isfinite(frame.t_device_ms) else frame.t_host_ms
        now = time.monotonic()
        if self._clock is None or stamp < self._clock[0]:
            self._clock = (stamp, now)
            return
        due = self._clock[1] + (stamp - self._clock[0]) / 1e3
        while not self.closed and (remaining := due - time.monotonic()) > 0:
            time.sleep(min(remaining, 0.1))
