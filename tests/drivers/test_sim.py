"""The sim driver against real simulated host agent processes."""

from __future__ import annotations

import asyncio
import os
import signal
import time
from pathlib import Path

import pytest

from rdd.drivers.base import (
    ABSENT,
    PARTIAL,
    PREPARING,
    RUNNING,
    SENTINEL,
    STOPPED,
    DriverError,
)
from rdd.drivers.sim import SimDriver
from tests.drivers.conftest import TEMPLATE, Recorder
from tests.support.processes import processes_mentioning
from tests.support.waiting import eventually, until


async def state(driver: SimDriver, name: str = "rd") -> str:
    return (await driver.status(name)).state


async def running(driver: SimDriver, name: str = "rd") -> int:
    """Prepare and start `name`; returns its host agent pid once Running."""
    await driver.prepare(name, TEMPLATE, "x86_64")
    await driver.start(name)
    await until(lambda: _is_running(driver, name), timeout=5)
    status = await driver.status(name)
    assert status.pid is not None
    return status.pid


async def _is_running(driver: SimDriver, name: str) -> bool:
    return (await driver.status(name)).state == RUNNING


async def test_prepare_makes_a_stopped_instance(sim: SimDriver, lima_home: Path) -> None:
    assert await state(sim) == ABSENT
    await sim.prepare("rd", TEMPLATE, "x86_64")
    inst = lima_home / "rd"
    assert (inst / "lima.yaml").read_text() == TEMPLATE
    assert not (inst / SENTINEL).exists()
    assert {"lima-version", "disk"} <= {p.name for p in inst.iterdir()}
    assert await state(sim) == STOPPED
    await sim.prepare("rd", "images: []\n", "x86_64")  # already prepared: no-op
    assert (inst / "lima.yaml").read_text() == TEMPLATE


async def test_prepare_rejects_an_unknown_arch(sim: SimDriver) -> None:
    with pytest.raises(DriverError, match="unsupported arch"):
        await sim.prepare("rd", TEMPLATE, "riscv64")


async def test_preparation_survives_its_caller_and_notifies(
    lima_home: Path, recorder: Recorder
) -> None:
    driver = SimDriver(lima_home, recorder, prepare_seconds=0.3)
    caller = asyncio.create_task(driver.prepare("rd", TEMPLATE, "x86_64"))
    await eventually(lambda: (lima_home / "rd" / SENTINEL).exists())
    caller.cancel()
    since = time.monotonic()
    await recorder.wait_after("rd", since, timeout=3)
    assert await state(driver) == STOPPED
    assert not (lima_home / "rd" / SENTINEL).exists()
    await driver.shutdown()


async def test_leftover_sentinel_is_partial_and_prepare_redoes_it(
    sim: SimDriver, lima_home: Path
) -> None:
    inst = lima_home / "rd"
    inst.mkdir(parents=True)
    (inst / "lima.yaml").write_text("half written")
    (inst / SENTINEL).write_text("12345\n")
    status = await sim.status("rd")
    assert status.state == PARTIAL
    assert "interrupted" in status.message
    with pytest.raises(DriverError, match="Partial"):
        await sim.start("rd")
    await sim.prepare("rd", TEMPLATE, "x86_64")
    assert (inst / "lima.yaml").read_text() == TEMPLATE
    assert not (inst / SENTINEL).exists()
    assert await state(sim) == STOPPED


async def test_directory_without_lima_yaml_is_partial(sim: SimDriver, lima_home: Path) -> None:
    (lima_home / "rd").mkdir(parents=True)
    assert await state(sim) == PARTIAL
    await sim.delete("rd")
    assert not (lima_home / "rd").exists()


async def test_stop_forces_a_hung_host_agent_after_the_timeout(sim: SimDriver) -> None:
    pid = await running(sim)
    os.kill(pid, signal.SIGSTOP)  # hung: SIGTERM stays pending, SIGKILL still works
    since = time.monotonic()
    await sim.stop("rd", timeout=0.3)
    assert 0.3 <= time.monotonic() - since < 3
    assert await state(sim) == STOPPED


