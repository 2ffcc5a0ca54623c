"""Start, stop and inspect one stack rooted at RDD_HOME: a local etcd (unless
RDD_ETCD_ENDPOINTS names one), then the webhook, limavm and app services, each
a background process in its own session logging to $RDD_HOME/logs.

`start` is idempotent: a component that is ours, alive, SERVING and wired to
the current addresses is left alone; anything else is (re)started. A restarted
component comes back on the port it had, so the processes that were given its
address keep a valid one (etcd restarted after a crash keeps its endpoint and
the services keep running). Only when that port has been taken meanwhile does
it get a new one; the services whose recorded wiring then no longer matches
are restarted in turn, in start order.

Called by `rdd svc` (rdd.cli.svc) and by test fixtures."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from rdd.config import Settings, environment_problems
from rdd.drivers.base import HA_PID, parse_pid_text
from rdd.drivers.sim import is_sim_agent
from rdd.procs import cmdline, is_alive
from rdd.stack.etcd import EtcdNotFoundError, is_healthy, start_etcd
from rdd.stack.health import SERVING, STOPPED, etcd_health, service_health
from rdd.stack.ports import is_listening
from rdd.stack.processes import is_ours, terminate
from rdd.stack.records import COMPONENTS, SERVICES, Layout, Record

#: Seconds a component gets to stop after SIGTERM before SIGKILL. The limavm
#: service stops its VMs first (RDD_STOP_TIMEOUT_SECONDS each, 30 by default).
STOP_GRACE: dict[str, float] = {"app": 15.0, "limavm": 45.0, "webhook": 10.0, "etcd": 10.0}
DEFAULT_START_TIMEOUT = 60.0
#: Seconds a sim host agent that outlived the limavm service gets after SIGTERM.
ORPHAN_VM_GRACE = 10.0
#: Environment variables that wire the services together; set from the records.
WIRING_VARIABLES = ("RDD_ETCD_ENDPOINTS", "RDD_WEBHOOK_ADDRESS", "RDD_LIMAVM_ADDRESS")


class StackError(RuntimeError):
    """A component could not be started; carries the tail of its log."""

    def __init__(self, message: str, *, log_tail: str = "", log_path: Path | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.log_tail = log_tail
        self.log_path = log_path

    def __str__(self) -> str:
        if not self.log_tail:
            return self.message
        return f"{self.message}; last lines of {self.log_path}:\n{self.log_tail}"


@dataclass(frozen=True)
class Outcome:
    """What start/stop did to one component."""

    component: str
    #: started, restarted, running, external, stopped, killed, not running.
    action: str
    pid: int | None = None
    address: str = ""


@dataclass(frozen=True)
class ComponentStatus:
    pid: int | None
    address: str
    health: str


@dataclass(frozen=True)
class StackStatus:
    components: dict[str, ComponentStatus] = field(default_factory=dict)

    @property
    def endpoints(self) -> dict[str, str]:
        return {name: c.address for name, c in self.components.items() if c.address}

    @property
    def serving(self) -> bool:
        return all(c.health == SERVING for c in self.components.values())


def wiring_for(component: str, endpoints: Mapping[str, str]) -> dict[str, str]:
    """The addresses a component is started with (pure): every service needs
    etcd, the writers need the webhook, the app needs limavm too."""
    if component == "etcd":
        return {}
    wiring = {"RDD_ETCD_ENDPOINTS": endpoints["etcd"]}
    if component in ("limavm", "app"):
        wiring["RDD_WEBHOOK_ADDRESS"] = endpoints["webhook"]
    if component == "app":
        wiring["RDD_LIMAVM_ADDRESS"] = endpoints["limavm"]
    return wiring


def is_current(record: Record, *, wiring: Mapping[str, str], healthy: bool) -> bool:
    """Keep a running component (pure): it serves, and was started with the
    addresses its dependencies have now."""
    return healthy and bool(record.address) and record.wiring == dict(wiring)


def reusable_port(record: Record | None) -> int:
    """The port a restarted component should ask for: its previous one when
    nothing listens there now, else 0 (any free port)."""
    if record is None or not record.port:
        return 0
    return 0 if is_listening(f"127.0.0.1:{record.port}") else record.port


class Supervisor:
    """One stack: start, stop, status. Not thread-safe; start and stop take
    a file lock in RDD_HOME so two `rdd svc` commands do not interleave."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._env = dict(os.environ if env is None else env)
        settings = Settings.from_env(self._env)
        self.home = settings.home.absolute()
        self.layout = Layout(self.home)
        self._lima_home = settings.lima_home.absolute()
        self._external_etcd = settings.etcd_endpoints

    # -- identity -----------------------------------------------------------

    def markers(self, component: str) -> list[str]:
        """What the command line of this stack's process for `component` holds."""
        if component == "etcd":
            return ["etcd", f"--data-dir={self.layout.etcd_data}"]
        return [f"services.{component}", str(self.layout.address_file(component))]

    def _ours(self, record: Record | None) -> bool:
        return (
            record is not None
            and record.managed
            and is_ours(record.pid, self.markers(record.component))
        )

    # -- start --------------------------------------------------------------

    def start(self, *, timeout: float = DEFAULT_START_TIMEOUT) -> list[Outcome]:
        """Bring every component to SERVING; returns what was done to each.
        A variable no service could use is a StackError before anything starts."""
        problems = environment_problems(self._env)
        if problems:
            raise StackError("; ".join(problems))
        self.layout.prepare()
        with self.layout.locked():
            outcomes = [self._ensure_etcd()]
            endpoints = {"etcd": outcomes[0].address}
            for service in SERVICES:
                outcome = self._ensure_service(service, endpoints, timeout=timeout)
                endpoints[service] = outcome.address
                outcomes.append(outcome)
            self.layout.write_endpoints(endpoints)
        return outcomes

    def _ensure_etcd(self) -> Outcome:
        record = self.layout.read_record("etcd")
        if self._external_etcd:
            if self._ours(record):
                assert record is not None and record.pid is not None
                terminate(record.pid, grace=STOP_GRACE["etcd"])
            if etcd_health(self._external_etcd) != SERVING:
                raise StackError(
                    f"etcd at {self._external_etcd} (RDD_ETCD_ENDPOINTS) is not healthy"
                )
            self.layout.write_record(
                Record("etcd", pid=None, address=self._external_etcd, managed=False)
            )
            return Outcome("etcd", "external", None, self._external_etcd)
        action = "started"
        if record is not None and record.managed:
            action = "restarted"
            if self._ours(record):
                assert record.pid is not None
                if is_healthy(record.address):
                    return Outcome("etcd", "running", record.pid, record.address)
                terminate(record.pid, grace=STOP_GRACE["etcd"])
        else:
            record = None
        log_path = self.layout.log_file("etcd")
        _log_header(log_path, "etcd")
        try:
            etcd = start_etcd(
                self.layout.etcd_data,
                log_path,
                client_port=reusable_port(record) or None,
                peer_port=_reusable_peer_port(record) or None,
            )
        except (EtcdNotFoundError, RuntimeError, OSError) as exc:
            raise StackError(
                f"etcd did not start: {exc}",
                log_tail=self.layout.log_tail("etcd"),
                log_path=log_path,
            ) from None
        port = int(etcd.endpoint.rpartition(":")[2])
        self.layout.write_record(
            Record("etcd", pid=etcd.pid, address=etcd.endpoint, port=port, peer_port=etcd.peer_port)
        )
        return Outcome("etcd", action, etcd.pid, etcd.endpoint)

    def _ensure_service(
        self, name: str, endpoints: Mapping[str, str], *, timeout: float
    ) -> Outcome:
        wiring = wiring_for(name, endpoints)
        record = self.layout.read_record(name)
        action = "started" if record is None else "restarted"
        if self._ours(record):
            assert record is not None and record.pid is not None
            healthy = bool(record.address) and service_health(record.address) == SERVING
            if is_current(record, wiring=wiring, healthy=healthy):
                return Outcome(name, "running", record.pid, record.address)
            terminate(record.pid, grace=STOP_GRACE[name])
        port = reusable_port(record)
        self.layout.remove_record(name)
        process = self._spawn(name, port=port, wiring=wiring)
        self.layout.write_record(Record(name, pid=process.pid, port=port, wiring=wiring))
        address = self._wait_serving(name, process, timeout=timeout)
        self.layout.write_record(
            Record(
                name,
                pid=process.pid,
                address=address,
                port=int(address.rpartition(":")[2]),
                wiring=wiring,
            )
        )
        return Outcome(name, action, process.pid, address)

    def _spawn(self, name: str, *, port: int, wiring: Mapping[str, str]) -> subprocess.Popen[bytes]:
        # An empty RDD_* variable means unset, to the services as to this check.
        env = {
            k: v
            for k, v in self._env.items()
            if k not in WIRING_VARIABLES and (v.strip() or not k.startswith("RDD_"))
        }
        env.update(wiring)
        env["RDD_HOME"] = str(self.home)
        env["RDD_LIMA_HOME"] = str(self._lima_home)
        env["PYTHONUNBUFFERED"] = "1"
        command = [
            sys.executable,
            "-m",
            f"services.{name}",
            "--listen",
            f"127.0.0.1:{port}",
            "--address-file",
            str(self.layout.address_file(name)),
        ]
        log_path = self.layout.log_file(name)
        _log_header(log_path, name)
        with open(log_path, "ab") as log:
            return subprocess.Popen(
                command,
                stdout=log,
                stderr=subprocess.STDOUT,
                stdin=subprocess.DEVNULL,
                start_new_session=True,
                env=env,
                cwd=self.home,
            )

    def _wait_serving(self, name: str, process: subprocess.Popen[bytes], *, timeout: float) -> str:
        """The service's address once it has published it and health says
        SERVING. Supervising a child that reports through a file: looked at
        on a short interval, bounded by `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            code = process.poll()
            if code is not None:
                raise self._failure(name, f"{name} exited with status {code} before SERVING")
            published = self.layout.read_published(name)
            if published is not None and published[1] == process.pid:
                address = published[0]
                if service_health(address) == SERVING:
                    return address
            if time.monotonic() > deadline:
                terminate(process.pid, grace=STOP_GRACE[name])
                self.layout.remove_record(name)
                raise self._failure(name, f"{name} did not report SERVING within {timeout:g}s")
            time.sleep(0.05)

    def _failure(self, name: str, message: str) -> StackError:
        return StackError(
            message, log_tail=self.layout.log_tail(name), log_path=self.layout.log_file(name)
        )

    # -- stop ---------------------------------------------------------------

    def stop(self) -> list[Outcome]:
        """SIGTERM app, limavm, webhook, then etcd, each waited for (bounded,
        then SIGKILL); records removed. An external etcd is left alone.

        A limavm service that was killed (or overran its grace) cannot stop
        its sim VMs, whose host agents run in their own sessions: once limavm
        is down, the sim host agents still running under RDD_LIMA_HOME are
        stopped too (outcome component "vm NAME"). Real Lima VMs are left
        running, as the lima driver leaves them."""
        if not self.home.is_dir():
            return [Outcome(name, "not running") for name in reversed(COMPONENTS)]
        outcomes = []
        with self.layout.locked():
            for name in reversed(COMPONENTS):
                outcomes.append(self._stop_component(name))
                if name == "limavm":
                    outcomes.extend(self._stop_orphan_vms())
            self.layout.remove_endpoints()
        return outcomes

    def _stop_component(self, name: str) -> Outcome:
        record = self.layout.read_record(name)
        if record is None:
            return Outcome(name, "not running")
        if not record.managed:
            outcome = Outcome(name, "external", None, record.address)
        elif self._ours(record):
            assert record.pid is not None
            killed = terminate(record.pid, grace=STOP_GRACE[name])
            outcome = Outcome(name, "killed" if killed else "stopped", record.pid, record.address)
        else:
            outcome = Outcome(name, "not running", record.pid, record.address)
        self.layout.remove_record(name)
        return outcome

    def _stop_orphan_vms(self) -> list[Outcome]:
        """Stop the sim host agents left running under RDD_LIMA_HOME (call
        once limavm is down): SIGTERM, bounded wait, SIGKILL."""
        outcomes = []
        for name, pid in self.orphan_sim_agents():
            killed = terminate(pid, grace=ORPHAN_VM_GRACE)
            outcomes.append(Outcome(f"vm {name}", "killed" if killed else "stopped", pid))
        return outcomes

    def orphan_sim_agents(self) -> list[tuple[str, int]]:
        """(instance, pid) of each live sim host agent of this stack: the pid
        in `<lima_home>/<name>/ha.pid`, checked against the process's argv (a
        process whose argv cannot be read is left alone: it may be a real
        Lima host agent, which is never ours to stop)."""
        found: list[tuple[str, int]] = []
        if not self._lima_home.is_dir():
            return found
        for inst in sorted(self._lima_home.iterdir()):
            pidfile = inst / HA_PID
            try:
                pid = parse_pid_text(pidfile.read_text())
            except OSError:
                continue
            if pid is None or not is_alive(pid):
                continue
            argv = cmdline(pid)
            if argv is not None and is_sim_agent(argv, pidfile):
                found.append((inst.name, pid))
        return found

    # -- status -------------------------------------------------------------

    def status(self) -> StackStatus:
        """pid, address and health of each component (probes bounded at 1 s)."""
        components = {}
        for name in COMPONENTS:
            record = self.layout.read_record(name)
            if record is None:
                components[name] = ComponentStatus(pid=None, address="", health=STOPPED)
            elif not record.managed:
                health = etcd_health(record.address)
                components[name] = ComponentStatus(None, record.address, health)
            elif not self._ours(record):
                components[name] = ComponentStatus(pid=None, address=record.address, health=STOPPED)
            else:
                probe = etcd_health if name == "etcd" else service_health
                components[name] = ComponentStatus(
                    record.pid, record.address, probe(record.address)
                )
        return StackStatus(components)


def _reusable_peer_port(record: Record | None) -> int:
    if record is None or not record.peer_port:
        return 0
    return 0 if is_listening(f"127.0.0.1:{record.peer_port}") else record.peer_port


def _log_header(path: Path, component: str) -> None:
    """A line that separates one run from the previous in an appended log."""
    stamp = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    with open(path, "a") as log:
        log.write(f"--- rdd svc start: {component} at {stamp} ---\n")
