"""Recording a session to disk on a thread of its own.

:class:`SessionRecorder` takes frames and results from the engine threads
without ever blocking them: items go into a bounded queue; when the queue is
full the item is dropped and counted (``dropped_frames``, ``dropped_results``).
The recorder thread encodes (16-bit PNG) and writes MCAP messages, finishes
the current chunk and fsyncs at least every ``sync_interval_s`` seconds, so a
process killed at any moment leaves everything older than that readable. A
write error (full disk, removed drive) stops the recording with a logged
message and ``error`` set; tracking goes on.

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


class SessionRecorder:
    """Writes a livepose session (see :mod:`livepose.recording.format`)."""

    def __init__(self, path: str | Path, queue_size: int = 64, sync_interval_s: float = 0.5) -> None:
        self.path = Path(path)
        if self.path.suffix != ".mcap":
            raise LivePoseError(f"{self.path}: session files end in .mcap")
        if not self.path.parent.is_dir():
            raise LivePoseError(f"{self.path}: the folder {self.path.parent} does not exist")
        self.sync_interval_s = sync_interval_s
        self._queue: queue.Queue = queue.Queue(maxsize=queue_size)
        self._thread: threading.Thread | None = None
        self._stopping = threading.Event()
        self.frames_written = 0
        self.results_written = 0
        self.dropped_frames = 0
        self.dropped_results = 0
        self.error = ""

    # -- producers (engine threads) ---------------------------------------------------------------------------
    def submit_frame(self, frame: DepthFrame) -> None:
        if self.error or self._stopping.is_set():
            return
        try:
            self._queue.put_nowait(("frame", frame, time.time_ns()))
        except queue.Full:
            self.dropped_frames += 1

    def submit_result(self, result: PoseResult) -> None:
        if self.error or self._stopping.is_set():
            return
        try:
            self._queue.put_nowait(("result", result, time.time_ns()))
        except queue.Full:
            self.dropped_results += 1

    # -- owner --------------------------------------------------------------------------------------------------
    def start(self) -> SessionRecorder:
        try:
            handle = self.path.open("wb")
        except OSError as exc:
            raise LivePoseError(f"{self.path}: cannot write ({exc.strerror})") from None
        self._thread = threading.Thread(target=self._run, args=(handle,), name="livepose-recorder", daemon=True)
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
        return text + (f"; stopped early: {self.error}" if self.error else "")

    # -- recorder thread ----------------------------------------------------------------------------------------
    def _run(self, handle) -> None:
        from mcap.writer import CompressionType, Writer

        # zstd wins back most of what base64 costs the PNG payloads (JSON messages are text).
        writer = Writer(handle, chunk_size=4 * 1024 * 1024, compression=CompressionType.ZSTD)
        try:
            writer.start(profile=fmt.PROFILE, library="livepose")
            writer.add_metadata("livepose", {"format_version": str(fmt.FORMAT_VERSION)})
            channels = {}
            for topic, schema in fmt.SCHEMAS.items():
                schema_id = writer.register_schema(name=schema["title"], encoding="jsonschema",
                                                   data=json.dumps(schema).encode())
                channels[topic] = writer.register_channel(topic=topic, message_encoding="json", schema_id=schema_id)
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
                    if kind == "frame":
                        camera = (item.intrinsics, item.depth_unit_mm)
                        if camera != last_camera:
                            writer.add_message(channels[fmt.CALIBRATION_TOPIC], log_time=t_ns, publish_time=t_ns,
                                               data=fmt.encode_calibration(item.intrinsics, item.depth_unit_mm, t_ns),
                                               sequence=sequence)
                            last_camera = camera
                        writer.add_message(channels[fmt.DEPTH_TOPIC], log_time=t_ns, publish_time=t_ns,
                                           data=fmt.encode_depth(item, t_ns), sequence=sequence)
                        self.frames_written += 1
                    else:
                        writer.add_message(channels[fmt.POSE_TOPIC], log_time=t_ns, publish_time=t_ns,
                                           data=fmt.encode_pose(item), sequence=sequence)
                        self.results_written += 1
                    sequence += 1
                if time.monotonic() - last_sync >= self.sync_interval_s:
                    writer.flush()
                    os.fsync(handle.fileno())
                    last_sync = time.monotonic()
            writer.finish()
            handle.flush()
            os.fsync(handle.fileno())
        except (OSError, LivePoseError) as exc:
            self.error = str(exc)
            log.error("recording to %s stopped: %s (tracking goes on)", self.path, exc)
            self._drain()
        finally:
            try:
                handle.close()
            except OSError as exc:
                self.error = self.error or str(exc)

    def _drain(self) -> None:
        while True:
            try:
                self._queue.get_nowait()
            except queue.Empty:
                return
