"""Device faults and bad frames: the engine reports them in the result stream, retries, resumes and never hangs.

Faults are injected with :class:`~livepose.sources.faults.FaultySource` around real sources (a folder of depth
PNGs played as a live camera), and through the real pyrealsense2 SDK: a recording loaded into an ``rs.context``
acts as a camera there, and unloading it makes the SDK report the camera removed.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from livepose.camera import Intrinsics
from livepose.detect.centre import HandCentreDetector
from livepose.errors import LivePoseError
from livepose.pipeline.engine import Engine
from livepose.pipeline.health import BAD_FRAME_PREFIX, SOURCE_REASON_PREFIX, Backoff, SourceHealth
from livepose.recording.writer import SessionRecorder
from livepose.runtime.predictor import Predictor
from livepose.sources.base import DepthSource
from livepose.sources.faults import BAD_FRAME_KINDS, FaultySource, damaged_frame
from livepose.sources.images import ImageFolderSource
from livepose.types import DepthFrame, PoseResult
from livepose.viewer.hud import HudState, hud_text
from tests.test_engine import livepose_threads, write_hand_folder

RESUME_S = 2.0  # the bound: frames again within 2 s of the device coming back (on an idle machine)
# A shared CI machine can starve a thread for seconds (it once took 2.9 s here), so the tests check what gives
# that bound, which does not depend on load: the backoff cap (1 s) and, with the injected faults, that the first
# reconnect attempt after the device returns succeeds. Wall time is only bounded loosely.
RESUME_LOADED_S = 10.0
WAIT_S = 60.0  # generous bound for things that must happen eventually (a slow, shared machine)


@pytest.fixture(scope="module")
def predictor(small_model: Path) -> Predictor:
    return Predictor.from_checkpoint(str(small_model))


@pytest.fixture()
def hands(tmp_path: Path) -> Path:
    """12 frames of a hand, none blank."""
    (tmp_path / "hands").mkdir()
    return write_hand_folder(tmp_path / "hands", count=12, step=4, empty=-1)


class Collector:
    """Takes every result the engine gives on a thread of its own, with the time it came."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.items: list[tuple[float, PoseResult]] = []
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        for result in self.engine.results():
            self.items.append((time.monotonic(), result))

    def results(self, since: float = 0.0) -> list[PoseResult]:
        return [r for t, r in list(self.items) if t >= since]

    def wait_for(self, test: Callable[[PoseResult], bool], since: float = 0.0, count: int = 1) -> list[PoseResult]:
        deadline = time.monotonic() + WAIT_S
        while time.monotonic() < deadline:
            found = [r for r in self.results(since) if test(r)]
            if len(found) >= count:
                return found
            time.sleep(0.05)
        raise AssertionError(f"waited {WAIT_S} s for {count} results; last: {[r.reason for r in self.results()[-5:]]}")

    def join(self) -> None:
        self._thread.join(10)
        assert not self._thread.is_alive()


def is_fault(result: PoseResult) -> bool:
    return result.frame_number == -1 and not result.found and result.reason.startswith(SOURCE_REASON_PREFIX)


def is_frame(result: PoseResult) -> bool:
    return result.frame_number >= 0


def wait_until(test: Callable[[], bool]) -> None:
    deadline = time.monotonic() + WAIT_S
    while not test():
        assert time.monotonic() < deadline, "condition never came true"
        time.sleep(0.02)


# ------------------------------------------------------------------------------------------------------------
# Bad frames
# ------------------------------------------------------------------------------------------------------------
def test_every_kind_of_bad_frame_gets_a_reason_and_the_next_good_frame_is_tracked(predictor, hands) -> None:
    with ImageFolderSource(hands) as source:
        good = source.read()
        engine = Engine(source, predictor, HandCentreDetector())
        assert engine.process(good).found
        expected = {"shape": "shape", "dtype": "dtype", "size": "but the camera is", "zeros": "every pixel is 0",
                    "nan": "NaN", "negative": "negative", "absurd": "beyond 30 m", "unit": "depth unit",
                    "no_intrinsics": "no camera intrinsics", "not_array": "expected an (H, W) array",
                    "object": "dtype object"}
        assert set(expected) == set(BAD_FRAME_KINDS)
        for kind in BAD_FRAME_KINDS:
            bad = engine.process(damaged_frame(good, kind))
            assert not bad.found and bad.reason.startswith(BAD_FRAME_PREFIX) and expected[kind] in bad.reason, kind
            assert np.isnan(bad.joints_mm).all() and not bad.confidence.any()
            assert bad.frame_number == good.frame_number and "total" in bad.timings_ms
            again = engine.process(good)
            assert again.found and np.isfinite(again.joints_mm).all(), kind
    assert engine.stats.bad_frames == len(BAD_FRAME_KINDS)


