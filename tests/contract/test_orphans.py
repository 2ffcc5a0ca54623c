"""A LimaVM whose keys vanish from etcd behind the API's back must not block
its name forever: the LimaVM service's collector removes the leftover name
claim and owner-index entries, and the name can be created again."""

from __future__ import annotations

from rdd.errors import AlreadyExistsError, ForbiddenError, NotFoundError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.templates.default import DEFAULT_TEMPLATE
from tests.support.etcd_behind import delete_keys
from tests.support.stack import Api, Stack, stack_store
from tests.support.waiting import eventually


def limavm(name: str, namespace: str):
    vm = LIMAVM.new()
    vm.metadata.name = name
    vm.metadata.namespace = namespace
    vm.spec.template_ref.name = "tpl"
    return vm


async def test_a_name_left_claimed_by_a_vanished_limavm_is_freed(api: Api, stack: Stack):
    for namespace in ("orph1", "orph2"):
        source = CONFIGMAP.new()
        source.metadata.name = "tpl"
        source.metadata.namespace = namespace
        source.data["template"] = DEFAULT_TEMPLATE
        await api.configmaps.create(source)
    try:
        vm = await api.limavms.create(limavm("orphan", "orph1"))
        await eventually(
            lambda: _has_status(api, "orphan", "orph1"), message="the LimaVM was never reconciled"
        )
        async with stack_store(stack) as store:
            layout = store.layout
            await delete_keys(
                stack.address("etcd"),
                layout.object_key(LIMAVM, "orph1", "orphan"),
                layout.object_key(CONFIGMAP, "orph1", "orphan-template"),
            )
            try:
                await api.limavms.create(limavm("orphan", "orph2"))
                blocked = False
            except (AlreadyExistsError, ForbiddenError) as error:  # admission checks it first
                blocked = 'already used in namespace "orph1"' in error.message
            assert blocked, "the leftover claim did not block the name (nothing to reproduce)"

            async def recreated() -> bool:
                try:
                    await api.limavms.create(limavm("orphan", "orph2"))
                except (AlreadyExistsError, ForbiddenError):
                    return False
                return True

            await eventually(recreated, timeout=20, interval=0.5, message="the name stayed claimed")
            assert await store.owned_by(vm.metadata.uid) == []
            assert await store.claimed_namespace(LIMAVM, "orphan") == "orph2"
        await api.limavms.delete("orphan", "orph2")
        await eventually(lambda: _gone(api, "orphan", "orph2"), timeout=20, message="not deleted")
    finally:
        for namespace in ("orph1", "orph2"):
            await api.configmaps.delete("tpl", namespace)


async def _has_status(api: Api, name: str, namespace: str) -> bool:
    return bool((await api.limavms.get(name, namespace)).status.conditions)


async def _gone(api: Api, name: str, namespace: str) -> bool:
    try:
        await api.limavms.get(name, namespace)
    except NotFoundError:
        return True
    return False
