"""The lima driver where real Lima differs from an ideal limactl (issue 8),
against the stand-in set to the Lima version whose behaviour it models:
embedded templates, Lima's stop budget, disk shrinking, folders without
lima.yaml, a VM adopted early in its boot, v1.x `errors` objects."""

from __future__ import annotations

import logging
import time
from pathlib import Path

import pytest

from rdd.drivers import lima as lima_module
from rdd.drivers.base import BROKEN, PARTIAL, RUNNING, SENTINEL, STARTING, STOPPED, DriverError
from rdd.drivers.lima import SET_ASIDE, LimaDriver, mirror_sentinel, strays
from rdd.drivers.limactl import outer_marker
from tests.drivers.conftest import TEMPLATE, Recorder, limactl, running, state
from tests.support.waiting import eventually, until


async def _state_is(driver: LimaDriver, wanted: str) -> bool:
    return await state(driver) == wanted


# -- 1. base: and file: ------------------------------------------------------


@pytest.mark.parametrize(
    ("version", "embedded"), [("1.0.7", False), ("1.2.1", True), ("2.2.0", True)]
)
def test_limactl_create_rewrites_a_template_with_base_from_v1_1(
    lima_home: Path,
    tmp_path: Path,
    standin_path: None,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    embedded: bool,
) -> None:
    """Why rdd refuses them: from v1.1 lima.yaml is not the template it was given."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    (tmp_path / "base.yaml").write_text("cpus: 3\nmounts:\n- location: /base\n")
    (tmp_path / "boot.sh").write_text("echo hi\n")
    template = tmp_path / "rd.yaml"
    template.write_text(TEMPLATE + "base: base.yaml\nprovision:\n- mode: system\n  file: boot.sh\n")
    done = limactl(lima_home, "create", "--tty=false", str(template))
    assert done.returncode == 0, done.stderr
    written = (lima_home / "rd" / "lima.yaml").read_text()
    if embedded:
        assert "base:" not in written and "boot.sh" not in written
        assert '"echo hi\\n"' in written and '"/base"' in written
    else:
        assert written == template.read_text()


@pytest.mark.parametrize(
    ("extra", "field"),
    [
        ("base: template://default\n", "`base`"),
        ("provision:\n- mode: system\n  file: boot.sh\n", "`provision[0].file`"),
        ("probes:\n- file:\n    url: probe.sh\n", "`probes[0].file`"),
    ],
)
async def test_a_template_limactl_would_embed_is_never_built_or_written(
    lima: LimaDriver, lima_home: Path, extra: str, field: str
) -> None:
    with pytest.raises(DriverError, match="limactl template copy --embed") as caught:
        await lima.prepare("rd", TEMPLATE + extra, "x86_64")
    assert field in caught.value.message
    assert not (lima_home / "rd").exists()
    await lima.prepare("rd", TEMPLATE, "x86_64")
    with pytest.raises(DriverError, match="limactl template copy --embed"):
        await lima.reconfigure("rd", TEMPLATE + extra)
    assert (lima_home / "rd" / "lima.yaml").read_text().startswith(TEMPLATE)


# -- 2. Lima's stop budget -----------------------------------------------------


def test_the_default_stop_budget_is_limas() -> None:
    # pkg/instance/stop.go: 3m10s for the exiting event, then 3 min for Stopped.
    assert lima_module.STOP_TIMEOUT_SECONDS == 190 + 180


async def test_a_slow_guest_shutdown_is_waited_for_not_killed(
    lima: LimaDriver,
    lima_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_SHUTDOWN_SECONDS", "2")
    await running(lima)
    caplog.set_level(logging.INFO, logger="rdd.drivers.lima")
    since = time.monotonic()
    await lima.stop("rd")  # no timeout: Lima's own budget
    assert time.monotonic() - since >= 2
    assert await state(lima) == STOPPED
    assert "QEMU has exited" in (lima_home / "rd" / "ha.stderr.log").read_text()
    assert "vm_stop_forced" not in caplog.text


@pytest.mark.parametrize("version", ["1.0.7", "1.2.1"])
async def test_stop_waits_for_the_host_agent_after_limactl_stop_returns(
    lima: LimaDriver,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    version: str,
) -> None:
    """v1.0.x `limactl stop` returns at the exiting event, while the host agent
    still cleans up: the driver waits for it instead of seeing Broken."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    monkeypatch.setenv("LIMACTL_STANDIN_EXIT_SECONDS", "1.5")
    await running(lima)
    caplog.set_level(logging.INFO, logger="rdd.drivers.lima")
    await lima.stop("rd", timeout=20)
    assert await state(lima) == STOPPED
    assert "vm_stop_forced" not in caplog.text


