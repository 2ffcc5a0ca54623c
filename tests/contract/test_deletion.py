"""Deletion always completes and leaves nothing behind (lessons 1, 7, 9, 10)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from rdd.errors import NotFoundError
from tests.support.fixtures import Session
from tests.support.stack import Api, Stack, new_app, settled
from tests.support.waiting import eventually


async def gone(api: Api) -> bool:
    try:
        await api.apps.get("app")
    except NotFoundError:
        return not (await api.limavms.list()).items and not (await api.configmaps.list()).items
    return False


@pytest.mark.parametrize("running", [True, False], ids=["vm-running", "vm-stopped"])
async def test_deleting_the_app_always_completes(api: Api, stack: Stack, running: bool):
    await api.apps.create(new_app(running=running))
    await settled(api)
    await api.apps.delete("app")
    await eventually(lambda: gone(api), timeout=10, message="App deletion did not complete")
    assert stack.instance_dirs() == []


async def test_delete_immediately_after_create_leaves_nothing(api: Api, stack: Stack):
    for _ in range(5):
        await api.apps.create(new_app(running=True))
        await api.apps.delete("app")
        await eventually(lambda: gone(api), timeout=10, message="delete right after create stuck")
        await eventually(lambda: stack.instance_dirs() == [] and stack.vm_processes() == [])


async def test_delete_during_preparation_removes_the_partial_instance(
    make_session: Callable[..., Session],
):
    session = make_session(RDD_SIM_PREPARE_SECONDS="5")
    api, stack = session.api, session.stack
    await api.apps.create(new_app(running=True))
    sentinel = stack.lima_home / "rd" / ".preparing"
    await eventually(sentinel.exists, message="preparation never started")
    await api.apps.delete("app")
    await eventually(lambda: gone(api), timeout=10)
    assert stack.instance_dirs() == []


async def test_deleting_while_the_limavm_service_is_down_completes_later(
    make_session: Callable[..., Session],
):
    session = make_session()
    api, stack = session.api, session.stack
    await api.apps.create(new_app(running=True))
    await settled(api)
    stack.kill("limavm")
    await api.apps.delete("app")  # the App service retries while limavm is down
    await eventually(
        lambda: "retry" in stack.log("app") or "reconcile_error" in stack.log("app"),
        message="the App service never tried",
    )
    waiting = await api.apps.get("app")
    assert waiting.metadata.deletion_timestamp, "the App must wait for its LimaVM"
    await session.restart()
    await eventually(lambda: gone(session.api), timeout=20)


async def test_limavm_service_crash_during_deletion_then_restart_completes(
    make_session: Callable[..., Session],
):
    session = make_session()
    api, stack = session.api, session.stack
    await api.apps.create(new_app(running=True))
    await settled(api)
    await api.apps.delete("app")
    stack.kill("limavm")  # races the finalizers: whatever step it was in
    await session.restart()
    await eventually(lambda: gone(session.api), timeout=20)
    assert stack.instance_dirs() == []
