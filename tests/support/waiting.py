"""Waiting for a condition, bounded: poll the real state at a short
interval until it holds, and fail with what was last seen."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

T = TypeVar("T")


async def eventually(
    probe: Callable[[], Awaitable[T]] | Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition not met",
) -> T:
    """Wait until `probe()` returns something truthy (awaiting it when needed)."""
    deadline = time.monotonic() + timeout
    last: object = None
    while True:
        try:
            result = probe()
            if asyncio.iscoroutine(result) or isinstance(result, Awaitable):
                result = await result  # type: ignore[misc]
            if result:
                return result  # type: ignore[return-value]
            last = result
        except AssertionError as exc:
            last = exc
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} within {timeout}s (last: {last!r})")
        await asyncio.sleep(interval)


async def until(probe: Callable[[], Awaitable[bool]], timeout: float = 10.0) -> None:
    """Wait until the async predicate holds (eventually, typed for mypy)."""
    await eventually(probe, timeout=timeout)  # type: ignore[arg-type]


def wait_until(
    probe: Callable[[], T],
    *,
    timeout: float = 10.0,
    interval: float = 0.02,
    message: str = "condition not met",
) -> T:
    """`eventually` for synchronous tests."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise AssertionError(f"{message} within {timeout}s (last: {result!r})")
        time.sleep(interval)


async def events_until(
    api: Any,
    holds: Callable[[list[Any]], bool],
    *,
    namespace: str = "default",
    timeout: float = 10.0,
    message: str = "the expected Events were not recorded",
) -> list[Any]:
    """The namespace's Events once `holds(events)` is true. Events are written
    off the reconcile path (as Kubernetes' recorder does), so they can lag the
    status that caused them by a moment: tests wait for them, never assume."""

    async def listed() -> list[Any] | None:
        events = list((await api.events.list(namespace)).items)
        return events if holds(events) else None

    return await eventually(listed, timeout=timeout, message=message)  # type: ignore[arg-type]
