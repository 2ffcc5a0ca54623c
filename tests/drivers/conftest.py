"""Fixtures for the driver tests: a notify recorder, a sim and a lima driver.

Every driver fixture deletes the instances its test made and shuts the driver
down, so no host agent outlives its test.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import subprocess
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from rdd.drivers.base import RUNNING
from rdd.drivers.lima import LimaDriver
from rdd.drivers.sim import SimDriver
from tests.support.processes import processes_mentioning
from tests.support.standin import STANDIN, STANDIN_KNOBS
from tests.support.waiting import eventually, until

TEMPLATE = """\
# A small Lima template, as the App controller renders it.
images:
- location: "https://cloud-images.example.invalid/noble-amd64.img"
  arch: "x86_64"
- location: "https://cloud-images.example.invalid/noble-arm64.img"
  arch: "aarch64"
cpus: 2
memory: "2GiB"
mounts: []
"""


class Recorder:
    """The `notify` callback: remembers when each name was notified."""

    def __init__(self) -> None:
        self.calls: list[tuple[float, str]] = []
        self._changed = asyncio.Event()

    def __call__(self, name: str) -> None:
        self.calls.append((time.monotonic(), name))
        self._changed.set()

    def count(self, name: str) -> int:
        return sum(1 for _, called in self.calls if called == name)

    async def wait_after(self, name: str, since: float, timeout: float) -> float:
        """Seconds from `since` to the first notify(name) after it; fails after `timeout`."""
        deadline = since + timeout
        while True:
            for moment, called in self.calls:
                if called == name and moment >= since:
                    return moment - since
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise AssertionError(f"no notify({name!r}) within {timeout}s")
            self._changed.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), remaining)


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def lima_home(tmp_path: Path) -> Path:
    return tmp_path / "lima"


@pytest.fixture
async def sim(lima_home: Path, recorder: Recorder) -> AsyncIterator[SimDriver]:
    driver = SimDriver(lima_home, recorder, boot_seconds=0.3)
    yield driver
    await driver.shutdown()
    if lima_home.exists():
        for entry in lima_home.iterdir():
            await driver.delete(entry.name)
    assert not processes_mentioning(str(lima_home))


@pytest.fixture
def standin_path(monkeypatch: pytest.MonkeyPatch) -> None:
    """The limactl stand-in first on PATH, with fast defaults."""
    monkeypatch.setenv("PATH", f"{STANDIN}{os.pathsep}{os.environ['PATH']}")
    monkeypatch.setenv("LIMACTL_STANDIN_BOOT_SECONDS", "0.3")
    for knob in STANDIN_KNOBS:
        monkeypatch.delenv(f"LIMACTL_STANDIN_{knob}", raising=False)


@pytest.fixture
async def lima(
    lima_home: Path, recorder: Recorder, standin_path: None
) -> AsyncIterator[LimaDriver]:
    driver = LimaDriver(lima_home, recorder)
    yield driver
    if lima_home.exists():
        for entry in lima_home.iterdir():
            if not entry.name.startswith((".", "_")):
                await driver.delete(entry.name)
    await driver.shutdown()
    await eventually(lambda: processes_mentioning(str(lima_home)) == [], message="processes left")


# -- helpers the lima driver tests share ----------------------------------------


LIMACTL = str(STANDIN / "limactl")


def limactl(lima_home: Path, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """The stand-in, run directly (the environment the test set, LIMA_HOME given)."""
    return subprocess.run(
        [LIMACTL, *args],
        input=stdin,
        capture_output=True,
        text=True,
        env={**os.environ, "LIMA_HOME": str(lima_home)},
        timeout=60,
        check=False,
    )


async def state(driver: LimaDriver, name: str = "rd") -> str:
    return (await driver.status(name)).state


async def _is_running(driver: LimaDriver, name: str) -> bool:
    return (await driver.status(name)).state == RUNNING


async def running(driver: LimaDriver, name: str = "rd") -> int:
    """Prepare and start `name`; returns the host agent pid once Running."""
    await driver.prepare(name, TEMPLATE, "x86_64")
    await driver.start(name)
    await until(lambda: _is_running(driver, name), timeout=10)
    status = await driver.status(name)
    assert status.pid is not None
    return status.pid
