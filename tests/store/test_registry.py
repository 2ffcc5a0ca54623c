"""Registry semantics against a real etcd: CAS, generation, finalizers,
owner index, cross-namespace names, multi-object transactions."""

from __future__ import annotations

import asyncio
import contextlib
from typing import Any

import pytest
from rdd.services.limavm.templating import TemplateCompanion

from rdd.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
)
from rdd.kinds import APP, CONFIGMAP, LIMAVM, Kind
from rdd.meta.finalizers import add_finalizer, remove_finalizer
from rdd.meta.names import owned_finalizer
from rdd.meta.owners import set_controller_reference
from rdd.store.etcdclient import EtcdStore, FencedError
from rdd.store.registry import Registry
from rdd.store.review import Review
from tests.support.objects import configmap, limavm


@pytest.fixture
def registry(store: EtcdStore) -> Registry:
    return Registry(store)


async def test_create_get_update_bumps_generation_on_spec_change_only(registry: Registry):
    created = await registry.create(LIMAVM, limavm("vm1"))
    assert created.metadata.generation == 1
    assert created.metadata.uid and created.metadata.creation_timestamp
    assert int(created.metadata.resource_version) > 0

    created.metadata.labels["a"] = "b"
    relabelled = await registry.update(LIMAVM, created)
    assert relabelled.metadata.generation == 1

    relabelled.spec.running = True
    respecced = await registry.update(LIMAVM, relabelled)
    assert respecced.metadata.generation == 2

    respecced.status.restart_count = 3
    status_written = await registry.update_status(LIMAVM, respecced)
    assert status_written.metadata.generation == 2
    got = await registry.get(LIMAVM, "default", "vm1")
    assert got.status.restart_count == 3 and got.spec.running

    # Update ignores status; UpdateStatus ignores everything but status.
    got.status.restart_count = 99
    got.spec.running = False
    after_update = await registry.update(LIMAVM, got)
    assert after_update.status.restart_count == 3 and not after_update.spec.running


async def test_stale_resource_version_is_a_conflict(registry: Registry):
    first = await registry.create(CONFIGMAP, configmap("cm", x="1"))
    await registry.update(CONFIGMAP, configmap("cm", x="2"))
    first.data["x"] = "3"
    with pytest.raises(ConflictError, match="the object has been modified"):
        await registry.update(CONFIGMAP, first)
    assert (await registry.get(CONFIGMAP, "default", "cm")).data["x"] == "2"


async def test_twenty_concurrent_read_modify_write_loops_lose_nothing(registry: Registry):
    await registry.create(CONFIGMAP, configmap("counter", n="0"))

    async def increment() -> None:
        while True:
            current = await registry.get(CONFIGMAP, "default", "counter")
            current.data["n"] = str(int(current.data["n"]) + 1)
            try:
                await registry.update(CONFIGMAP, current)
                return
            except ConflictError:
                continue

    await asyncio.gather(*(increment() for _ in range(20)))
    assert (await registry.get(CONFIGMAP, "default", "counter")).data["n"] == "20"


async def test_delete_with_finalizers_waits_for_the_last_one(registry: Registry, store: EtcdStore):
    cm = configmap("guarded")
    add_finalizer(cm, "a/one")
    add_finalizer(cm, "a/two")
    created = await registry.create(CONFIGMAP, cm)

    deleting = await registry.delete(CONFIGMAP, "default", "guarded")
    assert deleting.metadata.deletion_timestamp
    assert deleting.metadata.generation == created.metadata.generation + 1
    stored = await registry.get(CONFIGMAP, "default", "guarded")
    assert stored.metadata.deletion_timestamp

    add_finalizer(stored, "a/three")
    with pytest.raises(InvalidError, match="no new finalizers"):
        await registry.update(CONFIGMAP, stored)

    stored = await registry.get(CONFIGMAP, "default", "guarded")
    remove_finalizer(stored, "a/one")
    await registry.update(CONFIGMAP, stored)
    assert await store.get(CONFIGMAP, "default", "guarded") is not None
    stored = await registry.get(CONFIGMAP, "default", "guarded")
    remove_finalizer(stored, "a/two")
    await registry.update(CONFIGMAP, stored)
    with pytest.raises(NotFoundError, match='configmaps "guarded" not found'):
        await registry.get(CONFIGMAP, "default", "guarded")


