"""The one way a service process runs: gRPC servicers, async health,
reflection from the proto descriptors, background components (controllers),
the chosen address written once SERVING, graceful stop on SIGTERM/SIGINT."""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import logging
import os
import signal
import sys
from collections.abc import Callable, Coroutine, Sequence
from pathlib import Path
from typing import Any, Protocol

import grpc
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from rdd.errors import ApiError
from rdd.server.decoding import DecodingInterceptor

log = logging.getLogger(__name__)

#: Below etcd's 1.5 MiB request limit, so any accepted object can be stored.
MAX_MESSAGE_BYTES = 1024 * 1024
GRACE_SECONDS = 5.0

#: An admission review carries an object and the stored one, as JSON (which
#: can be twice the size of the object): the webhook takes this much.
MAX_REVIEW_BYTES = 8 * MAX_MESSAGE_BYTES

SERVER_OPTIONS = [
    ("grpc.max_send_message_length", 4 * MAX_MESSAGE_BYTES),
    ("grpc.so_reuseport", 0),
]
CHANNEL_OPTIONS = [
    ("grpc.max_receive_message_length", 4 * MAX_MESSAGE_BYTES),
    ("grpc.enable_http_proxy", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
]


def insecure_channel(address: str, *, max_send_bytes: int = MAX_MESSAGE_BYTES) -> grpc.aio.Channel:
    """Channel to another of our services, with our limits."""
    options = [*CHANNEL_OPTIONS, ("grpc.max_send_message_length", max_send_bytes)]
    return grpc.aio.insecure_channel(address, options=options)


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
        max_receive_bytes: int = MAX_MESSAGE_BYTES,
    ) -> None:
        self.name = name
        self._max_receive_bytes = max_receive_bytes
        self._listen = listen
        self._address_file = address_file
        self._registrars: list[Registrar] = []
        self._service_names: list[str] = []
        self._components: list[Component] = []

    def add_service(self, registrar: Registrar, full_name: str) -> None:
        self._registrars.append(registrar)
        self._service_names.append(full_name)

    def add_component(self, component: Component) -> None:
        self._components.append(component)

    async def run(self) -> None:
        server = grpc.aio.server(
            interceptors=[DecodingInterceptor()],
            options=[*SERVER_OPTIONS, ("grpc.max_receive_message_length", self._max_receive_bytes)],
        )
        for registrar in self._registrars:
            registrar(server)
        health_servicer = health.aio.HealthServicer()  # type: ignore[attr-defined]
        health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
        reflection.enable_server_reflection(
            [
                *self._service_names,
                health_pb2.DESCRIPTOR.services_by_name["Health"].full_name,
                reflection.SERVICE_NAME,
            ],
            server,
        )
        port = server.add_insecure_port(self._listen)
        if port == 0:
            raise SystemExit(f"{self.name}: cannot listen on {self._listen}")
        host = self._listen.rpartition(":")[0]
        address = f"{host}:{port}"
        stopping = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stopping.set)
        await server.start()
        await _set_all(
            health_servicer, self._service_names, health_pb2.HealthCheckResponse.NOT_SERVING
        )
        started: list[Component] = []
        try:
            for component in self._components:
                await component.start()
                started.append(component)
            await _set_all(
                health_servicer, self._service_names, health_pb2.HealthCheckResponse.SERVING
            )
            self._publish(address)
            log.info("event=serving service=%s address=%s pid=%d", self.name, address, os.getpid())
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
            self._unpublish()
            log.info("event=stopped service=%s", self.name)

    def _publish(self, address: str) -> None:
        if self._address_file is None:
            return
        tmp = self._address_file.with_suffix(".tmp")
        tmp.write_text(json.dumps({"address": address, "pid": os.getpid()}))
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
        "--listen", default="127.0.0.1:0", help="host:port (port 0: pick a free one)"
    )
    parser.add_argument("--address-file", type=Path, help="write {address, pid} here once SERVING")
    return parser.parse_args(argv)


def configure_logging(name: str) -> None:
    """One event per line, key=value, with the service name."""
    logging.basicConfig(
        stream=sys.stderr,
        level=os.environ.get("RDD_LOG_LEVEL", "INFO"),
        format=f"time=%(asctime)s level=%(levelname)s service={name} logger=%(name)s %(message)s",
    )
    logging.getLogger("aetcd").setLevel(logging.WARNING)


def run_main(main: Callable[[], Coroutine[Any, Any, None]]) -> None:
    """Run a service's main; a dependency that is down at start-up is a
    one-line error and exit status 1, not a traceback."""
    try:
        asyncio.run(main())
    except ApiError as error:
        log.error("event=fatal error=%s", error.message)
        raise SystemExit(1) from None
    except KeyboardInterrupt:
        raise SystemExit(130) from None
