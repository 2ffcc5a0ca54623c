"""Reaching a running stack from the CLI: its endpoints and credentials from
the client configuration ($RDD_HOME/config, or the file RDD_CONFIG names),
one gRPC channel per service, a typed client per kind.

Used by the `rdd ctl`, `rdd limavm` and `rdd set` commands; the CLI never
talks to etcd."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from types import TracebackType

import grpc

from rdd.cli.arguments import UsageError
from rdd.clients import LimaVMClient, ResourceClient
from rdd.config import Settings
from rdd.kinds import LIMAVM, Kind
from rdd.transport.channels import Credentials, open_channel
from rdd.transport.clientconfig import ClientConfig, ConfigError, read_config


def not_running_message(home: Path, component: str = "") -> str:
    what = f"the rdd {component} service" if component else "the rdd stack"
    if component == "etcd":
        what = "the rdd stack's etcd"
    return f"{what} is not running (RDD_HOME={home}); start it with 'rdd svc start'"


def explain_unavailable(settings: Settings) -> str | None:
    """When a call found no server: the service that is down per RDD_HOME's
    records, as a message; None when the records say everything runs, or
    the configuration names a stack elsewhere (RDD_CONFIG)."""
    from rdd.stack.processes import is_alive  # the error path only: records import pki
    from rdd.stack.records import COMPONENTS, Layout

    home = settings.home
    if settings.client_config != home / "config":
        return None
    layout = Layout(home)
    if not layout.config_file.exists():
        return not_running_message(home)
    for component in COMPONENTS:
        record = layout.read_record(component)
        if record is not None and not record.managed:
            continue  # an external etcd: the server's message says what it knows
        if record is None or record.pid is None or not is_alive(record.pid):
            return not_running_message(home, component)
    return None


def load_client_config(settings: Settings) -> ClientConfig | None:
    """The configuration to use; None when RDD_HOME's stack has never
    written one (not running). UsageError when it cannot be used."""
    path = settings.client_config
    if path == settings.home / "config" and not path.exists():
        return None
    try:
        return read_config(path)
    except ConfigError as exc:
        raise UsageError(f"client configuration: {exc}") from None


class Connection:
    """Channels to the stack a client configuration names; close() (or
    `async with`) ends them."""

    def __init__(self, home: Path, config: ClientConfig | None, *, timeout: float) -> None:
        self.home = home
        #: None when RDD_HOME records no running stack: the first client()
        #: says so (after the command has checked its own arguments).
        self._config = config
        self._timeout = timeout
        self._channels: dict[str, grpc.aio.Channel] = {}

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Connection:
        settings = Settings.from_env(env)
        config = load_client_config(settings)
        return cls(settings.home, config, timeout=settings.rpc_timeout)

    def _channel(self, service: str) -> grpc.aio.Channel:
        if self._config is None:
            raise UsageError(not_running_message(self.home))
        channel = self._channels.get(service)
        if channel is None:
            credentials = Credentials(ca=self._config.ca.encode(), token=self._config.token)
            target = self._config.endpoints[service]
            channel = self._channels[service] = open_channel(target, credentials)
        return channel

    def channel(self, service: str) -> grpc.aio.Channel:
        """The channel to one service (app, limavm, webhook), for the calls
        no resource client makes (`rdd version`)."""
        return self._channel(service)

    @property
    def timeout(self) -> float:
        """Seconds one call may take (RDD_RPC_TIMEOUT)."""
        return self._timeout

    def client(self, kind: Kind) -> ResourceClient:
        return ResourceClient(kind, self._channel(kind.served_by), timeout=self._timeout)

    def limavm_client(self) -> LimaVMClient:
        """LimaVMs, with the service's Logs and Info."""
        return LimaVMClient(self._channel(LIMAVM.served_by), timeout=self._timeout)

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
