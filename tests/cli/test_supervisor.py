"""The stack supervisor's decisions, records and process handling, without
the services (real processes: `sleep`, started here and ended here)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest

from rdd.cli.svc import outcome_line, status_document, status_table
from rdd.procs import cmdline
from rdd.stack.health import STOPPED, service_health
from rdd.stack.ports import free_port
from rdd.stack.processes import is_alive, is_ours, terminate, wait_gone
from rdd.stack.records import Layout, Record
from rdd.stack.supervisor import ComponentStatus, Outcome, StackStatus, Supervisor
from rdd.stack.wiring import is_current, reusable_port, wiring_for

ENDPOINTS = {"etcd": "e:1", "webhook": "w:2", "limavm": "l:3"}


@pytest.mark.parametrize(
    ("component", "wiring"),
    [
        ("etcd", {}),
        ("webhook", {"RDD_ETCD_ENDPOINTS": "e:1"}),
        ("limavm", {"RDD_ETCD_ENDPOINTS": "e:1", "RDD_WEBHOOK_ADDRESS": "w:2"}),
        (
            "app",
            {
                "RDD_ETCD_ENDPOINTS": "e:1",
                "RDD_WEBHOOK_ADDRESS": "w:2",
                "RDD_LIMAVM_ADDRESS": "l:3",
            },
        ),
    ],
)
def test_wiring_for(component: str, wiring: dict[str, str]) -> None:
    assert wiring_for(component, ENDPOINTS) == wiring


@pytest.mark.parametrize(
    ("record", "wiring", "healthy", "keep"),
    [
        (Record("webhook", 1, "a:1", wiring={"X": "1"}), {"X": "1"}, True, True),
        (Record("webhook", 1, "a:1", wiring={"X": "1"}), {"X": "1"}, False, False),
        (Record("webhook", 1, "a:1", wiring={"X": "1"}), {"X": "2"}, True, False),
        (Record("webhook", 1, "", wiring={"X": "1"}), {"X": "1"}, True, False),
    ],
)
def test_is_current(record: Record, wiring: dict[str, str], healthy: bool, keep: bool) -> None:
    assert is_current(record, wiring=wiring, healthy=healthy) is keep


def test_reusable_port() -> None:
    assert reusable_port(None) == 0
    assert reusable_port(Record("app", 1, port=0)) == 0
    port = free_port()
    assert reusable_port(Record("app", 1, port=port)) == port


def test_records_round_trip(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "home")
    layout.prepare()
    assert (layout.home.stat().st_mode & 0o777) == 0o700
    record = Record("limavm", 42, "127.0.0.1:5", port=5, wiring={"RDD_ETCD_ENDPOINTS": "x"})
    layout.write_record(record)
    assert layout.read_record("limavm") == record
    layout.address_file("limavm").write_text('{"address": "127.0.0.1:5", "pid": 42}')
    assert layout.read_published("limavm") == ("127.0.0.1:5", 42)
    layout.remove_record("limavm")
    assert layout.read_record("limavm") is None
    assert layout.read_published("limavm") is None
    layout.record_file("app").write_text("{not json")
    assert layout.read_record("app") is None


def test_outcome_lines() -> None:
    assert outcome_line(Outcome("etcd", "started", 7, "127.0.0.1:1")) == (
        "etcd: started (pid 7, 127.0.0.1:1)"
    )
    assert outcome_line(Outcome("app", "not running")) == "app: not running"


def test_status_document_shape() -> None:
    etcd = ComponentStatus(1, "127.0.0.1:1", "SERVING", leader=True)
    app = [ComponentStatus(None, "", STOPPED), ComponentStatus(3, "127.0.0.1:3", "SERVING")]
    status = StackStatus({"etcd": etcd, "app": app[0]}, {"etcd": [etcd], "app": app})
    assert status_document(status) == {
        "endpoints": {"etcd": "127.0.0.1:1", "app": "127.0.0.1:3"},
        "components": {
            "etcd": {"pid": 1, "address": "127.0.0.1:1", "health": "SERVING"},
            "app": {"pid": None, "address": None, "health": "STOPPED"},
        },
        "replicas": {
            "etcd": [{"pid": 1, "address": "127.0.0.1:1", "health": "SERVING", "leader": True}],
            "app": [
                {"pid": None, "address": None, "health": "STOPPED", "leader": False},
                {"pid": 3, "address": "127.0.0.1:3", "health": "SERVING", "leader": False},
            ],
        },
    }
    assert not status.serving
    assert status_table(status).splitlines()[0].split() == ["COMPONENT", "PID", "ADDRESS", "HEALTH"]


def test_status_of_a_home_that_never_ran(tmp_path: Path) -> None:
    status = Supervisor({"RDD_HOME": str(tmp_path / "none")}).status()
    assert set(status.components) == {"etcd", "webhook", "limavm", "app"}
    assert all(c.health == STOPPED and c.pid is None for c in status.components.values())


def test_stop_of_a_home_that_never_ran(tmp_path: Path) -> None:
    outcomes = Supervisor({"RDD_HOME": str(tmp_path / "none")}).stop()
    assert [o.component for o in outcomes] == ["app", "limavm", "webhook", "etcd"]
    assert {o.action for o in outcomes} == {"not running"}


def test_nothing_listening_is_unreachable(tmp_path: Path) -> None:
    assert service_health(f"127.0.0.1:{free_port()}", timeout=0.5) == "UNREACHABLE"
    assert service_health(f"unix://{tmp_path}/none.sock", timeout=0.5) == "UNREACHABLE"


def _sleeper(*extra: str) -> subprocess.Popen[bytes]:
    return subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)", *extra])


def test_is_ours_checks_the_command_line() -> None:
    process = _sleeper("marker-123")
    try:
        assert is_alive(process.pid)
        deadline = time.monotonic() + 5  # until the child has exec'd its own command line
        while "marker-123" not in (cmdline(process.pid) or []) and time.monotonic() < deadline:
            time.sleep(0.01)
        assert is_ours(process.pid, ["marker-123"])
        assert not is_ours(process.pid, ["marker-456"])
        assert not is_ours(None, [])
    finally:
        process.kill()
        process.wait()
    assert not is_alive(process.pid)


def test_terminate_is_graceful_first() -> None:
    process = _sleeper()
    started = time.monotonic()
    assert terminate(process.pid, grace=5) is False
    assert time.monotonic() - started < 5
    assert not is_alive(process.pid)


def test_terminate_kills_what_ignores_sigterm() -> None:
    code = "import signal, time; signal.signal(signal.SIGTERM, signal.SIG_IGN); print(1, flush=True); time.sleep(60)"
    process = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE)
    assert process.stdout is not None
    process.stdout.readline()  # the handler is installed
    assert terminate(process.pid, grace=0.3) is True
    assert not is_alive(process.pid)
    process.stdout.close()


def test_wait_gone_times_out_on_a_live_process() -> None:
    process = _sleeper()
    try:
        assert wait_gone(process.pid, 0.1) is False
    finally:
        process.kill()
        process.wait()
