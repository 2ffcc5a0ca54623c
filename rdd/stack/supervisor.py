"""Start, stop and inspect one stack rooted at RDD_HOME: a local etcd (unless
RDD_ETCD_ENDPOINTS names one), then the webhook, limavm and app services, each
a background process in its own session logging to $RDD_HOME/logs.

Transport: by default every component listens on a unix socket in
`$RDD_HOME/run/` and nothing listens on TCP; with RDD_LISTEN=tcp[://ADDRESS]
(`svc start --listen`) on TCP with TLS and a bearer token, credentials from
`$RDD_HOME/pki` (made once, never replaced but by rotate_credentials). Once
everything serves, `$RDD_HOME/config` tells clients how to reach it.

Crash safety: a process is recorded in the same signal-free moment it is
spawned, so an interrupted start leaves a recorded component or nothing;
processes of this RDD_HOME found without a record (a starter killed with
SIGKILL) are stopped by the next start and by stop.

`start` is idempotent: a component that is ours, alive, SERVING and wired to
the current addresses is left alone; anything else is (re)started. A restarted
component comes back on the port it had, so the processes that were given its
address keep a valid one (etcd restarted after a crash keeps its endpoint and
the services keep running). Only when that port has been taken meanwhile does
it get a new one; the services whose recorded wiring then no longer matches
are restarted in turn, in start order.

Called by `rdd svc` (rdd.cli.svc) and by test fixtures."""

from __future__ import annotations

import dataclasses
import os
import socket
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from rdd.config import (
    Listen,
    Settings,
    SettingsError,
    environment_problems,
    etcd_members,
    metrics_enabled,
    parse_listen,
    replicas,
)
from rdd.drivers.base import HA_PID, parse_pid_text
from rdd.drivers.sim import is_sim_agent
from rdd.logs import run_header
from rdd.procs import cmdline, is_alive, pids
from rdd.stack.etcd import (
    START_TIMEOUT,
    EtcdListen,
    EtcdNotFoundError,
    as_cluster,
    client_socket,
    is_healthy,
    is_leader_member,
    peer_socket,
    read_value,
    spawn_etcd,
    tcp_listen,
    unix_listen,
    wait_healthy,
)
from rdd.stack.health import NOT_SERVING, SERVING, STOPPED, etcd_health, service_health
from rdd.stack.ports import is_listening
from rdd.stack.processes import deferred_signals, is_ours, terminate
from rdd.stack.records import (
    COMPONENTS,
    SERVICES,
    Layout,
    Record,
    component_of,
    index_of,
    instance_names,
)
from rdd.transport.channels import NO_CREDENTIALS, Credentials
from rdd.transport.clientconfig import ClientConfig, write_config
from rdd.transport.pki import Pki, PkiError
from rdd.transport.sockets import is_unix_target, join_targets, socket_path_problem, unix_target

#: Seconds a component gets to stop after SIGTERM before SIGKILL. The limavm
#: service stops its VMs first (RDD_STOP_TIMEOUT_SECONDS each, 30 by default).
STOP_GRACE: dict[str, float] = {"app": 15.0, "limavm": 45.0, "webhook": 10.0, "etcd": 10.0}
DEFAULT_START_TIMEOUT = 60.0
#: Seconds a running service answering NOT_SERVING gets to serve again before
#: `start` replaces it: its etcd probe runs every second and reconnects
#: within one more (rdd.server.dependency, rdd.transport.channels).
RECOVERY_TIMEOUT = 10.0
#: Seconds a sim host agent that outlived the limavm service gets after SIGTERM.
ORPHAN_VM_GRACE = 10.0
#: Environment variables that wire the services together; set from the records.
#: RDD_METRICS is one too: turning it on or off restarts the services.
WIRING_VARIABLES = (
    "RDD_ETCD_ENDPOINTS",
    "RDD_WEBHOOK_ADDRESS",
    "RDD_LIMAVM_ADDRESS",
    "RDD_METRICS",
)


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
    #: etcd: the member is the cluster's leader; app/limavm: the replica runs the controller.
    leader: bool = False
    #: The Prometheus endpoint of a service started with metrics, else "".
    metrics: str = ""


