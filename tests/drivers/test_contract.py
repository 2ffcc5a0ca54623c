"""The Driver contract (rdd.drivers.base), one suite over both drivers: the
sim driver with its simulated host agents, the lima driver against the
limactl stand-in (tests/standin/limactl). What only one driver does is
tested in test_sim.py and test_lima.py."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from rdd.drivers.base import (
    ABSENT,
    BROKEN,
    PREPARING,
    RUNNING,
    SENTINEL,
    STARTING,
    STOPPED,
    Driver,
    DriverError,
)
from rdd.drivers.hostagent_events import parse_events
from rdd.drivers.lima import LimaDriver
from rdd.drivers.limactl import outer_marker
from rdd.drivers.sim import SimDriver
from tests.drivers.conftest import TEMPLATE, Recorder
from tests.support.processes import processes_mentioning
from tests.support.waiting import eventually, until


@dataclass(frozen=True)
class Facts:
    """What differs between the drivers where the contract leaves room."""

    name: str
    #: Seconds from start to Running.
    boot_timeout: float
    #: Seconds from a killed host agent to Stopped with the reason.
    crash_timeout: float
    #: The graceful budget a stop is given.
    stop_timeout: float
    #: What the driver says of a pid file that holds no pid.
    garbage_pid: str


SIM = Facts("sim", boot_timeout=5, crash_timeout=1, stop_timeout=5, garbage_pid="does not hold")
LIMA = Facts(
    "lima", boot_timeout=10, crash_timeout=3, stop_timeout=10, garbage_pid="invalid syntax"
)


@pytest.fixture(params=[SIM, LIMA], ids=lambda facts: facts.name)
def facts(request: pytest.FixtureRequest) -> Facts:
    return request.param


@pytest.fixture
def driver(facts: Facts, request: pytest.FixtureRequest) -> Driver:
    """The sim or lima fixture of conftest.py (each cleans up after itself)."""
    found: Driver = request.getfixturevalue(facts.name)
    return found


def another(driver: Driver, lima_home: Path, notify: Recorder) -> Driver:
    """A second driver on the same LIMA_HOME, as a restarted service makes."""
    if isinstance(driver, SimDriver):
        return SimDriver(lima_home, notify, boot_seconds=0.3)
    return LimaDriver(lima_home, notify)


async def state(driver: Driver, name: str = "rd") -> str:
    return (await driver.status(name)).state


async def running(driver: Driver, facts: Facts, name: str = "rd") -> int:
    """Prepare and start `name`; returns the host agent pid once Running."""
    await driver.prepare(name, TEMPLATE, "x86_64")
    await driver.start(name)
    await until(lambda: _state_is(driver, RUNNING, name), timeout=facts.boot_timeout)
    status = await driver.status(name)
    assert status.pid is not None
    return status.pid


async def _state_is(driver: Driver, wanted: str, name: str = "rd") -> bool:
    return await state(driver, name) == wanted


async def test_start_goes_starting_then_running_and_notifies(
    driver: Driver, facts: Facts, recorder: Recorder, lima_home: Path
) -> None:
    await driver.prepare("rd", TEMPLATE, "x86_64")
    since = time.monotonic()
    await driver.start("rd")
    assert time.monotonic() - since < 1, "start must not wait for the boot"
    assert await state(driver) == STARTING
    await recorder.wait_after("rd", since, timeout=facts.boot_timeout)
    status = await driver.status("rd")
    assert status.state == RUNNING
    if facts is SIM:
        assert (lima_home / "rd" / "ha.pid").read_text() == f"{status.pid}\n"
        statuses = parse_events((lima_home / "rd" / "ha.stdout.log").read_text())
        assert "sshLocalPort" in statuses[0] and "running" not in statuses[0]
        assert statuses[1]["running"] is True
    await driver.start("rd")  # no-op
    if facts is SIM:
        assert (await driver.status("rd")).pid == status.pid


async def test_killed_host_agent_is_noticed_within_a_second(
    driver: Driver, facts: Facts, recorder: Recorder, lima_home: Path
) -> None:
    pid = await running(driver, facts)
    since = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    # Noticed within a second: a notification after the kill, and by then
    # (a late "running" notification may come first on a loaded machine)
    # the status says it stopped, and (sim) why.
    assert await recorder.wait_after("rd", since, timeout=1) < 1
    await until(lambda: _state_is(driver, STOPPED), timeout=facts.crash_timeout)
    if facts is SIM:
        assert "SIGKILL" in (await driver.status("rd")).message
        assert time.monotonic() - since < 2
        assert not (lima_home / "rd" / "ha.pid").exists()
        await driver.start("rd")
        await until(lambda: _state_is(driver, RUNNING), timeout=facts.boot_timeout)


async def test_stop_is_graceful(driver: Driver, facts: Facts, lima_home: Path) -> None:
    await running(driver, facts)
    since = time.monotonic()
    await driver.stop("rd", timeout=facts.stop_timeout)
    assert await state(driver) == STOPPED
    inst = lima_home / "rd"
    assert not (inst / "ha.pid").exists()
    if facts is SIM:
        assert time.monotonic() - since < 2
        assert not (inst / "ha.sock").exists()
        events = parse_events((inst / "ha.stdout.log").read_text())
        assert events[-1] == {"exiting": True, "sshLocalPort": events[0]["sshLocalPort"]}
    else:
        assert '"exiting":true' in (inst / "ha.stdout.log").read_text()
    await driver.stop("rd", timeout=facts.stop_timeout)  # idempotent


async def test_delete_removes_a_running_instance(
    driver: Driver, facts: Facts, lima_home: Path
) -> None:
    await running(driver, facts)
    await driver.delete("rd")
    assert not (lima_home / "rd").exists()
    if facts is SIM:
        assert not processes_mentioning(str(lima_home))
    else:
        assert list(lima_home.iterdir()) == []
        # The VM's processes were signalled; on a loaded machine they take a moment to go.
        await eventually(
            lambda: not processes_mentioning(str(lima_home)),
            timeout=5,
            message="a VM process stayed",
        )
    assert await state(driver) == ABSENT
    await driver.delete("rd")  # idempotent


async def test_a_second_driver_adopts_a_running_vm(
    driver: Driver, facts: Facts, lima_home: Path
) -> None:
    pid = await running(driver, facts)
    calls = Recorder()
    adopter = another(driver, lima_home, calls)
    status = await adopter.status("rd")
    assert (status.state, status.pid) == (RUNNING, pid)
    await adopter.start("rd")
    assert (await adopter.status("rd")).pid == pid, "start must not start a second VM"
    if facts is SIM:
        assert processes_mentioning(str(lima_home)) == [pid], "start must not duplicate the VM"
    since = time.monotonic()
    os.kill(pid, signal.SIGKILL)
    assert await calls.wait_after("rd", since, timeout=1) < 1
    if facts is SIM:
        assert await state(adopter) == STOPPED
    await adopter.shutdown()


async def test_garbage_pid_file_is_broken_until_stopped(
    driver: Driver, facts: Facts, lima_home: Path
) -> None:
    await driver.prepare("rd", TEMPLATE, "x86_64")
    (lima_home / "rd" / "ha.pid").write_text("garbage")
    status = await driver.status("rd")
    assert status.state == BROKEN
    assert facts.garbage_pid in status.message
    if facts is LIMA:
        with pytest.raises(DriverError, match="Broken"):
            await driver.start("rd")
    await driver.stop("rd", timeout=1 if facts is SIM else 5)
    assert await state(driver) == STOPPED


@pytest.fixture
def slow_preparing(
    facts: Facts,
    lima_home: Path,
    recorder: Recorder,
    request: pytest.FixtureRequest,
    monkeypatch: pytest.MonkeyPatch,
) -> Driver:
    """A driver whose preparations take 30 s (the sim one is shut down by its test)."""
    if facts is SIM:
        return SimDriver(lima_home, recorder, prepare_seconds=30)
    driver: Driver = request.getfixturevalue("lima")
    monkeypatch.setenv("LIMACTL_STANDIN_CREATE_SECONDS", "30")
    return driver


async def test_delete_during_preparation_removes_everything(
    slow_preparing: Driver, facts: Facts, lima_home: Path
) -> None:
    driver = slow_preparing
    preparing = asyncio.create_task(driver.prepare("rd", TEMPLATE, "x86_64"))
    await eventually(lambda: (lima_home / "rd" / SENTINEL).exists(), timeout=5)
    if facts is LIMA:
        assert outer_marker(lima_home, "rd").exists()
    assert await state(driver) == PREPARING
    await driver.delete("rd")
    assert not (lima_home / "rd").exists()
    if facts is LIMA:
        assert list(lima_home.iterdir()) == []
    assert await state(driver) == ABSENT
    with pytest.raises(DriverError, match="cancelled"):
        await preparing
    if facts is SIM:
        await driver.shutdown()
    else:
        assert not processes_mentioning(str(lima_home))
