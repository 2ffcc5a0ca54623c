"""Crashes, restarts, another host arch, template changes and restart
requests (the review's lessons, each against a real stack)."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

from rdd.meta.names import RESTART_ANNOTATION
from tests.support.fixtures import Session, assert_clean
from tests.support.stack import Api, Stack, condition, has_condition, new_app, set_running, settled
from tests.support.waiting import eventually


async def test_aarch64_host_builds_an_aarch64_instance(make_session: Callable[..., Session]):
    session = make_session(RDD_HOST_ARCH="aarch64")
    api = session.api
    await api.apps.create(new_app(running=True))
    await settled(api)
    vm = await api.limavms.get("rd", "default")
    assert vm.status.arch == "aarch64"
    lima_yaml = (session.stack.lima_home / "rd" / "lima.yaml").read_text()
    assert "arch: aarch64" in lima_yaml
    assert "arm64.raw.xz" in lima_yaml


async def vm_running(api: Api) -> bool:
    return has_condition(await api.limavms.get("rd", "default"), "Running", "True")


async def test_a_crashed_vm_is_noticed_and_restarted(api: Api, stack: Stack):
    await api.apps.create(new_app(running=True))
    await settled(api)
    pid = int((stack.lima_home / "rd" / "ha.pid").read_text())
    os.kill(pid, signal.SIGKILL)

    async def restarted():
        vm = await api.limavms.get("rd", "default")
        new_pid = stack.vm_processes()
        return (
            vm.status.restart_count == 2
            and has_condition(vm, "Running", "True")
            and new_pid
            and new_pid != [pid]
        )

    await eventually(restarted, timeout=10, message="crashed VM was not restarted")


async def test_restart_annotation_restarts_the_vm_and_is_removed(api: Api, stack: Stack):
    await api.apps.create(new_app(running=True))
    await settled(api)
    vm = await api.limavms.get("rd", "default")
    old_pid = stack.vm_processes()
    vm.metadata.annotations[RESTART_ANNOTATION] = "true"
    await api.limavms.update(vm)

    async def restarted():
        vm = await api.limavms.get("rd", "default")
        return (
            RESTART_ANNOTATION not in vm.metadata.annotations
            and vm.status.restart_count == 2
            and has_condition(vm, "Running", "True")
            and stack.vm_processes() not in ([], old_pid)
        )

    await eventually(restarted, timeout=10)


async def test_template_change_restarts_the_vm_with_the_new_template(api: Api, stack: Stack):
    await api.apps.create(new_app(running=True))
    await settled(api)
    disk = stack.lima_home / "rd" / "disk"
    disk_inode = disk.stat().st_ino
    marker = stack.lima_home / "rd" / "user-data"  # stands for what the user keeps in the VM
    marker.write_text("keep me\n")
    template = await api.configmaps.get("rd-template", "default")
    template.data["template"] = template.data["template"].replace("cpus: 2", "cpus: 4")
    updated = await api.configmaps.update(template)

    async def applied():
        vm = await api.limavms.get("rd", "default")
        return (
            vm.status.observed_template_resource_version == updated.metadata.resource_version
            and not vm.status.restart_needed
            and has_condition(vm, "Running", "True")
            and vm.status.restart_count == 2
        )

    await eventually(applied, timeout=15)
    assert "cpus: 4" in (stack.lima_home / "rd" / "lima.yaml").read_text()
    # A cpus change restarts the VM with its new lima.yaml: the instance
    # (its disk and anything else in it) is not rebuilt.
    assert marker.read_text() == "keep me\n", "the instance was rebuilt"
    assert disk.stat().st_ino == disk_inode, "the disk was recreated"
    await settled(api)


async def _at_least(count: Any, wanted: int) -> bool:
    return int(await count) >= wanted


async def _contains(values: Any, wanted: str) -> bool:
    return wanted in await values


async def test_service_restart_reconciles_and_adopts_the_running_vm(
    make_session: Callable[..., Session],
):
    session = make_session()
    stack = session.stack
    await session.api.apps.create(new_app(running=True))
    await settled(session.api)
    pid = stack.vm_processes()
    stack.kill("limavm")  # crash: the VM keeps running
    await session.restart()
    api = session.api

    async def reasons() -> list[str]:
        return [e.reason for e in (await api.events.list("default")).items]

    async def back():
        vm = await api.limavms.get("rd", "default")
        return has_condition(vm, "Running", "True") and stack.vm_processes() == pid

    # The new process leads once the killed one's lease has expired.
    await eventually(lambda: _contains(reasons(), "Reconciling"), timeout=15)
    await eventually(back, timeout=15)
    vm = await api.limavms.get("rd", "default")
    assert vm.status.restart_count == 1, "an adopted VM is not a restart"
    assert "Reconciling" in await reasons()


async def test_graceful_service_stop_stops_its_vms_and_start_brings_them_back(
    make_session: Callable[..., Session],
):
    session = make_session()
    await session.api.apps.create(new_app(running=True))
    await settled(session.api)
    session.stack.kill("limavm", signal.SIGTERM)
    assert session.stack.vm_processes() == []
    await session.restart()
    await settled(session.api)
    # The App may still say Settled from before the stop: wait for the VM itself.
    await eventually(
        lambda: vm_running(session.api), timeout=20, message="the VM was not brought back"
    )


async def test_service_crash_during_preparation_cleans_and_prepares_again(
    make_session: Callable[..., Session],
):
    session = make_session(RDD_SIM_PREPARE_SECONDS="3")
    stack = session.stack
    await session.api.apps.create(new_app(running=False))
    sentinel = stack.lima_home / "rd" / ".preparing"
    await eventually(sentinel.exists)
    stack.kill("limavm")
    assert sentinel.exists(), "the crash should leave a partial instance behind"
    stack.supervisor._env["RDD_SIM_PREPARE_SECONDS"] = "0"
    await session.restart()
    app = await settled(session.api)
    assert has_condition(app, "Created", "True")
    assert not sentinel.exists()
    created = condition(await session.api.limavms.get("rd", "default"), "Created")
    assert created is not None and created.status == "True"


async def test_services_recover_after_an_etcd_restart(make_session: Callable[..., Session]):
    session = make_session()
    await session.api.apps.create(new_app(running=False))
    await settled(session.api)
    session.stack.kill("etcd")
    await session.restart()  # etcd comes back on its port, with its data
    await set_running(session.api, True)
    app = await settled(session.api)
    assert has_condition(app, "Running", "True", "Started")


async def test_a_vm_that_keeps_dying_while_booting_is_start_failed_and_backs_off(
    make_session: Callable[..., Session],
):
    session = make_session(RDD_SIM_BOOT_SECONDS="60")
    api, stack = session.api, session.stack
    await api.apps.create(new_app(running=True))
    pids = await eventually(stack.vm_processes, timeout=10, message="no host agent")

    async def seen_starting() -> bool:
        """The controller has seen this run start: killing it now is a new
        failure to report (a run killed before the controller looked leaves
        Running at StartFailed, no change and no new Warning)."""
        vm = await api.limavms.get("rd", "default")
        return has_condition(vm, "Running", "False", "Starting")

    waits = []
    for kill in range(3):
        await eventually(seen_starting, timeout=10, message="the start was never seen")
        os.kill(pids[0], signal.SIGKILL)
        killed_at = time.monotonic()

        def restarted(before: list[int] = pids) -> list[int] | None:
            now = stack.vm_processes()
            return now if now and now != before else None

        if kill == 1:
            # While it waits to start again, Running says why it is down.
            async def failed() -> Any:
                vm = await api.limavms.get("rd", "default")
                return has_condition(vm, "Running", "False", "StartFailed") and vm

            vm = await eventually(failed, timeout=5, message="no StartFailed while backing off")
            running = condition(vm, "Running")
            assert running is not None and "SIGKILL" in running.message
        pids = await eventually(restarted, timeout=10, message="not restarted")
        waits.append(time.monotonic() - killed_at)
    # The first restart is immediate; then 1 s, then 2 s. The lower bounds
    # prove the backoff; the upper ones are loose for a loaded machine (the
    # exact delays are unit-tested in services/limavm/decisions).
    assert waits[0] < waits[1] < waits[2], waits
    assert 0.8 <= waits[1] < 5, waits
    assert 1.8 <= waits[2] < 8, waits

    async def start_failed_warnings() -> int:
        """Events are written in order, off the reconcile path: they may lag a moment."""
        events = (await api.events.list("default")).items
        return sum(
            e.count
            for e in events
            if e.involved_object.kind == "LimaVM"
            and e.reason == "StartFailed"
            and e.type == "Warning"
        )

    await eventually(
        lambda: _at_least(start_failed_warnings(), 3), timeout=10, message="< 3 StartFailed"
    )


async def test_a_template_with_new_images_rebuilds_the_instance(api: Api, stack: Stack):
    await api.apps.create(new_app(running=True))
    await settled(api)
    marker = stack.lima_home / "rd" / "user-data"
    marker.write_text("built from the old image\n")
    template = await api.configmaps.get("rd-template", "default")
    template.data["template"] = template.data["template"].replace(".raw.xz", ".raw.xz?v=2")
    assert "?v=2" in template.data["template"]
    updated = await api.configmaps.update(template)

    async def rebuilt():
        vm = await api.limavms.get("rd", "default")
        return (
            vm.status.observed_template_resource_version == updated.metadata.resource_version
            and has_condition(vm, "Running", "True")
            and vm.status.restart_count == 2
        )

    await eventually(rebuilt, timeout=15)
    assert "?v=2" in (stack.lima_home / "rd" / "lima.yaml").read_text()
    assert not marker.exists(), "new images need a new instance"
    await settled(api)


async def test_svc_stop_after_limavm_was_killed_stops_its_vms(
    make_stack: Callable[..., Stack],
):
    stack = make_stack()
    api = Api.connect(stack)
    try:
        await api.apps.create(new_app(running=True))
        await settled(api)
        running = stack.vm_processes()
        assert running
        stack.kill("limavm")  # SIGKILL: the service cannot stop its VMs
        assert stack.vm_processes() == running
        outcomes = stack.supervisor.stop()
        assert stack.vm_processes() == [], "svc stop left the VM of a killed limavm running"
        assert ("vm rd", "stopped", running[0]) in [
            (o.component, o.action, o.pid) for o in outcomes
        ]
        # The next start finds the instance stopped and brings it back.
        stack.start()
        await api.close()
        api = Api.connect(stack)
        await settled(api)
        # The App may still say Settled from before the stop: wait for the VM itself.
        await eventually(lambda: vm_running(api), timeout=20, message="the VM was not brought back")
    finally:
        await assert_clean(api, stack)
        await api.close()


async def test_the_failure_streak_outlives_a_controller_restart(
    make_session: Callable[..., Session],
):
    """Crashes in a row earn a growing restart backoff; status keeps the
    streak, so a restarted LimaVM service goes on counting from it."""
    session = make_session()
    stack = session.stack
    await session.api.apps.create(new_app(running=True))
    await settled(session.api)

    async def crash_and_wait(api: Api, streak: int) -> Any:
        pid = int((stack.lima_home / "rd" / "ha.pid").read_text())
        os.kill(pid, signal.SIGKILL)

        async def back_up() -> bool:
            vm = await api.limavms.get("rd", "default")
            return (
                vm.status.failure_streak == streak
                and has_condition(vm, "Running", "True")
                and stack.vm_processes() not in ([], [pid])
            )

        await eventually(back_up, timeout=20, message=f"no restart after failure {streak}")
        return await api.limavms.get("rd", "default")

    await crash_and_wait(session.api, 1)
    vm = await crash_and_wait(session.api, 2)
    assert vm.status.restart_not_before  # the second failure waited its backoff

    stack.kill("limavm")  # the VM keeps running; the new controller adopts it
    await session.restart()
    api = session.api

    async def checked_again() -> bool:
        """The new controller has looked (Reconciling) and seen it Running."""
        vm = await api.limavms.get("rd", "default")
        running = [c for c in vm.status.conditions if c.type == "Running"]
        events = [e.reason for e in (await api.events.list("default")).items]
        return "Reconciling" in events and bool(running) and running[0].status == "True"

    await eventually(checked_again, timeout=20)
    vm = await crash_and_wait(api, 3)  # not 1: the streak came back from status
    assert vm.status.failure_streak == 3
