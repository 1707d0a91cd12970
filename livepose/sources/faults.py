"""A wrapper around a real source that injects device faults and bad frames (tests, benchmarks, demos).

:class:`FaultySource` passes the wrapped source's frames through until told
otherwise, from any thread:

- :meth:`~FaultySource.fail_reads`: the next ``count`` reads raise (a
  :class:`~livepose.errors.LivePoseError` like a source's own, or any other
  exception type, as an SDK might raise);
- :meth:`~FaultySource.unplug` / :meth:`~FaultySource.replug`: every read
  raises "disconnected" and every ``reconnect()`` "not connected" until the
  device is plugged in again;
- :meth:`~FaultySource.stall`: reads give no frame (they wait their timeout
  and return None); :meth:`~FaultySource.hang`: reads block, ignoring their
  timeout, until :meth:`~FaultySource.resume` or ``close()``;
- :meth:`~FaultySource.corrupt`: the next frames are damaged in one of the
  ways in :data:`BAD_FRAME_KINDS` (:func:`damaged_frame`).

``injected`` counts what was injected, by kind. Reads happen on one thread
(the engine's capture thread), control calls on any other.
"""

from __future__ import annotations

import collections
import dataclasses
import threading
import time

import numpy as np

from livepose.camera import Intrinsics
from livepose.errors import LivePoseError
from livepose.sources.base import POLL_S, DepthSource
from livepose.types import DepthFrame

BAD_FRAME_KINDS = ("shape", "dtype", "size", "zeros", "nan", "negative", "absurd", "unit", "no_intrinsics",
                   "not_array", "object")
"""Ways :func:`damaged_frame` damages a frame."""


def damaged_frame(frame: DepthFrame, kind: str) -> DepthFrame:
    """``frame`` damaged in the way ``kind`` names (one of :data:`BAD_FRAME_KINDS`):

    ``shape`` (H, W, 3) depth; ``dtype`` complex depth; ``size`` half the camera's size; ``zeros`` no reading
    anywhere; ``nan`` float depth that is all NaN; ``negative`` all below 0; ``absurd`` every pixel 655 m away;
    ``unit`` a depth unit of 0 mm; ``no_intrinsics`` no camera; ``not_array`` depth that is a string;
    ``object`` an object array.
    """
    depth = np.asarray(frame.depth)
    changes: dict[str, object]
    if kind == "shape":
        changes = {"depth": np.repeat(depth[:, :, None], 3, axis=2)}
    elif kind == "dtype":
        changes = {"depth": depth.astype(np.complex64)}
    elif kind == "size":
        changes = {"depth": np.ascontiguousarray(depth[::2, ::2])}
    elif kind == "zeros":
        changes = {"depth": np.zeros_like(depth)}
    elif kind == "nan":
        changes = {"depth": np.full(depth.shape, np.nan, np.float32)}
    elif kind == "negative":
        changes = {"depth": -np.abs(depth.astype(np.float32)) - 1.0}
    elif kind == "absurd":
        changes = {"depth": np.full(depth.shape, 65535, np.uint16), "depth_unit_mm": 10.0}
    elif kind == "unit":
        changes = {"depth_unit_mm": 0.0}
    elif kind == "no_intrinsics":
        changes = {"intrinsics": None}
    elif kind == "not_array":
        changes = {"depth": "not a depth image"}
    elif kind == "object":
        changes = {"depth": depth.astype(object)}
    else:
        raise ValueError(f"unknown bad frame kind {kind!r}; expected one of {', '.join(BAD_FRAME_KINDS)}")
    return dataclasses.replace(frame, **changes)