def test_bad_frames_in_a_running_engine_and_its_recording(predictor, hands, tmp_path: Path) -> None:
    """Every kind of bad frame in one lock-step run with a recorder: each gets its result, the recording skips
    them and goes on, and the good frames after them are tracked."""
    source = FaultySource(ImageFolderSource(hands, loop=True), live=False)
    for kind in BAD_FRAME_KINDS:
        source.corrupt(kind)
    recorder = SessionRecorder(tmp_path / "bad.mcap").start()
    total = len(BAD_FRAME_KINDS) + 8
    with source:
        engine = Engine(source, predictor, HandCentreDetector(), lockstep=True, max_frames=total, recorder=recorder)
        with engine:
            results = list(engine.results())
    recorder.stop()
    assert len(results) == total and not engine.stats.error
    bad, good = results[:len(BAD_FRAME_KINDS)], results[len(BAD_FRAME_KINDS):]
    assert all(not r.found and r.reason.startswith(BAD_FRAME_PREFIX) for r in bad)
    assert all(r.found for r in good)
    assert engine.stats.bad_frames == len(BAD_FRAME_KINDS)
    assert "bad frames 11" in engine.stats.summary(engine.dropped)
    # The recorder could not store the damaged frames (and kept going); the good ones are all there.
    assert not recorder.error and recorder.skipped >= 1 and recorder.frames_written >= 8
    assert not livepose_threads()


FRAME_SHAPES = st.one_of(hnp.array_shapes(min_dims=0, max_dims=4, max_side=8),
                         st.tuples(st.integers(1, 48), st.integers(1, 64)))
DTYPES = st.one_of(hnp.scalar_dtypes(), st.just(np.dtype(np.uint16)), st.just(np.dtype(np.float32)))


@st.composite
def odd_frames(draw) -> DepthFrame:
    """Frames a faulty driver might hand over: any shape and dtype, any values, any camera or none."""
    dtype = draw(DTYPES)
    depth = draw(hnp.arrays(dtype, draw(FRAME_SHAPES)))
    if draw(st.booleans()):
        width, height = draw(st.integers(1, 64)), draw(st.integers(1, 48))
    else:
        height, width = (depth.shape + (1, 1))[:2] if depth.ndim >= 2 else (1, max(depth.size, 1))
    intrinsics = draw(st.sampled_from([None, "camera"]))
    if intrinsics is not None:
        intrinsics = Intrinsics(fx=draw(st.floats(1, 1e4)), fy=draw(st.floats(1, 1e4)),
                                cx=draw(st.floats(-1e3, 1e3)), cy=draw(st.floats(-1e3, 1e3)), width=width,
                                height=height, depth_unit_mm=1.0)
    unit = draw(st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1.0, 0.125])))
    return DepthFrame(depth=depth, depth_unit_mm=unit, intrinsics=intrinsics,
                      frame_number=draw(st.integers(-(2 ** 70), 2 ** 70)),
                      t_device_ms=draw(st.floats(allow_nan=True)), t_host_ms=draw(st.floats(allow_nan=True)))


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(frame=odd_frames())
def test_any_frame_gets_a_result_and_never_an_exception(predictor, frame: DepthFrame) -> None:
    engine = Engine(_NoSource(), predictor, HandCentreDetector())
    result = engine.process(frame)
    assert isinstance(result, PoseResult)
    assert result.found or result.reason
    if result.found:
        assert np.isfinite(result.joints_mm).all()


class _NoSource(DepthSource):
    """A source that is never read (for calling Engine.process directly)."""

    is_live = False

    @property
    def description(self) -> str:
        return "no source"

    @property
    def intrinsics(self) -> Intrinsics:
        raise RuntimeError("no camera")

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        return None


# ------------------------------------------------------------------------------------------------------------
# Device faults
# ------------------------------------------------------------------------------------------------------------
def test_backoff_doubles_up_to_a_second() -> None:
    assert [Backoff().delay(i) for i in range(7)] == [0.1, 0.2, 0.4, 0.8, 1.0, 1.0, 1.0]
    assert Backoff().delay(10_000) == 1.0


