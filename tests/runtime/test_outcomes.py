"""How the controller settles a reconcile's outcome: TemporaryError's delay
(a float or an int) is the requeue delay; PermanentError drops the key."""

from __future__ import annotations

import pytest

from rdd.runtime.controller import Controller, PermanentError, TemporaryError


async def _noop(key: object) -> None:
    raise AssertionError("not called")


@pytest.mark.parametrize("delay", [5, 5.0, 0.25])
async def test_a_temporary_error_with_a_delay_is_requeued_after_it(delay: float) -> None:
    controller = Controller("outcomes", _noop)
    delays: list[float] = []
    controller.queue.add_after = lambda key, seconds: delays.append(seconds)  # type: ignore[method-assign]
    controller._settle("key", TemporaryError("later", delay=delay))
    assert delays == [delay]


async def test_a_temporary_error_without_a_delay_backs_off() -> None:
    controller = Controller("outcomes", _noop)
    limited: list[object] = []
    controller.queue.add_rate_limited = lambda key: limited.append(key) or 0.0  # type: ignore[method-assign]
    controller._settle("key", TemporaryError("later"))
    assert limited == ["key"]


async def test_a_permanent_error_forgets_the_key() -> None:
    controller = Controller("outcomes", _noop)
    forgotten: list[object] = []
    controller.queue.forget = lambda key: forgotten.append(key)  # type: ignore[method-assign]
    controller._settle("key", PermanentError("no"))
    assert forgotten == ["key"]
