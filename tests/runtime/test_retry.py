"""rdd.retry: the one Backoff and the one conflict-retry loop."""

from __future__ import annotations

import asyncio

import pytest

from rdd.errors import ConflictError, NotFoundError
from rdd.retry import Backoff, retry_on_conflict


def test_backoff_grows_to_its_cap_and_resets() -> None:
    backoff = Backoff(initial=0.1, cap=0.5)
    assert [backoff.next() for _ in range(5)] == [0.1, 0.2, 0.4, 0.5, 0.5]
    backoff.reset()
    assert backoff.next() == 0.1


def test_backoff_factor() -> None:
    backoff = Backoff(initial=1.0, cap=100.0, factor=3.0)
    assert [backoff.next() for _ in range(3)] == [1.0, 3.0, 9.0]


def run(coro):  # type: ignore[no-untyped-def]
    return asyncio.run(coro)


def test_retry_on_conflict_tries_again_until_a_write_lands() -> None:
    calls = []

    async def attempt() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConflictError("stale")
        return "written"

    assert run(retry_on_conflict(attempt)) == "written"
    assert len(calls) == 3


def test_retry_on_conflict_raises_the_last_conflict() -> None:
    calls = []

    async def attempt() -> None:
        calls.append(1)
        raise ConflictError(f"stale {len(calls)}")

    with pytest.raises(ConflictError, match="stale 4"):
        run(retry_on_conflict(attempt, attempts=4))
    assert len(calls) == 4


def test_retry_on_conflict_passes_other_errors_at_once() -> None:
    calls = []

    async def attempt() -> None:
        calls.append(1)
        raise NotFoundError("gone")

    with pytest.raises(NotFoundError):
        run(retry_on_conflict(attempt))
    assert len(calls) == 1
