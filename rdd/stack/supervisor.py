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

Made of: rdd.stack.cluster (etcd), rdd.stack.services (the services),
rdd.stack.strays (unrecorded processes, orphan VMs), rdd.stack.inspection
(status), over rdd.stack.home (what they share about one stack).

Called by `rdd svc` (rdd.cli.svc) and by test fixtures."""

from __future__ import annotations

import os
from collections.abc import Mapping

from rdd.config import (
    Listen,
    SettingsError,
    environment_problems,
    etcd_members,
    parse_listen,
    replicas,
)
from rdd.stack.cluster import ensure_etcd, existing_members
from rdd.stack.etcd import client_socket, peer_socket
from rdd.stack.home import STOP_GRACE, StackHome
from rdd.stack.inspection import stack_status
from rdd.stack.processes import terminate
from rdd.stack.records import COMPONENTS, SERVICES, component_of, index_of, instance_names
from rdd.stack.results import ComponentStatus, Outcome, StackError, StackStatus
from rdd.stack.services import ensure_service
from rdd.stack.strays import orphan_sim_agents, stop_orphan_vms, stop_strays, strays
from rdd.stack.wiring import san_hosts
from rdd.transport.clientconfig import ClientConfig, write_config
from rdd.transport.pki import Pki, PkiError
from rdd.transport.sockets import join_targets, socket_path_problem

__all__ = [
    "DEFAULT_START_TIMEOUT",
    "ComponentStatus",
    "Outcome",
    "StackError",
    "StackStatus",
    "Supervisor",
]

DEFAULT_START_TIMEOUT = 60.0


class Supervisor:
    """One stack: start, stop, status. Not thread-safe; start and stop take
    a file lock in RDD_HOME so two `rdd svc` commands do not interleave."""

    def __init__(self, env: Mapping[str, str] | None = None) -> None:
        self._stack = StackHome.from_env(dict(os.environ if env is None else env))
        #: The environment the services are started with (changes reach the next spawn).
        self._env = self._stack.env
        self.home = self._stack.home
        self.layout = self._stack.layout

    @property
    def pki(self) -> Pki:
        return self.layout.pki

    # -- identity -----------------------------------------------------------

    def markers(self, instance: str) -> list[str]:
        """Whole arguments the command line of this stack's process for
        `instance` (`etcd`, `etcd-1`, `app`, `app-2`, ...) holds."""
        return self._stack.markers(instance)

    def strays(self) -> list[tuple[str, int]]:
        """(instance, pid) of each live process of this RDD_HOME that no
        record names: what a starter killed between spawn and record left."""
        return strays(self._stack)

    def orphan_sim_agents(self) -> list[tuple[str, int]]:
        """(instance, pid) of each live sim host agent of this stack."""
        return orphan_sim_agents(self._stack.lima_home)

    # -- credentials ---------------------------------------------------------

    def _ensure_credentials(self, listen: Listen) -> None:
        """The stack's tokens (always) and TLS files (TCP mode), made when
        missing; damaged ones are a StackError, never silently replaced."""
        try:
            self.pki.ensure_tokens()
            if listen.tcp:
                self.pki.ensure_tls(san_hosts(listen))
        except PkiError as exc:
            raise StackError(str(exc)) from None

    def rotate_credentials(self) -> None:
        """New tokens, CA and certificates for a stopped stack."""
        with self.layout.locked():
            running = [n for n in COMPONENTS if self._stack.ours(self.layout.read_record(n))]
            if running or self.strays():
                raise StackError(
                    "the stack is running: stop it first ('rdd svc stop'), then rotate"
                )
            listen = self._listen()
            self.pki.rotate(tls=listen.tcp or self.pki.has_tls, hosts=san_hosts(listen))

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
        if not self._stack.external_etcd:
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
            members = len(existing_members(self._stack)) or members
        if not self._env.get("RDD_REPLICAS", "").strip():
            recorded = [index_of(n) for n in self.layout.recorded() if component_of(n) in SERVICES]
            count = max(recorded, default=count - 1) + 1
        return members, count

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
            outcomes = stop_strays(self.strays())
            etcd = ensure_etcd(self._stack, listen, members)
            outcomes += etcd
            endpoints = {"etcd": join_targets([o.address for o in etcd])}
            for service in SERVICES:
                started = [
                    ensure_service(self._stack, instance, endpoints, listen, timeout=timeout)
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
            found = self.strays()
            recorded = self.layout.recorded()
            for component in reversed(COMPONENTS):
                instances = [n for n in reversed(recorded) if component_of(n) == component]
                for name in instances or [component]:
                    outcomes.append(self._stop_component(name))
                outcomes += stop_strays([s for s in found if component_of(s[0]) == component])
                if component == "limavm":
                    outcomes.extend(stop_orphan_vms(self._stack.lima_home))
        return outcomes

    def _stop_component(self, name: str) -> Outcome:
        record = self.layout.read_record(name)
        if record is None:
            return Outcome(name, "not running")
        if not record.managed:
            outcome = Outcome(name, "external", None, record.address)
        elif self._stack.ours(record):
            assert record.pid is not None
            killed = terminate(record.pid, grace=STOP_GRACE[component_of(name)])
            outcome = Outcome(name, "killed" if killed else "stopped", record.pid, record.address)
        else:
            outcome = Outcome(name, "not running", record.pid, record.address)
        self.layout.remove_record(name)
        return outcome

    # -- status -------------------------------------------------------------

    def status(self) -> StackStatus:
        """pid, address, health and leadership of every member and replica
        (probes bounded at 1 s)."""
        return stack_status(self._stack)