async def test_shutdown_stops_every_vm(sim: SimDriver, lima_home: Path) -> None:
    await running(sim, "one")
    await sim.prepare("two", TEMPLATE, "aarch64")
    await sim.start("two")
    await sim.shutdown()
    assert not processes_mentioning(str(lima_home))
    assert await state(sim, "one") == STOPPED
    assert await state(sim, "two") == STOPPED


async def test_stale_pid_files_are_removed(sim: SimDriver, lima_home: Path) -> None:
    await sim.prepare("rd", TEMPLATE, "x86_64")
    pidfile = lima_home / "rd" / "ha.pid"
    pidfile.write_text(f"{os.getpid()}\n")  # alive, but not a host agent
    assert await state(sim) == STOPPED
    assert not pidfile.exists()


async def test_start_of_a_missing_instance_fails(sim: SimDriver) -> None:
    with pytest.raises(DriverError, match="Absent"):
        await sim.start("rd")


async def test_reconfigure_rewrites_lima_yaml_and_keeps_the_disk(
    sim: SimDriver, lima_home: Path
) -> None:
    await running(sim)
    changed = TEMPLATE.replace("cpus: 2", "cpus: 4")
    with pytest.raises(DriverError, match="it is Running"):
        await sim.reconfigure("rd", changed)
    await sim.stop("rd", timeout=5)
    disk = lima_home / "rd" / "disk"
    inode = disk.stat().st_ino
    await sim.reconfigure("rd", changed)
    assert (lima_home / "rd" / "lima.yaml").read_text() == changed
    assert disk.stat().st_ino == inode
    assert await state(sim) == STOPPED


async def test_a_stopped_vm_has_no_message_and_an_unasked_exit_has_one(
    sim: SimDriver, lima_home: Path
) -> None:
    pid = await running(sim)
    await sim.stop("rd", timeout=5)
    assert (await sim.status("rd")).message == ""
    await sim.start("rd")
    await until(lambda: _is_running(sim, "rd"), timeout=5)
    pid = (await sim.status("rd")).pid
    assert pid is not None
    os.kill(pid, signal.SIGTERM)  # clean exit, but nobody asked the driver for it
    await until(lambda: _has_message(sim, "without being stopped"), timeout=5)


async def _has_message(driver: SimDriver, text: str) -> bool:
    status = await driver.status("rd")
    return status.state == STOPPED and text in status.message


async def test_begin_prepare_returns_at_once_and_reports_preparing(
    sim: SimDriver, recorder: Recorder, monkeypatch: pytest.MonkeyPatch, lima_home: Path
) -> None:
    monkeypatch.setattr(sim, "_prepare_seconds", 0.5)
    since = time.monotonic()
    sim.begin_prepare("rd", TEMPLATE, "x86_64")
    assert await state(sim) == PREPARING
    await recorder.wait_after("rd", since, timeout=5)
    assert await state(sim) == STOPPED
    sim.begin_prepare("bad", TEMPLATE, "s390x")
    await until(lambda: _absent_with_message(sim, "bad"), timeout=5)


async def _absent_with_message(driver: SimDriver, name: str) -> bool:
    status = await driver.status(name)
    return status.state == ABSENT and "unsupported arch" in status.message


async def test_a_killed_host_agent_reads_stopped_with_its_reason_and_stays_so(
    sim: SimDriver,
) -> None:
    """A crash reads Stopped only once the driver knows why (the controller
    counts a failure from that reason), and then stays Stopped: a dying child
    no longer shows its argv, a killed one is a zombie until asyncio reaps
    it, and it may be reaped between two looks at it; none of these may read
    as Stopped without a reason, or as running again (seen on a loaded machine)."""
    for _ in range(3):
        pid = await running(sim)
        os.kill(pid, signal.SIGKILL)
        seen: list[tuple[str, str]] = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            status = await sim.status("rd")
            seen.append((status.state, status.message))
            await asyncio.sleep(0)
        changes = [s for i, s in enumerate(seen) if i == 0 or seen[i - 1] != s]
        states = [state for state, _ in changes]
        assert STOPPED in states, changes
        after = changes[states.index(STOPPED) :]
        assert after == [(STOPPED, "host agent was killed by SIGKILL")], (changes, pid)
