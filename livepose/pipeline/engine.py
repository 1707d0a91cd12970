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

Faults (:mod:`livepose.pipeline.health`):

- A live source whose ``read()`` raises (a camera unplugged, an SDK error) is
  reopened with :meth:`~livepose.sources.base.DepthSource.reconnect` after a
  back-off (0.1 s doubling to at most 1 s), for as long as the engine runs; a
  device (``is_device``: a camera) that gives no frame for
  ``reconnect_after_s`` is reopened the same way. Meanwhile the inference
  worker puts a result with ``frame_number`` -1, ``found`` False and a
  ``reason`` ``"source <state> for <s> s: <why>"`` into the stream whenever the
  state changes, and once a second while it lasts (a device silent for
  ``stall_s`` is ``stalled``, even when its ``read()`` hangs; generators such
  as the synthetic source are never stalled, only slow).
  :attr:`Engine.source_state` gives the state to a viewer.
- A file source that raises ends the run (``stats.error``), after one such
  result.
- A frame that cannot be used (:func:`~livepose.pipeline.frames.check_frame`:
  wrong shape or dtype, no intrinsics, no valid depth) gets a result whose
  ``reason`` starts with ``"bad frame: "``; so does any error of the detector
  or the network on one frame (logged once per kind). The next good frame is
  detected afresh.

