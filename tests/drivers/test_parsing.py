"""Pure helpers of the drivers: Lima's formats, state decisions, driver selection."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from rdd import procs
from rdd.config import ServiceSettings, SettingsError, env_seconds
from rdd.drivers import (
    host_arch,
    hostagent_events,
    make_driver,
    normalize_arch,
    select_driver,
    watching,
)
from rdd.drivers.base import (
    BROKEN,
    RUNNING,
    STARTING,
    STOPPED,
    DriverError,
    is_partial,
    parse_pid_text,
)
from rdd.drivers.limactl import (
    Result,
    decide_lima_state,
    is_unmatched,
    listed_errors,
    logrus_json_msg,
    parse_list_output,
)
from rdd.drivers.sim import is_sim_agent


def test_rfc3339nano_trims_trailing_zeros_like_go() -> None:
    assert hostagent_events.rfc3339nano(datetime(2025, 1, 2, 3, 4, 5, 120000, UTC)) == (
        "2025-01-02T03:04:05.12Z"
    )
    assert (
        hostagent_events.rfc3339nano(datetime(2025, 1, 2, 3, 4, 5, tzinfo=UTC))
        == "2025-01-02T03:04:05Z"
    )


def test_event_lines_round_trip() -> None:
    line = hostagent_events.format_event(
        {"running": True, "sshLocalPort": 60022}, datetime.now(UTC)
    )
    assert '"status":{"running":true,"sshLocalPort":60022}' in line
    assert hostagent_events.parse_event_line(line) == {"running": True, "sshLocalPort": 60022}
    assert hostagent_events.parse_event_line('{"time": "x"') is None
    assert hostagent_events.parse_event_line("[1]") is None


@pytest.mark.parametrize(
    ("statuses", "phase"),
    [
        ([], hostagent_events.NO_EVENTS),
        ([{"sshLocalPort": 1}], hostagent_events.BOOTING),
        ([{"sshLocalPort": 1}, {"running": True}], hostagent_events.RUNNING),
        ([{"running": True}, {"exiting": True}], hostagent_events.EXITING),
    ],
)
def test_boot_phase(statuses: list[dict[str, object]], phase: str) -> None:
    assert hostagent_events.boot_phase(statuses) == phase


def test_parse_events_skips_a_torn_last_line() -> None:
    text = '{"time":"t","status":{"sshLocalPort":1}}\n{"time":"t","status":{"runn'
    assert hostagent_events.parse_events(text) == [{"sshLocalPort": 1}]


def test_event_errors_include_degradation() -> None:
    assert hostagent_events.event_errors(
        [{"errors": ["boom"]}, {"running": True, "degraded": True}]
    ) == [
        "boom",
        "the VM is degraded",
    ]


@pytest.mark.parametrize(
    ("stderr", "message"),
    [
        (
            'time="2025-01-01T00:00:00Z" level=info msg="hi"\n'
            'time="2025-01-01T00:00:00Z" level=fatal msg="instance \\"rd\\" already exists '
            '(\\"/x/rd\\")"\n',
            'instance "rd" already exists ("/x/rd")',
        ),
        (
            'time="t" level=fatal msg="field `images` must be set\\nfield `cpus` must be set"',
            "field `images` must be set\nfield `cpus` must be set",
        ),
        ('time="t" level=error msg=plain\n', "plain"),
        ("panic: runtime error\n\ngoroutine 1\n", "panic: runtime error"),
        (
            "panic: must not run as the root user\n\ngoroutine 1 [running]:\nmain.main()\n"
            "\t/src/lima/cmd/limactl/main.go:36 +0x2a8\nexit status 2\n",
            "panic: must not run as the root user",
        ),
        ("limactl: must not run as the root user\n", "limactl: must not run as the root user"),
        ("", "limactl failed without a message"),
    ],
)
def test_limactl_error(stderr: str, message: str) -> None:
    assert hostagent_events.limactl_error(stderr) == message


def test_unquote_go_escapes() -> None:
    assert hostagent_events.unquote_go(r'"a\tb\x41\u00e9\"\\"') == 'a\tbAé"\\'
    assert hostagent_events.unquote_go("bare") == "bare"


def test_strip_quotes_matches_both_lima_wordings() -> None:
    assert (
        hostagent_events.strip_quotes('instance "rd" already exists')
        == "instance rd already exists"
    )
    assert (
        hostagent_events.strip_quotes("instance `rd` already exists")
        == "instance rd already exists"
    )


def test_parse_list_output_picks_the_named_instance() -> None:
    out = '{"name":"other","status":"Stopped"}\nnot json\n{"name":"rd","status":"Running"}\n'
    assert parse_list_output(out, "rd") == {"name": "rd", "status": "Running"}
    assert parse_list_output(out, "nope") is None


@pytest.mark.parametrize(
    ("stderr", "unmatched"),
    [
        ('time="t" level=warning msg="No instance matching rd found."\n', True),
        ('time="t" level=fatal msg="unmatched instances"\n', True),
        ('time="t" level=fatal msg="permission denied"\n', False),
    ],
)
def test_is_unmatched(stderr: str, unmatched: bool) -> None:
    assert is_unmatched(Result(1, "", stderr)) is unmatched


RUNNING_LISTING = {"status": "Running", "hostAgentPID": 10, "driverPID": 11}


@pytest.mark.parametrize(
    ("listing", "starting", "phase", "state"),
    [
        (RUNNING_LISTING, False, hostagent_events.RUNNING, RUNNING),
        (RUNNING_LISTING, False, hostagent_events.NO_EVENTS, RUNNING),
        (RUNNING_LISTING, False, hostagent_events.EXITING, RUNNING),
        (RUNNING_LISTING, False, hostagent_events.BOOTING, STARTING),
        (RUNNING_LISTING, True, hostagent_events.RUNNING, STARTING),
        ({"status": "Stopped"}, True, hostagent_events.NO_EVENTS, STARTING),
        ({"status": "Broken", "hostAgentPID": 10}, True, hostagent_events.BOOTING, STARTING),
        ({"status": "Stopped"}, False, hostagent_events.EXITING, STOPPED),
        ({"status": "Broken", "errors": ["x"]}, False, hostagent_events.NO_EVENTS, BROKEN),
        ({"status": ""}, False, hostagent_events.NO_EVENTS, BROKEN),
    ],
)
def test_decide_lima_state(
    listing: dict[str, object], starting: bool, phase: str, state: str
) -> None:
    decided = decide_lima_state(listing, starting=starting, phase=phase, start_error="")
    assert decided.state == state


EARLY = {
    "status": "Broken",
    "hostAgentPID": 10,
    "errors": ["host agent is running but driver is not"],
}


@pytest.mark.parametrize(
    ("listing", "phase", "boot_seconds", "state"),
    [
        (EARLY, hostagent_events.NO_EVENTS, 1.0, STARTING),
        (EARLY, hostagent_events.BOOTING, 30.0, STARTING),
        (EARLY, hostagent_events.RUNNING, 1.0, BROKEN),  # it had booted: the VM process died
        (EARLY, hostagent_events.EXITING, 1.0, BROKEN),
        (EARLY, hostagent_events.BOOTING, 601.0, BROKEN),  # longer than limactl start would wait
        (EARLY, hostagent_events.BOOTING, None, BROKEN),
        (
            {"status": "Broken", "errors": ["x"]},
            hostagent_events.BOOTING,
            1.0,
            BROKEN,
        ),  # no host agent
    ],
)
def test_broken_early_in_a_boot_is_starting(
    listing: dict[str, object], phase: str, boot_seconds: float | None, state: str
) -> None:
    decided = decide_lima_state(
        listing, starting=False, phase=phase, start_error="", boot_seconds=boot_seconds
    )
    assert decided.state == state


V1_WARNING = (
    'time="t" level=warning msg="instance \\"rd\\" has errors" '
    'errors="[host agent is running but driver is not]"\n'
)


@pytest.mark.parametrize(
    ("errors", "stderr", "texts"),
    [
        (["a", "b"], "", ["a", "b"]),  # v2.0+: strings
        ([{}], V1_WARNING, ["host agent is running but driver is not"]),  # v1.x: {} objects
        ([{}, {}], "", ["limactl reports 2 error(s) without text"]),
        ([], V1_WARNING, []),
    ],
)
def test_listed_errors_read_v1_objects_from_the_warning(
    errors: list[object], stderr: str, texts: list[str]
) -> None:
    assert listed_errors({"errors": errors}, stderr) == texts


def test_decide_lima_state_carries_messages_and_pid() -> None:
    broken = decide_lima_state(
        {"status": "Broken", "errors": ["a", "b"]}, starting=False, phase="none", start_error=""
    )
    assert broken.message == "a; b"
    stopped = decide_lima_state(
        {"status": "Stopped"}, starting=False, phase="none", start_error="start failed"
    )
    assert stopped.message == "start failed"
    running = decide_lima_state(RUNNING_LISTING, starting=False, phase="running", start_error="")
    assert running.pid == 10


@pytest.mark.parametrize(("text", "pid"), [("123\n", 123), ("0", None), ("x", None), ("", None)])
def test_parse_pid(text: str, pid: int | None) -> None:
    assert parse_pid_text(text) == pid


def test_is_sim_agent_checks_module_and_pidfile(tmp_path: Path) -> None:
    pidfile = tmp_path / "ha.pid"
    argv = ["python", "-m", "rdd.drivers.sim_hostagent", "--pidfile", str(pidfile), "rd"]
    assert is_sim_agent(argv, pidfile)
    assert not is_sim_agent(argv, tmp_path / "other" / "ha.pid")
    assert not is_sim_agent(["sleep", "100"], pidfile)
    assert is_sim_agent(None, pidfile)


def test_env_seconds() -> None:
    assert env_seconds({}, "K", 2.0) == 2.0
    assert env_seconds({"K": "0.25"}, "K", 2.0) == 0.25
    with pytest.raises(SettingsError, match="number of seconds"):
        env_seconds({"K": "soon"}, "K", 2.0)
    with pytest.raises(SettingsError, match="negative"):
        env_seconds({"K": "-1"}, "K", 2.0)


def test_select_driver(tmp_path: Path) -> None:
    assert select_driver("sim", {}) == ("sim", "RDD_VM_DRIVER=sim")
    assert select_driver("", {"PATH": str(tmp_path)})[0] == "sim"
    limactl = tmp_path / "limactl"
    limactl.write_text("#!/bin/sh\n")
    limactl.chmod(0o755)
    name, reason = select_driver("", {"PATH": str(tmp_path)})
    assert (name, reason) == ("lima", f"limactl found at {limactl}")
    with pytest.raises(SettingsError, match="RDD_VM_DRIVER"):
        ServiceSettings.from_env({"RDD_VM_DRIVER": "qemu"}, machine="x86_64")


def test_drivers_get_their_timings_from_settings(tmp_path: Path) -> None:
    settings = ServiceSettings.from_env(
        {"RDD_SIM_BOOT_SECONDS": "0.5", "RDD_SIM_PREPARE_SECONDS": "1"}, machine="x86_64"
    )
    driver = make_driver("sim", tmp_path, lambda _: None, settings)
    assert (driver._boot_seconds, driver._prepare_seconds) == (0.5, 1.0)  # type: ignore[attr-defined]


def test_make_driver(tmp_path: Path) -> None:
    assert make_driver("sim", tmp_path, lambda _: None).name == "sim"
    assert make_driver("lima", tmp_path, lambda _: None).name == "lima"
    with pytest.raises(DriverError, match="unknown VM driver"):
        make_driver("vz", tmp_path, lambda _: None)


@pytest.mark.parametrize(
    ("machine", "arch"),
    [("x86_64", "x86_64"), ("AMD64", "x86_64"), ("aarch64", "aarch64"), ("arm64", "aarch64")],
)
def test_normalize_arch(machine: str, arch: str) -> None:
    assert normalize_arch(machine) == arch


def test_host_arch(monkeypatch: pytest.MonkeyPatch) -> None:
    assert host_arch({"RDD_HOST_ARCH": "aarch64"}) == "aarch64"
    with pytest.raises(SettingsError, match="RDD_HOST_ARCH"):
        host_arch({"RDD_HOST_ARCH": "arm64"})
    monkeypatch.setattr("platform.machine", lambda: "arm64")
    assert host_arch({}) == "aarch64"
    monkeypatch.setattr("platform.machine", lambda: "riscv64")
    with pytest.raises(SettingsError, match='architecture "riscv64" is not supported'):
        host_arch({})


def test_is_partial(tmp_path: Path) -> None:
    assert "lima.yaml" in is_partial(tmp_path)
    (tmp_path / "lima.yaml").write_text("x")
    assert is_partial(tmp_path) == ""
    (tmp_path / ".preparing").write_text("1")
    assert "interrupted" in is_partial(tmp_path)


def test_is_alive_treats_zombies_as_dead() -> None:
    child = subprocess.Popen([sys.executable, "-c", "pass"])
    try:
        os.waitid(os.P_PID, child.pid, os.WEXITED | os.WNOWAIT)  # exited, not reaped
        assert not procs.is_alive(child.pid)
    finally:
        child.wait()
    assert procs.is_alive(os.getpid())
    assert not procs.is_alive(0)


async def test_wait_pid_exit_falls_back_to_polling(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delattr(os, "pidfd_open")
    child = await asyncio.create_subprocess_exec(
        sys.executable, "-c", "import time; time.sleep(0.2)"
    )
    await asyncio.wait_for(watching.wait_pid_exit(child.pid), 5)
    await child.wait()


async def test_dir_watch_wakes_on_a_new_file(tmp_path: Path) -> None:
    target = tmp_path / "ha.pid"
    waiter = asyncio.create_task(watching.wait_for_path(target))
    await asyncio.sleep(0.05)
    assert not waiter.done()
    target.write_text("1\n")
    await asyncio.wait_for(waiter, 2)


def test_limactl_pid_text_and_host_agent_log_lines() -> None:
    assert parse_pid_text("4242\n") == 4242
    assert parse_pid_text("") is None
    assert logrus_json_msg('{"level":"info","msg":"READY","time":"t"}') == "READY"
    assert logrus_json_msg("not json") == "not json"
