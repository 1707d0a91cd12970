"""The heads-up display: rates measured on the GUI timer and the text that shows them.

Pure Python, no Qt. :class:`RateMeter` turns a growing counter (frames
captured, processed, rendered) into a rate over the last couple of seconds;
:func:`hud_text` lays out the lines the window shows.
"""

from __future__ import annotations

import collections
import math
import time
from dataclasses import dataclass, field

import numpy as np

from livepose.pipeline.health import SOURCE_REASON_PREFIX


class RateMeter:
    """The rate of a monotonically growing counter over a sliding window of ``window_s`` seconds."""

    def __init__(self, window_s: float = 2.0) -> None:
        self.window_s = window_s
        self._samples: collections.deque[tuple[float, int]] = collections.deque()

    def update(self, count: int, now: float | None = None) -> float:
        """Record the counter's value now; return the rate (per second) over the window."""
        now = time.monotonic() if now is None else now
        self._samples.append((now, count))
        while len(self._samples) > 2 and now - self._samples[1][0] >= self.window_s:
            self._samples.popleft()
        return self.rate

    @property
    def rate(self) -> float:
        if len(self._samples) < 2:
            return 0.0
        (t0, c0), (t1, c1) = self._samples[0], self._samples[-1]
        return (c1 - c0) / (t1 - t0) if t1 > t0 else 0.0


def recent_p50(values: list[float], last: int = 100) -> float:
    """Median of the last ``last`` finite values of a list another thread appends to (NaN if none)."""
    tail = np.asarray(values[-last:], dtype=np.float64)
    tail = tail[np.isfinite(tail)]
    return float(np.median(tail)) if tail.size else math.nan


@dataclass
class HudState:
    """Everything the HUD shows, gathered by the window on each tick."""

    capture_fps: float = 0.0
    inference_fps: float = 0.0
    render_fps: float = 0.0
    latency_p50_ms: float = math.nan
    latency_last_ms: float = math.nan
    dropped: dict[str, int] = field(default_factory=dict)
    source: str = ""
    model: str = ""
    device: str = ""
    frame_number: int | None = None
    found: bool | None = None
    reason: str = ""
    anchors_shown: int = 0
    anchor_joint: str = "all joints"
    status: str = ""
    recording: str = ""
    source_state: str = ""  # Engine.source_state.line(): "ok", or "FAILED for 2.1 s: ..." while a fault lasts


def _ms(value: float) -> str:
    return "-" if not math.isfinite(value) else f"{value:.0f} ms"


def hud_text(state: HudState) -> str:
    """The HUD as a few short lines of plain text."""
    drops = "  ".join(f"{k} {v}" for k, v in state.dropped.items()) or "-"
    fault = state.reason if state.found is False and state.reason.startswith(SOURCE_REASON_PREFIX) else ""
    target = ("-" if state.found is None else "found" if state.found else "no frame" if fault
              else f"lost ({state.reason})" if state.reason else "lost")
    frame = "-" if state.frame_number is None or state.frame_number < 0 else state.frame_number
    lines = [
        f"capture {state.capture_fps:5.1f} FPS   inference {state.inference_fps:5.1f} FPS   "
        f"render {state.render_fps:5.1f} FPS",
        f"latency p50 {_ms(state.latency_p50_ms)}   last {_ms(state.latency_last_ms)}",
        f"dropped: {drops}",
        f"source: {state.source}",
        f"model: {state.model}",
        f"device: {state.device}",
        f"frame {frame}: {target}   anchors > 0.02 ({state.anchor_joint}): {state.anchors_shown}",
    ]
    if state.source_state and state.source_state != "ok":
        lines.append(f"SOURCE: {state.source_state}")
    elif fault:
        lines.append(f"SOURCE: {fault[len(SOURCE_REASON_PREFIX):]}")
    if state.recording:
        lines.append(state.recording)
    if state.status:
        lines.append(state.status)
    lines += ["", "keys: Space pause  N step  R reset view  Ctrl+R record",
              "      P cloud  A anchors  O 2D overlay  M switch model",
              "      0 all joints  1-9 joint  [ ] previous / next  Q quit",
              "3D: drag orbit, Ctrl+drag or middle-drag pan, wheel zoom"]
    return "\n".join(lines)
