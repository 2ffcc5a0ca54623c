"""The whole stack on the `lima` driver where real Lima differs from an ideal
limactl (issue 8): a deleted VM's guest gets Lima's shutdown budget, a VM
adopted early in its boot is left booting, and admission refuses templates
limactl would rewrite and edits that shrink an existing disk.

Against the stand-in (whose knobs model the slow guest and the early boot)
or, for the admission tests, a real Lima too."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from rdd.errors import ForbiddenError
from rdd.templates.default import DEFAULT_TEMPLATE
from tests.lima.conftest import (
    REAL_LIMA,
    STANDIN,
    Limactl,
    assert_all_gone,
    host_agent_pid,
    lima_home_entries,
    running_vm,
    settled,
    template_configmap,
)
from tests.support.stack import Api, Stack, has_condition, new_app
from tests.support.waiting import eventually

pytestmark = pytest.mark.timeout(3600 if REAL_LIMA else 120)


async def test_deleting_a_vm_gives_its_guest_limas_shutdown_budget(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    """It used to be SIGKILLed after 5 s, whatever the guest was doing."""
    limactl.needs_standin("LIMACTL_STANDIN_SHUTDOWN_SECONDS")
    stack = make_lima_stack(LIMACTL_STANDIN_SHUTDOWN_SECONDS="7", RDD_STOP_TIMEOUT_SECONDS="")
    api = Api.connect(stack)
    try:
        await running_vm(api, limactl)
        begun = time.monotonic()
        await api.apps.delete("app")
        await assert_all_gone(api, stack, limactl)
        assert time.monotonic() - begun >= 7
        assert stack.has_logged("limavm", "vm_stopping", name="rd", timeout=370.0)
        assert not stack.has_logged("limavm", "vm_stop_forced")
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_a_vm_adopted_early_in_its_boot_keeps_booting(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    """Lima says Broken until the VM process runs and the host agent answers."""
    limactl.needs_standin("LIMACTL_STANDIN_DRIVER_DELAY_SECONDS")
    # Long enough that a loaded machine restarts limavm while the VM still boots.
    stack = make_lima_stack(LIMACTL_STANDIN_DRIVER_DELAY_SECONDS="20")
    api = Api.connect(stack)
    try:
        await api.apps.create(new_app(running=True))
        pid = await eventually(lambda: host_agent_pid(stack), timeout=limactl.boot_timeout)
        assert not (stack.lima_home / "rd" / "qemu.pid").exists()
        stack.kill("limavm")
        stack.start()
        await api.close()
        api = Api.connect(stack)
        await settled(api, limactl)
        vm = await api.limavms.get("rd", "default")
        assert has_condition(vm, "Running", "True", "Started")
        assert host_agent_pid(stack) == pid, "the booting VM was stopped and started again"
        events = stack.log_events("limavm")
        starts = [i for i, e in enumerate(events) if e["msg"] == "svc_start"]
        after = events[starts[-1] :]
        assert any(e.get("key") == "default/rd" and e.get("state") == "Starting" for e in after)
        assert not any(e.get("state") == "Broken" or e["msg"] == "vm_stop_forced" for e in after)
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_admission_refuses_templates_limactl_would_rewrite_and_disk_shrinking(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    stack = make_lima_stack()
    api = Api.connect(stack)
    try:
        with_base = DEFAULT_TEMPLATE + "base: template://default\n"
        with pytest.raises(ForbiddenError, match="limactl template copy --embed") as denied:
            await api.configmaps.create(template_configmap("tpl", with_base, label=True))
        assert "field `base`" in denied.value.message

        await running_vm(api, limactl)
        template = await api.configmaps.get("rd-template", "default")
        before = template.data["template"]
        assert "disk: 100GiB" in before
        template.data["template"] = before.replace("disk: 100GiB", "disk: 50GiB")
        with pytest.raises(ForbiddenError, match="disk shrinking is not supported") as denied:
            await api.configmaps.update(template)
        assert "from 100GiB to 50GiB" in denied.value.message
        assert (await api.configmaps.get("rd-template", "default")).data["template"] == before
        assert "rd" in lima_home_entries(stack.lima_home)
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root (Lima refuses root)")
async def test_as_root_the_automatic_choice_is_sim_saying_why(tmp_path: Path) -> None:
    """A limactl on PATH that refuses root (the stand-in told to): the stack
    starts on the sim driver, and the limavm log says why in one line."""
    stack = Stack(
        tmp_path / "stack",
        PATH=f"{STANDIN}{os.pathsep}{os.environ['PATH']}",
        LIMACTL_STANDIN_ROOT="refuse",
        RDD_VM_DRIVER="",  # the automatic choice (the contract stacks say sim)
    )
    stack.start()
    try:
        lines = [e for e in stack.log_events("limavm") if e["msg"] == "driver_selected"]
        assert len(lines) == 1
        assert lines[0]["driver"] == "sim" and "refuses to run as root" in lines[0]["reason"]
    finally:
        stack.stop()