def test_health_counts_fault_episodes_and_recoveries() -> None:
    health = SourceHealth(now_s=0.0)
    health.frame(1.0)
    health.fault("failed", "boom", 2.0)
    health.reconnecting("boom; attempt 1", 2.1)
    health.reopened(2.5)
    assert health.snapshot().state == "starting" and health.snapshot().recoveries == 0
    health.frame(2.6)
    snapshot = health.snapshot()
    assert (snapshot.state, snapshot.faults, snapshot.recoveries, snapshot.reconnects) == ("ok", 1, 1, 1)
    health.fault("stalled", "quiet", 5.0)
    assert health.snapshot().reason(6.5) == "source stalled for 1.5 s: quiet"
    with pytest.raises(ValueError):
        health.fault("ok", "not a fault")
    slow = SourceHealth(now_s=0.0)
    for t in (1.0, 3.0, 5.0, 7.0):  # a source that gives a frame every 2 s (the first interval is from the start)
        slow.frame(t)
    assert slow.snapshot().frame_interval_s == pytest.approx(2.0)


def test_live_source_errors_unplugging_stalls_and_hangs_are_reported_and_survived(predictor, hands) -> None:
    source = FaultySource(ImageFolderSource(hands, fps=30, loop=True), live=True)
    with source:
        engine = Engine(source, predictor, HandCentreDetector()).start()
        collector = Collector(engine)
        try:
            collector.wait_for(lambda r: r.found, count=2)

            # read errors of the kind an SDK raises, and the source's own: reported, reopened, frames again
            for error in (RuntimeError, LivePoseError):
                since = time.monotonic()
                source.fail_reads(3, error)
                fault = collector.wait_for(is_fault, since)[0]
                assert error.__name__ in fault.reason or "fault injection" in fault.reason
                collector.wait_for(is_frame, since=time.monotonic())
            assert source.reconnects >= 2

            # unplugged for 2.5 s: fault results keep coming (once a second at least), the engine runs on
            unplugged = time.monotonic()
            source.unplug()
            faults = collector.wait_for(lambda r: is_fault(r) and "not connected" in r.reason, unplugged, count=2)
            assert engine.running and engine.source_state.state in ("failed", "reconnecting")
            pair = engine.latest_with_frame(timeout=5.0)  # a viewer gets the reason beside the last good frame
            assert pair is not None and isinstance(pair[1], DepthFrame)
            while time.monotonic() < unplugged + 2.5:
                time.sleep(0.05)
            assert all(np.isnan(r.joints_mm).all() for r in faults)
            replugged = time.monotonic()
            source.replug()
            first = collector.wait_for(lambda r: is_frame(r) and r.t_host_ms / 1e3 > replugged, replugged)[0]
            resume_s = first.t_host_ms / 1e3 - replugged
            while_out = [ok for called_s, ok in source.reconnect_attempts if unplugged < called_s < replugged]
            after = [ok for called_s, ok in source.reconnect_attempts if called_s > replugged]
            assert len(while_out) >= 3 and not any(while_out), while_out  # kept trying, backing off
            assert after[:1] == [True], f"reconnect attempts after the device came back: {after}"
            assert engine.backoff.max_s + 0.5 < RESUME_S  # the cap leaves room to open the device and read
            assert resume_s < RESUME_LOADED_S, f"resumed {resume_s:.2f} s after the device came back"

            # a stall (reads that return nothing) and a hang (a read that never returns): both reported
            for inject in (source.stall, source.hang):
                since = time.monotonic()
                inject()
                stalled = collector.wait_for(lambda r: is_fault(r) and "stalled" in r.reason, since, count=2)
                assert "no frame from" in stalled[-1].reason
                source.resume()
                collector.wait_for(is_frame, since=time.monotonic())
            source.hang()
            collector.wait_for(lambda r: is_fault(r) and "stalled" in r.reason, time.monotonic())
        finally:
            engine.stop()  # also while a read hangs: close() ends it
            collector.join()
    state = engine.source_state
    assert not engine.running and not livepose_threads()
    assert engine.stats.source_faults >= 5 and engine.stats.recoveries >= 4, engine.stats.summary(engine.dropped)
    assert "source faults" in engine.stats.summary(engine.dropped)
    assert state.state in ("ended", "stalled")


def test_a_file_source_that_fails_ends_the_run_with_a_result_saying_why(predictor, hands) -> None:
    source = FaultySource(ImageFolderSource(hands), live=False)
    source.fail_reads(1, OSError, "the disk went away", after_frames=3)
    with source:
        engine = Engine(source, predictor, HandCentreDetector())
        with engine:
            results = list(engine.results())
    assert [r.frame_number for r in results] == [0, 1, 2, -1]
    assert "the disk went away" in results[-1].reason and results[-1].reason.startswith("source failed")
    assert "the disk went away" in engine.stats.error and not livepose_threads()