@dataclass(frozen=True)
class StackStatus:
    #: The first replica (member) of each component.
    components: dict[str, ComponentStatus] = field(default_factory=dict)
    #: Every replica (member) of each component, in order.
    replicas: dict[str, list[ComponentStatus]] = field(default_factory=dict)

    @property
    def endpoints(self) -> dict[str, str]:
        """Each component's target: every replica's address, comma separated."""
        found = {}
        for name, first in self.components.items():
            members = self.replicas.get(name) or [first]
            addresses = [m.address for m in members if m.address]
            if addresses:
                found[name] = join_targets(addresses)
        return found

    @property
    def serving(self) -> bool:
        every = [
            m
            for name in self.components
            for m in self.replicas.get(name) or [self.components[name]]
        ]
        return all(c.health == SERVING for c in every)


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


def reusable_port(record: Record | None, host: str = "127.0.0.1") -> int:
    """The port a restarted component should ask for: its previous one when
    nothing listens there now, else 0 (any free port)."""
    if record is None or not record.port:
        return 0
    return 0 if is_listening(tcp_address(host, record.port)) else record.port


def tcp_address(host: str, port: int) -> str:
    """`HOST:PORT`, IPv6 hosts in brackets (pure)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def same_transport(address: str, listen: Listen) -> bool:
    """Whether a recorded address belongs to the transport asked for (pure)."""
    return bool(address) and is_unix_target(address) != listen.tcp


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
        self._prefix = settings.etcd_prefix

    @property
    def pki(self) -> Pki:
        return self.layout.pki

    # -- identity -----------------------------------------------------------

    def markers(self, instance: str) -> list[str]:
        """Whole arguments the command line of this stack's process for
        `instance` (`etcd`, `etcd-1`, `app`, `app-2`, ...) holds."""
        component = component_of(instance)
        if component == "etcd":
            return [f"--data-dir={self.layout.member_data(instance)}"]
        return [f"rdd.services.{component}", str(self.layout.address_file(instance))]

    def _ours(self, record: Record | None) -> bool:
        return (
            record is not None
            and record.managed
            and is_ours(record.pid, self.markers(record.component))
        )

    def _instance_of(self, argv: list[str]) -> str | None:
        """Which instance of this stack a command line is, if any (pure but for paths)."""
        data_prefix = f"--data-dir={self.home}/"
        for arg in argv:
            if arg.startswith(data_prefix):
                instance = arg.removeprefix(data_prefix)
                if component_of(instance) == "etcd":
                    return instance
        for arg in argv:
            path = Path(arg)
            if path.parent == self.layout.run_dir and path.suffix == ".address":
                instance = path.stem
                if f"rdd.services.{component_of(instance)}" in argv:
                    return instance
        return None

    def strays(self) -> list[tuple[str, int]]:
        """(instance, pid) of each live process of this RDD_HOME that no
        record names: what a starter killed between spawn and record left."""
        recorded = set()
        for name in self.layout.recorded():
            record = self.layout.read_record(name)
            if record is not None and record.pid:
                recorded.add(record.pid)
        found = []
        for pid in pids():
            if pid in recorded or pid == os.getpid():
                continue
            argv = cmdline(pid)
            instance = self._instance_of(argv) if argv else None
            if instance is not None and is_alive(pid):
                found.append((instance, pid))
        return found

    def _stop_strays(self, strays: list[tuple[str, int]] | None = None) -> list[Outcome]:
        """Stop processes of this home that have no record (all found, or `strays`)."""
        outcomes = []
        for name, pid in self.strays() if strays is None else strays:
            killed = terminate(pid, grace=STOP_GRACE[component_of(name)])
            outcomes.append(Outcome(f"{name} (unrecorded)", "killed" if killed else "stopped", pid))
        return outcomes

    def _service_health(self, address: str) -> str:
        return service_health(address, credentials=self._probe(address))

    def _serves_soon(self, address: str, timeout: float = RECOVERY_TIMEOUT) -> bool:
        """Whether the service at `address` is SERVING, given `timeout`
        seconds when it answers NOT_SERVING: that is a live service waiting
        for its etcd (just restarted, say), which a restart would not help."""
        deadline = time.monotonic() + timeout
        while (health := self._service_health(address)) == NOT_SERVING:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return health == SERVING

    # -- credentials ---------------------------------------------------------

    def _ensure_credentials(self, listen: Listen) -> None:
        """The stack's tokens (always) and TLS files (TCP mode), made when
        missing; damaged ones are a StackError, never silently replaced."""
        try:
            self.pki.ensure_tokens()
            if listen.tcp:
                self.pki.ensure_tls(_san_hosts(listen))
        except PkiError as exc:
            raise StackError(str(exc)) from None

    def rotate_credentials(self) -> None:
        """New tokens, CA and certificates for a stopped stack."""
        with self.layout.locked():
            running = [n for n in COMPONENTS if self._ours(self.layout.read_record(n))]
            if running or self.strays():
                raise StackError(
                    "the stack is running: stop it first ('rdd svc stop'), then rotate"
                )
            listen = self._listen()
            self.pki.rotate(tls=listen.tcp or self.pki.has_tls, hosts=_san_hosts(listen))

    def _probe(self, address: str) -> Credentials:
        """What a health probe of `address` presents: the CA over TLS."""
        if is_unix_target(address):
            return NO_CREDENTIALS
        try:
            return Credentials(ca=self.pki.load_ca())
        except PkiError:
            return NO_CREDENTIALS

    def _etcd_probe_pki(self, address: str) -> Pki | None:
        return self.pki if address.startswith("https://") and self.pki.has_tls else None

    # -- start --------------------------------------------------------------

    def _listen(self) -> Listen:
        try:
            return parse_listen(self._env.get("RDD_LISTEN", ""))
        except SettingsError as exc:
            raise StackError(str(exc)) from None

    def _socket_problems(self, members: int, replicas: int) -> list[str]:
        paths = [
            self.layout.socket_file(instance)
            for service in SERVICES
            for instance in instance_names(service, replicas)
        ]
        if not self._external_etcd:
            for index in range(members):
                paths += [self.layout.run_dir / client_socket(index)]
                paths += [self.layout.run_dir / peer_socket(index)]
        problems = [socket_path_problem(path) for path in paths]
        return [p for p in problems if p][:1]

    def _counts(self) -> tuple[int, int]:
        """(etcd members, replicas per service): as asked, else what this
        stack has (so a plain `svc start` brings back exactly what is
        missing), else 1."""
        try:
            members, count = etcd_members(self._env), replicas(self._env)
        except SettingsError as exc:
            raise StackError(str(exc)) from None
        if not self._env.get("RDD_ETCD_MEMBERS", "").strip():
            members = len(self._existing_members()) or members
        if not self._env.get("RDD_REPLICAS", "").strip():
            recorded = [index_of(n) for n in self.layout.recorded() if component_of(n) in SERVICES]
            count = max(recorded, default=count - 1) + 1
        return members, count

    def _existing_members(self) -> list[str]:
        return [
            name
            for name in instance_names("etcd", 5)
            if (self.layout.member_data(name) / "member").is_dir()
        ]

    def start(self, *, timeout: float = DEFAULT_START_TIMEOUT) -> list[Outcome]:
        """Bring every component to SERVING; returns what was done to each.
        A variable no service could use is a StackError before anything starts."""
        problems = environment_problems(self._env)
        listen = self._listen()
        members, count = self._counts()
        if not listen.tcp:
            problems += self._socket_problems(members, count)
        if problems:
            raise StackError("; ".join(problems))
        self.layout.prepare()
        with self.layout.locked():
            self._ensure_credentials(listen)
            outcomes = self._stop_strays()
            etcd = self._ensure_etcd(listen, members)
            outcomes += etcd
            endpoints = {"etcd": join_targets([o.address for o in etcd])}
            for service in SERVICES:
                started = [
                    self._ensure_service(instance, endpoints, listen, timeout=timeout)
                    for instance in instance_names(service, count)
                ]
                endpoints[service] = join_targets([o.address for o in started])
                outcomes += started
            outcomes += self._scale_down(count)
            self._write_client_config(endpoints, listen)
        return outcomes

    def _scale_down(self, count: int) -> list[Outcome]:
        """Stop the replicas beyond `count` that an earlier start made."""
        wanted = {i for service in SERVICES for i in instance_names(service, count)}
        extra = [
            name
            for name in reversed(self.layout.recorded())
            if component_of(name) in SERVICES and name not in wanted
        ]
        return [self._stop_component(name) for name in extra]

    def _write_client_config(self, endpoints: dict[str, str], listen: Listen) -> None:
        ca, token = "", ""
        if listen.tcp:
            try:
                ca, token = self.pki.load_ca().decode(), self.pki.load_token("user")
            except PkiError as exc:
                raise StackError(str(exc)) from None
        write_config(self.layout.config_file, ClientConfig(endpoints, ca=ca, token=token))

    def _ensure_etcd(self, listen: Listen, members: int) -> list[Outcome]:
        """Every member of the cluster running (or the external etcd checked).
        A live member is kept even while the cluster has no quorum; the
        missing ones are all spawned before any is waited for, since no
        member is healthy until a majority runs."""
        if self._external_etcd:
            return [self._external()]
        self._check_cluster_size(members)
        names = instance_names("etcd", members)
        records = [self.layout.read_record(name) for name in names]
        for index, record in enumerate(records):
            if record is not None and (
                not record.managed or not same_transport(record.address, listen)
            ):
                if self._ours(record):
                    assert record.pid is not None
                    terminate(record.pid, grace=STOP_GRACE["etcd"])
                records[index] = None
        listens = as_cluster(
            [self._etcd_listen(listen, index, record) for index, record in enumerate(records)]
        )
        outcomes: list[Outcome] = []
        waiting: list[tuple[str, subprocess.Popen[bytes], EtcdListen]] = []
        for name, record, member in zip(names, records, listens, strict=True):
            if self._ours(record):
                assert record is not None
                outcomes.append(Outcome(name, "running", record.pid, record.address))
                continue
            log_path = self.layout.log_file(name)
            _log_header(log_path, name)
            try:
                with deferred_signals():
                    process = spawn_etcd(self.layout.member_data(name), log_path, member)
                    self.layout.write_record(
                        Record(
                            name,
                            pid=process.pid,
                            address=member.endpoint,
                            port=member.port,
                            peer_port=member.peer_port,
                        )
                    )
            except (EtcdNotFoundError, OSError) as exc:
                raise self._etcd_failure(name, exc) from None
            waiting.append((name, process, member))
            outcomes.append(
                Outcome(name, "restarted" if record else "started", process.pid, member.endpoint)
            )
        for name, process, member in waiting:
            try:
                wait_healthy(process, member, self.layout.log_file(name), probe=member.pki)
            except RuntimeError as exc:
                self.layout.remove_record(name)
                raise self._etcd_failure(name, exc) from None
        for outcome in outcomes:
            # A member kept running may still be starting (its starter was
            # interrupted): the services need it to answer.
            if outcome.action == "running" and not _answers_soon(
                outcome.address, self._etcd_probe_pki(outcome.address)
            ):
                raise self._etcd_failure(
                    outcome.component, RuntimeError(f"etcd at {outcome.address} does not answer")
                )
        return outcomes

    def _etcd_failure(self, name: str, exc: Exception) -> StackError:
        return StackError(
            f"etcd did not start: {exc}",
            log_tail=self.layout.log_tail(name),
            log_path=self.layout.log_file(name),
        )

    def _check_cluster_size(self, members: int) -> None:
        """A cluster keeps the size it was made with: members are not added
        or removed by a later start with another count."""
        existing = self._existing_members()
        if existing and len(existing) != members:
            raise StackError(
                f"this stack's etcd was made with {len(existing)} member(s), not {members}: "
                "start it with that count (RDD_ETCD_MEMBERS), or stop it and remove "
                f"{self.home}/etcd* to make a new one (its data is lost)"
            )

    def _external(self) -> Outcome:
        record = self.layout.read_record("etcd")
        if self._ours(record):
            assert record is not None and record.pid is not None
            terminate(record.pid, grace=STOP_GRACE["etcd"])
        if etcd_health(self._external_etcd) != SERVING:
            raise StackError(f"etcd at {self._external_etcd} (RDD_ETCD_ENDPOINTS) is not healthy")
        self.layout.write_record(
            Record("etcd", pid=None, address=self._external_etcd, managed=False)
        )
        return Outcome("etcd", "external", None, self._external_etcd)

    def _etcd_listen(self, listen: Listen, index: int, record: Record | None) -> EtcdListen:
        if not listen.tcp:
            return unix_listen(self.layout.run_dir, index)
        return tcp_listen(
            listen.client_host,
            self.pki,
            client_port=reusable_port(record, listen.client_host),
            peer_port=_reusable_peer_port(record),
            index=index,
        )

    def _ensure_service(
        self, name: str, endpoints: Mapping[str, str], listen: Listen, *, timeout: float
    ) -> Outcome:
        component = component_of(name)
        wiring = wiring_for(component, endpoints)
        if metrics_enabled(self._env):
            wiring["RDD_METRICS"] = "1"
        record = self.layout.read_record(name)
        action = "started" if record is None else "restarted"
        if self._ours(record):
            assert record is not None and record.pid is not None
            healthy = same_transport(record.address, listen) and self._serves_soon(record.address)
            if is_current(record, wiring=wiring, healthy=healthy):
                return Outcome(name, "running", record.pid, record.address)
            terminate(record.pid, grace=STOP_GRACE[component])
        port = 0
        if listen.tcp and record is not None and not is_unix_target(record.address):
            port = reusable_port(record, listen.client_host)
        self.layout.remove_record(name)
        target = (
            unix_target(self.layout.socket_file(name))
            if not listen.tcp
            else tcp_address(listen.host, port)
        )
        with deferred_signals():
            process = self._spawn(name, listen=target, wiring=wiring)
            self.layout.write_record(Record(name, pid=process.pid, port=port, wiring=wiring))
        address = self._wait_serving(name, process, listen, timeout=timeout)
        self.layout.write_record(
            Record(
                name,
                pid=process.pid,
                address=address,
                port=0 if is_unix_target(address) else int(address.rpartition(":")[2]),
                wiring=wiring,
                metrics=self.layout.published_metrics(name),
            )
        )
        return Outcome(name, action, process.pid, address)

    def _spawn(
        self, name: str, *, listen: str, wiring: Mapping[str, str]
    ) -> subprocess.Popen[bytes]:
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
            f"rdd.services.{component_of(name)}",
            "--listen",
            listen,
            "--address-file",
            str(self.layout.address_file(name)),
            "--log-file",
            str(self.layout.log_file(name)),
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
                umask=0o077,
            )

    def _wait_serving(
        self, name: str, process: subprocess.Popen[bytes], listen: Listen, *, timeout: float
    ) -> str:
        """The service's address once it has published it and health says
        SERVING. Supervising a child that reports through a file: looked at
        on a short interval, bounded by `timeout`."""
        deadline = time.monotonic() + timeout
        while True:
            code = process.poll()
            if code is not None:
                self.layout.remove_record(name)
                raise self._failure(name, f"{name} exited with status {code} before SERVING")
            published = self.layout.read_published(name)
            if published is not None and published[1] == process.pid:
                address = _client_address(published[0], listen)
                if self._service_health(address) == SERVING:
                    return address
            if time.monotonic() > deadline:
                terminate(process.pid, grace=STOP_GRACE[component_of(name)])
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
        Processes of this RDD_HOME that no record names are stopped too.

        A limavm service that was killed (or overran its grace) cannot stop
        its sim VMs, whose host agents run in their own sessions: once limavm
        is down, the sim host agents still running under RDD_LIMA_HOME are
        stopped too (outcome component "vm NAME"). Real Lima VMs are left
        running, as the lima driver leaves them."""
        if not self.home.is_dir():
            return [Outcome(name, "not running") for name in reversed(COMPONENTS)]
        outcomes = []
        with self.layout.locked():
            self.layout.remove_config()
            strays = self.strays()
            recorded = self.layout.recorded()
            for component in reversed(COMPONENTS):
                instances = [n for n in reversed(recorded) if component_of(n) == component]
                for name in instances or [component]:
                    outcomes.append(self._stop_component(name))
                outcomes += self._stop_strays(
                    [s for s in strays if component_of(s[0]) == component]
                )
                if component == "limavm":
                    outcomes.extend(self._stop_orphan_vms())
        return outcomes

    def _stop_component(self, name: str) -> Outcome:
        record = self.layout.read_record(name)
        if record is None:
            return Outcome(name, "not running")
        if not record.managed:
            outcome = Outcome(name, "external", None, record.address)
        elif self._ours(record):
            assert record.pid is not None
            killed = terminate(record.pid, grace=STOP_GRACE[component_of(name)])
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
        """pid, address, health and leadership of every member and replica
        (probes bounded at 1 s)."""
        recorded = self.layout.recorded()
        replicas = {}
        for component in COMPONENTS:
            names = [n for n in recorded if component_of(n) == component] or [component]
            replicas[component] = [self._instance_status(name) for name in names]
        self._mark_leaders(replicas)
        return StackStatus({c: r[0] for c, r in replicas.items()}, replicas)

    def _instance_status(self, name: str) -> ComponentStatus:
        record = self.layout.read_record(name)
        if record is None:
            return ComponentStatus(pid=None, address="", health=STOPPED)
        if not record.managed:
            return ComponentStatus(None, record.address, etcd_health(record.address))
        if not self._ours(record):
            return ComponentStatus(pid=None, address=record.address, health=STOPPED)
        if component_of(name) == "etcd":
            pki = self._etcd_probe_pki(record.address)
            health = etcd_health(record.address, pki=pki)
            leader = health == SERVING and is_leader_member(record.address, pki=pki)
            return ComponentStatus(record.pid, record.address, health, leader)
        health = self._service_health(record.address)
        return ComponentStatus(record.pid, record.address, health, metrics=record.metrics)

    def _mark_leaders(self, replicas: dict[str, list[ComponentStatus]]) -> None:
        """Which app and limavm replica runs its controller, from the
        election keys (values `host/pid`)."""
        members = [m for m in replicas["etcd"] if m.health == SERVING]
        if not members:
            return
        endpoint = members[0].address.split(",")[0]
        pki = self._etcd_probe_pki(endpoint)
        for component in ("app", "limavm"):
            key = f"{self._prefix}/leaders/{component}-controller".encode()
            value = read_value(endpoint, key, pki=pki)
            holder = value.decode(errors="replace") if value else ""
            replicas[component] = [
                dataclasses.replace(
                    r, leader=bool(r.pid) and holder == f"{socket.gethostname()}/{r.pid}"
                )
                for r in replicas[component]
            ]


def _reusable_peer_port(record: Record | None) -> int:
    if record is None or not record.peer_port:
        return 0
    return 0 if is_listening(f"127.0.0.1:{record.peer_port}") else record.peer_port


def _answers_soon(endpoint: str, pki: Pki | None, timeout: float = START_TIMEOUT) -> bool:
    """Whether etcd at `endpoint` reports healthy within `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while not is_healthy(endpoint, pki=pki):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _san_hosts(listen: Listen) -> list[str]:
    """The address server certificates must name beyond the defaults."""
    return [] if listen.client_host != listen.host else [listen.host]


def _client_address(published: str, listen: Listen) -> str:
    """Where a client reaches what a service published (a wildcard bind is
    reached on loopback) (pure)."""
    if is_unix_target(published) or listen.client_host == listen.host:
        return published
    return tcp_address(listen.client_host, int(published.rpartition(":")[2]))


def _log_header(path: Path, component: str) -> None:
    """A line that separates one run from the previous in an appended log."""
    with open(path, "a") as log:
        log.write(run_header(component, time.time()) + "\n")