async def test_a_controller_drops_its_own_finalizer_without_admission(store: EtcdStore):
    """remove_finalizer is never reviewed (no rule can deny it), is
    idempotent, removes a deleting object with its last finalizer, and
    refuses the owned-by finalizers, which only release_ownership drops."""
    reviews: list[str] = []

    async def admit(review: Review) -> Any:
        reviews.append(review.operation)
        return review.obj

    registry = Registry(store, admit=admit)
    cm = configmap("guarded")
    add_finalizer(cm, "a/cleanup")
    add_finalizer(cm, "a/other")
    await registry.create(CONFIGMAP, cm)
    await registry.delete(CONFIGMAP, "default", "guarded")
    reviews.clear()
    kept = await registry.remove_finalizer(CONFIGMAP, "default", "guarded", "a/other")
    assert list(kept.metadata.finalizers) == ["a/cleanup"]
    again = await registry.remove_finalizer(CONFIGMAP, "default", "guarded", "a/other")
    assert again.metadata.resource_version == kept.metadata.resource_version
    with pytest.raises(ValueError, match="release_ownership"):
        await registry.remove_finalizer(CONFIGMAP, "default", "guarded", owned_finalizer("App"))
    await registry.remove_finalizer(CONFIGMAP, "default", "guarded", "a/cleanup")
    assert await store.get(CONFIGMAP, "default", "guarded") is None
    assert reviews == []


async def test_changed_uid_is_invalid_and_nothing_is_written(registry: Registry):
    created = await registry.create(CONFIGMAP, configmap("ident", x="1"))
    created.metadata.uid = "someone-else"
    created.data["x"] = "2"
    with pytest.raises(InvalidError, match="immutable"):
        await registry.update(CONFIGMAP, created)
    assert (await registry.get(CONFIGMAP, "default", "ident")).data["x"] == "1"


@pytest.mark.parametrize("name", ["Bad_Name", "-x", "a" * 254, ""])
async def test_invalid_names_are_rejected(registry: Registry, name: str):
    with pytest.raises(InvalidError, match=r"metadata\.name"):
        await registry.create(CONFIGMAP, configmap(name))
    assert (await registry.list(CONFIGMAP))[0] == []


async def test_owner_index_finds_children_without_scanning(registry: Registry):
    app = APP.new()
    app.metadata.name = "app"
    owner = await registry.create(APP, app)
    child = configmap("child")
    set_controller_reference(child, owner)
    await registry.create(CONFIGMAP, child)
    refs = await registry.owned_by(owner.metadata.uid)
    assert [(r.kind.kind, r.namespace, r.name) for r in refs] == [("ConfigMap", "default", "child")]
    await registry.delete(CONFIGMAP, "default", "child")
    assert await registry.owned_by(owner.metadata.uid) == []


