"""The state folder of one stack (RDD_HOME) and the records kept in it.

Layout (created 0700):

    $RDD_HOME/                  0700, like everything below it
      lock                      flock held by `svc start` / `svc stop`
      config                    the client configuration (rdd.transport.clientconfig),
                                written once everything serves, removed by `svc stop`
      pki/                      the stack's credentials (rdd.transport.pki)
      run/<component>.json      the supervisor's record of one process (pid, address,
                                port, the dependency addresses it was started with)
      run/<service>.address     written by the service itself once SERVING (address,
                                pid, and its metrics URL with RDD_METRICS)
      run/<service>.sock        the service's unix socket (unix mode)
      run/etcd:2379             etcd's client socket (unix mode; etcd-peer:2380 its peer's)
      logs/<component>.log      stdout + stderr of each process (appended; a service's
                                JSON lines, rotated by size to .log.1, .log.2, ...)
      etcd/                     data of the local etcd
      lima/                     default RDD_LIMA_HOME

Read and written by the supervisor; the CLI reads `config`.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from rdd.transport.files import write_private
from rdd.transport.pki import Pki

#: Start order; stop goes the other way.
COMPONENTS: tuple[str, ...] = ("etcd", "webhook", "limavm", "app")
SERVICES: tuple[str, ...] = ("webhook", "limavm", "app")


def instance_names(component: str, count: int) -> list[str]:
    """`app`, `app-1`, `app-2`: the records of a component's replicas (etcd:
    its members); the first keeps the component's own name (pure)."""
    return [component] + [f"{component}-{i}" for i in range(1, count)]


def component_of(instance: str) -> str:
    """`app-1` -> `app` (pure)."""
    base, _, index = instance.rpartition("-")
    return base if base in COMPONENTS and index.isdigit() else instance


def index_of(instance: str) -> int:
    base, _, index = instance.rpartition("-")
    return int(index) if base in COMPONENTS and index.isdigit() else 0


@dataclass(frozen=True)
class Record:
    """What the supervisor knows about one running component."""

    component: str
    #: None for an etcd this stack does not run (RDD_ETCD_ENDPOINTS).
    pid: int | None
    #: The gRPC target once serving: unix:///abs/path.sock or HOST:PORT
    #: (etcd: its client endpoint(s), unix:///... or https://HOST:PORT).
    address: str = ""
    #: The port asked for at start, reused when the component is restarted so
    #: the processes that were given its address keep a valid one.
    port: int = 0
    #: etcd only: its peer port, reused with the client port.
    peer_port: int = 0
    #: Environment addresses the process was started with (RDD_ETCD_ENDPOINTS,
    #: RDD_WEBHOOK_ADDRESS, ...); when they no longer match, it is restarted.
    wiring: dict[str, str] = field(default_factory=dict)
    #: False when etcd is external: nothing to stop.
    managed: bool = True
    #: The service's Prometheus endpoint (`svc start --metrics`), else "".
    metrics: str = ""

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Record:
        return cls(
            component=str(data["component"]),
            pid=int(data["pid"]) if data.get("pid") is not None else None,
            address=str(data.get("address") or ""),
            port=int(data.get("port") or 0),
            peer_port=int(data.get("peer_port") or 0),
            wiring={str(k): str(v) for k, v in (data.get("wiring") or {}).items()},
            managed=bool(data.get("managed", True)),
            metrics=str(data.get("metrics") or ""),
        )


@dataclass(frozen=True)
class Layout:
    """Paths inside one RDD_HOME."""

    home: Path

    @property
    def run_dir(self) -> Path:
        return self.home / "run"

    @property
    def logs_dir(self) -> Path:
        return self.home / "logs"

    @property
    def etcd_data(self) -> Path:
        return self.home / "etcd"

    def member_data(self, instance: str) -> Path:
        """The data folder of one etcd member (`etcd`, `etcd-1`, ...)."""
        return self.home / instance

    def recorded(self) -> list[str]:
        """Every instance with a record, in start order."""
        names = [p.stem for p in self.run_dir.glob("*.json")] if self.run_dir.is_dir() else []
        order = {name: i for i, name in enumerate(COMPONENTS)}
        return sorted(names, key=lambda n: (order.get(component_of(n), 99), index_of(n)))

    @property
    def config_file(self) -> Path:
        return self.home / "config"

    @property
    def pki(self) -> Pki:
        return Pki(self.home / "pki")

    def socket_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.sock"

    def record_file(self, component: str) -> Path:
        return self.run_dir / f"{component}.json"

    def address_file(self, service: str) -> Path:
        return self.run_dir / f"{service}.address"

    def log_file(self, component: str) -> Path:
        return self.logs_dir / f"{component}.log"

    def prepare(self) -> None:
        """Create the folders, private to the user (also when they existed)."""
        for folder in (self.home, self.run_dir, self.logs_dir):
            folder.mkdir(parents=True, exist_ok=True, mode=0o700)
            os.chmod(folder, 0o700)

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """One `svc start`/`svc stop` at a time per RDD_HOME."""
        with open(self.home / "lock", "a") as handle:
            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)

    def read_record(self, component: str) -> Record | None:
        data = _read_json(self.record_file(component))
        if data is None:
            return None
        try:
            return Record.from_json(data)
        except (KeyError, TypeError, ValueError):
            return None

    def write_record(self, record: Record) -> None:
        _write_json(self.record_file(record.component), asdict(record))

    def remove_record(self, component: str) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.record_file(component).unlink()
        with contextlib.suppress(FileNotFoundError):
            self.address_file(component).unlink()

    def read_published(self, service: str) -> tuple[str, int] | None:
        """(address, pid) the service wrote once SERVING, or None."""
        data = _read_json(self.address_file(service))
        if data is None or "address" not in data or "pid" not in data:
            return None
        return str(data["address"]), int(data["pid"])

    def published_metrics(self, service: str) -> str:
        """The metrics URL the service wrote with its address, or ""."""
        data = _read_json(self.address_file(service))
        return str(data.get("metrics") or "") if data is not None else ""

    def remove_config(self) -> None:
        with contextlib.suppress(FileNotFoundError):
            self.config_file.unlink()

    def log_tail(self, component: str, lines: int = 20) -> str:
        try:
            text = self.log_file(component).read_text(errors="replace")
        except FileNotFoundError:
            return ""
        return "\n".join(text.splitlines()[-lines:])


def _read_json(path: Path) -> dict[str, Any] | None:
    try:
        data = json.loads(path.read_text())
    except (FileNotFoundError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def _write_json(path: Path, data: dict[str, Any]) -> None:
    """Atomic: readers see the old file or the new one, never half of it."""
    write_private(path, (json.dumps(data, indent=2, sort_keys=True) + "\n").encode())
