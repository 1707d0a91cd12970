"""Reading livepose sessions, complete or cut short by a crash.

The reader walks the MCAP records in file order (it does not need the index
at the end), so a file whose writer was killed reads up to its last complete
chunk; where it stops early it says so (``stopped_at``). A damaged message
inside an intact chunk is skipped and counted (``damaged``). :class:`SessionSource`
plays a session through the engine like any other source.

Memory stays bounded whatever the file says: no single read, record or
decompressed chunk may exceed :data:`MAX_RECORD_BYTES` (64 MiB; a session's
chunks are 4 MiB, its largest message one depth PNG), chunks are decompressed
incrementally up to the size they declare, and depth PNGs are checked against
their camera before decoding (:func:`~livepose.recording.format.decode_depth`).
"""

from __future__ import annotations

import dataclasses
import logging
import math
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

MAX_RECORD_BYTES = 64 * 1024 * 1024
"""The largest record, single read or decompressed chunk the reader accepts (no session comes near)."""


MAX_GAP_S = 5.0
"""Real-time playback waits at most this long for a frame; a longer jump in the time stamps is skipped."""


class _Damaged(Exception):
    """The file is damaged from here on (raised inside the reader only)."""


class _BoundedReads:
    """A binary file whose ``read(n)`` refuses ``n`` above a limit (the MCAP parser reads lengths from the file)."""

    def __init__(self, handle, limit: int) -> None:
        self._handle, self._limit = handle, limit

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0 or size > self._limit:
            raise _Damaged(f"a field of {size} bytes (at most {self._limit} expected)")
        return self._handle.read(size)


def _chunk_records(chunk) -> list:
    """The records inside a chunk, decompressed within bounds (zstd or none; what livepose writes)."""
    from mcap.stream_reader import breakup_chunk

    if chunk.uncompressed_size > MAX_RECORD_BYTES:
        raise _Damaged(f"a chunk of {chunk.uncompressed_size} bytes")
    if chunk.compression == "zstd":
        import zstandard

        data = bytearray()
        for piece in zstandard.ZstdDecompressor().read_to_iter(chunk.data, write_size=1 << 20):
            data += piece
            if len(data) > chunk.uncompressed_size:
                raise _Damaged("a chunk larger than it says")
        data = bytes(data)
    elif chunk.compression == "":
        data = chunk.data
    else:
        raise _Damaged(f"chunk compression {chunk.compression[:20]!r} (livepose writes zstd)")
    return breakup_chunk(dataclasses.replace(chunk, compression="", data=data))


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
        try:
            with self.path.open("rb") as handle:
                magic = handle.read(8)
        except OSError as exc:
            raise LivePoseError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None
        if magic != b"\x89MCAP0\r\n":
            raise LivePoseError(f"{self.path}: not a livepose session (expected an MCAP file)")
        self.stopped_at: str = ""
        self.damaged = 0  # messages skipped because they could not be decoded

    def messages(self) -> Iterator[SessionMessage]:
        """Every depth and pose message, in file order; stops (setting ``stopped_at``) where the file is cut
        short or damaged."""
        from mcap.records import Channel, Chunk, Message
        from mcap.stream_reader import StreamReader

        channels: dict[int, str] = {}
        count = 0
        pending: list = []
        try:
            handle = self.path.open("rb")
        except OSError as exc:
            raise LivePoseError(f"{self.path}: cannot be read ({exc.strerror or exc})") from None
        with handle:
            reader = StreamReader(_BoundedReads(handle, MAX_RECORD_BYTES), emit_chunks=True,
                                  record_size_limit=MAX_RECORD_BYTES)
            records = reader.records
            while True:
                try:
                    if pending:
                        record = pending.pop()
                    else:
                        record = next(records)
                        if isinstance(record, Chunk):
                            pending = _chunk_records(record)[::-1]
                            continue
                except StopIteration:
                    return
                except Exception as exc:  # whatever the parser trips over: the rest of the file is damaged
                    detail = str(exc) if isinstance(exc, _Damaged) else type(exc).__name__
                    self.stopped_at = (f"{self.path}: readable up to message {count}; the rest is cut short or "
                                       f"damaged ({detail[:120]})")
                    log.warning("%s", self.stopped_at)
                    return
                if isinstance(record, Channel):
                    channels[record.id] = record.topic
                elif isinstance(record, Message):
                    topic = channels.get(record.channel_id, "")
                    where = f"{self.path} message {count}"
                    count += 1
                    try:
                        if topic == fmt.DEPTH_TOPIC:
                            message = SessionMessage(topic, record.log_time,
                                                     frame=fmt.decode_depth(record.data, where))
                        elif topic == fmt.POSE_TOPIC:
                            message = SessionMessage(topic, record.log_time, pose=fmt.decode_pose(record.data, where))
                        else:
                            continue
                    except LivePoseError as exc:
                        self.damaged += 1
                        if self.damaged == 1:
                            log.warning("%s; skipped (further damaged messages are counted)", exc)
                        continue
                    yield message

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
        if not math.isfinite(stamp):
            return
        if self._clock is None or stamp < self._clock[0]:
            self._clock = (stamp, now)
            return
        due = self._clock[1] + (stamp - self._clock[0]) / 1e3
        if due - now > MAX_GAP_S:  # a jump in the time stamps (a pause, or damage): go on from here
            log.debug("%s: time stamps jump %.1f s ahead; playing on without waiting", self._reader.path, due - now)
            self._clock = (stamp, now)
            return
        while not self.closed and (remaining := due - time.monotonic()) > 0:
            time.sleep(min(remaining, 0.1))
