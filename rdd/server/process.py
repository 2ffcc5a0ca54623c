"""The one way a service process runs: gRPC servicers, async health, the
version service (rdd.server.version), reflection (v1 and v1alpha) from the
proto descriptors, the metrics and bearer-token interceptors, a Prometheus
endpoint with RDD_METRICS, background components (controllers), the chosen
address written once SERVING, graceful stop on SIGTERM/SIGINT.

A service listens on a unix socket (`--listen unix:///abs/path.sock`, made
0600 in a folder only its owner can enter) or, in TCP mode, on HOST:PORT
with TLS, its certificate from `$RDD_HOME/pki`."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import dataclasses
import json
import logging
import os
import signal
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc

from rdd.config import SettingsError, metrics_enabled
from rdd.errors import ApiError
from rdd.server import logfile, reflection, version
from rdd.server.auth import Authenticator, AuthInterceptor
from rdd.server.decoding import DecodingInterceptor
from rdd.server.metrics import MetricsEndpoint, MetricsInterceptor
from rdd.transport.channels import MAX_MESSAGE_BYTES, Credentials, service_credentials
from rdd.transport.pki import Pki, PkiError
from rdd.transport.sockets import (
    SocketPathError,
    check_socket_path,
    is_unix_target,
    socket_path,
    unix_target,
)

log = logging.getLogger(__name__)

GRACE_SECONDS = 5.0

#: An admission review carries an object and the stored one, as JSON (which
#: can be twice the size of the object): the webhook takes this much.
MAX_REVIEW_BYTES = 8 * MAX_MESSAGE_BYTES

SERVER_OPTIONS = [
    ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
]


class ServerSecurity:
    """How one service listens and whom it admits: its pki's tokens, its
    TLS certificate in TCP mode, and its own credentials for the calls it
    makes to the rest of the stack."""

    def __init__(self, home: Path, name: str, listen: str) -> None:
        self.tls = not is_unix_target(listen)
        pki = Pki(home / "pki")
        self.authenticator = Authenticator(pki.load_tokens(), require_token=self.tls)
        self._identity = pki.load_identity(name) if self.tls else None
        #: What this service presents when it calls another service.
        self.credentials: Credentials = service_credentials(home, name, tls=self.tls)
        #: What it presents to etcd: its certificate, never a token.
        self.etcd_credentials = dataclasses.replace(self.credentials, token="")

    def add_port(self, server: grpc.aio.Server, listen: str) -> int:
        if self._identity is None:
            return server.add_insecure_port(listen)
        credentials = grpc.ssl_server_credentials(
            [(self._identity.key, self._identity.cert)],
            root_certificates=self._identity.ca,
            require_client_auth=False,
        )
        return server.add_secure_port(listen, credentials)


class Component(Protocol):
    """Something long-lived that runs beside the servicers (a controller)."""

    async def start(self) -> None:
        """Return once ready (caches synced); health turns SERVING after."""

    async def shutdown(self) -> None:
        """Stop work and release what it holds (VMs of the sim driver)."""


Registrar = Callable[[grpc.aio.Server], None]


class ServiceProcess:
    def __init__(
        self,
        name: str,
        *,
        listen: str,
        address_file: Path | None,
        security: ServerSecurity,
        max_receive_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.name = name
        self._security = security
        self._max_receive_bytes = max_receive_bytes
        self._listen = listen
        self._address_file = address_file
        self._registrars: list[Registrar] = []
        self._service_names: list[str] = []
        self._components: list[Component] = []
        self._health: Any = None  # set once components have started
        self._dependencies_up = True

    async def set_serving(self, serving: bool) -> None:
        """Health follows the dependencies (rdd.server.dependency): NOT_SERVING
        while one is down. Applied once the components have started."""
        self._dependencies_up = serving
        if self._health is not None:
            status = health_pb2.HealthCheckResponse
            await _set_all(
                self._health, self._service_names, status.SERVING if serving else status.NOT_SERVING
            )

    def add_service(self, registrar: Registrar, full_name: str) -> None:
        self._registrars.append(registrar)
        self._service_names.append(full_name)

    def add_component(self, component: Component) -> None:
        self._components.append(component)

    async def run(self) -> None:
        server = grpc.aio.server(
            # Counted first (refusals too), then the token, then the bytes decoded.
            interceptors=[
                MetricsInterceptor(),
                AuthInterceptor(self._security.authenticator),
                DecodingInterceptor(),
            ],
            options=[*SERVER_OPTIONS, ("grpc.max_receive_message_length", self._max_receive_bytes)],
        )
        for registrar in self._registrars:
            registrar(server)
        version.register(server)
        health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable(
            [
                *self._service_names,
                version.SERVICE_NAME,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
            ],
            server,
        )
        address = self._bind(server)
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await server.start()
        if is_unix_target(address):
            os.chmod(socket_path(address), 0o600)
        await _set_all(
            health_servicer, self._service_names, health_pb2.HealthCheckResponse.NOT_SERVING
        )
        started: list[Component] = []
        endpoint = MetricsEndpoint() if metrics_enabled(os.environ) else None
        try:
            for component in self._components:
                await component.start()
                started.append(component)
            self._health = health_servicer
            await self.set_serving(self._dependencies_up)
            self._publish(address, endpoint.url if endpoint else "")
            log.info("event=serving service=%s address=%s pid=%d", self.name, address, os.getpid())
            if endpoint is not None:
                log.info("event=metrics_serving service=%s url=%s", self.name, endpoint.url)
            await stopping.wait()
        finally:
            log.info("event=stopping service=%s", self.name)
            await health_servicer.enter_graceful_shutdown()
            for component in reversed(started):
                try:
                    await component.shutdown()
                except Exception:
                    log.exception("event=component_shutdown_failed service=%s", self.name)
            await server.stop(GRACE_SECONDS)
            if endpoint is not None:
                endpoint.close()
            self._unpublish()
            log.info("event=stopped service=%s", self.name)

    def _bind(self, server: grpc.aio.Server) -> str:
        """Listen where asked; the address clients should use."""
        if is_unix_target(self._listen):
            path = socket_path(self._listen).absolute()
            try:
                check_socket_path(path)
            except SocketPathError as exc:
                raise SystemExit(f"{self.name}: {exc}") from None
            path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
            if self._security.add_port(server, unix_target(path)) == 0:
                raise SystemExit(f"{self.name}: cannot listen on {unix_target(path)}")
            return unix_target(path)
        port = self._security.add_port(server, self._listen)
        if port == 0:
            raise SystemExit(f"{self.name}: cannot listen on {self._listen}")
        return f"{self._listen.rpartition(':')[0]}:{port}"

    def _publish(self, address: str, metrics: str) -> None:
        """The address file: where clients reach this process, its pid, and
        its metrics URL when it serves one."""
        if self._address_file is None:
            return
        published: dict[str, Any] = {"address": address, "pid": os.getpid()}
        if metrics:
            published["metrics"] = metrics
        tmp = self._address_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(published))
        tmp.replace(self._address_file)

    def _unpublish(self) -> None:
        if self._address_file is not None:
            with contextlib.suppress(FileNotFoundError):
                self._address_file.unlink()


async def _set_all(servicer: Any, names: Sequence[str], status: int) -> None:
    await servicer.set("", status)
    for name in names:
        await servicer.set(name, status)


def parse_args(name: str, argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=f"rdd-{name}", description=f"rdd {name} service")
    parser.add_argument(
        "--listen",
        required=True,
        help="unix:///abs/path.sock, or HOST:PORT for TLS (port 0: pick a free one)",
    )
    parser.add_argument("--address-file", type=Path, help="write {address, pid} here once SERVING")
    parser.add_argument(
        "--log-file", type=Path, help="log here, rotated by size, instead of on stderr"
    )
    args = parser.parse_args(argv)
    if args.log_file is not None:
        logfile.log_to_file(args.log_file)
    return args


def configure_logging(name: str) -> None:
    """JSON lines (rdd.logs) on stderr, until `--log-file` names a file."""
    logfile.configure(name)


def run_main(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a service's main; a dependency that is down at start-up, or an
    environment it cannot use, is a one-line error (one per problem) and
    exit status 1, not a traceback."""
    os.umask(0o077)  # sockets and files this process makes are its owner's alone
    try:
        asyncio.run(main())
    except ApiError as error:
        log.error("event=fatal error=%s", error.message)
        raise SystemExit(1) from None
    except PkiError as error:
        log.error("event=fatal error=%s", error)
        raise SystemExit(1) from None
    except SettingsError as error:
        for problem in error.problems:
            log.error("event=fatal error=%s", problem)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
