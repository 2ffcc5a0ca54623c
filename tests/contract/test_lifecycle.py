"""The App -> LimaVM lifecycle end to end on a real stack (the original's
BATS suite): create, finalizers, ownership, template copy, input ConfigMap
removal, mirrored conditions, start, stop, guards, delete cascade, recreate."""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable
from typing import Any

import pytest

from rdd.errors import ForbiddenError, NotFoundError
from rdd.meta.names import CLEANUP_FINALIZER, TEMPLATE_LABEL
from tests.support.fixtures import Session
from tests.support.stack import (
    Api,
    Stack,
    condition,
    has_condition,
    new_app,
    set_running,
    settled,
)
from tests.support.waiting import events_until, eventually

OWNED_BY_APP = "rdd.rancherdesktop.io/owned-by-App"
OWNED_BY_LIMAVM = "rdd.rancherdesktop.io/owned-by-LimaVM"


async def test_create_builds_limavm_and_template_with_owners_and_finalizers(api: Api, stack: Stack):
    app = await api.apps.create(new_app(running=False))
    assert CLEANUP_FINALIZER in app.metadata.finalizers
    assert app.spec.namespace == "default"
    app = await settled(api)

    vm = await api.limavms.get("rd", "default")
    assert list(vm.metadata.finalizers) == [OWNED_BY_APP, CLEANUP_FINALIZER] or set(
        vm.metadata.finalizers
    ) == {OWNED_BY_APP, CLEANUP_FINALIZER}
    (owner,) = vm.metadata.owner_references
    assert (owner.kind, owner.name, owner.uid, owner.controller) == (
        "App",
        "app",
        app.metadata.uid,
        True,
    )
    assert vm.spec.template_ref.name == "rd" and not vm.spec.running
    assert vm.status.template_config_map == "rd-template"
    assert vm.status.arch in ("x86_64", "aarch64")

    template = await api.configmaps.get("rd-template", "default")
    assert template.metadata.labels[TEMPLATE_LABEL] == "true"
    assert list(template.metadata.finalizers) == [OWNED_BY_LIMAVM]
    (cm_owner,) = template.metadata.owner_references
    assert (cm_owner.kind, cm_owner.uid, cm_owner.controller) == ("LimaVM", vm.metadata.uid, True)
    assert "images:" in template.data["template"]
    assert vm.status.observed_template_resource_version == template.metadata.resource_version

    # The input ConfigMap is removed once the LimaVM has its own copy.
    async def input_gone():
        try:
            await api.configmaps.get("rd", "default")
        except NotFoundError:
            return True
        return False

    await eventually(input_gone)

    # Created and Running mirrored with the LimaVM's lastTransitionTime and
    # the App's own generation.
    app = await api.apps.get("app")
    vm = await api.limavms.get("rd", "default")
    for type_ in ("Created", "Running"):
        mirrored, source = condition(app, type_), condition(vm, type_)
        assert mirrored is not None and source is not None
        assert (mirrored.status, mirrored.reason, mirrored.message) == (
            source.status,
            source.reason,
            source.message,
        )
        assert mirrored.last_transition_time == source.last_transition_time
        assert mirrored.observed_generation == app.metadata.generation
    assert has_condition(app, "Created", "True", "Created")
    assert has_condition(app, "Running", "False", "Stopped")
    assert (stack.lima_home / "rd" / "lima.yaml").exists()
    assert not (stack.lima_home / "rd" / ".preparing").exists()


async def test_start_and_stop_follow_spec_running(api: Api, stack: Stack):
    await api.apps.create(new_app(running=True))
    app = await settled(api)
    assert has_condition(app, "Running", "True", "Started")
    vm = await api.limavms.get("rd", "default")
    assert vm.spec.running and vm.status.restart_count == 1
    pid = int((stack.lima_home / "rd" / "ha.pid").read_text())
    os.kill(pid, 0)
    assert stack.vm_processes() == [pid]

    app = await set_running(api, False)
    app = await settled(api, app.metadata.generation)
    assert has_condition(app, "Running", "False", "Stopped")
    assert all(c.observed_generation == app.metadata.generation for c in app.status.conditions)
    await eventually(lambda: stack.vm_processes() == [])

    expected = {("LimaVM", "Started"), ("LimaVM", "Stopped"), ("App", "Settled")}
    await events_until(
        api, lambda events: expected <= {(e.involved_object.kind, e.reason) for e in events}
    )


async def test_owned_objects_cannot_be_deleted_directly(api: Api):
    await api.apps.create(new_app())
    await settled(api)
    with pytest.raises(
        ForbiddenError, match='cannot delete "rd": owned by App; delete the App resource instead'
    ):
        await api.limavms.delete("rd", "default")
    with pytest.raises(ForbiddenError, match='cannot delete "rd-template": owned by LimaVM'):
        await api.configmaps.delete("rd-template", "default")
    vm = await api.limavms.get("rd", "default")
    assert not vm.metadata.deletion_timestamp


