"""The Event recorder against a real etcd: repeats fold into one Event's
count, whether this recorder wrote it before, another one did, or it
expired meanwhile; Events that pile up go in one transaction; `shutdown`
writes what is pending."""

from __future__ import annotations

from typing import Any

from rdd.kinds import EVENT
from rdd.runtime.events import EventRecorder, event_name
from rdd.store.etcdclient import EtcdStore, Write
from tests.support.objects import configmap


def _involved() -> Any:
    obj = configmap("vm")
    obj.metadata.uid = "uid-1"
    return obj


async def _recorded(store: EtcdStore, obj: Any, reason: str) -> Any:
    name = event_name(obj, "Normal", reason, "it happened")
    return await store.get(EVENT, "default", name)


async def test_repeats_fold_into_one_event(store: EtcdStore) -> None:
    recorder = EventRecorder(store, component="test")
    obj = _involved()
    for _ in range(3):
        await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.shutdown()
    event = await _recorded(store, obj, "Started")
    assert (event.count, event.involved_object.name, event.type) == (3, "vm", "Normal")
    assert event.first_timestamp <= event.last_timestamp


async def test_an_event_another_recorder_wrote_is_counted_on(store: EtcdStore) -> None:
    """A new process (a restart, a new leader) does not know what the old
    one wrote: its guess "absent" is proved wrong, and it reads."""
    obj = _involved()
    first = EventRecorder(store, component="test")
    await first.record(obj, "Normal", "Started", "it happened")
    await first.shutdown()
    second = EventRecorder(store, component="test")
    await second.record(obj, "Normal", "Started", "it happened")
    await second.shutdown()
    assert (await _recorded(store, obj, "Started")).count == 2


async def test_an_event_gone_behind_the_recorder_is_written_anew(store: EtcdStore) -> None:
    """The remembered Event expired (or was deleted): the guess fails its
    compare, and the Event is created again with count 1."""
    obj = _involved()
    recorder = EventRecorder(store, component="test")
    await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.shutdown()
    gone = await _recorded(store, obj, "Started")
    await store.commit([Write(EVENT, gone, None)])
    await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.shutdown()
    assert (await _recorded(store, obj, "Started")).count == 1


class CountingStore:
    """The real store, counting the reads the recorder makes."""

    def __init__(self, store: EtcdStore) -> None:
        self._store = store
        self.gets = 0
        self.commits = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def get(self, kind: Any, namespace: str, name: str) -> Any:
        self.gets += 1
        return await self._store.get(kind, namespace, name)

    async def commit(self, writes: Any, **kwargs: Any) -> Any:
        self.commits += 1
        return await self._store.commit(writes, **kwargs)


async def test_a_new_event_and_a_repeat_of_ours_need_no_read(store: EtcdStore) -> None:
    counting = CountingStore(store)
    recorder = EventRecorder(counting, component="test")  # type: ignore[arg-type]
    obj = _involved()
    await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.record(obj, "Normal", "Stopped", "it happened")
    await recorder.shutdown()
    assert counting.gets == 0
    assert (await _recorded(store, obj, "Started")).count == 2


async def test_events_that_pile_up_are_written_in_one_transaction(store: EtcdStore) -> None:
    counting = CountingStore(store)
    recorder = EventRecorder(counting, component="test")  # type: ignore[arg-type]
    obj = _involved()
    reasons = [f"Reason{i}" for i in range(10)]
    for reason in reasons + reasons[:3]:
        await recorder.record(obj, "Normal", reason, "it happened")
    await recorder.shutdown()
    assert (counting.commits, counting.gets) == (1, 0)
    counts = [(await _recorded(store, obj, reason)).count for reason in reasons]
    assert counts == [2, 2, 2] + [1] * 7


async def test_a_batch_with_a_wrong_guess_is_written_one_by_one(store: EtcdStore) -> None:
    """One Event of the batch expired behind the recorder: the transaction
    fails as a whole, and each Event is then written on its own."""
    obj = _involved()
    recorder = EventRecorder(store, component="test")
    await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.shutdown()
    await store.commit([Write(EVENT, await _recorded(store, obj, "Started"), None)])
    await recorder.record(obj, "Normal", "Stopped", "it happened")
    await recorder.record(obj, "Normal", "Started", "it happened")
    await recorder.record(obj, "Normal", "Stopped", "it happened")
    await recorder.shutdown()
    assert (await _recorded(store, obj, "Started")).count == 1
    assert (await _recorded(store, obj, "Stopped")).count == 2