class _StuckSource(DepthSource):
    """A camera whose read blocks until ``release`` is set, ignoring close() (a wedged driver)."""

    is_live = True
    is_device = True

    def __init__(self, frame: DepthFrame) -> None:
        super().__init__()
        self.release = threading.Event()
        self.frame = frame
        self.reads = 0

    @property
    def description(self) -> str:
        return "wedged camera"

    @property
    def intrinsics(self) -> Intrinsics:
        return self.frame.intrinsics

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        self.reads += 1
        if self.reads == 1:
            return self.frame
        self.release.wait()
        return None


def test_a_read_that_never_returns_is_reported_and_stop_still_returns(predictor, hands) -> None:
    with ImageFolderSource(hands) as folder:
        frame = folder.read()
    source = _StuckSource(frame)
    with source:
        engine = Engine(source, predictor, HandCentreDetector()).start()
        collector = Collector(engine)
        try:
            stalled = collector.wait_for(lambda r: is_fault(r) and "stalled" in r.reason, count=2)
            assert stalled[0].reason.startswith("source stalled for")
            engine.stop(timeout=1.0)
            collector.join()  # results() ends although the capture thread is still stuck
            assert not any(t.name == "livepose-inference" for t in livepose_threads())
        finally:
            source.release.set()
            engine.stop()
    wait_until(lambda: not livepose_threads())


def test_hud_shows_the_source_state() -> None:
    text = hud_text(HudState(frame_number=-1, found=False, reason="source reconnecting for 1.2 s: camera gone"))
    assert "SOURCE: reconnecting for 1.2 s: camera gone" in text and "frame -: no frame" in text
    text = hud_text(HudState(frame_number=7, found=False, reason="bad frame: no camera intrinsics",
                             source_state="FAILED for 0.3 s: unplugged (reconnect attempts 2)"))
    assert "lost (bad frame: no camera intrinsics)" in text and "SOURCE: FAILED for 0.3 s: unplugged" in text
    assert "SOURCE" not in hud_text(HudState(frame_number=3, found=True, source_state="ok"))


# ------------------------------------------------------------------------------------------------------------
# The live RealSense source and the SDK's own faults
# ------------------------------------------------------------------------------------------------------------
def test_realsense_camera_removed_and_back_and_frame_timeouts_through_the_sdk(predictor, tmp_path: Path) -> None:
    """A recording loaded into an rs.context is a camera to the live source: unloading it makes the SDK report
    the camera removed; loading it again brings it back; a playback that runs out gives frame timeouts."""
    rs = pytest.importorskip("pyrealsense2")
    from livepose.sources.realsense import RealSenseSource
    from livepose.sources.rs_synthetic import write_software_device_recording

    camera = Intrinsics(fx=60.0, fy=61.0, cx=31.5, cy=23.5, width=64, height=48)
    path = str(write_software_device_recording(tmp_path / "camera.db3", [np.full((48, 64), 500 + i, np.uint16)
                                                                          for i in range(150)], camera,
                                               serial="424242"))
    context = rs.context()
    loaded: list = []

    def plug_in() -> None:
        device = context.load_device(path)
        device.as_playback().set_real_time(False)  # lock-step: frames as fast as they are read
        loaded.append(device)

    plug_in()
    source = RealSenseSource(serial="424242", width=64, height=48, fps=30, context=context)
    with source:
        engine = Engine(source, predictor, HandCentreDetector(), reconnect_after_s=1.5).start()
        collector = Collector(engine)
        try:
            collector.wait_for(is_frame, count=3)
            unplugged = time.monotonic()
            context.unload_device(path)  # the context no longer lists the camera: removed
            collector.wait_for(lambda r: is_fault(r) and "no RealSense camera connected" in r.reason, unplugged)
            cause = engine.source_state.cause  # what started the episode (the stream may have moved on since)
            assert cause.startswith("failed") and "disconnected" in cause and "removed" in cause, cause
            replugged = time.monotonic()
            plug_in()
            first = collector.wait_for(lambda r: is_frame(r) and r.t_host_ms / 1e3 > replugged, replugged)[0]
            assert first.t_host_ms / 1e3 - replugged < RESUME_LOADED_S
            # The 150 frames run out: frame timeouts, reported as a stall, then the camera is reopened.
            collector.wait_for(lambda r: is_fault(r) and "stalled" in r.reason, replugged)
            stalled_at = time.monotonic()
            collector.wait_for(is_frame, since=stalled_at)
        finally:
            engine.stop()
            collector.join()
    assert engine.stats.source_faults >= 2 and engine.stats.recoveries >= 2
    assert not livepose_threads()
