"""The environment the stack reads, checked in one place (rdd.config) before
`rdd svc start` spawns anything: one clear line per bad value, no traceback."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from rdd.cli import main as cli_main
from rdd.config import Settings, SettingsError, environment_problems


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"RDD_HOST_ARCH": "sparc"}, 'RDD_HOST_ARCH: must be x86_64 or aarch64, got "sparc"'),
        ({"RDD_HOST_ARCH": "arm64"}, 'RDD_HOST_ARCH: must be x86_64 or aarch64, got "arm64"'),
        ({"RDD_VM_DRIVER": "qemu"}, 'RDD_VM_DRIVER: must be lima or sim, got "qemu"'),
        (
            {"RDD_SIM_BOOT_SECONDS": "abc"},
            'RDD_SIM_BOOT_SECONDS: must be a non-negative number of seconds, got "abc"',
        ),
        (
            {"RDD_SIM_PREPARE_SECONDS": "-1"},
            'RDD_SIM_PREPARE_SECONDS: must be a non-negative number of seconds, got "-1"',
        ),
        (
            {"RDD_STOP_TIMEOUT_SECONDS": "nan"},
            'RDD_STOP_TIMEOUT_SECONDS: must be a non-negative number of seconds, got "nan"',
        ),
        (
            {"RDD_STOP_TIMEOUT_SECONDS": "inf"},
            'RDD_STOP_TIMEOUT_SECONDS: must be a non-negative number of seconds, got "inf"',
        ),
        (
            {"RDD_RPC_TIMEOUT": "0"},
            'RDD_RPC_TIMEOUT: must be a positive number of seconds, got "0"',
        ),
    ],
)
def test_each_bad_value_is_one_line(env: dict[str, str], problem: str) -> None:
    assert environment_problems(env, machine="x86_64") == [problem]


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"RDD_HOST_ARCH": "aarch64", "RDD_VM_DRIVER": "lima"},
        {"RDD_HOST_ARCH": "", "RDD_VM_DRIVER": " ", "RDD_SIM_BOOT_SECONDS": ""},
        {"RDD_VM_DRIVER": "sim", "RDD_SIM_BOOT_SECONDS": "0.2", "RDD_SIM_PREPARE_SECONDS": "0"},
        {"RDD_STOP_TIMEOUT_SECONDS": "1", "RDD_RPC_TIMEOUT": "2.5"},
    ],
)
def test_good_environments(env: dict[str, str]) -> None:
    assert environment_problems(env, machine="x86_64") == []


def test_the_platforms_arch_is_checked_when_not_overridden() -> None:
    assert environment_problems({}, machine="arm64") == []
    [problem] = environment_problems({}, machine="riscv64")
    assert problem.startswith('RDD_HOST_ARCH: unset, and this host\'s architecture "riscv64"')
    assert environment_problems({"RDD_HOST_ARCH": "x86_64"}, machine="riscv64") == []


def test_every_problem_is_reported() -> None:
    env = {"RDD_VM_DRIVER": "qemu", "RDD_HOST_ARCH": "sparc", "RDD_RPC_TIMEOUT": "soon"}
    assert [p.split(":")[0] for p in environment_problems(env, machine="x86_64")] == [
        "RDD_VM_DRIVER",
        "RDD_HOST_ARCH",
        "RDD_RPC_TIMEOUT",
    ]


def test_settings_refuse_a_bad_rpc_timeout() -> None:
    assert Settings.from_env({"RDD_HOME": "/h"}).rpc_timeout == 10.0
    assert Settings.from_env({"RDD_HOME": "/h", "RDD_RPC_TIMEOUT": "3"}).rpc_timeout == 3.0
    with pytest.raises(SettingsError, match="RDD_RPC_TIMEOUT: must be a positive number"):
        Settings.from_env({"RDD_HOME": "/h", "RDD_RPC_TIMEOUT": "abc"})


def rdd(argv: list[str], env: dict[str, str]) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main.run(argv, out=out, err=err, env=env)
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("variable", "value", "line"),
    [
        ("RDD_HOST_ARCH", "sparc", 'error: RDD_HOST_ARCH: must be x86_64 or aarch64, got "sparc"'),
        (
            "RDD_SIM_BOOT_SECONDS",
            "abc",
            'error: RDD_SIM_BOOT_SECONDS: must be a non-negative number of seconds, got "abc"',
        ),
        ("RDD_VM_DRIVER", "qemu", 'error: RDD_VM_DRIVER: must be lima or sim, got "qemu"'),
    ],
)
def test_svc_start_starts_nothing_in_a_bad_environment(
    variable: str, value: str, line: str, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    code, out, err = rdd(["svc", "start"], {"RDD_HOME": str(home), variable: value})
    assert (code, out, err) == (1, "", line + "\n")
    assert not home.exists()  # nothing spawned, not even RDD_HOME made


def test_a_bad_rpc_timeout_is_one_line_for_every_command(tmp_path: Path) -> None:
    env = {"RDD_HOME": str(tmp_path), "RDD_RPC_TIMEOUT": "abc"}
    expected = 'error: RDD_RPC_TIMEOUT: must be a positive number of seconds, got "abc"\n'
    for argv in (["ctl", "get", "cm"], ["svc", "start"]):
        assert rdd(argv, env) == (1, "", expected)
    # stop and status make no RPC: they still work
    assert rdd(["svc", "stop"], env)[0] == 0
    assert "STOPPED" in rdd(["svc", "status"], env)[1]


@pytest.mark.parametrize("level", ["debug", "Warning", "INFO", " error "])
def test_log_level_is_case_insensitive(level: str) -> None:
    assert environment_problems({"RDD_LOG_LEVEL": level}, machine="x86_64") == []


def test_an_unknown_log_level_is_refused_before_anything_starts() -> None:
    problems = environment_problems({"RDD_LOG_LEVEL": "loud"}, machine="x86_64")
    assert problems == [
        'RDD_LOG_LEVEL: must be one of DEBUG, INFO, WARNING, ERROR, CRITICAL (any case), got "loud"'
    ]
