"""Store watches against a real etcd: order, no duplicates across an etcd
restart, and a clear error for a compacted revision."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
from pathlib import Path

import pytest

from rdd.errors import GoneError
from rdd.kinds import CONFIGMAP
from rdd.stack.etcd import start_etcd, unix_listen
from rdd.store.etcdclient import EtcdStore, StoreEvent
from rdd.store.registry import Registry
from tests.support.objects import configmap
from tests.support.waiting import eventually


async def collect(registry: Registry, since: int, into: list[StoreEvent]) -> None:
    async for event in registry.watch(CONFIGMAP, "default", since):
        into.append(event)


def stop(pid: int) -> None:
    os.kill(pid, signal.SIGTERM)
    with contextlib.suppress(ChildProcessError):
        os.waitpid(pid, 0)


async def test_watch_survives_an_etcd_restart_in_order_without_duplicates(tmp_path: Path):
    listen = unix_listen(tmp_path)
    process = start_etcd(tmp_path / "data", tmp_path / "etcd.log", listen)
    store = await EtcdStore.connect(process.endpoint, timeout=2)
    registry = Registry(store)
    seen: list[StoreEvent] = []
    try:
        _, revision = await registry.list(CONFIGMAP, "default")
        watcher = asyncio.create_task(collect(registry, revision, seen))
        for i in range(3):
            await registry.create(CONFIGMAP, configmap(f"before-{i}"))
        await eventually(lambda: len(seen) == 3)

        stop(process.pid)
        process = start_etcd(tmp_path / "data", tmp_path / "etcd.log", listen)
        for i in range(3):
            await registry.create(CONFIGMAP, configmap(f"after-{i}"))
        await registry.delete(CONFIGMAP, "default", "before-0")
        await eventually(lambda: len(seen) == 7, timeout=15)
        await asyncio.sleep(0.2)

        names = [(e.type, e.obj.metadata.name) for e in seen]
        assert names == [
            ("ADDED", "before-0"),
            ("ADDED", "before-1"),
            ("ADDED", "before-2"),
            ("ADDED", "after-0"),
            ("ADDED", "after-1"),
            ("ADDED", "after-2"),
            ("DELETED", "before-0"),
        ]
        revisions = [e.revision for e in seen]
        assert revisions == sorted(revisions) and len(set(revisions)) == len(revisions)
        watcher.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await watcher
    finally:
        await store.close()
        stop(process.pid)


async def test_watches_opened_while_etcd_stalls_each_get_their_own_changes(tmp_path: Path):
    """Watches whose creation times out while etcd is frozen (as when it is
    coming back up) are each bound to their own key range once it answers:
    a late confirmation meant for one must not bind another (which would
    then get the other's changes, or none)."""
    listen = unix_listen(tmp_path)
    process = start_etcd(tmp_path / "data", tmp_path / "etcd.log", listen)
    store = await EtcdStore.connect(process.endpoint, timeout=0.3)
    writer_store = await EtcdStore.connect(process.endpoint, timeout=5)
    writer = Registry(writer_store)
    seen: dict[str, list[StoreEvent]] = {f"n{i}": [] for i in range(6)}

    async def collect(namespace: str, since: int) -> None:
        async for event in Registry(store).watch(CONFIGMAP, namespace, since):
            seen[namespace].append(event)

    watchers = []
    try:
        since = await store.revision()
        os.kill(process.pid, signal.SIGSTOP)
        watchers = [asyncio.create_task(collect(ns, since)) for ns in seen]
        await asyncio.sleep(1.2)  # first attempts time out, some retry
        os.kill(process.pid, signal.SIGCONT)
        for ns in seen:
            await writer.create(CONFIGMAP, configmap(f"in-{ns}", namespace=ns))
        await eventually(lambda: all(seen.values()), timeout=10, message="a watch is silent")
        await asyncio.sleep(0.2)
        got = {ns: [(e.type, e.obj.metadata.name) for e in events] for ns, events in seen.items()}
        assert got == {ns: [("ADDED", f"in-{ns}")] for ns in seen}
    finally:
        os.kill(process.pid, signal.SIGCONT)
        for watcher in watchers:
            watcher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await watcher
        await store.close()
        await writer_store.close()
        stop(process.pid)


async def test_compacted_revision_is_a_clear_gone_error(store: EtcdStore):
    registry = Registry(store)
    _, old_revision = await registry.list(CONFIGMAP, "default")
    await registry.create(CONFIGMAP, configmap("c1"))
    await registry.update(CONFIGMAP, configmap("c1", x="1"))
    current = await store.revision()
    await store.compact(current)
    with pytest.raises(GoneError, match="too old resource version"):
        async for _ in registry.watch(CONFIGMAP, "default", old_revision):
            pass


async def test_a_watch_cancelled_at_any_moment_of_its_start_ends(store: EtcdStore):
    """A watch cancelled while its stream opens or etcd confirms it still
    ends: on Python 3.11, asyncio.wait_for swallowed a cancellation that
    came as the confirmation did, leaving the watch waiting forever."""
    registry = Registry(store)
    since = await store.revision()
    for attempt in range(300):
        watch = asyncio.ensure_future(collect(registry, since, []))
        await asyncio.sleep((attempt % 50) * 0.0001)  # 0 to 5 ms into its start
        watch.cancel()
        done, _ = await asyncio.wait({watch}, timeout=5)
        assert done, f"watch {attempt} ignored its cancellation"


async def test_waiting_for_a_key_that_went_just_before_returns_at_once(store: EtcdStore):
    """A follower waits for the leader key after a lost campaign; a key
    deleted before that wait's watch opened must not cost the full wait."""
    key = store.leader_key("gone-before")
    lease = await store.grant_lease(5)
    assert await store.campaign("gone-before", "leader", lease) is not None
    await store.revoke_lease(lease)  # the leader key goes with its lease
    async with asyncio.timeout(5):
        await store.wait_deleted(key, timeout=60)


async def test_waiting_for_a_key_returns_when_it_is_deleted(store: EtcdStore):
    key = store.leader_key("deleted-later")
    lease = await store.grant_lease(5)
    assert await store.campaign("deleted-later", "leader", lease) is not None
    waiting = asyncio.ensure_future(store.wait_deleted(key, timeout=60))
    await asyncio.sleep(0.2)  # long enough for a wrong early answer to show
    assert not waiting.done()
    await store.revoke_lease(lease)
    async with asyncio.timeout(5):
        await waiting
