"""`rdd svc start` interrupted or failing midway leaves a recorded,
stoppable component or nothing; `svc stop` stops every process of the
stack, recorded or not; the next `svc start` cleans up and starts. Real
processes, real signals."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.support.cli import run_rdd, stack_env
from tests.support.processes import processes_of
from tests.support.waiting import wait_until


def recorded_pids(home: Path) -> set[int]:
    pids = set()
    for record in (home / "run").glob("*.json"):
        pid = json.loads(record.read_text()).get("pid")
        if pid:
            pids.add(int(pid))
    return pids


def stop_leaves_nothing(home: Path, env: dict[str, str]) -> None:
    stopped = run_rdd("svc", "stop", env=env, timeout=120)
    assert stopped.returncode == 0, stopped.stderr
    assert processes_of(home) == []


def wait_for(path: Path, timeout: float = 30) -> None:
    wait_until(path.exists, timeout=timeout, interval=0.01, message=f"{path} never appeared")


@pytest.mark.parametrize("delay", [0.0, 0.3, 1.0])
def test_an_interrupted_start_leaves_only_recorded_processes(tmp_path: Path, delay: float) -> None:
    home = tmp_path / "h"
    env = stack_env(home)
    starter = subprocess.Popen(
        [sys.executable, "-m", "rdd.cli", "svc", "start"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    wait_for(home / "run" / "etcd.json")
    time.sleep(delay)
    starter.send_signal(signal.SIGINT)
    _, err = starter.communicate(timeout=60)
    assert b"Traceback" not in err
    assert set(processes_of(home)) <= recorded_pids(home), "a process nobody recorded"
    again = run_rdd("svc", "start", env=env, timeout=120)
    assert again.returncode == 0, again.stderr
    status = json.loads(run_rdd("svc", "status", "-o", "json", env=env).stdout)
    assert {c["health"] for c in status["components"].values()} == {"SERVING"}
    stop_leaves_nothing(home, env)


def test_stop_and_start_find_processes_whose_record_is_gone(tmp_path: Path) -> None:
    """What a starter killed with SIGKILL between spawn and record leaves."""
    home = tmp_path / "h"
    env = stack_env(home)
    assert run_rdd("svc", "start", env=env, timeout=120).returncode == 0
    etcd_pid = json.loads((home / "run" / "etcd.json").read_text())["pid"]
    (home / "run" / "etcd.json").unlink()
    (home / "run" / "webhook.json").unlink()
    restarted = run_rdd("svc", "start", env=env, timeout=120)
    assert restarted.returncode == 0, restarted.stderr
    assert "etcd (unrecorded): stopped" in restarted.stdout
    assert etcd_pid not in processes_of(home)
    (home / "run" / "app.json").unlink()
    stopped = run_rdd("svc", "stop", env=env, timeout=120)
    assert "app (unrecorded): stopped" in stopped.stdout
    assert processes_of(home) == []


def test_a_start_that_fails_midway_can_be_stopped(tmp_path: Path) -> None:
    home = tmp_path / "h"
    env = {**stack_env(home), "RDD_LIMA_HOME": "/dev/null/lima"}  # limavm cannot start
    failed = run_rdd("svc", "start", env=env, timeout=120)
    assert failed.returncode == 1 and "limavm exited" in failed.stderr
    assert set(processes_of(home)) <= recorded_pids(home)
    status = json.loads(run_rdd("svc", "status", "-o", "json", env=env).stdout)
    assert status["components"]["etcd"]["health"] == "SERVING"
    assert status["components"]["limavm"]["health"] == "STOPPED"
    stop_leaves_nothing(home, env)
    assert not (home / "config").exists()