async def test_an_owner_deletes_its_child_in_one_write(registry: Registry, store: EtcdStore):
    """release_ownership with and_delete releases and deletes in one compare-and-swap: the child
    and its owner-index entry go together; a stranger is refused, and a
    second call finds nothing to do."""
    app = APP.new()
    app.metadata.name = "app"
    owner = await registry.create(APP, app)
    child = configmap("child")
    set_controller_reference(child, owner)
    add_finalizer(child, owned_finalizer(APP.kind))
    await registry.create(CONFIGMAP, child)

    async def delete_child(owner_uid: str) -> Any:
        return await registry.release_ownership(
            CONFIGMAP,
            "default",
            "child",
            owner_uid=owner_uid,
            released_by={APP.kind},
            and_delete=True,
        )

    with pytest.raises(ForbiddenError, match="not by uid someone-else"):
        await delete_child("someone-else")
    before = await store.revision()
    await delete_child(owner.metadata.uid)
    changes = await _changes_until_gone(store, CONFIGMAP, {"child"}, since=before)
    assert [type_ for _, type_, _ in changes] == ["DELETED"], "one transaction"
    assert await store.get(CONFIGMAP, "default", "child") is None
    assert await registry.owned_by(owner.metadata.uid) == []
    with pytest.raises(NotFoundError):
        await delete_child(owner.metadata.uid)
    await registry.create(CONFIGMAP, configmap("child"))  # a new one, nobody's
    kept = await delete_child(owner.metadata.uid)
    assert not kept.metadata.deletion_timestamp
    assert await store.get(CONFIGMAP, "default", "child") is not None


async def test_an_owner_finishes_its_deletion_with_its_children_in_one_write(store: EtcdStore):
    """finish_deletion releases and deletes every child the owner controls
    (each DELETE reviewed), and drops the owner's finalizer, in one
    transaction; a stale cached guess of a child is caught and read again."""
    reviews: list[tuple[str, str]] = []

    async def admit(review: Review) -> Any:
        reviews.append((review.operation, review.old.metadata.name if review.old else ""))
        return review.obj

    plain = Registry(store)
    vm = limavm("owner")
    add_finalizer(vm, "a/cleanup")
    owner = await plain.create(LIMAVM, vm)
    for name in ("one", "two"):
        child = configmap(name)
        set_controller_reference(child, owner)
        add_finalizer(child, owned_finalizer(LIMAVM.kind))
        await plain.create(CONFIGMAP, child)
    stale = await plain.get(CONFIGMAP, "default", "one")
    changed = CONFIGMAP.new()
    changed.CopyFrom(stale)
    changed.data["x"] = "changed"
    fresh = await plain.update(CONFIGMAP, changed)
    owner = await plain.delete(LIMAVM, "default", "owner")
    cache = {("default", "owner"): owner, ("default", "one"): stale}
    registry = Registry(store, admit=admit, cache=lambda kind, ns, name: cache.get((ns, name)))

    with pytest.raises(ValueError, match="release_ownership"):
        await registry.finish_deletion(
            LIMAVM, "default", "owner", owned_finalizer("App"), released_by={LIMAVM.kind}
        )
    before = await store.revision()
    await registry.finish_deletion(
        LIMAVM, "default", "owner", "a/cleanup", released_by={LIMAVM.kind}
    )
    changes = [
        *await _changes_until_gone(store, CONFIGMAP, {"one", "two"}, since=before),
        *await _changes_until_gone(store, LIMAVM, {"owner"}, since=before),
    ]
    assert len({revision for _, _, revision in changes}) == 1, f"one transaction: {changes}"
    for name in ("one", "two"):
        assert await store.get(CONFIGMAP, "default", name) is None
    assert await store.get(LIMAVM, "default", "owner") is None
    assert await registry.owned_by(owner.metadata.uid) == []
    assert fresh.metadata.resource_version != stale.metadata.resource_version
    assert sorted(set(reviews)) == [("DELETE", "one"), ("DELETE", "two")]
    with pytest.raises(NotFoundError):
        await registry.finish_deletion(
            LIMAVM, "default", "owner", "a/cleanup", released_by={LIMAVM.kind}
        )


