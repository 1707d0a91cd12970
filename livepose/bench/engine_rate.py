"""Engine throughput: the highest input rate the live engine sustains without drops, and its latency.

A :class:`PacedReplaySource` hands the engine pre-rendered frames of a moving
synthetic hand (rendered once by :class:`livepose.sources.synthetic.SyntheticSource`
in its unpaced mode, then cached) at an exact rate, stamping each frame's
arrival time when it is handed over, like a camera. Rendering at the rate
itself would measure the renderer, not the engine.

For each rate of a rising ladder the whole live pipeline runs for a few
seconds (capture thread, hand detection and tracking, the predictor, the
one-slot mailboxes) while the main thread takes every result. A rate is
*sustained* when no frame was dropped anywhere: none by the engine
(``dropped["inference"]``, ``dropped["output"]``) and none skipped by the
source because its thread could not hand frames over on time. The ladder
stops at the first rate that is not sustained. Latency is
``timings_ms["latency"]``: frame arrival to result, p50 and p99.

Main thread only (it owns the engine).
"""

from __future__ import annotations

import logging
import math
import time
from dataclasses import dataclass

import numpy as np

from livepose.camera import Intrinsics
from livepose.runtime.default_model import cache_dir
from livepose.runtime.predictor import Predictor
from livepose.sources.base import DepthSource
from livepose.types import DepthFrame

log = logging.getLogger(__name__)

RATES = (5, 10, 15, 30, 45, 60, 90, 120, 180, 240, 300, 400, 500, 750, 1000)


class PacedReplaySource(DepthSource):
    """A live source replaying raw frames (looped) at exactly ``fps`` (see the module docstring).

    ``read()`` from the engine's capture thread; ``close()`` from any thread. ``skipped`` counts frames
    that were due while the reader was late (they are never delivered, as with a camera).
    """

    is_live = True

    def __init__(self, frames: list[np.ndarray], intrinsics: Intrinsics, fps: float) -> None:
        super().__init__()
        self._frames = frames
        self._intrinsics = intrinsics
        self.fps = float(fps)
        self._next = 0
        self._start = 0.0
        self.skipped = 0
        self.delivered = 0

    @property
    def description(self) -> str:
        return f"paced synthetic replay ({self.fps:g} FPS)"

    @property
    def intrinsics(self) -> Intrinsics:
        return self._intrinsics

    def _open(self) -> None:
        self._start = time.monotonic() + 0.05

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        self._require_open()
        due = self._start + self._next / self.fps
        while not self.closed and (remaining := due - time.monotonic()) > 0:
            if timeout_s is not None and remaining > timeout_s:
                time.sleep(timeout_s)
                return None
            time.sleep(min(remaining, 0.01))
        if self.closed:
            return None
        now = time.monotonic()
        current = max(self._next, math.floor((now - self._start) * self.fps))
        self.skipped += current - self._next
        index = current
        self._next = current + 1
        self.delivered += 1
        raw = self._frames[index % len(self._frames)]
        return DepthFrame(depth=raw, depth_unit_mm=self._intrinsics.depth_unit_mm, intrinsics=self._intrinsics,
                          frame_number=index, t_device_ms=index * 1000.0 / self.fps, t_host_ms=now * 1e3,
                          source=self.description)


def hand_sequence(count: int, fps: float = 30.0, seed: int = 0) -> tuple[list[np.ndarray], Intrinsics]:
    """``count`` consecutive frames of the synthetic live hand at ``fps`` (raw uint16), cached on disk."""
    from livepose.sources.synthetic import SyntheticSource

    source = SyntheticSource("hand", fps=fps, seed=seed, paced=False)
    path = cache_dir() / "bench" / f"hand_sequence-{source.camera}-n{count}-fps{fps:g}-seed{seed}-v1.npy"
    if path.is_file():
        try:
            stored = np.load(path)
            if stored.shape[0] == count:
                return list(stored), source.intrinsics
        except (OSError, ValueError):
            pass
    log.info("rendering %d frames of the synthetic live hand (cached in %s)", count, path)
    with source:
        frames = [source.read().depth for _ in range(count)]
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(".tmp.npy")
        np.save(tmp, np.stack(frames))
        tmp.replace(path)
    except OSError as exc:
        log.info("could not cache the sequence (%s)", exc)
    return frames, source.intrinsics


