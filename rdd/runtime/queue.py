"""A work queue with client-go's guarantees.

- adding a key that is already waiting is a no-op (duplicates collapse);
- a key being processed is never handed to a second worker; re-added while
  processing, it is queued again once `done` is called;
- per-key exponential backoff for failures (`add_rate_limited`), reset by
  `forget`; `add_after` for requeue-after.

One difference: a key has at most one delayed add, and the latest request
replaces it (`forget` cancels it). Only a pass's outcome schedules one, and
a level-based pass asks for every wait its observation still needs, so a
later pass makes an earlier pass's timer moot: client-go keeps the earliest
and runs the pass it no longer needs.

A named queue keeps client-go's workqueue metrics (depth, adds, retries).
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Hashable

from rdd.runtime.metrics import WORKQUEUE_ADDS, WORKQUEUE_DEPTH, WORKQUEUE_RETRIES


class ShutDownError(Exception):
    """The queue was shut down; workers should exit."""


class WorkQueue:
    def __init__(
        self, name: str = "", *, base_delay: float = 0.005, max_delay: float = 5.0
    ) -> None:
        self.name = name
        self._base_delay = base_delay
        self._max_delay = max_delay
        self._order: deque[Hashable] = deque()
        self._dirty: set[Hashable] = set()
        self._processing: set[Hashable] = set()
        self._failures: dict[Hashable, int] = {}
        self._timers: dict[Hashable, asyncio.TimerHandle] = {}
        #: Set whenever a key is queued (or on shutdown); getters re-check.
        self._wakeup = asyncio.Event()
        self._shutting_down = False
        if name:  # each series exists from the start, at 0, as client-go's do
            WORKQUEUE_ADDS.labels(name)
            WORKQUEUE_RETRIES.labels(name)
            WORKQUEUE_DEPTH.labels(name).set(0)

    def __len__(self) -> int:
        return len(self._order)

    def add(self, key: Hashable) -> None:
        if self._shutting_down or key in self._dirty:
            return
        self._dirty.add(key)
        if key in self._processing:
            return  # queued again by done()
        self._order.append(key)
        self._wakeup.set()
        if self.name:
            WORKQUEUE_ADDS.labels(self.name).inc()
        self._measure()

    def _measure(self) -> None:
        if self.name:
            WORKQUEUE_DEPTH.labels(self.name).set(len(self._order))

    def add_after(self, key: Hashable, delay: float) -> None:
        """Add `key` in `delay` seconds, instead of when it was due before."""
        self._cancel_timer(key)
        if delay <= 0:
            self.add(key)
            return

        def fire() -> None:
            del self._timers[key]
            self.add(key)

        self._timers[key] = asyncio.get_running_loop().call_later(delay, fire)

    def _cancel_timer(self, key: Hashable) -> None:
        handle = self._timers.pop(key, None)
        if handle is not None:
            handle.cancel()

    def backoff(self, key: Hashable) -> float:
        """The delay the next failure of `key` waits (pure w.r.t. the count)."""
        failures = self._failures.get(key, 0)
        return min(self._base_delay * (2**failures), self._max_delay)

    def add_rate_limited(self, key: Hashable) -> float:
        delay = self.backoff(key)
        self._failures[key] = self._failures.get(key, 0) + 1
        if self.name:
            WORKQUEUE_RETRIES.labels(self.name).inc()
        self.add_after(key, delay)
        return delay

    def forget(self, key: Hashable) -> None:
        """Reset `key`'s failure count and cancel its delayed add."""
        self._failures.pop(key, None)
        self._cancel_timer(key)

    async def get(self) -> Hashable:
        while not self._order:
            if self._shutting_down:
                raise ShutDownError
            self._wakeup.clear()
            await self._wakeup.wait()
        key = self._order.popleft()
        self._measure()
        self._dirty.discard(key)
        self._processing.add(key)
        return key

    def done(self, key: Hashable) -> None:
        self._processing.discard(key)
        if key in self._dirty and not self._shutting_down:
            self._order.append(key)
            self._wakeup.set()
            self._measure()

    async def shut_down(self) -> None:
        self._shutting_down = True
        for handle in self._timers.values():
            handle.cancel()
        self._timers.clear()
        self._wakeup.set()
