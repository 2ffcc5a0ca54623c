"""The whole stack on the `lima` driver: App lifecycle, a crashed host agent,
a stop that needs force, a failed preparation, adoption after a service
crash, deletion during preparation, each checked against what limactl
itself reports and against what is left under RDD_LIMA_HOME; and admission
refusing a template with `limactl validate`'s own message.

Runs against the limactl stand-in (CI, `make test`), or the real limactl
with RDD_TEST_REAL_LIMA=1 (`make test-real-lima`); the fault tests that need
a stand-in knob skip under real Lima."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Callable
from typing import Any

import pytest

from rdd.errors import ForbiddenError, NotFoundError
from rdd.kinds import LIMAVM
from rdd.templates.default import DEFAULT_TEMPLATE
from rdd.templates.validation import validate_template
from tests.lima.conftest import (
    REAL_LIMA,
    Limactl,
    assert_all_gone,
    host_agent_pid,
    lima_home_entries,
    lima_status,
    running_vm,
    settled,
    template_configmap,
)
from tests.support.processes import lima_processes
from tests.support.stack import Api, Stack, condition, has_condition, new_app, set_running
from tests.support.waiting import events_until, eventually

pytestmark = pytest.mark.timeout(3600 if REAL_LIMA else 120)


async def get_vm(api: Api) -> Any | None:
    """The LimaVM `rd`, None while the App has not made it yet."""
    try:
        return await api.limavms.get("rd", "default")
    except NotFoundError:
        return None


async def test_app_lifecycle(make_lima_stack: Callable[..., Stack], limactl: Limactl) -> None:
    stack = make_lima_stack()
    api = Api.connect(stack)
    try:
        await api.apps.create(new_app(running=False))
        app = await settled(api, limactl)
        assert has_condition(app, "Created", "True", "Created")
        assert has_condition(app, "Running", "False", "Stopped")
        assert lima_status(limactl, stack.lima_home, "rd") == "Stopped"
        vm = await api.limavms.get("rd", "default")
        assert f"arch: {vm.status.arch}" in (stack.lima_home / "rd" / "lima.yaml").read_text()

        await set_running(api, True)
        seen: list[str] = []

        async def started() -> bool:
            vm = await api.limavms.get("rd", "default")
            running = condition(vm, "Running")
            assert running is not None
            if not seen or seen[-1] != running.reason:
                seen.append(running.reason)
            if running.status != "True":
                return False
            # The first moment Running=True is visible, Lima says Running too
            # and the host agent has logged that the VM finished booting.
            assert lima_status(limactl, stack.lima_home, "rd") == "Running"
            log = (stack.lima_home / "rd" / "ha.stdout.log").read_text()
            assert '"running":true' in log
            return True

        await eventually(started, timeout=limactl.boot_timeout, message="VM not Running")
        assert seen[-1] == "Started" and "Starting" in seen, seen
        app = await settled(api, limactl)
        vm = await api.limavms.get("rd", "default")
        assert vm.status.restart_count == 1
        pid = host_agent_pid(stack)
        assert pid is not None
        os.kill(pid, 0)

        await set_running(api, False)
        app = await settled(api, limactl, timeout=limactl.stop_timeout)
        assert has_condition(app, "Running", "False", "Stopped")
        assert lima_status(limactl, stack.lima_home, "rd") == "Stopped"
        assert host_agent_pid(stack) is None
        await eventually(lambda: lima_processes(stack.lima_home) == [], message="VM processes")

        await api.apps.delete("app")
        await eventually(
            lambda: lima_home_entries(stack.lima_home) == [],
            timeout=limactl.stop_timeout,
            message="instance left behind",
        )
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_a_killed_host_agent_is_noticed_and_the_vm_restarted(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    stack = make_lima_stack()
    api = Api.connect(stack)
    try:
        vm = await running_vm(api, limactl)
        assert vm.status.restart_count == 1
        pid = host_agent_pid(stack)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        killed_at = time.monotonic()

        async def noticed() -> bool:
            vm = await api.limavms.get("rd", "default")
            return not has_condition(vm, "Running", "True")

        await eventually(noticed, timeout=5, interval=0.01, message="crash not noticed")
        if not limactl.real:
            assert time.monotonic() - killed_at < 2, "the crash was not noticed promptly"

        async def restarted() -> bool:
            vm = await api.limavms.get("rd", "default")
            new_pid = host_agent_pid(stack)
            return (
                has_condition(vm, "Running", "True", "Started")
                and vm.status.restart_count == 2
                and new_pid is not None
                and new_pid != pid
            )

        await eventually(restarted, timeout=limactl.boot_timeout, message="VM not restarted")
        assert lima_status(limactl, stack.lima_home, "rd") == "Running"

        def started_twice(events: list[Any]) -> bool:
            started = [
                e for e in events if e.involved_object.kind == "LimaVM" and e.reason == "Started"
            ]
            return sum(e.count for e in started) == 2

        await events_until(api, started_twice)
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_a_stop_that_times_out_is_forced(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    limactl.needs_standin("LIMACTL_STANDIN_IGNORE_SIGINT")
    stack = make_lima_stack(LIMACTL_STANDIN_IGNORE_SIGINT="1", RDD_STOP_TIMEOUT_SECONDS="1")
    api = Api.connect(stack)
    try:
        await running_vm(api, limactl)
        pid = host_agent_pid(stack)
        assert pid is not None
        begun = time.monotonic()
        await set_running(api, False)
        app = await settled(api, limactl)
        took = time.monotonic() - begun
        assert has_condition(app, "Running", "False", "Stopped")
        # A graceful stop the host agent ignores (limactl would wait 3m10s)
        # is given up after RDD_STOP_TIMEOUT_SECONDS, then forced.
        assert 1 <= took < 8, took
        assert lima_status(limactl, stack.lima_home, "rd") == "Stopped"
        await eventually(lambda: lima_processes(stack.lima_home) == [], message="VM processes")
        assert stack.has_logged("limavm", "vm_stop_timeout", name="rd")
        assert stack.has_logged("limavm", "vm_stop_forced", name="rd")
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_a_failed_preparation_reports_limas_reason_and_leaves_nothing(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    limactl.needs_standin("LIMACTL_STANDIN_FAIL_DOWNLOAD")
    stack = make_lima_stack(LIMACTL_STANDIN_FAIL_DOWNLOAD="1")
    api = Api.connect(stack)
    try:
        await api.apps.create(new_app(running=True))

        async def failed() -> Any:
            vm = await get_vm(api)
            return vm if vm and has_condition(vm, "Created", "False", "CreateFailed") else None

        vm = await eventually(failed, timeout=limactl.boot_timeout, message="no CreateFailed")
        created = condition(vm, "Created")
        assert created is not None
        # pkg/fileutils/download.go: "failed to download URL: ..." (the
        # URL in "..." up to v2.1.1, in backticks after).
        assert created.message.startswith(
            ('failed to download "https://', "failed to download `https://")
        )

        async def app_reports_it() -> Any:
            app = await api.apps.get("app")
            settled = condition(app, "Settled")
            return app if settled is not None and settled.reason == "CreateFailed" else None

        app = await eventually(app_reports_it, message="App does not report CreateFailed")
        settled_cond = condition(app, "Settled")
        assert settled_cond is not None and settled_cond.status == "False"
        assert settled_cond.message == created.message
        # limactl leaves the half-made directory behind; the driver removes it.
        assert lima_home_entries(stack.lima_home) == []
        assert lima_processes(stack.lima_home) == []
        await events_until(
            api,
            lambda events: any(e.reason == "CreateFailed" and e.type == "Warning" for e in events),
        )
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_a_restarted_service_adopts_the_running_vm(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    stack = make_lima_stack()
    api = Api.connect(stack)
    try:
        await running_vm(api, limactl)
        pid = host_agent_pid(stack)
        assert pid is not None
        stack.kill("limavm")  # SIGKILL: the VM keeps running
        os.kill(pid, 0)
        stack.start()
        await api.close()
        api = Api.connect(stack)

        async def adopted() -> bool:
            vm = await api.limavms.get("rd", "default")
            return has_condition(vm, "Running", "True", "Started") and any(
                e.reason == "Reconciling" for e in (await api.events.list("default")).items
            )

        await eventually(adopted, timeout=limactl.boot_timeout, message="VM not adopted")
        await settled(api, limactl)
        vm = await api.limavms.get("rd", "default")
        assert vm.status.restart_count == 1, "an adopted VM is not a restart"
        assert host_agent_pid(stack) == pid, "the VM was started again"
        assert lima_status(limactl, stack.lima_home, "rd") == "Running"
        events = stack.log_events("limavm")
        starts = [i for i, e in enumerate(events) if e["msg"] == "svc_start"]
        assert "vm_started" not in [e["msg"] for e in events[starts[-1] :]]

        # The adopted VM is watched like one started here: a crash is noticed.
        os.kill(pid, signal.SIGKILL)

        async def restarted() -> bool:
            vm = await api.limavms.get("rd", "default")
            return has_condition(vm, "Running", "True") and vm.status.restart_count == 2

        await eventually(restarted, timeout=limactl.boot_timeout, message="crash not handled")
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


async def test_delete_during_preparation_leaves_nothing(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    # Real Lima prepares for as long as the image download takes.
    stack = make_lima_stack(LIMACTL_STANDIN_CREATE_SECONDS="30")
    api = Api.connect(stack)
    try:
        await api.apps.create(new_app(running=True))
        sentinel = stack.lima_home / "rd" / ".preparing"

        async def preparing_or_done() -> bool:
            vm = await get_vm(api)
            return sentinel.exists() or (vm is not None and has_condition(vm, "Created", "True"))

        await eventually(preparing_or_done, timeout=limactl.boot_timeout, message="no preparation")
        # A real Lima with the image in its cache may be done already; the
        # stand-in takes LIMACTL_STANDIN_CREATE_SECONDS.
        if sentinel.exists() or not limactl.real:
            assert sentinel.exists()
            assert lima_processes(stack.lima_home), "limactl create is not running"
        begun = time.monotonic()
        await api.apps.delete("app")
        await assert_all_gone(api, stack, limactl)
        if not limactl.real:
            assert time.monotonic() - begun < 10, "deletion waited for the preparation"
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()


#: A template rdd's own checks accept but Lima refuses (its port rules).
SSH_PORT_22 = DEFAULT_TEMPLATE.replace("localPort: 0", "localPort: 22")
LIMA_SAYS = "field `ssh.localPort` must not be 22"


async def test_admission_reports_what_limactl_validate_says(
    make_lima_stack: Callable[..., Stack], limactl: Limactl
) -> None:
    assert SSH_PORT_22 != DEFAULT_TEMPLATE
    assert validate_template(SSH_PORT_22, vm_arch="x86_64") == []  # our own checks pass
    stack = make_lima_stack()
    api = Api.connect(stack)
    try:
        with pytest.raises(ForbiddenError) as denied:
            await api.configmaps.create(template_configmap("tpl", SSH_PORT_22, label=True))
        assert 'admission webhook "validate.configmaps' in denied.value.message
        assert 'ConfigMap "tpl" has an invalid template (limactl validate): ' in (
            denied.value.message
        )
        assert LIMA_SAYS in denied.value.message

        # An unlabelled ConfigMap holds anything; a LimaVM built from it is refused.
        await api.configmaps.create(template_configmap("tpl", SSH_PORT_22, label=False))
        vm = LIMAVM.new()
        vm.metadata.name = "vm"
        vm.metadata.namespace = "default"
        vm.spec.template_ref.name = "tpl"
        with pytest.raises(ForbiddenError, match=LIMA_SAYS) as denied:
            await api.limavms.create(vm)
        assert 'admission webhook "validate.limavms' in denied.value.message
        assert (await api.limavms.list()).items == []
        assert stack.lima_home.exists() and lima_home_entries(stack.lima_home) == []
        await api.configmaps.delete("tpl", "default")
        assert stack.has_logged("webhook", "limactl_validate")
    finally:
        await assert_all_gone(api, stack, limactl)
        await api.close()
