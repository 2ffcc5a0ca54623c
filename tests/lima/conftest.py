"""Fixtures for the `lima` driver's contract tests: the whole stack with
RDD_VM_DRIVER=lima, against the limactl stand-in (tests/standin) by default,
or against the real `limactl` on PATH when RDD_TEST_REAL_LIMA=1 (that is
`make test-real-lima`, which skips with a clear message when there is none).

Every stack gets a short LIMA_HOME of its own (Lima's sockets must fit in
UNIX_PATH_MAX); whatever a failed test leaves there is removed with the same
limactl (`stop -f`, `delete -f`) before the directory goes.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import subprocess
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from rdd.errors import NotFoundError
from rdd.kinds import CONFIGMAP
from rdd.meta.names import TEMPLATE_LABEL
from tests.support.processes import lima_processes
from tests.support.stack import Api, Stack, new_app
from tests.support.stack import settled as app_settled
from tests.support.standin import STANDIN, STANDIN_KNOBS
from tests.support.waiting import eventually

REAL_LIMA = os.environ.get("RDD_TEST_REAL_LIMA") == "1"
#: Lima's own directory in LIMA_HOME (ssh keys, networks.yaml): not an instance.
LIMA_CONFIG_DIR = "_config"


@dataclass(frozen=True)
class Limactl:
    """Which limactl the stacks run, and how long things may take with it."""

    path: str
    real: bool
    #: Seconds for a VM to be created and booted (a real one downloads an image).
    boot_timeout: float
    #: Seconds for a stop or a delete to finish.
    stop_timeout: float

    def needs_standin(self, knob: str) -> None:
        """Skip a test that needs one of the stand-in's fault knobs."""
        if self.real:
            pytest.skip(f"needs the limactl stand-in's {knob} knob (not run against a real Lima)")


def find_limactl() -> Limactl:
    """The limactl to test against. With RDD_TEST_REAL_LIMA=1 and no real
    limactl that can run, every test skips with the reason (per test, not
    per module: a run where nothing was collected would exit non-zero)."""
    if not REAL_LIMA:
        return Limactl(str(STANDIN / "limactl"), real=False, boot_timeout=20, stop_timeout=20)
    found = shutil.which("limactl")
    if found is None:
        pytest.skip(
            "RDD_TEST_REAL_LIMA=1 but no limactl on PATH: install Lima "
            "(https://lima-vm.io/docs/installation/) to run tests/lima against it"
        )
    if Path(found).resolve() == (STANDIN / "limactl").resolve():
        pytest.skip("RDD_TEST_REAL_LIMA=1 but the limactl on PATH is the stand-in")
    if os.geteuid() == 0:
        pytest.skip("RDD_TEST_REAL_LIMA=1 but limactl refuses to run as root: run as a user")
    return Limactl(found, real=True, boot_timeout=15 * 60, stop_timeout=5 * 60)


@pytest.fixture(scope="session")
def limactl() -> Limactl:
    return find_limactl()


def stack_env(limactl: Limactl, lima_home: Path, **overrides: str) -> dict[str, str]:
    """The environment of a lima-driver stack: the chosen limactl first on PATH."""
    env = {
        "RDD_VM_DRIVER": "lima",
        "RDD_LIMA_HOME": str(lima_home),
        "PATH": f"{Path(limactl.path).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "RDD_STOP_TIMEOUT_SECONDS": "10" if not limactl.real else "60",
    }
    if not limactl.real:
        env["LIMACTL_STANDIN_BOOT_SECONDS"] = "0.3"
        # Knobs a test does not set must not leak in from the caller's shell.
        for knob in STANDIN_KNOBS:
            env[f"LIMACTL_STANDIN_{knob}"] = ""
    env.update(overrides)
    return env


