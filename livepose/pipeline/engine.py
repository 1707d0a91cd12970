"""The real-time engine: a capture thread and an inference worker linked by mailboxes.

::

    capture thread                 inference worker                          consumers
    source.read() --> [frames] --> detect/track -> crop -> A2J -> uncrop --> [results] --> results() / latest()

- Live sources (cameras, synthetic): ``frames`` and ``results`` are one-slot
  :class:`~livepose.pipeline.mailbox.LatestMailbox` es; a slow stage drops the
  oldest item and the drop is counted (``dropped["inference"]``,
  ``dropped["output"]``).
- A :class:`~livepose.recording.writer.SessionRecorder`, when given, gets every
  captured frame from the capture thread and every result from the worker,
  without ever blocking them (it counts what it could not take).
- The frame of the newest result waits beside it in a third one-slot mailbox
  for a viewer (:meth:`latest_with_frame`); a viewer slower than the
  pipeline only skips pairs there (``viewer_dropped``), it never holds up
  capture, inference or ``results()``.
- Files (lock-step): both are bounded :class:`~livepose.pipeline.mailbox.LockstepQueue` s,
  so every frame is processed and every result delivered.

Threads: :meth:`start`, :meth:`stop` and the consumer methods are called from
the owning (main or GUI) thread; the engine's own two threads never touch the
caller's objects except through the mailboxes. :meth:`stop` is idempotent,
joins both threads and closes the source, also after a source error.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from livepose.errors import LivePoseError
from livepose.pipeline.mailbox import LatestMailbox, LockstepQueue
from livepose.recording.writer import SessionRecorder
from livepose.runtime.predictor import Predictor
from livepose.skeletons import get_layout
from livepose.sources.base import DepthSource
from livepose.types import DepthFrame, PoseResult

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often blocked threads look at the stop flag


class CentreDetection(Protocol):
    found: bool
    uvd: np.ndarray
    reason: str


class CentreDetector(Protocol):
    """What the engine needs from a hand detector (see :mod:`livepose.detect.centre`)."""

    def detect(self, depth_mm: np.ndarray, intrinsics) -> CentreDetection: ...

    def track(self, depth_mm: np.ndarray, intrinsics, previous_joints_uvd: np.ndarray) -> CentreDetection: ...


@dataclass
class EngineStats:
    """Counters kept by the engine threads (read them from any thread; values are plain ints/floats)."""

    captured: int = 0
    processed: int = 0
    found: int = 0
    latencies_ms: list[float] = field(default_factory=list)
    started_s: float = 0.0
    finished_s: float = 0.0
    error: str = ""

    def summary(self, dropped: dict[str, int]) -> str:
        elapsed = max((self.finished_s or time.monotonic()) - self.started_s, 1e-9)
        fps = self.processed / elapsed
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        drops = ", ".join(f"{k} {v}" for k, v in dropped.items())
        return (f"frames {self.processed} processed of {self.captured} captured, target found in {self.found}; "
                f"{fps:.1f} FPS over {elapsed:.1f} s; latency p50 {np.percentile(lat, 50):.1f} ms, "
                f"p99 {np.percentile(lat, 99):.1f} ms; dropped: {drops}")


class Engine:
    """Runs a source through detection and A2J on two threads (see the module docstring)."""

    def __init__(self, source: DepthSource, predictor: Predictor, detector: CentreDetector,
                 lockstep: bool | None = None, max_frames: int | None = None,
                 recorder: SessionRecorder | None = None) -> None:
        self.source = source
        self.recorder = recorder
        self.predictor = predictor
        self.detector = detector
        self.lockstep = (not source.is_live) if lockstep is None else lockstep
        self.max_frames = max_frames
        self.stats = EngineStats()
        self._frames: LatestMailbox[DepthFrame] | LockstepQueue[DepthFrame]
        self._results: LatestMailbox[PoseResult] | LockstepQueue[PoseResult]
        if self.lockstep:
            self._frames, self._results = LockstepQueue(2), LockstepQueue(8)
        else:
            self._frames, self._results = LatestMailbox(), LatestMailbox()
        self._shown: LatestMailbox[tuple[PoseResult, DepthFrame]] = LatestMailbox()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._previous_uvd: np.ndarray | None = None
        self._num_joints = get_layout(predictor.layout).num_joints

    # -- control (owner thread) -------------------------------------------------------------------------------
    def start(self) -> Engine:
        self.stats.started_s = time.monotonic()
        self._threads = [threading.Thread(target=self._capture_loop, name="livepose-capture", daemon=True),
                         threading.Thread(target=self._inference_loop, name="livepose-inference", daemon=True)]
        for thread in self._threads:
            thread.start()
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads, close the source and the mailboxes. Safe to call twice."""
        self._stop.set()
        self._frames.close()
        try:
            self.source.close()
        except Exception as exc:  # a failing close must not keep threads alive
            log.warning("closing %s failed: %s", self.source.description, exc)
        deadline = time.monotonic() + timeout
        for thread in self._threads:
            if thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0.1))
        self._results.close()
        self._shown.close()
        if not self.stats.finished_s:
            self.stats.finished_s = time.monotonic()

    def __enter__(self) -> Engine:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def dropped(self) -> dict[str, int]:
        return {"inference": self._frames.dropped, "output": self._results.dropped}

    @property
    def viewer_dropped(self) -> int:
        """Results a viewer polling :meth:`latest_with_frame` never took (it was slower than the pipeline)."""
        return self._shown.dropped

    def set_recorder(self, recorder: SessionRecorder | None) -> None:
        """Start (a started recorder) or stop (None) feeding a recorder, while running; any thread.
        The engine threads read the attribute once per item, so a swap never blocks them."""
        self.recorder = recorder

    # -- consumers (owner thread) -----------------------------------------------------------------------------
    def results(self) -> Iterator[PoseResult]:
        """Every result in order (lock-step) or the newest ones (live), until the engine ends."""
        while True:
            result = self._results.get(timeout=POLL_S)
            if result is not None:
                yield result
            elif self._results.closed or not self.running:
                # Drain what is left after the threads ended.
                while (result := self._results.get(timeout=0)) is not None:
                    yield result
                return

    def latest(self, timeout: float = 0.0) -> PoseResult | None:
        """The newest result, or None if there is none new (for a GUI timer)."""
        return self._results.get(timeout=timeout)

    def latest_with_frame(self, timeout: float = 0.0) -> tuple[PoseResult, DepthFrame] | None:
        """The newest result with the frame it was computed from, or None if there is none new (for a
        viewer's timer). Independent of :meth:`results` / :meth:`latest`: both see every result."""
        return self._shown.get(timeout=timeout)

    # -- engine threads ---------------------------------------------------------------------------------------
    def _capture_loop(self) -> None:
        try:
            while not self._stop.is_set():
                frame = self.source.read(timeout_s=POLL_S * 5)
                if frame is None:
                    if self.source.is_live:
                        continue
                    break  # end of the file
                self.stats.captured += 1
                recorder = self.recorder  # read once: set_recorder() may swap it from another thread
                if recorder is not None:
                    recorder.submit_frame(frame)
                if not self._frames.put(frame):
                    break
        except LivePoseError as exc:
            self.stats.error = str(exc)
            log.error("%s", exc)
        except Exception as exc:  # a source failure ends the run with a message, never a hung engine
            self.stats.error = f"{self.source.description}: {type(exc).__name__}: {exc}"
            log.exception("capture failed")
        finally:
            self._frames.close()

    def _inference_loop(self) -> None:
        try:
            while True:
                frame = self._frames.get(timeout=POLL_S)
                if frame is None:
                    if self._frames.closed or self._stop.is_set():
                        break
                    continue
                result = self.process(frame)
                self.stats.processed += 1
                self.stats.found += int(result.found)
                self.stats.latencies_ms.append(result.timings_ms.get("latency", float("nan")))
                recorder = self.recorder
                if recorder is not None:
                    recorder.submit_result(result)
                self._results.put(result)
                self._shown.put((result, frame))
                if self.max_frames is not None and self.stats.processed >= self.max_frames:
                    self._stop.set()
                    break
        except Exception as exc:
            self.stats.error = self.stats.error or f"inference: {type(exc).__name__}: {exc}"
            log.exception("inference failed")
        finally:
            self.stats.finished_s = time.monotonic()
            self._frames.close()
            self._results.close()
            self._shown.close()

    def process(self, frame: DepthFrame) -> PoseResult:
        """Detect (or track), crop, predict and uncrop one frame. Called by the inference worker only."""
        t0 = time.perf_counter()
        nan = np.full((self._num_joints, 3), np.nan)
        base = {"frame_number": frame.frame_number, "t_device_ms": frame.t_device_ms, "t_host_ms": frame.t_host_ms,
                "layout": self.predictor.layout}
        try:
            depth_mm = frame.depth_mm()
            detection = None
            if self._previous_uvd is not None:
                detection = self.detector.track(depth_mm, frame.intrinsics, self._previous_uvd)
            if detection is None or not detection.found:
                detection = self.detector.detect(depth_mm, frame.intrinsics)
            t1 = time.perf_counter()
            if not detection.found:
                self._previous_uvd = None
                timings = {"detect": (t1 - t0) * 1e3}
                return self._finish(PoseResult(**base, found=False, joints_mm=nan, joints_uvd=nan,
                                               confidence=np.zeros(self._num_joints), reason=detection.reason,
                                               timings_ms=timings), t0, frame)
            prediction = self.predictor.predict(depth_mm, frame.intrinsics, detection.uvd)
        except LivePoseError as exc:
            self._previous_uvd = None
            return self._finish(PoseResult(**base, found=False, joints_mm=nan, joints_uvd=nan,
                                           confidence=np.zeros(self._num_joints), reason=str(exc),
                                           timings_ms={}), t0, frame)
        self._previous_uvd = prediction.joints_uvd
        crop = prediction.crop
        timings = {"detect": (t1 - t0) * 1e3, **prediction.timings_ms}
        return self._finish(PoseResult(**base, found=True, joints_mm=prediction.joints_mm,
                                       joints_uvd=prediction.joints_uvd, confidence=prediction.confidence,
                                       anchor_weights=prediction.anchor_weights,
                                       crop_box=(crop.x_min, crop.y_min, crop.x_max, crop.y_max),
                                       timings_ms=timings), t0, frame)

    def _finish(self, result: PoseResult, t0: float, frame: DepthFrame) -> PoseResult:
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1e3
        result.timings_ms["latency"] = time.monotonic() * 1e3 - frame.t_host_ms
        result.dropped.update(self.dropped)
        return result
