"""Replicas on an etcd cluster: a stack of 3 etcd members and 2 processes of
each service survives kill -9 of any controller leader or of an etcd
member (the etcd leader too), loses no acknowledged write, and an ex-leader
woken after its lease expired cannot write. Real processes, real etcd."""

from __future__ import annotations

import asyncio
import os
import signal
from collections.abc import Callable
from typing import Any

import pytest

from rdd.cli.svc import status_document
from rdd.clients import ResourceClient
from rdd.errors import ApiError, NotFoundError, UnavailableError
from rdd.kinds import APP, CONFIGMAP
from tests.support.fixtures import Session
from tests.support.stack import Api, Stack, has_condition, new_app, set_running
from tests.support.waiting import eventually

HA = {"RDD_ETCD_MEMBERS": "3", "RDD_REPLICAS": "2"}


def replicas(stack: Stack) -> dict[str, list[dict[str, Any]]]:
    return status_document(stack.supervisor.status())["replicas"]


def leader_pid(stack: Stack, component: str) -> int | None:
    for replica in replicas(stack)[component]:
        if replica["leader"] and replica["health"] == "SERVING":
            return int(replica["pid"])
    return None


async def new_leader(stack: Stack, component: str, old: int) -> int:
    async def elected() -> int | None:
        pid = leader_pid(stack, component)
        return pid if pid not in (None, old) else None

    return await eventually(elected, timeout=15, message=f"no new {component} leader")


def kill(pid: int) -> None:
    os.kill(pid, signal.SIGKILL)


async def settled(api: Api, running: bool) -> None:
    async def ok() -> bool:
        try:
            app = await api.apps.get("app")
        except (NotFoundError, ApiError):
            return False
        wanted = "True" if running else "False"
        return has_condition(app, "Settled", "True") and has_condition(app, "Running", wanted)

    await eventually(ok, timeout=45, message="the App never settled")


@pytest.fixture
async def ha(make_session: Callable[..., Session]) -> Session:
    return make_session(**HA)


async def test_status_shows_every_member_and_replica_with_one_leader_each(ha: Session) -> None:
    found = replicas(ha.stack)
    assert [len(found[c]) for c in ("etcd", "webhook", "limavm", "app")] == [3, 2, 2, 2]
    for component in ("etcd", "limavm", "app"):
        assert sum(r["leader"] for r in found[component]) == 1, component
    assert not any(r["leader"] for r in found["webhook"])
    assert all(r["health"] == "SERVING" for members in found.values() for r in members)


async def test_killing_both_leaders_while_stopping_and_deleting_completes(ha: Session) -> None:
    stack, api = ha.stack, ha.api
    await api.apps.create(new_app(running=True))
    await settled(api, running=True)
    vm_pids = stack.vm_processes()
    assert len(vm_pids) == 1
    app_leader, vm_leader = leader_pid(stack, "app"), leader_pid(stack, "limavm")
    assert app_leader and vm_leader
    await set_running(api, False)
    kill(app_leader)
    kill(vm_leader)
    await settled(api, running=False)
    assert stack.vm_processes() == []
    app_leader = await new_leader(stack, "app", app_leader)
    vm_leader = await new_leader(stack, "limavm", vm_leader)
    stack.start()  # brings back the killed replica of each, as followers
    assert leader_pid(stack, "app") == app_leader

    await set_running(api, True)
    await settled(api, running=True)
    assert len(stack.vm_processes()) == 1, "one VM process, never two"
    await api.apps.delete("app")
    kill(app_leader)
    kill(vm_leader)

    async def gone() -> bool:
        try:
            await api.apps.get("app")
        except NotFoundError:
            return not (await api.limavms.list()).items and not (await api.configmaps.list()).items
        except UnavailableError:
            # Both leaders just died: for a moment this client may see no
            # replica ready (gRPC reconnects with a backoff), and says so.
            return False
        return False

    await eventually(gone, timeout=45, message="the App's deletion did not complete")
    await eventually(lambda: stack.vm_processes() == [], timeout=15, message="a VM was left")
    await eventually(
        lambda: stack.instance_dirs() == [], timeout=15, message="an instance was left"
    )
    stack.start()  # brings back the two killed replicas of each
    assert all(len(replicas(stack)[c]) == 2 for c in ("app", "limavm"))


async def test_an_etcd_member_dies_under_writes_and_nothing_acknowledged_is_lost(
    ha: Session,
) -> None:
    stack, api = ha.stack, ha.api
    acknowledged: list[str] = []
    stop = asyncio.Event()

    async def writer() -> None:
        i = 0
        while not stop.is_set():
            cm = CONFIGMAP.new()
            cm.metadata.name = f"w-{i}"
            cm.metadata.namespace = "writes"
            cm.data["i"] = str(i)
            try:
                await api.configmaps.create(cm)
                acknowledged.append(cm.metadata.name)
            except ApiError:
                pass  # not acknowledged: may or may not be there
            i += 1

    task = asyncio.create_task(writer())
    try:
        await eventually(lambda: len(acknowledged) > 20, timeout=20)
        etcd_leader = leader_pid(stack, "etcd")
        assert etcd_leader is not None
        kill(etcd_leader)
        before = len(acknowledged)
        await eventually(
            lambda: len(acknowledged) > before + 20, timeout=30, message="writes stalled"
        )
    finally:
        stop.set()
        await task
    stored = {cm.metadata.name for cm in (await api.configmaps.list("writes")).items}
    assert set(acknowledged) <= stored, "an acknowledged write was lost"
    services = {c: [r["pid"] for r in replicas(stack)[c]] for c in ("webhook", "limavm", "app")}
    stack.start()
    after = replicas(stack)
    assert all(r["health"] == "SERVING" for r in after["etcd"]), "the member did not come back"
    assert {c: [r["pid"] for r in after[c]] for c in services} == services, "a service restarted"
    for name in stored:
        await api.configmaps.delete(name, "writes")


async def test_a_paused_leader_is_fenced_and_steps_down(ha: Session) -> None:
    stack = ha.stack
    await ha.api.apps.create(new_app(running=False))
    await settled(ha.api, running=False)
    old = leader_pid(stack, "app")
    assert old is not None
    log_name, other = ("app", "app-1") if stack.pid("app") == old else ("app-1", "app")
    # A paused server holds the calls sent to it: talk to the other replica.
    channel = stack.channel_to(other)
    api = Api(
        apps=ResourceClient(APP, channel),
        limavms=ha.api.limavms,
        configmaps=ha.api.configmaps,
        events=ha.api.events,
        channels=[channel],
    )
    os.kill(old, signal.SIGSTOP)
    try:
        await set_running(api, True)  # only the new leader can act on this
        new = await new_leader(stack, "app", old)
        await settled(api, running=True)
    finally:
        os.kill(old, signal.SIGCONT)
    log = (stack.home / "logs" / f"{log_name}.log").read_text()

    def stepped_down() -> bool:
        events = [e.get("msg") for e in stack.log_events(log_name)]
        last_elected = max(i for i, msg in enumerate(events) if msg == "elected")
        return "stepped_down" in events[last_elected:]

    await eventually(stepped_down, timeout=10, message="the paused leader never stepped down")
    assert leader_pid(stack, "app") == new
    assert "Traceback" not in log
    await set_running(api, False)
    await settled(api, running=False)
    await api.close()
