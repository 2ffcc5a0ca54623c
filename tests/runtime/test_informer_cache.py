"""The informer's indexes and the writes it caches before their watch event."""

from __future__ import annotations

from rdd.kinds import CONFIGMAP
from rdd.runtime.informer import Informer
from rdd.store.etcdclient import EtcdStore
from rdd.store.registry import Registry
from tests.support.objects import configmap
from tests.support.waiting import eventually


async def test_an_index_follows_adds_changes_and_deletes(store: EtcdStore) -> None:
    registry = Registry(store)
    informer = Informer(store, CONFIGMAP)
    informer.add_index("x", lambda obj: (obj.data.get("x", ""),))
    await informer.start()
    try:
        await registry.create(CONFIGMAP, configmap("a", x="1"))
        await registry.create(CONFIGMAP, configmap("b", x="1"))
        await eventually(lambda: len(informer.by_index("x", "1")) == 2)
        current = informer.get("default", "a")
        changed = configmap("a", x="2")
        changed.metadata.resource_version = current.metadata.resource_version
        await registry.update(CONFIGMAP, changed)
        await eventually(lambda: [o.metadata.name for o in informer.by_index("x", "2")] == ["a"])
        assert [o.metadata.name for o in informer.by_index("x", "1")] == ["b"]
        await registry.delete(CONFIGMAP, "default", "b")
        await eventually(lambda: informer.by_index("x", "1") == [])
    finally:
        await informer.shutdown()


async def test_a_write_of_ours_is_cached_until_the_watch_brings_it(store: EtcdStore) -> None:
    registry = Registry(store)
    informer = Informer(store, CONFIGMAP)
    await informer.start()
    try:
        created = await registry.create(CONFIGMAP, configmap("a", x="1"))
        informer.note_written(created)
        assert informer.get("default", "a").metadata.resource_version == (
            created.metadata.resource_version
        )
        await eventually(lambda: informer._revision >= int(created.metadata.resource_version))
        # Anything the cache has seen since wins over an older write of ours.
        older = configmap("a", x="old")
        older.metadata.resource_version = str(int(created.metadata.resource_version) - 1)
        informer.note_written(older)
        assert informer.get("default", "a").data["x"] == "1"
        await registry.delete(CONFIGMAP, "default", "a")
        await eventually(lambda: informer.get("default", "a") is None)
        informer.note_written(created)  # a late answer must not bring it back
        assert informer.get("default", "a") is None
    finally:
        await informer.shutdown()
