"""Reaching a running stack from the CLI: its endpoints from RDD_HOME's
records, one gRPC channel per service, a typed client per kind.

Used by the `rdd ctl` and `rdd set` commands; the CLI never talks to etcd."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import grpc

from rdd.cli.arguments import UsageError
from rdd.clients import LimaVMClient, ResourceClient
from rdd.config import Settings
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM, Kind
from rdd.server.process import insecure_channel
from rdd.stack.processes import is_alive
from rdd.stack.records import COMPONENTS, SERVICES, Layout

#: Which service serves each kind (DESIGN.md's API table).
SERVED_BY: dict[str, str] = {
    APP.kind: "app",
    LIMAVM.kind: "limavm",
    CONFIGMAP.kind: "limavm",
    EVENT.kind: "limavm",
}


def not_running_message(home: Path, component: str = "") -> str:
    what = f"the rdd {component} service" if component else "the rdd stack"
    if component == "etcd":
        what = "the rdd stack's etcd"
    return f"{what} is not running (RDD_HOME={home}); start it with 'rdd svc start'"


def explain_unavailable(home: Path) -> str | None:
    """When a call found no server: the service that is down per RDD_HOME's
    records, as a message; None when the records say everything runs."""
    layout = Layout(home)
    if layout.read_endpoints() is None:
        return not_running_message(home)
    for component in COMPONENTS:
        record = layout.read_record(component)
        if record is not None and not record.managed:
            continue  # an external etcd: the server's message says what it knows
        if record is None or record.pid is None or not is_alive(record.pid):
            return not_running_message(home, component)
    return None


class Connection:
    """Channels to the stack recorded in RDD_HOME; close() (or `async with`) ends them."""

    def __init__(self, home: Path, endpoints: Mapping[str, str] | None, *, timeout: float) -> None:
        self.home = home
        #: None when RDD_HOME records no running stack: the first client()
        #: says so (after the command has checked its own arguments).
        self._endpoints = None if endpoints is None else dict(endpoints)
        self._timeout = timeout
        self._channels: dict[str, grpc.aio.Channel] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str]) -> Connection:
        settings = Settings.from_env(env)
        endpoints = Layout(settings.home).read_endpoints()
        if endpoints is not None and any(s not in endpoints for s in SERVICES):
            endpoints = None
        return cls(settings.home, endpoints, timeout=settings.rpc_timeout)

    def _channel(self, service: str) -> grpc.aio.Channel:
        if self._endpoints is None:
            raise UsageError(not_running_message(self.home))
        channel = self._channels.get(service)
        if channel is None:
            channel = self._channels[service] = insecure_channel(self._endpoints[service])
        return channel

    def client(self, kind: Kind) -> ResourceClient:
        return ResourceClient(kind, self._channel(SERVED_BY[kind.kind]), timeout=self._timeout)

    def limavm_client(self) -> LimaVMClient:
        """LimaVMs, with the service's Logs and Info."""
        return LimaVMClient(self._channel(SERVED_BY[LIMAVM.kind]), timeout=self._timeout)

    async def close(self) -> None:
        for channel in self._channels.values():
            await channel.close(grace=None)
        self._channels.clear()

    async def __aenter__(self) -> Connection:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.close()