@dataclass(frozen=True)
class RateResult:
    """One rung of the ladder."""

    fps_in: float
    seconds: float
    captured: int
    processed: int
    found: int
    dropped: dict[str, int]
    source_skipped: int
    latency_p50_ms: float | None
    latency_p99_ms: float | None

    @property
    def sustained(self) -> bool:
        return self.processed > 0 and self.source_skipped == 0 and not any(self.dropped.values())

    def to_dict(self) -> dict:
        return {"fps_in": self.fps_in, "seconds": round(self.seconds, 2), "captured": self.captured,
                "processed": self.processed, "found": self.found, "dropped": dict(self.dropped),
                "source_skipped": self.source_skipped, "fps_out": round(self.processed / self.seconds, 1),
                "latency_p50_ms": self.latency_p50_ms, "latency_p99_ms": self.latency_p99_ms,
                "sustained": self.sustained}


def run_rate(predictor: Predictor, frames: list[np.ndarray], intrinsics: Intrinsics, fps: float,
             seconds: float) -> RateResult:
    """Run the engine on a paced replay at ``fps`` for ``seconds``, taking every result on this thread."""
    from livepose.detect.centre import HandCentreDetector
    from livepose.pipeline.engine import Engine

    source = PacedReplaySource(frames, intrinsics, fps)
    latencies: list[float] = []
    with source:
        engine = Engine(source, predictor, HandCentreDetector(), lockstep=False)
        started = time.monotonic()
        engine.start()
        try:
            while time.monotonic() - started < seconds and engine.running:
                result = engine.latest(timeout=0.05)
                if result is not None and "latency" in result.timings_ms:
                    latencies.append(result.timings_ms["latency"])
        finally:
            source.close()  # first: no new frame may arrive while the engine winds down
            engine.stop()
    elapsed = time.monotonic() - started
    lat = np.asarray(latencies, dtype=np.float64)
    p50 = round(float(np.percentile(lat, 50)), 2) if lat.size else None
    p99 = round(float(np.percentile(lat, 99)), 2) if lat.size else None
    return RateResult(fps_in=float(fps), seconds=elapsed, captured=engine.stats.captured,
                      processed=engine.stats.processed, found=engine.stats.found, dropped=dict(engine.dropped),
                      source_skipped=source.skipped, latency_p50_ms=p50, latency_p99_ms=p99)


def engine_ladder(predictor: Predictor, frames: list[np.ndarray], intrinsics: Intrinsics, seconds: float,
                  rates: tuple[float, ...] = RATES, progress=None) -> dict:
    """Climb ``rates`` until one is not sustained; the report's ``engine`` entry for one predictor."""
    # Warm the predictor (ONNX Runtime arenas, cuDNN autotuning, CUDA graphs) outside the timed runs.
    run_rate(predictor, frames, intrinsics, 1000.0, min(seconds, 1.0))
    rungs = []
    for fps in rates:
        result = run_rate(predictor, frames, intrinsics, fps, seconds)
        rungs.append(result)
        if progress is not None:
            progress(f"engine {predictor.label} at {fps:g} FPS: {'sustained' if result.sustained else 'drops'}, "
                     f"latency p50 {result.latency_p50_ms} ms")
        if not result.sustained:
            break
    sustained = [r for r in rungs if r.sustained]
    best = sustained[-1] if sustained else None
    return {"backend": predictor.backend.name, "device": predictor.backend.device,
            "precision": predictor.precision, "model": predictor.name, "seconds_per_rate": seconds,
            "sustained_fps": best.fps_in if best else 0.0,
            "latency_p50_ms": best.latency_p50_ms if best else None,
            "latency_p99_ms": best.latency_p99_ms if best else None,
            "rates": [r.to_dict() for r in rungs]}
