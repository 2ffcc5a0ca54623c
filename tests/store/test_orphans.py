"""Leftover name claims and owner-index entries, against a real etcd: found
once their object is gone, removed only by a compare-and-delete."""

from __future__ import annotations

import pytest

from rdd.errors import AlreadyExistsError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.owners import set_controller_reference
from rdd.runtime.collector import Collector
from rdd.stack.etcd import EtcdProcess
from rdd.store.etcdclient import EtcdStore
from rdd.store.keys import KeyLayout
from rdd.store.orphans import StoredKey, claim_object_key, index_object_key
from rdd.store.registry import Registry
from tests.support.etcd_behind import delete_keys, put_key
from tests.support.objects import limavm


async def created_with_child(registry: Registry, name: str, namespace: str = "default"):
    """A LimaVM and a ConfigMap it controls (a claim and an index entry)."""
    vm = await registry.create(LIMAVM, limavm(name, namespace))
    child = CONFIGMAP.new()
    child.metadata.name = f"{name}-template"
    child.metadata.namespace = namespace
    set_controller_reference(child, vm)
    await registry.create(CONFIGMAP, child)
    return vm


async def test_a_vanished_objects_claim_and_index_entry_are_collected(
    store: EtcdStore, etcd: EtcdProcess
):
    registry = Registry(store)
    vm = await created_with_child(registry, "vm1", "ns1")
    await created_with_child(registry, "kept")
    layout = store.layout
    await delete_keys(
        etcd.endpoint,
        layout.object_key(LIMAVM, "ns1", "vm1"),
        layout.object_key(CONFIGMAP, "ns1", "vm1-template"),
    )
    with pytest.raises(AlreadyExistsError, match='already used in namespace "ns1"'):
        await registry.create(LIMAVM, limavm("vm1", "ns2"))

    assert await Collector(store).collect() == 2
    assert await store.claimed_namespace(LIMAVM, "vm1") is None
    assert await store.owned_by(vm.metadata.uid) == []
    assert await store.orphans() == []
    await registry.create(LIMAVM, limavm("vm1", "ns2"))  # the name is free again
    # What still has its object is untouched.
    assert await store.claimed_namespace(LIMAVM, "kept") == "default"
    kept = await registry.get(LIMAVM, "default", "kept")
    assert len(await store.owned_by(kept.metadata.uid)) == 1


async def test_a_claim_whose_object_came_back_is_not_removed(store: EtcdStore, etcd: EtcdProcess):
    registry = Registry(store)
    await registry.create(LIMAVM, limavm("vm1"))
    await delete_keys(etcd.endpoint, store.layout.object_key(LIMAVM, "default", "vm1"))
    [orphan] = await store.orphans()
    # Before the collector acts, the claim is freed and the name taken again.
    await delete_keys(etcd.endpoint, store.layout.name_claim_key(LIMAVM, "vm1"))
    await registry.create(LIMAVM, limavm("vm1"))
    assert not await store.remove_orphan(orphan)
    assert await store.claimed_namespace(LIMAVM, "vm1") == "default"
    # The object key restored (claim unchanged since judged): not removed either.
    await registry.create(LIMAVM, limavm("vm2"))
    key = store.layout.object_key(LIMAVM, "default", "vm2")
    stored = await store.get(LIMAVM, "default", "vm2")
    stored.metadata.resource_version = ""
    await delete_keys(etcd.endpoint, key)
    [orphan] = await store.orphans()
    await put_key(etcd.endpoint, key, stored.SerializeToString())
    assert not await store.remove_orphan(orphan)
    assert await store.claimed_namespace(LIMAVM, "vm2") == "default"


def test_keys_this_layout_cannot_read_are_left_alone():
    layout = KeyLayout("/p")
    assert claim_object_key(layout, StoredKey(b"/p/names/widgets/a", 1, b"ns")) is None
    assert index_object_key(layout, StoredKey(b"/p/owners/uid/widgets/ns/a", 1)) is None
    assert index_object_key(layout, StoredKey(b"x", 1)) is None
    assert (
        claim_object_key(layout, StoredKey(b"/p/names/limavms/a", 1, b"ns"))
        == b"/p/registry/limavms/ns/a"
    )
