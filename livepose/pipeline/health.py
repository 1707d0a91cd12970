"""The depth source's health as the engine sees it, and the back-off between reconnection attempts.

The engine's capture thread writes a :class:`SourceHealth` (a frame came, the
source failed, a reconnection is under way); the inference worker reads it to
notice a stall and to put a result into the stream that says why there is no
pose; a viewer reads it for its HUD. Every change bumps ``version``, so a
reader can tell a new state from one it has already reported.

States (:data:`STATES`):

==============  ==========================================================================
``starting``    opened, no frame yet
``ok``          frames are coming
``stalled``     a live source gave no frame for the engine's ``stall_s``
``failed``      ``read()`` or a reconnection raised (the message says what)
``reconnecting`` waiting out the back-off before the next attempt to reopen the device
``ended``       the source ended (end of a file, or the engine stopped)
==============  ==========================================================================

Results that stand for a source fault (no frame at all) have ``frame_number``
-1 and a ``reason`` starting with :data:`SOURCE_REASON_PREFIX`; results of a
frame that could not be used start with :data:`BAD_FRAME_PREFIX`.

Threads: every method of :class:`SourceHealth` may be called from any thread.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass

STARTING, OK, STALLED, FAILED, RECONNECTING, ENDED = "starting", "ok", "stalled", "failed", "reconnecting", "ended"
STATES = (STARTING, OK, STALLED, FAILED, RECONNECTING, ENDED)
FAULT_STATES = (STALLED, FAILED, RECONNECTING)

SOURCE_REASON_PREFIX = "source "
"""``reason`` of a result that stands for no frame: ``"source <state> for <s> s: <message>"``."""

BAD_FRAME_PREFIX = "bad frame: "
"""``reason`` of a result whose frame could not be used (wrong shape or dtype, no valid depth...)."""


@dataclass(frozen=True)
class Backoff:
    """Delays between reconnection attempts: ``initial_s``, times ``factor`` per failed attempt, at most ``max_s``.

    The cap bounds how long a device that is back waits to be noticed: with the default 1 s, a camera plugged
    in again streams within about 1 s plus the time the SDK takes to open it.
    """

    initial_s: float = 0.1
    factor: float = 2.0
    max_s: float = 1.0

    def delay(self, attempt: int) -> float:
        """Seconds to wait before attempt ``attempt`` (0-based)."""
        return min(self.max_s, self.initial_s * self.factor ** min(attempt, 64))


@dataclass(frozen=True)
class HealthSnapshot:
    """One consistent reading of :class:`SourceHealth` (times are ``time.monotonic()`` seconds)."""

    state: str
    message: str
    since_s: float
    last_frame_s: float
    faults: int
    recoveries: int
    reconnects: int
    version: int
    cause: str = ""  # the latest fault episode's first state and message: "failed: <why>"
    cause_duration_s: float = 0.0  # how long that episode lasted (up to now while it lasts)
    frame_interval_s: float = 0.0  # running mean of the time between frames while all is well (0: not known)

    @property
    def faulty(self) -> bool:
        return self.state in FAULT_STATES

    def reason(self, now_s: float | None = None) -> str:
        """The ``reason`` of a result standing for this state: ``"source failed for 1.2 s: <message>"``."""
        now_s = time.monotonic() if now_s is None else now_s
        return f"{SOURCE_REASON_PREFIX}{self.state} for {max(now_s - self.since_s, 0.0):.1f} s: {self.message}"

    def recovered_reason(self) -> str:
        """The ``reason`` of a result reporting a fault episode that ended before it could be reported."""
        state, _, message = self.cause.partition(": ")
        return f"{SOURCE_REASON_PREFIX}{state} for {self.cause_duration_s:.1f} s: {message} (recovered)"

    def line(self, now_s: float | None = None) -> str:
        """A short line for a HUD: ``"ok"``, or the state, how long and why, with the counts."""
        if not self.faulty:
            extra = f" ({self.faults} faults, {self.recoveries} recovered)" if self.faults else ""
            return f"{self.state}{extra}"
        now_s = time.monotonic() if now_s is None else now_s
        return (f"{self.state.upper()} for {max(now_s - self.since_s, 0.0):.1f} s: {self.message} "
                f"(reconnect attempts {self.reconnects})")


class SourceHealth:
    """What the engine knows about its source (see the module docstring)."""

    def __init__(self, now_s: float | None = None) -> None:
        now_s = time.monotonic() if now_s is None else now_s
        self._lock = threading.Lock()
        self._state, self._message, self._since = STARTING, "waiting for the first frame", now_s
        self._last_frame = now_s
        self._faults = self._recoveries = self._reconnects = self._version = 0
        self._in_episode = False  # a fault happened and no frame came since
        self._episode_since = now_s
        self._cause = ""
        self._cause_duration = 0.0
        self._interval = 0.0

    def frame(self, now_s: float | None = None) -> None:
        """A frame came (capture thread): the state is ``ok``; leaving a fault counts as a recovery."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            if self._state == OK:  # frame to frame while all is well: how fast this source is
                interval = now_s - self._last_frame
                self._interval = interval if not self._interval else 0.9 * self._interval + 0.1 * interval
            self._last_frame = now_s
            if self._in_episode:
                self._recoveries += 1
                self._in_episode = False
                self._cause_duration = now_s - self._episode_since
            if self._state != OK:
                self._set(OK, "frames are coming", now_s)

    def fault(self, state: str, message: str, now_s: float | None = None) -> None:
        """Enter (or update the message of) a fault state; a first fault after ``ok`` counts as a new fault."""
        if state not in FAULT_STATES:
            raise ValueError(f"{state!r} is not a fault state")
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            if self._state == state and self._message == message:
                return
            if not self._in_episode:
                self._faults += 1
                self._in_episode = True
                self._episode_since = now_s
                self._cause = f"{state}: {message}"
            self._set(state, message, self._episode_since)  # one episode keeps its start time

    def reconnecting(self, message: str, now_s: float | None = None) -> None:
        """An attempt to reopen the device is about to be made after the back-off (counts the attempt)."""
        with self._lock:
            self._reconnects += 1
        self.fault(RECONNECTING, message, now_s)

    def reopened(self, now_s: float | None = None) -> None:
        """The device was reopened; until its first frame the state reads ``starting`` (the fault episode, and
        with it the recovery count, ends when a frame comes)."""
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            self._last_frame = max(self._last_frame, now_s)  # the wait for a frame starts again
            self._set(STARTING, "reopened, waiting for the first frame", now_s)

    def ended(self, message: str = "the source ended", now_s: float | None = None) -> None:
        now_s = time.monotonic() if now_s is None else now_s
        with self._lock:
            if self._state != ENDED:
                self._set(ENDED, message, now_s)

    def snapshot(self) -> HealthSnapshot:
        with self._lock:
            duration = time.monotonic() - self._episode_since if self._in_episode else self._cause_duration
            return HealthSnapshot(self._state, self._message, self._since, self._last_frame, self._faults,
                                  self._recoveries, self._reconnects, self._version, self._cause, duration,
                                  self._interval)

    def _set(self, state: str, message: str, since: float) -> None:
        self._state, self._message, self._since = state, message, since
        self._version += 1
