"""The lima driver against the limactl stand-in (tests/standin/limactl)."""

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
    RUNNING,
    SENTINEL,
    STOPPED,
    DriverError,
)
from rdd.drivers.lima import LimaDriver
from rdd.drivers.limactl import outer_marker
from tests.drivers.conftest import TEMPLATE, Recorder, running, state
from tests.support.processes import processes_mentioning
from tests.support.waiting import until


async def test_prepare_makes_a_stopped_instance(lima: LimaDriver, lima_home: Path) -> None:
    assert await state(lima) == ABSENT
    await lima.prepare("rd", TEMPLATE, "x86_64")
    inst = lima_home / "rd"
    assert (inst / "lima.yaml").read_text().startswith(TEMPLATE)
    assert 'arch: "x86_64"' in (inst / "lima.yaml").read_text()
    assert not (inst / SENTINEL).exists()
    assert not outer_marker(lima_home, "rd").exists()
    assert await state(lima) == STOPPED
    await lima.prepare("rd", TEMPLATE, "x86_64")  # already prepared: no-op


async def test_prepare_failure_reports_limactl_and_leaves_nothing(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_FAIL_DOWNLOAD", "1")
    with pytest.raises(DriverError) as caught:
        await lima.prepare("rd", TEMPLATE, "x86_64")
    # pkg/fileutils/download.go: one "failed to download" per candidate image
    # (the aarch64 image is skipped quietly).
    assert caught.value.message == (
        'failed to download "https://cloud-images.example.invalid/noble-amd64.img": '
        'Get "https://cloud-images.example.invalid/noble-amd64.img": dial tcp: '
        "lookup cloud-images.example.invalid: no such host"
    )
    assert list(lima_home.iterdir()) == []
    status = await lima.status("rd")
    assert status.state == ABSENT
    assert "failed to download" in status.message


async def test_prepare_of_an_invalid_template_fails_with_lima_validation(
    lima: LimaDriver, lima_home: Path
) -> None:
    with pytest.raises(DriverError, match="field `images` must be set"):
        await lima.prepare("rd", "cpus: 2\n", "x86_64")
    assert list(lima_home.iterdir()) == []


async def test_leftover_markers_are_partial_and_prepare_redoes_them(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A crash during `limactl create`: the download had not finished.
    monkeypatch.setenv("LIMACTL_STANDIN_FAIL_DOWNLOAD", "1")
    inst = lima_home / "rd"
    lima_home.mkdir()
    outer_marker(lima_home, "rd").write_text("1\n")
    create = await asyncio.create_subprocess_exec(
        "limactl", "create", "--name=rd", "-",
        stdin=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "LIMA_HOME": str(lima_home)},
    )  # fmt: skip
    await create.communicate(TEMPLATE.encode())
    (inst / SENTINEL).write_text("1\n")
    monkeypatch.delenv("LIMACTL_STANDIN_FAIL_DOWNLOAD")
    assert (await lima.status("rd")).state == PARTIAL
    outer_marker(lima_home, "rd").unlink()  # either marker alone means Partial
    assert (await lima.status("rd")).state == PARTIAL
    with pytest.raises(DriverError, match="Partial"):
        await lima.start("rd")
    await lima.prepare("rd", TEMPLATE, "x86_64")
    assert not (inst / SENTINEL).exists()
    assert (inst / "basedisk").exists()
    assert await state(lima) == STOPPED


async def _state_is(driver: LimaDriver, wanted: str) -> bool:
    return await state(driver) == wanted


async def test_stop_forces_a_host_agent_that_ignores_sigint(
    lima: LimaDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_IGNORE_SIGINT", "1")
    await running(lima)
    since = time.monotonic()
    await lima.stop("rd", timeout=0.5)
    assert 0.5 <= time.monotonic() - since < 5
    assert await state(lima) == STOPPED


async def test_shutdown_leaves_real_vms_running(lima: LimaDriver, lima_home: Path) -> None:
    pid = await running(lima)
    await lima.shutdown()
    assert pid in processes_mentioning(str(lima_home))
    assert await state(LimaDriver(lima_home, Recorder())) == RUNNING


async def test_v2_wording_is_understood(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", "2.2.0")
    await running(lima)
    assert (lima_home / "rd" / "disk").exists()
    await lima.stop("rd", timeout=10)
    assert await state(lima) == STOPPED


async def test_reconfigure_edits_a_stopped_instance_like_limactl_edit(
    lima: LimaDriver, lima_home: Path
) -> None:
    await running(lima)
    changed = TEMPLATE.replace("cpus: 2", "cpus: 4")
    with pytest.raises(DriverError, match="it is Running"):
        await lima.reconfigure("rd", changed)
    await lima.stop("rd", timeout=10)
    disk = lima_home / "rd" / "basedisk"
    inode = disk.stat().st_ino
    await lima.reconfigure("rd", changed)
    assert (lima_home / "rd" / "lima.yaml").read_text() == changed
    assert disk.stat().st_ino == inode
    await lima.start("rd")
    await until(lambda: _state_is(lima, RUNNING), timeout=10)


async def test_a_host_agent_that_dies_leaves_a_message_until_the_next_start(
    lima: LimaDriver, recorder: Recorder
) -> None:
    pid = await running(lima)
    os.kill(pid, signal.SIGKILL)
    await until(lambda: _state_is(lima, STOPPED), timeout=3)
    assert "exited without being stopped" in (await lima.status("rd")).message
    await lima.start("rd")
    assert (await lima.status("rd")).message == ""
    await until(lambda: _state_is(lima, RUNNING), timeout=10)
    await lima.stop("rd", timeout=10)
    assert (await lima.status("rd")).message == ""
