"""Recording a session to disk on a thread of its own.

:class:`SessionRecorder` takes frames and results from the engine threads
without ever blocking them: items go into a bounded queue; when the queue is
full the item is dropped and counted (``dropped_frames``, ``dropped_results``).
The recorder thread encodes (16-bit PNG) and writes MCAP messages, finishes
the current chunk and fsyncs at least every ``sync_interval_s`` seconds; an
item that waited in the queue longer than ``max_age_s`` (0.4 s) is dropped
and counted too (a machine too busy to record everything in time records
fewer frames rather than late ones). So a process killed at any moment
leaves every kept item older than about a second readable. Offline writers
(the demo recording) pass ``max_age_s=None`` to keep everything.

A write error (full disk, removed drive) stops the recording with a logged
message and ``error`` set; tracking goes on. A frame that cannot be stored
(not (H, W) uint16 depth with a camera, as a faulty source may give) is
skipped and counted (``skipped``); the recording goes on.

Threads: ``submit_frame`` / ``submit_result`` from any thread (non-blocking);
``start`` / ``stop`` from the owner.
"""

from __future__ import annotations

import json
import logging
import os
import queue
import threading
import time
from pathlib import Path

from livepose.errors import LivePoseError
from livepose.recording import format as fmt
from livepose.types import DepthFrame, PoseResult

log = logging.getLogger(__name__)

MAX_AGE_S = 0.4
"""Live recordings drop (and count) what waited longer than this in the queue: with the 0.5 s sync, whatever
is written reaches the disk within about a second of being submitted, however loaded the machine."""


