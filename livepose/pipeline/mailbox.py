"""Hand-offs between pipeline threads.

- :class:`LatestMailbox`: one slot that a producer overwrites; the consumer
  always gets the newest item and every overwritten item is counted as a drop
  (live use: latency beats completeness).
- :class:`LockstepQueue`: a bounded FIFO whose ``put`` waits for room, so no
  item is ever dropped (files, evaluation, replay).

Both have the same interface (``put``, ``get``, ``close``, ``dropped``) and
are safe for one producer thread and any number of consumer threads.
``close()`` may be called from any thread; it wakes every waiter, after which
``get`` returns the remaining items and then ``None``.
"""

from __future__ import annotations

import collections
import threading
from typing import Generic, TypeVar

T = TypeVar("T")


class _Channel(Generic[T]):
    """What both hand-offs share: a condition, a closed flag, a drop counter and a waiting ``get``."""

    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._closed = False
        self.dropped = 0

    def _ready(self) -> bool:
        raise NotImplementedError

    def _take(self) -> T:
        raise NotImplementedError

    def get(self, timeout: float | None = None) -> T | None:
        """The next item, waiting up to ``timeout`` seconds; None on timeout or when closed and empty."""
        with self._cond:
            if not self._cond.wait_for(lambda: self._ready() or self._closed, timeout=timeout):
                return None
            if not self._ready():
                return None
            item = self._take()
            self._cond.notify_all()
            return item

    def close(self) -> None:
        """Refuse further items and wake every waiter (any thread)."""
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed


class LatestMailbox(_Channel[T]):
    """A one-slot mailbox that keeps the newest item and counts the ones it overwrote."""

    def __init__(self) -> None:
        super().__init__()
        self._item: T | None = None
        self._has_item = False

    def put(self, item: T) -> bool:
        """Store ``item``, replacing (and counting) an unread one. Returns False once closed."""
        with self._cond:
            if self._closed:
                return False
            if self._has_item:
                self.dropped += 1
            self._item, self._has_item = item, True
            self._cond.notify_all()
            return True

    def _ready(self) -> bool:
        return self._has_item

    def _take(self) -> T:
        item, self._item, self._has_item = self._item, None, False
        return item


class LockstepQueue(_Channel[T]):
    """A bounded FIFO: ``put`` waits for room, nothing is dropped."""

    def __init__(self, capacity: int = 2) -> None:
        if capacity < 1:
            raise ValueError("capacity must be at least 1")
        super().__init__()
        self._items: collections.deque[T] = collections.deque()
        self._capacity = capacity

    def put(self, item: T, timeout: float | None = None) -> bool:
        """Append ``item``, waiting for room. Returns False if closed (or still full after ``timeout``)."""
        with self._cond:
            if not self._cond.wait_for(lambda: len(self._items) < self._capacity or self._closed, timeout=timeout):
                return False
            if self._closed:
                return False
            self._items.append(item)
            self._cond.notify_all()
            return True

    def _ready(self) -> bool:
        return bool(self._items)

    def _take(self) -> T:
        return self._items.popleft()
