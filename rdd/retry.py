"""Retrying, in one place: `Backoff` for loops that wait longer after each
failure (watches, informers, CLI waits, leases) and `retry_on_conflict` for
read-modify-write against a resourceVersion (client-go's
retry.RetryOnConflict).

Both are plain values and functions, so each caller's loop reads as what it
does: try, and on the one error it expects, wait or read again."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

from rdd.errors import ConflictError

T = TypeVar("T")

#: Attempts a read-modify-write gets before its last Conflict is the answer.
CONFLICT_ATTEMPTS = 5


@dataclass
class Backoff:
    """Delays that start at `initial` and grow by `factor` up to `cap`;
    `reset()` after a success starts over."""

    initial: float
    cap: float
    factor: float = 2.0
    _current: float = field(init=False, repr=False, default=0.0)

    def __post_init__(self) -> None:
        self._current = self.initial

    def next(self) -> float:
        """The delay to wait now; the one after it is longer (up to `cap`)."""
        delay = self._current
        self._current = min(self._current * self.factor, self.cap)
        return delay

    def reset(self) -> None:
        self._current = self.initial


async def retry_on_conflict(
    attempt: Callable[[], Awaitable[T]], attempts: int = CONFLICT_ATTEMPTS
) -> T:
    """`attempt()` until it does not raise ConflictError, at most `attempts`
    times; the last Conflict is raised. Each attempt must read what it
    writes over, so trying again is a fresh read-modify-write."""
    for _ in range(attempts - 1):
        try:
            return await attempt()
        except ConflictError:
            continue
    return await attempt()
