"""What every depth source offers: open, read frames, close.

A :class:`DepthSource` hands out :class:`~livepose.types.DepthFrame` s from a
camera, a recording or a folder. Use it as a context manager::

    with make_source("recording.db3") as source:
        while (frame := source.read()) is not None:
            ...

Threads
-------
- ``open()`` (or ``__enter__``): the owning thread, once, before any ``read()``.
- ``read()``: **one** thread at a time (the engine's capture thread). Frames it
  returns own their pixels (copied out of SDK buffers) and may be handed to
  any other thread.
- ``close()`` (or ``__exit__``): **any** thread, any number of times. It wakes a
  ``read()`` blocked in another thread within about :data:`POLL_S` seconds;
  that ``read()`` then returns None, and so does every later one.
- ``intrinsics``, ``description``, ``is_live``: any thread. Camera intrinsics
  are only known once the camera is open.
- ``reconnect()``: the reading thread, between reads, after ``read()`` failed
  (the engine does this for live sources, with a back-off between attempts).

What ``read()`` returns
-----------------------
- Live sources (``is_live``: cameras, synthetic generators) return None when
  no frame came within ``timeout_s`` (``None``: wait until one comes or the
  source is closed); the caller just asks again. A camera that sends nothing
  for :data:`NO_FRAMES_S` seconds raises :class:`~livepose.errors.LivePoseError`.
- File sources (recordings, folders) return None only at the **end** of the
  stream (or once closed): ``timeout_s`` is not applied to them, since a
  None would end the run. They never hang: their waits are bounded, and a
  playback that stops making progress is reported and treated as the end.

Errors a user can fix (no camera, a missing file, a missing SDK) are raised
as :class:`~livepose.errors.LivePoseError` from the constructor or ``open()``.
A live source whose device fails while streaming (unplugged, an SDK error)
raises LivePoseError from ``read()``; ``reconnect()`` then releases the device
and acquires it again, raising LivePoseError for as long as it is missing.
"""

from __future__ import annotations

import logging
import threading
from abc import ABC, abstractmethod

from livepose.camera import Intrinsics
from livepose.types import DepthFrame

log = logging.getLogger(__name__)

POLL_S = 0.1
"""Longest single wait inside ``read()``: the bound on how long ``close()`` takes to unblock a reader."""

NO_FRAMES_S = 10.0
"""A live camera that delivers nothing for this long (after opening or after its last frame) is an error."""


class DepthSource(ABC):
    """A camera, recording or folder that yields depth frames (see the module docstring for threads)."""

    #: True for cameras and synthetic generators (frames come whether or not they are read; a slow reader
    #: misses some), False for files (every frame is there to be read, in order).
    is_live: bool = False

    #: True for hardware (cameras): a device can go quiet, so the engine watches it for stalls (no frame for a
    #: second) and reopens it after a longer silence. Generators and files are never "stalled" however slowly
    #: they produce (a synthetic render on a busy machine is slow, not broken).
    is_device: bool = False

    def __init__(self) -> None:
        self._closed = threading.Event()  # set first thing in close(): readers poll it between waits
        self._state_lock = threading.Lock()  # serialises open() and close()
        self._opened = False
        self._close_done = False

    # -- what subclasses provide -------------------------------------------------------------------------------
    @property
    @abstractmethod
    def description(self) -> str:
        """A short human-readable name (``"RealSense D435 (123456)"``, ``"recording walk.db3"``)."""

    @property
    @abstractmethod
    def intrinsics(self) -> Intrinsics:
        """The camera model of the frames (for cameras: available after ``open()``)."""

    @abstractmethod
    def read(self, timeout_s: float | None = None) -> DepthFrame | None:
        """The next frame, or None (see the module docstring: end of a file, or no frame yet from a camera)."""

    def _open(self) -> None:
        """Acquire the device or file. Called once, under the state lock (default: nothing to acquire)."""
        return None

    def _close(self) -> None:
        """Release what ``_open`` acquired. Called at most once, after ``_open`` succeeded, under the state lock."""
        return None

    # -- lifecycle (template methods) --------------------------------------------------------------------------
    @property
    def closed(self) -> bool:
        return self._closed.is_set()

    def open(self) -> DepthSource:
        """Open the device or file (idempotent). Raises LivePoseError when that is impossible."""
        with self._state_lock:
            if self._closed.is_set():
                raise RuntimeError(f"{self.description}: open() after close(); make a new source instead")
            if not self._opened:
                self._open()
                self._opened = True
        return self

    def close(self) -> None:
        """Release the device or file. Safe from any thread and more than once; unblocks a waiting ``read()``."""
        self._closed.set()
        with self._state_lock:
            if self._close_done:
                return
            self._close_done = True
            if self._opened:
                self._close()

    def reconnect(self) -> None:
        """Release the device and acquire it again (after ``read()`` failed; the reading thread).

        Raises what ``open()`` raises while the device is still missing; the source is then left released
        and a later ``reconnect()`` tries again. A closed source stays closed (this returns at once). Sources
        without a device to lose (files) simply reopen.
        """
        with self._state_lock:
            if self._closed.is_set():
                return
            if self._opened:
                self._opened = False
                try:
                    self._close()
                except Exception as exc:  # releasing a device that is gone may fail; acquiring again matters
                    log.debug("%s: releasing before reconnecting: %s", self.description, exc)
            self._open()
            self._opened = True

    def _require_open(self) -> None:
        if not self._opened and not self._closed.is_set():
            raise RuntimeError(f"{self.description}: read() before open(); use the source as a context manager")

    def __enter__(self) -> DepthSource:
        return self.open()

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        state = "closed" if self.closed else ("open" if self._opened else "not opened")
        return f"<{type(self).__name__} {self.description} ({state})>"