Threads: :meth:`start`, :meth:`stop` and the consumer methods are called from
the owning (main or GUI) thread; the engine's own two threads never touch the
caller's objects except through the mailboxes. :meth:`stop` is idempotent,
joins both threads and closes the source, also after a source error.
"""

from __future__ import annotations

import atexit
import logging
import threading
import time
import weakref
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Protocol

import numpy as np

from livepose.detect.select import detector_for
from livepose.errors import LivePoseError
from livepose.pipeline import health as h
from livepose.pipeline.frames import CheckedFrame, check_frame
from livepose.pipeline.mailbox import LatestMailbox, LockstepQueue
from livepose.recording.writer import SessionRecorder
from livepose.runtime.predictor import Predictor
from livepose.skeletons import get_layout
from livepose.sources.base import NO_FRAMES_S, DepthSource
from livepose.types import DepthFrame, PoseResult

log = logging.getLogger(__name__)

POLL_S = 0.2  # how often blocked threads look at the stop flag
MAX_LATENCIES = 10_000  # latencies kept for the summary and the HUD (the newest; older ones are dropped)
MAX_MESSAGE = 300  # characters of an error message kept in a result's reason


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
    latencies_ms: list[float] = field(default_factory=list)  # the newest MAX_LATENCIES (bounded)
    started_s: float = 0.0
    finished_s: float = 0.0
    error: str = ""
    bad_frames: int = 0  # frames that got a "bad frame" result
    fault_results: int = 0  # results standing for a source fault (frame_number -1)
    source_faults: int = 0  # fault episodes of the source (stalls, errors)
    recoveries: int = 0  # episodes that ended with frames coming again
    reconnects: int = 0  # attempts to reopen the source

    def add_latency(self, value_ms: float) -> None:
        """Keep ``value_ms``; the list never holds more than about 2 x MAX_LATENCIES values (inference thread)."""
        self.latencies_ms.append(value_ms)
        if len(self.latencies_ms) > 2 * MAX_LATENCIES:
            del self.latencies_ms[:-MAX_LATENCIES]

    def summary(self, dropped: dict[str, int]) -> str:
        elapsed = max((self.finished_s or time.monotonic()) - self.started_s, 1e-9)
        fps = self.processed / elapsed
        lat = np.array(self.latencies_ms) if self.latencies_ms else np.array([np.nan])
        drops = ", ".join(f"{k} {v}" for k, v in dropped.items())
        text = (f"frames {self.processed} processed of {self.captured} captured, target found in {self.found}; "
                f"{fps:.1f} FPS over {elapsed:.1f} s; latency p50 {np.percentile(lat, 50):.1f} ms, "
                f"p99 {np.percentile(lat, 99):.1f} ms; dropped: {drops}")
        if self.source_faults:
            text += (f"; source faults {self.source_faults} ({self.recoveries} recovered, {self.reconnects} "
                     "reconnection attempts)")
        if self.bad_frames:
            text += f"; bad frames {self.bad_frames}"
        return text


def describe_error(source: DepthSource, exc: BaseException) -> str:
    """One line (at most MAX_MESSAGE characters) saying what went wrong with ``source``."""
    text = str(exc) if isinstance(exc, LivePoseError) else f"{source.description}: {type(exc).__name__}: {exc}"
    text = " ".join(text.split())
    return text if len(text) <= MAX_MESSAGE else text[:MAX_MESSAGE - 3] + "..."


class Engine:
    """Runs a source through detection and A2J on two threads (see the module docstring).

    Fault handling (live sources): ``backoff`` spaces the attempts to reopen a failed source; a source silent
    for ``stall_s`` (default: 1 s, or 3 frame intervals of a slower source, nominal or measured) is reported
    as stalled, and one silent for ``reconnect_after_s`` is reopened; before its first frame after an open,
    the source has ``start_grace_s`` (10 s, a camera's own limit) for both, as cameras take a moment to start.
    While a fault lasts a result says so every ``report_every_s``.
    """

    def __init__(self, source: DepthSource, predictor: Predictor, detector: CentreDetector | None = None,
                 lockstep: bool | None = None, max_frames: int | None = None,
                 recorder: SessionRecorder | None = None, *, backoff: h.Backoff | None = None,
                 stall_s: float | None = None, reconnect_after_s: float = 5.0, report_every_s: float = 1.0) -> None:
        self.source = source
        self.recorder = recorder
        self._model = (predictor, detector if detector is not None else detector_for(predictor.crop_settings))
        self._model_in_use = self._model  # inference thread: the pair the previous frame ran with
        self.lockstep = (not source.is_live) if lockstep is None else lockstep
        self._keep_everything(recorder)
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
        self.health = h.SourceHealth()
        self.backoff = backoff or h.Backoff()
        self.stall_s = float(stall_s) if stall_s is not None else _default_stall_s(source)
        self.reconnect_after_s = max(float(reconnect_after_s), self.stall_s)
        # Silence allowed before the first frame after an open (cameras take a moment; so does a first render).
        self.start_grace_s = max(self.reconnect_after_s, NO_FRAMES_S)
        self.report_every_s = float(report_every_s)
        self._reconnecting = threading.Event()  # the capture thread is inside source.reconnect()
        self._last_good_frame: DepthFrame | None = None  # inference thread: drawn beside fault results
        self._reported_version = -1
        self._reported_faults = 0
        self._last_report_s = 0.0
        self._logged_errors: set[str] = set()

    # -- the model ------------------------------------------------------------------------------------------
    @property
    def predictor(self) -> Predictor:
        """The model the next frame runs through."""
        return self._model[0]

    @property
    def detector(self) -> CentreDetector:
        """The detector that finds the next frame's crop region."""
        return self._model[1]

    def use_model(self, predictor: Predictor, detector: CentreDetector | None = None) -> None:
        """Switch models (a hand model and a body model, say) from the owner thread while running: the next
        frame the worker takes runs through ``predictor``, with ``detector`` (default: the one its crop method
        needs, :func:`~livepose.detect.select.detector_for`). Results carry the new model's ``layout``; the
        tracked region is detected afresh. One attribute assignment, so the worker never sees half a switch."""
        self._model = (predictor, detector if detector is not None else detector_for(predictor.crop_settings))

    # -- control (owner thread) -------------------------------------------------------------------------------
    def start(self) -> Engine:
        self.stats.started_s = time.monotonic()
        self.health = h.SourceHealth(self.stats.started_s)
        self._threads = [threading.Thread(target=self._capture_loop, name="livepose-capture", daemon=True),
                         threading.Thread(target=self._inference_loop, name="livepose-inference", daemon=True)]
        for thread in self._threads:
            thread.start()
        _ENGINES.add(self)
        return self

    def stop(self, timeout: float = 5.0) -> None:
        """Stop both threads, close the source and the mailboxes. Safe to call twice."""
        self._stop.set()
        self._frames.close()
        deadline = time.monotonic() + timeout
        self._close_source(timeout)
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

    def _close_source(self, timeout: float) -> None:
        """Close the source; while the capture thread is reopening it (which can take the SDK seconds) the close
        runs on a helper thread, so that stop() returns within ``timeout`` all the same."""
        def close() -> None:
            try:
                self.source.close()
            except Exception as exc:  # a failing close must not keep threads alive
                log.warning("closing %s failed: %s", self.source.description, exc)

        if not self._reconnecting.is_set():
            close()
            return
        closer = threading.Thread(target=close, name="livepose-close", daemon=True)
        closer.start()
        closer.join(timeout)
        if closer.is_alive():
            log.warning("%s: still closing after %.0f s (the device is being reopened)", self.source.description,
                        timeout)

    @property
    def running(self) -> bool:
        return any(t.is_alive() for t in self._threads)

    @property
    def source_state(self) -> h.HealthSnapshot:
        """The source's state now (``ok``, ``stalled``, ``failed``, ``reconnecting``...; any thread)."""
        return self.health.snapshot()

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
        self._keep_everything(recorder)
        self.recorder = recorder

    def _keep_everything(self, recorder: SessionRecorder | None) -> None:
        """In lock-step nothing is live: the recorder keeps every frame however late it gets to it."""
        if recorder is not None and self.lockstep:
            recorder.max_age_s = None

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
        source = self.source
        waiting_since = time.monotonic()  # since when a frame is awaited (start, or the last reopening)
        opened_quiet = True  # no frame since the source was (re)opened: the longer start_grace_s applies
        attempts = 0  # reopenings since the last frame: a source that fails again at once backs off further
        try:
            while not self._stop.is_set():
                try:
                    frame = source.read(timeout_s=POLL_S * 5)
                except Exception as exc:
                    if self._stop.is_set() or source.closed:
                        break
                    if not source.is_live:
                        raise
                    attempts = self._recover(describe_error(source, exc), attempts)
                    waiting_since, opened_quiet = time.monotonic(), True
                    continue
                if frame is None:
                    if self._stop.is_set() or source.closed or not source.is_live:
                        break  # stopped, or the end of the file
                    quiet = time.monotonic() - max(waiting_since, self.health.snapshot().last_frame_s)
                    if source.is_device and quiet >= (self.start_grace_s if opened_quiet else self.reconnect_after_s):
                        attempts = self._recover(f"{source.description}: no frame for {quiet:.1f} s", attempts)
                        waiting_since, opened_quiet = time.monotonic(), True
                    continue
                opened_quiet, attempts = False, 0
                self.health.frame()
                self.stats.captured += 1
                recorder = self.recorder  # read once: set_recorder() may swap it from another thread
                if recorder is not None:
                    recorder.submit_frame(frame)
                if not self._frames.put(frame):
                    break
        except LivePoseError as exc:
            self.stats.error = str(exc)
            self.health.fault(h.FAILED, describe_error(source, exc))
            log.error("%s", exc)
        except Exception as exc:  # a source failure ends the run with a message, never a hung engine
            self.stats.error = f"{source.description}: {type(exc).__name__}: {exc}"
            self.health.fault(h.FAILED, describe_error(source, exc))
            log.exception("capture failed")
        finally:
            self._frames.close()

    def _recover(self, message: str, attempt: int = 0) -> int:
        """Reopen a failed live source, backing off between attempts (counting on from ``attempt``, the attempts
        since its last frame), until it works or the engine stops; the attempts made so far (capture thread)."""
        source = self.source
        self.health.fault(h.FAILED, message)
        log.warning("%s; reopening it", message)
        first = attempt
        while not self._stop.is_set() and not source.closed:
            delay = self.backoff.delay(attempt)
            self.health.reconnecting(f"{message}; attempt {attempt + 1} in {delay:.1f} s")
            if self._stop.wait(delay):
                return attempt
            self._reconnecting.set()
            try:
                source.reconnect()
            except Exception as exc:
                message = describe_error(source, exc)
                attempt += 1
                log.debug("reopening %s failed: %s", source.description, message)
                continue
            finally:
                self._reconnecting.clear()
            self.health.reopened()
            log.warning("%s: reopened after %d failed attempts", source.description, attempt - first)
            return attempt + 1
        return attempt

    def _inference_loop(self) -> None:
        try:
            while True:
                frame = self._frames.get(timeout=POLL_S)
                if frame is None:
                    if self._frames.closed or self._stop.is_set():
                        break
                    self._watch()
                    continue
                result, shown = self._process(frame)
                self.stats.processed += 1
                self.stats.found += int(result.found)
                self.stats.add_latency(result.timings_ms.get("latency", float("nan")))
                recorder = self.recorder
                if recorder is not None:
                    recorder.submit_result(result)
                self._results.put(result)
                if shown is not None:
                    self._shown.put((result, shown))
                if self.max_frames is not None and self.stats.processed >= self.max_frames:
                    self._stop.set()
                    break
                if self.source.is_live:
                    self._watch()  # a fault meanwhile (a file's failure is reported after its last frame)
            if not self._stop.is_set():
                self._watch()  # a file source that failed: one result says why the stream ends
        except Exception as exc:
            self.stats.error = self.stats.error or f"inference: {type(exc).__name__}: {exc}"
            log.exception("inference failed")
        finally:
            snapshot = self.health.snapshot()
            if snapshot.state != h.FAILED:
                self.health.ended("stopped" if self._stop.is_set() else "the source ended")
            self._copy_health(snapshot)
            self.stats.finished_s = time.monotonic()
            self._frames.close()
            self._results.close()
            self._shown.close()

    def _copy_health(self, snapshot: h.HealthSnapshot) -> None:
        self.stats.source_faults = snapshot.faults
        self.stats.recoveries = snapshot.recoveries
        self.stats.reconnects = snapshot.reconnects

    def _watch(self) -> None:
        """Notice a stalled live source and put a result into the stream for a fault that is new, or that has
        lasted another ``report_every_s`` since the last such result, or that came and went unreported
        (inference thread)."""
        now = time.monotonic()
        snapshot = self.health.snapshot()
        # A source slower than usual (a synthetic render on a busy machine) gets 3 of its own frame intervals, up to
        # reconnect_after_s; before its first frame, start_grace_s (a camera takes a while to start).
        slow = min(3.0 * snapshot.frame_interval_s, self.reconnect_after_s)
        limit = max(self.stall_s, slow) if snapshot.state == h.OK else self.start_grace_s
        if (self.source.is_device and snapshot.state in (h.OK, h.STARTING) and not self._stop.is_set()
                and now - snapshot.last_frame_s >= limit):
            what = "no frame from" if snapshot.state == h.OK else "no first frame from"
            self.health.fault(h.STALLED, f"{what} {self.source.description}", now)
            snapshot = self.health.snapshot()
        self._copy_health(snapshot)
        if snapshot.faulty:
            if snapshot.version == self._reported_version and now - self._last_report_s < self.report_every_s:
                return
            reason = snapshot.reason(now)
        elif snapshot.faults > self._reported_faults:  # an episode that was over before this thread looked
            reason = snapshot.recovered_reason()
        else:
            return
        self._reported_version, self._last_report_s = snapshot.version, now
        self._reported_faults = snapshot.faults
        self._previous_uvd = None
        layout = self.predictor.layout
        joints = get_layout(layout).num_joints
        nan = np.full((joints, 3), np.nan)
        result = PoseResult(frame_number=-1, t_device_ms=float("nan"), t_host_ms=now * 1e3,
                            layout=layout, found=False, joints_mm=nan, joints_uvd=nan.copy(),
                            confidence=np.zeros(joints), reason=reason, dropped=dict(self.dropped))
        self.stats.fault_results += 1
        self._results.put(result)
        if self._last_good_frame is not None:  # a viewer shows the reason beside the last good frame
            self._shown.put((result, self._last_good_frame))

    def process(self, frame: DepthFrame) -> PoseResult:
        """Detect (or track), crop, predict and uncrop one frame; never raises (a frame that cannot be used
        gets a result saying why). Called by the inference worker only."""
        return self._process(frame)[0]

    def _process(self, frame: DepthFrame) -> tuple[PoseResult, DepthFrame | None]:
        """The result, and the frame a viewer may draw beside it (the last good one for a bad frame)."""
        t0 = time.perf_counter()
        checked = check_frame(frame)
        if not checked.usable:
            self._previous_uvd = None
            self.stats.bad_frames += 1
            timings = {"detect": (time.perf_counter() - t0) * 1e3}  # checking the frame is where detection starts
            result = self._not_found(checked, h.BAD_FRAME_PREFIX + checked.reason, timings)
            return self._finish(result, t0, checked), self._last_good_frame
        self._last_good_frame = frame
        depth_mm, intrinsics = checked.depth_mm, checked.intrinsics
        model = self._model
        if model is not self._model_in_use:  # switched: the tracked joints belong to the other model
            self._model_in_use, self._previous_uvd = model, None
        predictor, detector = model
        try:
            detection = None
            if self._previous_uvd is not None:
                detection = detector.track(depth_mm, intrinsics, self._previous_uvd)
            if detection is None or not detection.found:
                detection = detector.detect(depth_mm, intrinsics)
            t1 = time.perf_counter()
            if not detection.found:
                self._previous_uvd = None
                result = self._not_found(checked, detection.reason, {"detect": (t1 - t0) * 1e3}, predictor)
                return self._finish(result, t0, checked), frame
            if predictor.crop_settings.method == "box":
                prediction = predictor.predict_box(depth_mm, intrinsics, detection.box)
            else:
                prediction = predictor.predict(depth_mm, intrinsics, detection.uvd)
        except LivePoseError as exc:
            self._previous_uvd = None
            return self._finish(self._not_found(checked, str(exc), {}, predictor), t0, checked), frame
        except Exception as exc:  # a detector or network failure on one frame must not end the run
            self._previous_uvd = None
            kind = f"{type(exc).__name__}: {exc}"
            if type(exc).__name__ not in self._logged_errors:
                self._logged_errors.add(type(exc).__name__)
                log.exception("frame %d: %s (further %s errors are not logged)", checked.fields.frame_number,
                              kind, type(exc).__name__)
            self.stats.bad_frames += 1
            reason = h.BAD_FRAME_PREFIX + " ".join(f"processing failed: {kind}".split())[:MAX_MESSAGE]
            return self._finish(self._not_found(checked, reason, {}, predictor), t0, checked), frame
        self._previous_uvd = prediction.joints_uvd
        crop = prediction.crop
        timings = {"detect": (t1 - t0) * 1e3, **prediction.timings_ms}
        fields = checked.fields
        result = PoseResult(frame_number=fields.frame_number, t_device_ms=fields.t_device_ms,
                            t_host_ms=fields.t_host_ms, layout=predictor.layout, found=True,
                            joints_mm=prediction.joints_mm, joints_uvd=prediction.joints_uvd,
                            confidence=prediction.confidence, anchor_weights=prediction.anchor_weights,
                            crop_box=(crop.x_min, crop.y_min, crop.x_max, crop.y_max), timings_ms=timings)
        return self._finish(result, t0, checked), frame

    def _not_found(self, checked: CheckedFrame, reason: str, timings: dict[str, float],
                   predictor: Predictor | None = None) -> PoseResult:
        fields = checked.fields
        layout = (predictor or self.predictor).layout
        joints = get_layout(layout).num_joints
        nan = np.full((joints, 3), np.nan)
        return PoseResult(frame_number=fields.frame_number, t_device_ms=fields.t_device_ms,
                          t_host_ms=fields.t_host_ms, layout=layout, found=False, joints_mm=nan,
                          joints_uvd=nan.copy(), confidence=np.zeros(joints), reason=reason,
                          timings_ms=timings)

    def _finish(self, result: PoseResult, t0: float, checked: CheckedFrame) -> PoseResult:
        result.timings_ms["total"] = (time.perf_counter() - t0) * 1e3
        result.timings_ms["latency"] = time.monotonic() * 1e3 - checked.fields.t_host_ms
        result.dropped.update(self.dropped)
        return result


_ENGINES: weakref.WeakSet[Engine] = weakref.WeakSet()
EXIT_WAIT_S = 30.0
"""At interpreter exit, how long to wait for engine threads still inside a read (a slow device or render)."""


@atexit.register
def _stop_engines_at_exit() -> None:
    """Stop engines still running at interpreter exit, and give threads that outlive stop() (a slow read: a first
    synthetic render, a device call) time to finish before the interpreter tears down: a daemon thread still
    inside torch or an SDK at that point makes the process abort ("terminate called without an active
    exception") instead of exiting. Bounded, so that a wedged device cannot hang the exit."""
    deadline = time.monotonic() + EXIT_WAIT_S
    for engine in list(_ENGINES):
        engine.stop(timeout=max(deadline - time.monotonic(), 0.1))
        for thread in engine._threads:
            if thread.is_alive() and thread is not threading.current_thread():
                thread.join(max(deadline - time.monotonic(), 0.0))


def _default_stall_s(source: DepthSource) -> float:
    """1 s, or three frame intervals of a source slower than 3 FPS."""
    fps = getattr(source, "fps", None)
    try:
        fps = float(fps) if fps is not None else 0.0
    except (TypeError, ValueError):
        fps = 0.0
    return max(1.0, 3.0 / fps) if fps > 0 else 1.0
