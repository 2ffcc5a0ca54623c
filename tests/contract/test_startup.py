"""A service started by hand, outside `rdd svc start`, with an environment
it cannot use: one log line per problem and exit status 1, never a Python
traceback, and nothing written."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rdd.server.startup import missing_addresses
from tests.support.stack import Stack


@pytest.mark.parametrize(
    ("service", "env", "missing"),
    [
        ("webhook", {}, ["RDD_ETCD_ENDPOINTS"]),
        ("webhook", {"RDD_ETCD_ENDPOINTS": "unix:///e"}, []),
        ("limavm", {"RDD_ETCD_ENDPOINTS": "unix:///e"}, ["RDD_WEBHOOK_ADDRESS"]),
        ("app", {"RDD_WEBHOOK_ADDRESS": "unix:///w"}, ["RDD_ETCD_ENDPOINTS", "RDD_LIMAVM_ADDRESS"]),
    ],
)
def test_missing_addresses(service: str, env: dict[str, str], missing: list[str]) -> None:
    problems = missing_addresses(service, env)
    assert [problem.split(":")[0] for problem in problems] == missing
    assert all(f"the {service} service needs the address of" in p for p in problems)


def _run_by_hand(
    service: str, env: dict[str, str], socket: Path
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", f"rdd.services.{service}", "--listen", f"unix://{socket}"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_a_service_told_no_addresses_names_each_missing_one(stack: Stack, tmp_path: Path) -> None:
    env = {k: v for k, v in stack.env.items() if not k.endswith(("_ADDRESS", "_ENDPOINTS"))}
    done = _run_by_hand("app", env, tmp_path / "a.sock")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    for variable in ("RDD_ETCD_ENDPOINTS", "RDD_WEBHOOK_ADDRESS", "RDD_LIMAVM_ADDRESS"):
        assert f"{variable}: not set" in done.stderr
    assert not (tmp_path / "a.sock").exists()


def test_a_service_with_a_bad_setting_says_which_and_exits(stack: Stack, tmp_path: Path) -> None:
    env = {
        **stack.env,
        "RDD_ETCD_ENDPOINTS": stack.address("etcd"),
        "RDD_WEBHOOK_ADDRESS": stack.address("webhook"),
        "RDD_STOP_TIMEOUT_SECONDS": "abc",
        "RDD_VM_DRIVER": "qemu",
    }
    done = _run_by_hand("limavm", env, tmp_path / "l.sock")
    assert done.returncode == 1, done.stderr
    assert "Traceback" not in done.stderr
    assert 'RDD_STOP_TIMEOUT_SECONDS: must be a non-negative number of seconds, got \\"abc\\"' in (
        done.stderr
    )
    assert 'RDD_VM_DRIVER: must be lima or sim, got \\"qemu\\"' in done.stderr
    assert not (tmp_path / "l.sock").exists()