async def test_a_host_agent_that_outlives_the_budget_is_forced(
    lima: LimaDriver, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_SHUTDOWN_SECONDS", "30")
    await running(lima)
    since = time.monotonic()
    await lima.stop("rd", timeout=1)
    assert 1 <= time.monotonic() - since < 10
    assert await state(lima) == STOPPED


# -- 3. disk shrinking -----------------------------------------------------------


async def test_reconfigure_refuses_a_smaller_disk(lima: LimaDriver, lima_home: Path) -> None:
    await lima.prepare("rd", TEMPLATE, "x86_64")  # disk unset: Lima's 100GiB
    before = (lima_home / "rd" / "lima.yaml").read_text()
    with pytest.raises(DriverError, match="disk shrinking is not supported"):
        await lima.reconfigure("rd", TEMPLATE + "disk: 10GiB\n")
    assert (lima_home / "rd" / "lima.yaml").read_text() == before
    await lima.reconfigure("rd", TEMPLATE + "disk: 200GiB\n")
    with pytest.raises(DriverError, match="disk shrinking is not supported"):
        await lima.reconfigure("rd", TEMPLATE)
    await lima.start("rd")
    await until(lambda: _state_is(lima, RUNNING), timeout=10)


@pytest.mark.parametrize(
    ("version", "error"),
    [
        ("1.0.7", None),
        ("1.2.1", "diffDisk: Shrinking is currently unavailable"),
        ("2.2.0", "disk shrinking is not supported"),
    ],
)
async def test_limactl_start_fails_on_a_lima_yaml_that_shrinks_the_disk(
    lima: LimaDriver,
    lima_home: Path,
    monkeypatch: pytest.MonkeyPatch,
    version: str,
    error: str | None,
) -> None:
    """Why the driver refuses: every later start fails (from v1.1)."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    await lima.prepare("rd", TEMPLATE + "disk: 20GiB\n", "x86_64")
    (lima_home / "rd" / "lima.yaml").write_text(TEMPLATE + "disk: 10GiB\n")
    await lima.start("rd")
    if error is None:
        await until(lambda: _state_is(lima, RUNNING), timeout=10)
        return
    await until(lambda: _state_is(lima, STOPPED), timeout=10)
    assert error in (await lima.status("rd")).message


# -- 5. folders without lima.yaml ------------------------------------------------


@pytest.mark.parametrize(("version", "code"), [("2.1.4", 1), ("2.2.0", 0)])
def test_limactl_stop_f_fails_on_another_folder_up_to_v2_1_4(
    lima_home: Path, standin_path: None, monkeypatch: pytest.MonkeyPatch, version: str, code: int
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    assert limactl(lima_home, "create", "--name=rd", "-", stdin=TEMPLATE).returncode == 0
    (lima_home / "junk").mkdir()
    done = limactl(lima_home, "stop", "-f", "--tty=false", "rd")
    assert done.returncode == code, done.stderr
    if code:
        assert f"open {lima_home}/junk/lima.yaml: no such file or directory" in done.stderr


@pytest.mark.parametrize("version", ["1.2.1", "2.1.4"])
async def test_folders_without_lima_yaml_are_set_aside_before_limactl_runs(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    await lima.prepare("rd", TEMPLATE, "x86_64")
    (lima_home / "junk").mkdir()
    (lima_home / "junk" / "disk").write_text("someone's data\n")
    (lima_home / "ours").mkdir()
    (lima_home / "ours" / SENTINEL).write_text("1\n")
    assert strays(lima_home) == ["junk", "ours"]
    await lima.start("rd")
    await until(lambda: _state_is(lima, RUNNING), timeout=10)
    assert strays(lima_home) == []
    assert not (lima_home / "ours").exists()
    [kept] = (lima_home / SET_ASIDE).iterdir()
    assert kept.name.startswith("junk-") and (kept / "disk").read_text() == "someone's data\n"
    (lima_home / "junk2").mkdir()
    await lima.stop("rd", timeout=10)
    assert await state(lima) == STOPPED
    assert strays(lima_home) == []


async def test_a_failing_stop_f_counts_when_lima_says_stopped(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A folder that appears after the driver looked (another program's, or
    one that could not be moved): `stop -f` exits 1 in its reconcile step,
    yet the instance is Stopped."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", "2.1.4")
    await running(lima)

    async def nothing(*, keep: str = "") -> None:
        (lima_home / "late").mkdir(exist_ok=True)

    monkeypatch.setattr(lima, "_set_aside_strays", nothing)
    await lima.stop("rd", timeout=0)
    assert await state(lima) == STOPPED


def test_the_preparing_sentinel_tolerates_lima_removing_the_directory(tmp_path: Path) -> None:
    mirror_sentinel(tmp_path / "gone")  # Lima v2.2 removed it after a failed create
    assert not (tmp_path / "gone").exists()
    (tmp_path / "rd").mkdir()
    mirror_sentinel(tmp_path / "rd")
    assert (tmp_path / "rd" / SENTINEL).exists()


async def test_an_interrupted_preparation_is_still_partial_for_its_own_name(
    lima: LimaDriver, lima_home: Path
) -> None:
    lima_home.mkdir()
    (lima_home / "rd").mkdir()
    outer_marker(lima_home, "rd").write_text("1\n")
    assert (await lima.status("rd")).state == PARTIAL
    await lima.prepare("rd", TEMPLATE, "x86_64")
    assert await state(lima) == STOPPED


# -- 6. adopting a VM early in its boot --------------------------------------------


async def test_a_vm_adopted_early_in_its_boot_is_starting_not_broken(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # ha.pid exists for a while before the VM process and the host agent's socket.
    monkeypatch.setenv("LIMACTL_STANDIN_DRIVER_DELAY_SECONDS", "3")
    await lima.prepare("rd", TEMPLATE, "x86_64")
    await lima.start("rd")
    await eventually((lima_home / "rd" / "ha.pid").exists, message="no ha.pid")
    done = limactl(lima_home, "list", "--json", "--tty=false", "rd")
    assert '"status":"Broken"' in done.stdout
    calls = Recorder()
    adopter = LimaDriver(lima_home, calls)
    try:
        assert (await adopter.status("rd")).state == STARTING
        since = time.monotonic()
        await calls.wait_after("rd", since, timeout=10)
        await until(lambda: _state_is(adopter, RUNNING), timeout=10)
    finally:
        await adopter.shutdown()


async def test_a_broken_vm_that_had_booted_stays_broken(lima: LimaDriver, lima_home: Path) -> None:
    pid = await running(lima)
    (lima_home / "rd" / "qemu.pid").rename(lima_home / "rd" / "qemu.pid.moved")
    adopter = LimaDriver(lima_home, Recorder())
    try:
        status = await adopter.status("rd")
        assert (status.state, status.pid) == (BROKEN, pid)
        assert "host agent is running but driver is not" in status.message
    finally:
        await adopter.shutdown()
        (lima_home / "rd" / "qemu.pid.moved").rename(lima_home / "rd" / "qemu.pid")


# -- 7. v1.x errors ------------------------------------------------------------------


@pytest.mark.parametrize("version", ["1.2.1", "2.2.0"])
async def test_list_errors_are_shown_as_objects_v1_or_strings_v2(
    lima: LimaDriver, lima_home: Path, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    await lima.prepare("rd", TEMPLATE, "x86_64")
    (lima_home / "rd" / "ha.pid").write_text("garbage")
    listed = limactl(lima_home, "list", "--json", "--tty=false", "rd").stdout
    assert ('"errors":[{}]' in listed) is (version < "2")
    status = await lima.status("rd")
    assert status.state == BROKEN
    assert 'strconv.Atoi: parsing "garbage": invalid syntax' in status.message
    await lima.stop("rd", timeout=5)


@pytest.mark.parametrize("version", ["1.2.1", "2.2.0"])
async def test_an_instance_whose_listing_is_over_64_kib(
    lima: LimaDriver, monkeypatch: pytest.MonkeyPatch, version: str
) -> None:
    """v2.x `list --json` stops at a line of 64 KiB (cmd/limactl/list.go)."""
    monkeypatch.setenv("LIMACTL_STANDIN_VERSION", version)
    script = "echo " + "x" * 70_000
    await lima.prepare(
        "rd", TEMPLATE + f"provision:\n- mode: system\n  script: {script}\n", "x86_64"
    )
    if version < "2":
        assert await state(lima) == STOPPED
        return
    with pytest.raises(DriverError, match="64 KiB") as caught:
        await lima.status("rd")
    assert "bufio.Scanner: token too long" in caught.value.message
