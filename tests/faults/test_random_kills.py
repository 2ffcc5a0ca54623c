"""Randomized kill -9 of any etcd member or service replica while an App is
created, run, stopped and deleted, on 3 etcd members and 2 replicas of each
service: every round converges, no acknowledged write is lost, nothing is
left behind. `make test` runs a few rounds; `make test-faults` many. The
seed and round count are printed (replay with RDD_FAULT_SEED/ROUNDS)."""

from __future__ import annotations

import os
import random
import signal
from collections.abc import Callable
from typing import Any

from rdd.errors import ApiError, NotFoundError
from rdd.kinds import CONFIGMAP
from rdd.stack.records import component_of
from tests.faults.conftest import ROUNDS, SEED
from tests.support.fixtures import Session
from tests.support.stack import Api, Stack, has_condition, new_app
from tests.support.waiting import eventually


def victims(stack: Stack) -> list[tuple[str, int]]:
    layout = stack.supervisor.layout
    found = []
    for name in layout.recorded():
        record = layout.read_record(name)
        if (
            record is not None
            and record.pid
            and component_of(name)
            in (
                "etcd",
                "webhook",
                "limavm",
                "app",
            )
        ):
            found.append((name, record.pid))
    return found


async def retrying(call: Callable[[], Any], timeout: float = 30) -> Any:
    """A user's command while a replica is down: retried until failover."""
    result: list[Any] = []

    async def attempt() -> bool:
        try:
            result.append(await call())
        except (ApiError, OSError) as exc:
            if isinstance(exc, NotFoundError):
                raise
            return False
        return True

    await eventually(attempt, timeout=timeout, message="the command never got through")
    return result[0]


async def converged(api: Api, stack: Stack, running: bool | None) -> None:
    """The App is Settled as asked (running) or gone with everything it owned (None)."""

    async def done() -> bool:
        try:
            if running is None:
                try:
                    await api.apps.get("app")
                    return False
                except NotFoundError:
                    vms = (await api.limavms.list()).items
                    cms = [
                        c
                        for c in (await api.configmaps.list()).items
                        if c.metadata.namespace == "default"
                    ]
                    return (
                        not vms
                        and not cms
                        and stack.instance_dirs() == []
                        and not stack.vm_processes()
                    )
            app = await api.apps.get("app")
        except ApiError:
            return False
        wanted = "True" if running else "False"
        vm_count = len(stack.vm_processes())
        return (
            has_condition(app, "Settled", "True")
            and has_condition(app, "Running", wanted)
            and vm_count == (1 if running else 0)
        )

    await eventually(done, timeout=60, message=f"no convergence (running={running})")


async def set_running(api: Api, running: bool) -> None:
    async def write() -> Any:
        app = await api.apps.get("app")
        app.spec.running = running
        return await api.apps.update(app)

    await retrying(write)


async def test_random_kills_converge(make_session: Callable[..., Session]) -> None:
    rng = random.Random(SEED)
    session = make_session(RDD_ETCD_MEMBERS="3", RDD_REPLICAS="2")
    stack, api = session.stack, session.api
    acknowledged: list[str] = []
    state: bool | None = None  # None: no App
    for round_number in range(ROUNDS):
        if state is None:
            state = rng.random() < 0.5
            running = state
            await retrying(lambda running=running: api.apps.create(new_app(running=running)))
        else:
            step = rng.choice(["run", "stop", "delete"])
            if step == "delete":
                await retrying(lambda: api.apps.delete("app"))
                state = None
            else:
                state = step == "run"
                await set_running(api, state)
        name, pid = rng.choice(victims(stack))
        os.kill(pid, signal.SIGKILL)
        marker = CONFIGMAP.new()
        marker.metadata.name = f"round-{round_number}"
        marker.metadata.namespace = "faults"
        marker.data["killed"] = name
        await retrying(lambda marker=marker: api.configmaps.create(marker))
        acknowledged.append(marker.metadata.name)
        await converged(api, stack, state)
        stack.start()  # brings back the killed one
    stored = {cm.metadata.name for cm in (await api.configmaps.list("faults")).items}
    assert set(acknowledged) <= stored, "an acknowledged write was lost"
    for name in stored:
        await api.configmaps.delete(name, "faults")
    if state is not None:
        await api.apps.delete("app")
        await converged(api, stack, None)
