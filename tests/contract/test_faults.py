"""Crashes, restarts, another host arch, template changes and restart
requests (the review's lessons, each against a real stack)."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable

from rdd.meta.names import RESTART_ANNOTATION
from tests.contract.conftest import Session
from tests.contract.stack import Api, Stack, condition, has_condition, new_app, set_running
from tests.contract.test_lifecycle import settled
from tests.helpers import eventually


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

    async def back():
        vm = await api.limavms.get("rd", "default")
        return has_condition(vm, "Running", "True") and stack.vm_processes() == pid

    await eventually(back, timeout=15)
    vm = await api.limavms.get("rd", "default")
    assert vm.status.restart_count == 1, "an adopted VM is not a restart"
    reasons = [e.reason for e in (await api.events.list("default")).items]
    assert "Reconciling" in reasons


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
    vm = await session.api.limavms.get("rd", "default")
    assert has_condition(vm, "Running", "True")


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