async def test_delete_cascades_and_recreate_works(api: Api, stack: Stack):
    for running in (True, False):
        await api.apps.create(new_app(running=running))
        await settled(api)
        await api.apps.delete("app")

        async def all_gone():
            return not (
                (await api.apps.list()).items
                or (await api.limavms.list()).items
                or (await api.configmaps.list()).items
            )

        await eventually(all_gone, timeout=10)
        assert stack.instance_dirs() == []
        await eventually(lambda: stack.vm_processes() == [])


async def test_app_in_another_namespace(api: Api):
    await api.apps.create(new_app(namespace="work"))
    await settled(api)
    vm = await api.limavms.get("rd", "work")
    assert vm.metadata.namespace == "work"
    app = await api.apps.get("app")
    app.spec.namespace = "other"
    with pytest.raises(ForbiddenError, match="spec.namespace is immutable"):
        await api.apps.update(app)


async def test_conditions_the_limavm_does_not_have_are_pruned_from_the_app(api: Api):
    await api.apps.create(new_app())
    app = await settled(api)
    app.status.conditions.add(type="Bogus", status="True", reason="Stale", message="left over")
    await api.apps.update_status(app)

    async def pruned():
        current = await api.apps.get("app")
        return condition(current, "Bogus") is None and condition(current, "Settled") is not None

    await eventually(pruned, message="stale mirrored condition kept")


async def test_twenty_concurrent_read_modify_writes_through_the_api_lose_nothing(api: Api):
    from rdd.errors import ConflictError
    from rdd.kinds import CONFIGMAP

    counter = CONFIGMAP.new()
    counter.metadata.name = "counter"
    counter.metadata.namespace = "default"
    counter.data["n"] = "0"
    await api.configmaps.create(counter)
    conflicts = 0

    async def increment() -> None:
        nonlocal conflicts
        while True:
            current = await api.configmaps.get("counter", "default")
            current.data["n"] = str(int(current.data["n"]) + 1)
            try:
                await api.configmaps.update(current)
                return
            except ConflictError:
                conflicts += 1

    await asyncio.gather(*(increment() for _ in range(20)))
    assert (await api.configmaps.get("counter", "default")).data["n"] == "20"
    assert conflicts > 0, "the loops should have raced"
    await api.configmaps.delete("counter", "default")


async def test_a_limavm_the_app_cannot_create_is_reported_on_the_app(api: Api):
    from rdd.kinds import CONFIGMAP, LIMAVM
    from rdd.templates.default import DEFAULT_TEMPLATE

    source = CONFIGMAP.new()
    source.metadata.name = "mine"
    source.metadata.namespace = "other"
    source.data["template"] = DEFAULT_TEMPLATE
    await api.configmaps.create(source)
    squatter = LIMAVM.new()
    squatter.metadata.name = "rd"
    squatter.metadata.namespace = "other"
    squatter.spec.template_ref.name = "mine"
    await api.limavms.create(squatter)
    try:
        await api.apps.create(new_app(running=True))

        async def reported():
            app = await api.apps.get("app")
            return has_condition(app, "Settled", "False", "CreateFailed") and (
                "already used in namespace" in condition(app, "Settled").message
            )

        await eventually(reported, message="the App never said why it has no LimaVM")
        await events_until(
            api,
            lambda events: any(e.type == "Warning" and e.reason == "CreateFailed" for e in events),
        )
    finally:
        await api.apps.delete("app")
        await api.limavms.delete("rd", "other")
        await api.configmaps.delete("mine", "other")


def _reasons(events: list[Any], kind: str) -> list[str]:
    """The reasons of `kind`'s Events, oldest first (a List is in name order)."""
    ordered = sorted(events, key=lambda e: e.first_timestamp)
    return [e.reason for e in ordered if e.involved_object.kind == kind]


async def test_a_quick_preparation_is_reported_once_as_created(api: Api):
    """The sim prepares at once here: the LimaVM's first status write says
    Created, with no Pending write (and Event) before it."""
    await api.apps.create(new_app(namespace="quick"))
    await settled(api)
    events = await events_until(
        api, lambda events: "Created" in _reasons(events, "LimaVM"), namespace="quick"
    )
    assert "Pending" not in _reasons(events, "LimaVM")


async def test_a_slow_preparation_is_reported_pending_until_it_ends(
    make_session: Callable[..., Session],
):
    api = make_session(RDD_SIM_PREPARE_SECONDS="1").api
    await api.apps.create(new_app())
    await eventually(
        lambda: _has_vm_condition(api, "Created", "Unknown", "Pending"),
        message="a preparation of 1 s was never reported Pending",
    )
    await settled(api)
    events = await events_until(api, lambda events: "Created" in _reasons(events, "LimaVM"))
    reasons = _reasons(events, "LimaVM")
    assert reasons.index("Pending") < reasons.index("Created")


async def _has_vm_condition(api: Api, type_: str, status: str, reason: str) -> bool:
    try:
        return has_condition(await api.limavms.get("rd", "default"), type_, status, reason)
    except NotFoundError:
        return False
