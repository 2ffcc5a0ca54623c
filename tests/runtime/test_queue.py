"""Work queue semantics (client-go's): dedup, one worker per key, backoff."""

from __future__ import annotations

import asyncio

import pytest

from rdd.runtime.controller import DONE, Controller, RequeueAfter, TemporaryError
from rdd.runtime.queue import ShutDownError, WorkQueue
from tests.support.waiting import eventually


async def test_duplicate_adds_collapse():
    queue = WorkQueue()
    for _ in range(5):
        queue.add("a")
    queue.add("b")
    assert len(queue) == 2
    assert await queue.get() == "a"
    assert await queue.get() == "b"
    await queue.shut_down()


async def test_a_key_being_processed_is_not_handed_out_again_until_done():
    queue = WorkQueue()
    queue.add("a")
    key = await queue.get()
    queue.add("a")  # re-added while processing
    assert len(queue) == 0
    queue.done(key)
    assert len(queue) == 1
    assert await queue.get() == "a"
    await queue.shut_down()


def test_backoff_grows_exponentially_and_is_capped():
    queue = WorkQueue(base_delay=0.005, max_delay=1.0)
    delays = []
    for _ in range(12):
        delays.append(queue.backoff("k"))
        queue._failures["k"] = queue._failures.get("k", 0) + 1
    assert delays[:4] == [0.005, 0.01, 0.02, 0.04]
    assert max(delays) == 1.0
    queue.forget("k")
    assert queue.backoff("k") == 0.005


async def test_a_later_delayed_add_replaces_the_keys_earlier_one():
    """A key's next pass is the one its latest pass asked for: the earlier,
    sooner timer no longer fires (client-go would run it first)."""
    queue = WorkQueue()
    queue.add_after("a", 0.05)
    queue.add_after("a", 0.3)
    queue.add_after("b", 0.1)
    assert await queue.get() == "b"
    assert len(queue) == 0
    assert await queue.get() == "a"
    await queue.shut_down()


async def test_forget_cancels_the_keys_delayed_add():
    queue = WorkQueue()
    queue.add_after("a", 0.05)
    queue.forget("a")
    queue.add_after("b", 0.1)
    assert await queue.get() == "b"
    queue.done("b")
    queue.add_after("c", 0.1)
    assert await queue.get() == "c"  # "a" would have come first
    await queue.shut_down()


async def test_shutdown_releases_waiting_workers():
    queue = WorkQueue()
    waiter = asyncio.create_task(queue.get())
    await asyncio.sleep(0.01)
    await queue.shut_down()
    with pytest.raises(ShutDownError):
        await waiter


async def test_controller_never_runs_two_workers_on_one_key_and_retries_failures():
    running: set[str] = set()
    overlaps = []
    calls: dict[str, int] = {}

    async def reconcile(key):
        if key in running:
            overlaps.append(key)
        running.add(key)
        await asyncio.sleep(0.005)
        running.discard(key)
        calls[key] = calls.get(key, 0) + 1
        if key == "flaky" and calls[key] < 3:
            raise TemporaryError("not yet")
        if key == "later" and calls[key] == 1:
            return RequeueAfter(0.01)
        return DONE

    controller = Controller("test", reconcile, workers=4)
    controller.start()
    for _ in range(20):
        controller.enqueue("hot")
        controller.enqueue("flaky")
        controller.enqueue("later")
        await asyncio.sleep(0.001)
    await eventually(lambda: calls.get("flaky", 0) >= 3 and calls.get("later", 0) >= 2)
    await controller.shutdown()
    assert overlaps == []