class SessionRecorder:
    """Writes a livepose session (see :mod:`livepose.recording.format`)."""

    def __init__(self, path: str | Path, queue_size: int = 64, sync_interval_s: float = 0.5,
                 max_age_s: float | None = MAX_AGE_S) -> None:
        self.path = Path(path)
        if self.path.suffix != ".mcap":
            raise LivePoseError(f"{self.path}: session files end in .mcap")
        if not self.path.parent.is_dir():
            raise LivePoseError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.sync_interval_s = sync_interval_s
        self.max_age_s = max_age_s  # None: keep everything queued however late (offline recordings)
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.frames_written = 0
        self.results_written = 0
        self.dropped_frames = 0
        self.dropped_results = 0
        self.skipped = 0  # frames or results that could not be stored (bad frames)
        self.error = ""

    # -- producers (engine threads) ---------------------------------------------------------------------------
    def submit_frame(self, frame: DepthFrame) -> None:
        self._submit("frame", frame)

    def submit_result(self, result: PoseResult) -> None:
        self._submit("result", result)

    def _submit(self, kind: str, item: DepthFrame | PoseResult) -> None:
        if self.error or self._stopping.is_set():
            return
        try:
            self._queue.put_nowait((kind, item, time.time_ns()))
        except queue.Full:
            self._count_drop(kind)

    def _count_drop(self, kind: str) -> None:
        if kind == "frame":
            self.dropped_frames += 1
        else:
            self.dropped_results += 1

    # -- owner --------------------------------------------------------------------------------------------------
    def start(self) -> SessionRecorder:
        """Create the file and write its header (so that it is a readable, empty session at once), then start
        the recorder thread. Raises LivePoseError when the file cannot be created; a write error after that
        (a full disk) stops the recording with ``error`` set instead, as it would later."""
        from mcap.writer import CompressionType, Writer

        try:
            handle = self.path.open("wb")
        except OSError as exc:
            raise LivePoseError(f"{self.path}: cannot write ({exc.strerror})") from None
        # zstd wins back most of what base64 costs the PNG payloads (JSON messages are text).
        writer = Writer(handle, chunk_size=4 * 1024 * 1024, compression=CompressionType.ZSTD)
        try:
            channels = self._begin(writer, handle)
        except Exception as exc:  # noqa: BLE001 - reported like any later write error
            self._failed(exc)
            self._close(handle)
            return self
        self._thread = threading.Thread(target=self._run, args=(handle, writer, channels), name="livepose-recorder",
                                        daemon=True)
        self._thread.start()
        return self

    def stop(self, timeout: float = 10.0) -> None:
        """Write what is queued, finish the file (index and summary) and join the thread."""
        self._stopping.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def summary(self) -> str:
        text = (f"recorded {self.frames_written} frames and {self.results_written} results to {self.path}; "
                f"dropped {self.dropped_frames} frames and {self.dropped_results} results the disk could not "
                "keep up with")
        if self.skipped:
            text += f"; skipped {self.skipped} items that could not be stored (bad frames)"
        return text + (f"; stopped early: {self.error}" if self.error else "")

    # -- recorder thread ----------------------------------------------------------------------------------------
    @staticmethod
    def _begin(writer, handle) -> dict[str, int]:
        """Header, metadata, schemas and channels, on disk; the channel id of each topic."""
        writer.start(profile=fmt.PROFILE, library="livepose")
        writer.add_metadata("livepose", {"format_version": str(fmt.FORMAT_VERSION)})
        channels = {}
        for topic, schema in fmt.SCHEMAS.items():
            schema_id = writer.register_schema(name=schema["title"], encoding="jsonschema",
                                               data=json.dumps(schema).encode())
            channels[topic] = writer.register_channel(topic=topic, message_encoding="json", schema_id=schema_id)
        writer.flush()
        os.fsync(handle.fileno())
        return channels

    def _run(self, handle, writer, channels: dict[str, int]) -> None:
        try:
            last_sync = time.monotonic()
            last_camera = None
            sequence = 0
            while True:
                try:
                    kind, item, t_ns = self._queue.get(timeout=0.1)
                except queue.Empty:
                    if self._stopping.is_set():
                        break
                else:
                    if self.max_age_s is not None and time.time_ns() - t_ns > self.max_age_s * 1e9:
                        self._count_drop(kind)  # fell behind: shed what would reach the disk too late
                        continue
                    messages = self._encode(kind, item, t_ns, last_camera)
                    for topic, data in messages:
                        writer.add_message(channels[topic], log_time=t_ns, publish_time=t_ns, data=data,
                                           sequence=sequence)
                        sequence += 1
                    if messages and kind == "frame":
                        last_camera = (item.intrinsics, item.depth_unit_mm)
                        self.frames_written += 1
                    elif messages:
                        self.results_written += 1
                if time.monotonic() - last_sync >= self.sync_interval_s:
                    writer.flush()
                    os.fsync(handle.fileno())
                    last_sync = time.monotonic()
            writer.finish()
            handle.flush()
            os.fsync(handle.fileno())
        except Exception as exc:  # a full disk, a removed drive, anything else: stop recording, tracking goes on
            self._failed(exc)
        finally:
            self._close(handle)

    def _failed(self, exc: BaseException) -> None:
        if isinstance(exc, OSError) and exc.strerror:
            self.error = f"{exc.strerror} (errno {exc.errno})"
        elif isinstance(exc, (OSError, LivePoseError)):
            self.error = str(exc)
        else:
            self.error = f"{type(exc).__name__}: {exc}"
        log.error("recording to %s stopped: %s (tracking goes on)", self.path, self.error)
        self._drain()

    def _close(self, handle) -> None:
        try:
            handle.close()
        except OSError as exc:  # the buffered tail could not be written either (the disk is still full)
            self.error = self.error or str(exc)

    def _encode(self, kind: str, item, t_ns: int, last_camera) -> list[tuple[str, bytes]]:
        """The (topic, payload) messages for one queued item; [] for an item that cannot be stored (a bad frame
        from a faulty source, counted in ``skipped``: the recording goes on without it)."""
        try:
            if kind == "frame":
                messages = []
                if (item.intrinsics, item.depth_unit_mm) != last_camera:
                    messages.append((fmt.CALIBRATION_TOPIC,
                                     fmt.encode_calibration(item.intrinsics, item.depth_unit_mm, t_ns)))
                messages.append((fmt.DEPTH_TOPIC, fmt.encode_depth(item, t_ns)))
                return messages
            return [(fmt.POSE_TOPIC, fmt.encode_pose(item))]
        except (LivePoseError, AttributeError, TypeError, ValueError, OverflowError) as exc:
            self.skipped += 1
            if self.skipped == 1:
                log.warning("recording to %s: a %s that cannot be stored was skipped (%s); further ones are counted",
                            self.path, kind, exc)
            return []

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