class FaultySource(DepthSource):
    """Wraps ``inner`` and injects faults into it (see the module docstring).

    Args:
        inner: the real source (not opened yet; this wrapper opens and closes it).
        live: pretend to be live (or not); default: as ``inner``. A live one is a device to the engine
            (``is_device``): watched for stalls.
    """

    def __init__(self, inner: DepthSource, live: bool | None = None) -> None:
        super().__init__()
        self.inner = inner
        self.is_live = inner.is_live if live is None else bool(live)
        self.is_device = self.is_live  # it stands for a device that can fail (and stall)
        self.fps = getattr(inner, "fps", None)
        self._lock = threading.Lock()
        self._failures: collections.deque[BaseException] = collections.deque()
        self._fail_after = 0  # frames to pass through before the queued failures start
        self._unplugged = False
        self._stalled = False
        self._hung = False
        self._bad: collections.deque[str] = collections.deque()
        self.injected: collections.Counter[str] = collections.Counter()
        self.reconnects = 0  # successful reconnect() calls
        self.reconnect_attempts: list[tuple[float, bool]] = []  # (time.monotonic() s at the call, succeeded)

    # -- DepthSource ----------------------------------------------------------------------------------------
    @property
    def description(self) -> str:
        return f"{self.inner.description} (fault injection)"

    @property
    def intrinsics(self) -> Intrinsics:
        return self.inner.intrinsics

    def _open(self) -> None:
        self.inner.open()

    def _close(self) -> None:
        self.inner.close()

    def reconnect(self) -> None:
        if self.closed:
            return
        called_s = time.monotonic()
        with self._lock:
            if self._unplugged:
                self.reconnect_attempts.append((called_s, False))
                raise LivePoseError(f"{self.inner.description}: not connected (unplugged by fault injection)")
        self.inner.reconnect()
        self.reconnects += 1
        self.reconnect_attempts.append((called_s, True))

    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        self._require_open()
        while not self.closed:
            with self._lock:
                if self._unplugged:
                    raise LivePoseError(f"{self.inner.description}: device disconnected (fault injection)")
                if self._failures and self._fail_after <= 0:
                    raise self._failures.popleft()
                hung, stalled = self._hung, self._stalled
            if hung:  # blocks, whatever the timeout, until resumed or closed
                self._closed.wait(POLL_S)
                continue
            if stalled:
                self._closed.wait(POLL_S if timeout_s is None else min(max(timeout_s, 0.0), 10.0))
                return None
            frame = self.inner.read(timeout_s)
            if frame is None:
                return None
            with self._lock:
                kind = self._bad.popleft() if self._bad else None
                self._fail_after -= 1
            return frame if kind is None else damaged_frame(frame, kind)
        return None

    # -- fault control (any thread) ---------------------------------------------------------------------------
    def fail_reads(self, count: int = 1, error: type[BaseException] = LivePoseError,
                   message: str = "read failed (fault injection)", after_frames: int = 0) -> None:
        """``count`` reads raise ``error(message)``, once ``after_frames`` more frames have passed."""
        with self._lock:
            self._fail_after = after_frames
            for _ in range(count):
                self._failures.append(error(f"{self.inner.description}: {message}"))
            self.injected[f"error:{error.__name__}"] += count

    def unplug(self) -> None:
        with self._lock:
            self._unplugged = True
            self.injected["unplug"] += 1

    def replug(self) -> None:
        with self._lock:
            self._unplugged = False

    def stall(self) -> None:
        with self._lock:
            self._stalled = True
            self.injected["stall"] += 1

    def hang(self) -> None:
        with self._lock:
            self._hung = True
            self.injected["hang"] += 1

    def resume(self) -> None:
        """End a stall or a hang."""
        with self._lock:
            self._stalled = self._hung = False

    def corrupt(self, kind: str, count: int = 1) -> None:
        """Damage the next ``count`` frames (see :func:`damaged_frame`)."""
        if kind not in BAD_FRAME_KINDS:
            raise ValueError(f"unknown bad frame kind {kind!r}; expected one of {', '.join(BAD_FRAME_KINDS)}")
        with self._lock:
            self._bad.extend([kind] * count)
            self.injected[f"bad:{kind}"] += count

    @property
    def pending_bad_frames(self) -> int:
        with self._lock:
            return len(self._bad)
