"""Informer against a real etcd: follows changes, and after a watch error
(compaction) its cache equals a fresh List; which updates change status only."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import pytest

from rdd.errors import GoneError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.runtime.informer import Informer, status_only
from rdd.store.etcdclient import EtcdStore, StoreEvent
from rdd.store.registry import Registry
from tests.support.objects import configmap, limavm
from tests.support.waiting import eventually


class CompactingStore:
    """The real store, whose first watch is cut by a compaction: changes
    made meanwhile are only visible to a relist."""

    def __init__(self, store: EtcdStore, registry: Registry) -> None:
        self._store = store
        self._registry = registry
        self.watches = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def watch(self, kind, namespace, since, **options) -> AsyncIterator[StoreEvent]:
        self.watches += 1
        if self.watches == 1:
            await self._registry.create(CONFIGMAP, configmap("missed", x="1"))
            await self._registry.delete(CONFIGMAP, "default", "doomed")
            await self._store.compact(await self._store.revision())
            raise GoneError(f"too old resource version: {since}")
        async for event in self._store.watch(kind, namespace, since, **options):
            yield event


class GatedStore:
    """The real store, whose watch events wait until the test lets them through."""

    def __init__(self, store: EtcdStore) -> None:
        self._store = store
        self.gate = asyncio.Event()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._store, name)

    async def watch(self, kind, namespace, since, **options) -> AsyncIterator[StoreEvent]:
        async for event in self._store.watch(kind, namespace, since, **options):
            await self.gate.wait()
            yield event


async def test_informer_follows_changes(store: EtcdStore):
    registry = Registry(store)
    informer = Informer(store, CONFIGMAP)
    seen: list[tuple[Any, Any]] = []
    informer.add_handler(lambda old, new: seen.append((old, new)))
    await informer.start()
    try:
        await registry.create(CONFIGMAP, configmap("a", x="1"))
        await eventually(lambda: informer.get("default", "a") is not None)
        await registry.update(CONFIGMAP, configmap("a", x="2"))
        await eventually(lambda: informer.get("default", "a").data["x"] == "2")
        await registry.delete(CONFIGMAP, "default", "a")
        await eventually(lambda: informer.get("default", "a") is None)
        assert [(o is None, n is None) for o, n in seen] == [
            (True, False),
            (False, False),
            (False, True),
        ]
    finally:
        await informer.shutdown()


async def test_handlers_see_what_a_write_already_cached_changed_from(store: EtcdStore):
    """A write of ours is cached when it returns (note_written); when its
    watch event follows, handlers get etcd's previous value as old, not
    the cached copy of the write itself."""
    registry = Registry(store)
    await registry.create(CONFIGMAP, configmap("a", x="1"))
    gated = GatedStore(store)
    informer = Informer(gated, CONFIGMAP)  # type: ignore[arg-type]
    seen: list[tuple[Any, Any]] = []
    gated.gate.set()
    await informer.start()
    try:
        gated.gate.clear()
        informer.add_handler(lambda old, new: seen.append((old, new)))
        informer.note_written(await registry.update(CONFIGMAP, configmap("a", x="2")))
        assert informer.get("default", "a").data["x"] == "2" and not seen
        gated.gate.set()
        await eventually(lambda: seen)
        ((old, new),) = seen
        assert (old.data["x"], new.data["x"]) == ("1", "2")
    finally:
        await informer.shutdown()


async def test_informer_relists_after_compaction_and_matches_a_fresh_list(store: EtcdStore):
    registry = Registry(store)
    await registry.create(CONFIGMAP, configmap("doomed"))
    await registry.create(CONFIGMAP, configmap("kept"))
    flaky = CompactingStore(store, registry)
    informer = Informer(flaky, CONFIGMAP)  # type: ignore[arg-type]
    deleted: list[str] = []
    informer.add_handler(lambda old, new: new is None and deleted.append(old.metadata.name))
    await informer.start()
    try:
        await eventually(lambda: flaky.watches >= 2)
        await eventually(lambda: informer.get("default", "missed") is not None)
        items, _ = await store.list(CONFIGMAP)
        assert {(o.metadata.name, o.metadata.resource_version) for o in items} == {
            (o.metadata.name, o.metadata.resource_version) for o in informer.list()
        }
        assert deleted == ["doomed"]
    finally:
        await informer.shutdown()


async def test_a_shared_informer_runs_until_its_last_user_stops(store: EtcdStore):
    """The API and a leader's controller share one informer: a term that
    ends takes its handler away but leaves the API's cache following."""
    registry = Registry(store)
    informer = Informer(store, CONFIGMAP)
    term: list[str] = []

    def handler(old: Any, new: Any) -> None:
        term.append((new or old).metadata.name)

    await informer.start()  # the API's cache
    informer.add_handler(handler)
    await informer.start()  # a leader's controller
    try:
        await registry.create(CONFIGMAP, configmap("during", x="1"))
        await eventually(lambda: term == ["during"])
        informer.remove_handler(handler)
        await informer.shutdown()  # the term ends
        await registry.create(CONFIGMAP, configmap("after", x="1"))
        await eventually(lambda: informer.get("default", "after") is not None)
        assert term == ["during"]
    finally:
        await informer.shutdown()
    await registry.create(CONFIGMAP, configmap("stopped", x="1"))
    await informer.start()  # started again: a fresh List catches up
    try:
        assert informer.get("default", "stopped") is not None
    finally:
        await informer.shutdown()


def _vm() -> Any:
    vm = limavm("vm")
    vm.metadata.resource_version = "5"
    vm.metadata.finalizers.append("rdd.dev/cleanup")
    return vm


def _status_changed(vm: Any) -> None:
    vm.status.conditions.add(type="Created", status="True")


def _spec_changed(vm: Any) -> None:
    vm.spec.running = not vm.spec.running


def _finalizer_dropped(vm: Any) -> None:
    del vm.metadata.finalizers[:]


def _deleting(vm: Any) -> None:
    vm.metadata.deletion_timestamp = "2026-12-01T00:00:00Z"


def _labelled(vm: Any) -> None:
    vm.metadata.labels["team"] = "a"


@pytest.mark.parametrize(
    ("change", "only_status"),
    [
        (_status_changed, True),
        (_spec_changed, False),
        (_finalizer_dropped, False),
        (_deleting, False),
        (_labelled, False),
    ],
)
def test_status_only_tells_a_status_write_from_every_other_change(change, only_status):
    old = _vm()
    new = LIMAVM.new()
    new.CopyFrom(old)
    new.metadata.resource_version = "6"
    change(new)
    assert status_only(old, new) is only_status


def test_adds_and_deletes_are_never_status_only():
    assert not status_only(None, _vm())
    assert not status_only(_vm(), None)


def test_the_event_of_a_write_already_cached_is_never_status_only():
    """note_written cached our write: its watch event's old is the same
    version, and what the write changed (metadata, say) cannot be told."""
    assert not status_only(_vm(), _vm())