@pytest.fixture
def make_lima_stack(tmp_path: Path, limactl: Limactl) -> Iterator[Callable[..., Stack]]:
    """Start a stack on the lima driver; `make(**env)` adds env overrides."""
    made: list[Stack] = []

    def make(**overrides: str) -> Stack:
        lima_home = Path(tempfile.mkdtemp(prefix="rdd-lima-"))
        env = stack_env(limactl, lima_home, **overrides)
        stack = Stack(tmp_path / f"stack{len(made)}", **env)
        made.append(stack)
        stack.start()
        return stack

    yield make
    for stack in made:
        stack.stop()
        remove_instances(limactl, stack.lima_home)


def run_limactl(limactl: Limactl, lima_home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "LIMA_HOME": str(lima_home)}
    return subprocess.run(
        [limactl.path, *args], env=env, capture_output=True, text=True, timeout=120, check=False
    )


def lima_status(limactl: Limactl, lima_home: Path, name: str) -> str | None:
    """What `limactl list --json NAME` says of an instance's status; None when missing."""
    result = run_limactl(limactl, lima_home, "list", "--json", "--tty=false", name)
    for line in result.stdout.splitlines():
        with contextlib.suppress(ValueError):
            item = json.loads(line)
            if isinstance(item, dict) and item.get("name") == name:
                return str(item.get("status", ""))
    return None


def remove_instances(limactl: Limactl, lima_home: Path) -> None:
    """What a failed test left: force-stop and delete each instance, then the directory."""
    if not lima_home.exists():
        return
    for entry in lima_home.iterdir():
        if entry.is_dir() and not entry.name.startswith((".", "_")):
            run_limactl(limactl, lima_home, "stop", "-f", "--tty=false", entry.name)
            run_limactl(limactl, lima_home, "delete", "-f", "--tty=false", entry.name)
    for pid in lima_processes(lima_home):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, 9)
    shutil.rmtree(lima_home, ignore_errors=True)


def lima_home_entries(lima_home: Path) -> list[str]:
    """What is under LIMA_HOME besides Lima's own `_config`."""
    if not lima_home.exists():
        return []
    return sorted(e.name for e in lima_home.iterdir() if e.name != LIMA_CONFIG_DIR)


async def assert_all_gone(api: Api, stack: Stack, limactl: Limactl) -> None:
    """Delete the App if it is still there, then insist nothing is left: no
    objects, nothing under RDD_LIMA_HOME, no process of any instance."""
    with contextlib.suppress(NotFoundError):
        await api.apps.delete("app")

    async def no_objects() -> bool:
        apps = (await api.apps.list()).items
        vms = (await api.limavms.list()).items
        cms = (await api.configmaps.list()).items
        return not apps and not vms and not cms

    await eventually(no_objects, timeout=limactl.stop_timeout, message="objects left behind")
    await eventually(
        lambda: lima_home_entries(stack.lima_home) == [],
        timeout=10,
        message=f"left under {stack.lima_home}",
    )
    await eventually(
        lambda: lima_processes(stack.lima_home) == [], timeout=10, message="processes left"
    )


async def settled(api: Api, limactl: Limactl, *, timeout: float | None = None) -> Any:
    """The App once Settled=True for its current generation (bounded by a boot)."""
    return await app_settled(api, timeout=timeout or limactl.boot_timeout, interval=0.05)


def host_agent_pid(stack: Stack, name: str = "rd") -> int | None:
    try:
        text = (stack.lima_home / name / "ha.pid").read_text().strip()
    except OSError:
        return None
    return int(text) if text.isdigit() else None


async def running_vm(api: Api, limactl: Limactl) -> Any:
    """Create the App with running=true and wait until it has settled."""
    await api.apps.create(new_app(running=True))
    await settled(api, limactl)
    return await api.limavms.get("rd", "default")


def template_configmap(name: str, template: str, *, label: bool) -> Any:
    cm = CONFIGMAP.new()
    cm.metadata.name = name
    cm.metadata.namespace = "default"
    if label:
        cm.metadata.labels[TEMPLATE_LABEL] = "true"
    cm.data["template"] = template
    return cm
