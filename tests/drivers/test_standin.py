"""The limactl stand-in itself, where it models a Lima behaviour the driver
depends on and that differs from what it used to claim (issue 8). Each test
names the Lima file the behaviour comes from."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from rdd.drivers.hostagent_events import limactl_error
from tests.drivers.conftest import TEMPLATE, limactl
from tests.support.waiting import eventually

DIGEST = "sha256:" + "a" * 64
WITH_DIGEST = TEMPLATE.replace('  arch: "x86_64"\n', f'  arch: "x86_64"\n  digest: "{DIGEST}"\n', 1)


@pytest.fixture(autouse=True)
def _standin(standin_path: None) -> None:
    """The stand-in's knobs reset (tests/drivers/conftest.py)."""


def last_event(inst: Path) -> dict[str, object]:
    line = (inst / "ha.stdout.log").read_text().splitlines()[-1]
    status: dict[str, object] = json.loads(line)["status"]
    return status


async def test_start_notices_that_the_host_agent_died(
    lima_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """cmd/limactl/start.go (v1.0.0+): start races the events against the host agent's exit."""
    monkeypatch.setenv("LIMACTL_STANDIN_BOOT_SECONDS", "60")
    assert limactl(lima_home, "create", "--name=rd", "-", stdin=TEMPLATE).returncode == 0
    start = subprocess.Popen(
        [str(Path(__file__).parent.parent / "standin" / "limactl"), "start", "--tty=false", "rd"],
        env={**os.environ, "LIMA_HOME": str(lima_home)},
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        pidfile = lima_home / "rd" / "ha.pid"
        await eventually(lambda: pidfile.exists() and pidfile.read_text().strip(), timeout=5)
        os.kill(int(pidfile.read_text()), signal.SIGKILL)
        since = time.monotonic()
        _, err = start.communicate(timeout=10)
        assert time.monotonic() - since < 3
    finally:
        start.kill()
        start.wait()
    assert start.returncode == 1
    assert "host agent process has exited: signal: killed" in err
    limactl(lima_home, "delete", "-f", "rd")


def test_the_exiting_event_carries_no_errors(lima_home: Path) -> None:
    """pkg/hostagent/events: {exiting: true}; the cause is only logged."""
    assert limactl(lima_home, "create", "--name=rd", "-", stdin=TEMPLATE).returncode == 0
    assert limactl(lima_home, "start", "--tty=false", "rd").returncode == 0
    os.kill(int((lima_home / "rd" / "qemu.pid").read_text()), signal.SIGKILL)
    deadline = time.monotonic() + 10
    while (lima_home / "rd" / "ha.pid").exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert last_event(lima_home / "rd") == {"exiting": True}
    assert "Driver stopped due to error" in (lima_home / "rd" / "ha.stderr.log").read_text()
    limactl(lima_home, "delete", "-f", "rd")


@pytest.mark.parametrize(("version", "agent_left"), [("1.0.7", True), ("1.1.0", False)])
def test_graceful_stop_waits_for_stopped_from_v1_1(
    lima_home: Path, monkeypatch: pytest.MonkeyPatch, version: str, agent_left: bool
) -> None:
    """pkg/instance/stop.go: v1.0.x returns at the exiting event."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    monkeypatch.setenv("LIMACTL_STANDIN_EXIT_SECONDS", "1")
    assert limactl(lima_home, "create", "--name=rd", "-", stdin=TEMPLATE).returncode == 0
    assert limactl(lima_home, "start", "--tty=false", "rd").returncode == 0
    assert limactl(lima_home, "stop", "--tty=false", "rd").returncode == 0
    assert (lima_home / "rd" / "ha.pid").exists() is agent_left
    limactl(lima_home, "delete", "-f", "rd")


@pytest.mark.parametrize(
    ("version", "quoted"),
    [("2.1.1", '"https://cloud-images.example.invalid/noble-amd64.img"'),
     ("2.2.0", "`https://cloud-images.example.invalid/noble-amd64.img`")],
)  # fmt: skip
@pytest.mark.parametrize("knob", ["FAIL_DOWNLOAD", "FAIL_DIGEST"])
def test_download_and_digest_failures_read_as_in_lima(
    lima_home: Path, monkeypatch: pytest.MonkeyPatch, version: str, quoted: str, knob: str
) -> None:
    """pkg/fileutils/download.go, pkg/downloader/downloader.go."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    monkeypatch.setenv(f"LIMACTL_STANDIN_{knob}", "1")
    done = limactl(lima_home, "create", "--tty=false", "--name=rd", "-", stdin=WITH_DIGEST)
    assert done.returncode == 1
    message = limactl_error(done.stderr)
    assert message.startswith(f"failed to download {quoted}: ")
    if knob == "FAIL_DIGEST":
        q = '"' if quoted.startswith('"') else "`"
        assert message.endswith(f"expected digest {q}{DIGEST}{q}, got {q}sha256:{'0' * 64}{q}")


def test_a_size_with_a_bad_suffix_reads_as_in_go_units(lima_home: Path, tmp_path: Path) -> None:
    """go-units v0.5.0 RAMInBytes: `4Gi` is an invalid suffix, `x` an invalid size."""
    path = tmp_path / "t.yaml"
    path.write_text(TEMPLATE.replace('memory: "2GiB"', "memory: 4Gi") + "disk: x\n")
    done = limactl(lima_home, "validate", "--tty=false", str(path))
    assert done.returncode == 1
    message = limactl_error(done.stderr)
    assert "field `memory` has an invalid value: invalid suffix: 'gi'" in message
    assert "field `disk` has an invalid value: invalid size: 'x'" in message