async def test_an_ended_term_cannot_finish_a_deletion(store: EtcdStore):
    """A fenced finish_deletion whose term has ended fails at once, as
    FencedError, and writes nothing (it is no conflict to retry)."""
    plain = Registry(store)
    vm = limavm("fenced")
    add_finalizer(vm, "a/cleanup")
    await plain.create(LIMAVM, vm)
    await plain.delete(LIMAVM, "default", "fenced")
    lease = await store.grant_lease(2)
    fence = await store.campaign("ctl", "old", lease)
    assert fence is not None
    await store.revoke_lease(lease)
    successor = await store.grant_lease(2)
    assert await store.campaign("ctl", "new", successor) is not None
    try:
        with pytest.raises(FencedError):
            await plain.fenced(fence).finish_deletion(
                LIMAVM, "default", "fenced", "a/cleanup", released_by={LIMAVM.kind}
            )
        kept = await store.get(LIMAVM, "default", "fenced")
        assert kept is not None and "a/cleanup" in kept.metadata.finalizers, "nothing written"
    finally:
        await store.revoke_lease(successor)  # its key goes now, not under a later test
    await plain.remove_finalizer(LIMAVM, "default", "fenced", "a/cleanup")


async def test_limavm_names_are_unique_across_namespaces_even_when_racing(registry: Registry):
    results = await asyncio.gather(
        registry.create(LIMAVM, limavm("same", "ns-a")),
        registry.create(LIMAVM, limavm("same", "ns-b")),
        return_exceptions=True,
    )
    errors = [r for r in results if isinstance(r, Exception)]
    assert len(errors) == 1 and isinstance(errors[0], AlreadyExistsError)
    assert "is already used in namespace" in str(errors[0])
    winner = next(r for r in results if not isinstance(r, Exception))
    await registry.delete(LIMAVM, winner.metadata.namespace, "same")
    await registry.create(LIMAVM, limavm("same", "ns-c"))


async def test_companions_are_created_in_the_same_transaction(registry: Registry, store: EtcdStore):
    await registry.create(CONFIGMAP, configmap("vm2-template", x="old"))

    class TemplateFor:
        async def read(self, parent: Any, *, fresh: bool) -> list[tuple[Kind, Any]]:
            return []

        def build(self, parent: Any, sources: list[tuple[Kind, Any]]) -> list[tuple[Kind, Any]]:
            cm = configmap("vm2-template", x="new")
            set_controller_reference(cm, parent)
            return [(CONFIGMAP, cm)]

    with pytest.raises(AlreadyExistsError, match="vm2-template"):
        await registry.create(LIMAVM, limavm("vm2"), companions=TemplateFor())
    assert await store.get(LIMAVM, "default", "vm2") is None


async def test_a_companion_copies_its_source_as_it_was_when_the_create_committed(
    registry: Registry, store: EtcdStore
):
    """The source changes after it was read (and judged): that create does
    not commit, and the next try copies the new version."""
    await registry.create(CONFIGMAP, configmap("src", x="judged"))
    reads: list[str] = []

    class CopyOfSource:
        async def read(self, parent: Any, *, fresh: bool) -> list[tuple[Kind, Any]]:
            source = await store.get(CONFIGMAP, "default", "src")
            reads.append(source.data["x"])
            return [(CONFIGMAP, source)]

        def build(self, parent: Any, sources: list[tuple[Kind, Any]]) -> list[tuple[Kind, Any]]:
            ((_, source),) = sources
            cm = configmap("vm3-template", **source.data)
            set_controller_reference(cm, parent)
            return [(CONFIGMAP, cm)]

    class ChangedOnce(CopyOfSource):
        async def read(self, parent: Any, *, fresh: bool) -> list[tuple[Kind, Any]]:
            sources = await super().read(parent, fresh=fresh)
            if len(reads) == 1:
                await registry.update(CONFIGMAP, configmap("src", x="changed"))
            return sources

    await registry.create(LIMAVM, limavm("vm3"), companions=ChangedOnce())
    assert reads == ["judged", "changed"]
    copy = await store.get(CONFIGMAP, "default", "vm3-template")
    assert copy.data["x"] == "changed"


