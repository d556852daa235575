"""A one-slot holder that always keeps the newest item and counts the ones it overwrote.

This is what makes a live path live: a slow consumer sees the latest frame, never a
backlog.  The pipeline uses the same holder to hand display states to the pygame loop.
"""

from __future__ import annotations

import threading
import time
from typing import Generic, TypeVar

T = TypeVar("T")


class FrameTimeout(Exception):
    """No frame arrived within the timeout, but the source has not ended."""


class Closed(Exception):
    """The producer closed the slot and it is empty."""


class LatestSlot(Generic[T]):
    def __init__(self) -> None:
        self._cond = threading.Condition()
        self._item: T | None = None
        self._has = False
        self._closed = False
        self.dropped = 0

    def put(self, item: T) -> None:
        with self._cond:
            if self._has:
                self.dropped += 1
            self._item, self._has = item, True
            self._cond.notify()

    def close(self) -> None:
        with self._cond:
            self._closed = True
            self._cond.notify_all()

    @property
    def closed(self) -> bool:
        return self._closed

    def get(self, timeout: float | None = None) -> T:
        """Take the newest item; raise Closed at the end, TimeoutError if none in time."""
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._cond:
            while not self._has:
                if self._closed:
                    raise Closed
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError
                self._cond.wait(remaining)
            item = self._item
            self._item, self._has = None, False
            return item  # type: ignore[return-value]
