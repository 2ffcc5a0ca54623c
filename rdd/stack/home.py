"""One stack as the supervisor's parts see it: its settings, its state
folder, which processes are its own, and how to probe them.

Shared by rdd.stack.supervisor and the modules it is made of (cluster,
services, strays, inspection)."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path

from rdd.config import Settings
from rdd.logs import run_header
from rdd.stack.health import service_health
from rdd.stack.processes import is_ours
from rdd.stack.records import Layout, Record, component_of
from rdd.stack.results import StackError
from rdd.transport.channels import NO_CREDENTIALS, Credentials
from rdd.transport.pki import Pki, PkiError
from rdd.transport.sockets import is_unix_target

#: Seconds a component gets to stop after SIGTERM before SIGKILL. The limavm
#: service stops its VMs first (RDD_STOP_TIMEOUT_SECONDS each, 30 by default).
STOP_GRACE: dict[str, float] = {"app": 15.0, "limavm": 45.0, "webhook": 10.0, "etcd": 10.0}


@dataclass(frozen=True)
class StackHome:
    """The stack rooted at one RDD_HOME."""

    #: The environment `svc start` runs with (the services inherit it).
    env: dict[str, str]
    home: Path
    layout: Layout
    lima_home: Path
    #: RDD_ETCD_ENDPOINTS: an etcd this stack does not run, or "".
    external_etcd: str
    etcd_prefix: str

    @classmethod
    def from_env(cls, env: dict[str, str]) -> StackHome:
        """`env` is kept, not copied: a change to it reaches the next spawn."""
        settings = Settings.from_env(env)
        home = settings.home.absolute()
        return cls(
            env=env,
            home=home,
            layout=Layout(home),
            lima_home=settings.lima_home.absolute(),
            external_etcd=settings.etcd_endpoints,
            etcd_prefix=settings.etcd_prefix,
        )

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

    def ours(self, record: Record | None) -> bool:
        """The record names a live process of this stack (not a reused pid)."""
        return (
            record is not None
            and record.managed
            and is_ours(record.pid, self.markers(record.component))
        )

    def instance_of(self, argv: list[str]) -> str | None:
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

    # -- probes -------------------------------------------------------------

    def probe_credentials(self, address: str) -> Credentials:
        """What a health probe of `address` presents: the CA over TLS."""
        if is_unix_target(address):
            return NO_CREDENTIALS
        try:
            return Credentials(ca=self.pki.load_ca())
        except PkiError:
            return NO_CREDENTIALS

    def etcd_probe_pki(self, address: str) -> Pki | None:
        return self.pki if address.startswith("https://") and self.pki.has_tls else None

    def service_health(self, address: str) -> str:
        return service_health(address, credentials=self.probe_credentials(address))

    # -- failures and logs --------------------------------------------------

    def failure(self, name: str, message: str) -> StackError:
        """A StackError with the tail of the instance's log."""
        return StackError(
            message, log_tail=self.layout.log_tail(name), log_path=self.layout.log_file(name)
        )

    def log_header(self, name: str) -> Path:
        """A line that separates one run from the previous in the appended
        log of `name`; returns the log's path."""
        path = self.layout.log_file(name)
        with open(path, "a") as log:
            log.write(run_header(name, time.time()) + "\n")
        return path