async def test_a_template_copied_from_a_stale_cache_is_copied_again_from_etcd(
    registry: Registry, store: EtcdStore
):
    """TemplateCompanion's first guess is the cache's copy of the source; one
    that etcd has moved past fails the create's compare, and the next try
    reads etcd (one commit, of the current version)."""
    stale = await registry.create(CONFIGMAP, configmap("src", template="old"))
    changed = CONFIGMAP.new()
    changed.CopyFrom(stale)
    changed.data["template"] = "new"
    await registry.update(CONFIGMAP, changed)
    cache_reads: list[tuple[str, str]] = []

    def cached(namespace: str, name: str) -> Any:
        cache_reads.append((namespace, name))
        return stale

    vm = limavm("vm4")
    vm.spec.template_ref.name = "src"
    await registry.create(LIMAVM, vm, companions=TemplateCompanion(store, cached))
    assert cache_reads == [("default", "src")], "the retry must not guess again"
    copy = await store.get(CONFIGMAP, "default", "vm4-template")
    assert copy.data["template"] == "new"


async def test_dry_run_writes_nothing(registry: Registry, store: EtcdStore):
    result = await registry.create(CONFIGMAP, configmap("dry"), dry_run=True)
    assert result.metadata.name == "dry"
    assert await store.get(CONFIGMAP, "default", "dry") is None


async def test_missing_required_field_is_invalid(registry: Registry, store: EtcdStore):
    vm = limavm("no-template")
    vm.spec.template_ref.name = ""
    with pytest.raises(InvalidError, match=r"spec\.templateRef\.name: Required value"):
        await registry.create(LIMAVM, vm)
    assert await store.get(LIMAVM, "default", "no-template") is None


async def test_a_cached_guess_is_only_used_for_the_named_version_and_cas_catches_staleness(
    store: EtcdStore,
):
    plain = Registry(store)
    first = await plain.create(CONFIGMAP, configmap("cached", x="1"))
    cache = {("default", "cached"): first}
    cached = Registry(store, cache=lambda kind, ns, name: cache.get((ns, name)))

    # Someone else writes; the cache still holds `first`.
    second = await plain.update(CONFIGMAP, configmap("cached", x="2"))
    stale = configmap("cached", x="3")
    stale.metadata.resource_version = first.metadata.resource_version
    with pytest.raises(ConflictError):
        await cached.update(CONFIGMAP, stale)

    # Naming the current version works even though the cache is behind.
    current = configmap("cached", x="4")
    current.metadata.resource_version = second.metadata.resource_version
    written = await cached.update(CONFIGMAP, current)
    assert written.data["x"] == "4"

    # An unconditional write may start from the stale cache; the CAS catches it.
    unconditional = await cached.update(CONFIGMAP, configmap("cached", x="5"))
    assert unconditional.data["x"] == "5"
    assert (await plain.get(CONFIGMAP, "default", "cached")).data["x"] == "5"


async def test_a_no_op_on_a_stale_cached_version_is_still_a_conflict(store: EtcdStore):
    plain = Registry(store)
    first = await plain.create(CONFIGMAP, configmap("noop", x="1"))
    cached = Registry(store, cache=lambda kind, ns, name: first)
    await plain.update(CONFIGMAP, configmap("noop", x="2"))
    same = CONFIGMAP.new()
    same.CopyFrom(first)
    with pytest.raises(ConflictError):
        await cached.update(CONFIGMAP, same)


async def _changes_until_gone(
    store: EtcdStore, kind: Kind, names: set[str], *, since: int
) -> list[tuple[str, str, int]]:
    """(name, event type, revision) of every change to `names` after `since`
    until all are deleted, from etcd's history (a watch), so writes elsewhere
    in the shared etcd do not count."""
    changes: list[tuple[str, str, int]] = []
    async with (
        asyncio.timeout(5),
        contextlib.aclosing(store.watch(kind, "default", since)) as events,
    ):
        async for event in events:
            if event.obj.metadata.name in names:
                changes.append((event.obj.metadata.name, event.type, event.revision))
                if {name for name, type_, _ in changes if type_ == "DELETED"} == names:
                    break
    return changes
