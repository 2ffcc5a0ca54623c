"""How the stack's components are wired together and where they listen:
the addresses each is started with, whether a running one can be kept,
and which port a restarted one asks for (pure but for port probes)."""

from __future__ import annotations

from collections.abc import Mapping

from rdd.config import SERVICE_WIRING, Listen
from rdd.stack.ports import is_listening
from rdd.stack.records import Record
from rdd.transport.sockets import is_unix_target

#: Environment variables that wire the services together; set from the records.
#: RDD_METRICS is one too: turning it on or off restarts the services.
WIRING_VARIABLES = (
    "RDD_ETCD_ENDPOINTS",
    "RDD_WEBHOOK_ADDRESS",
    "RDD_LIMAVM_ADDRESS",
    "RDD_METRICS",
)


def wiring_for(component: str, endpoints: Mapping[str, str]) -> dict[str, str]:
    """The addresses a component is started with (pure): every service needs
    etcd, the writers need the webhook, the app needs limavm too."""
    wanted = SERVICE_WIRING.get(component, {})
    return {variable: endpoints[peer] for variable, peer in wanted.items()}


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


def reusable_peer_port(record: Record | None) -> int:
    """The same for an etcd member's peer port."""
    if record is None or not record.peer_port:
        return 0
    return 0 if is_listening(f"127.0.0.1:{record.peer_port}") else record.peer_port


def tcp_address(host: str, port: int) -> str:
    """`HOST:PORT`, IPv6 hosts in brackets (pure)."""
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def same_transport(address: str, listen: Listen) -> bool:
    """Whether a recorded address belongs to the transport asked for (pure)."""
    return bool(address) and is_unix_target(address) != listen.tcp


def san_hosts(listen: Listen) -> list[str]:
    """The address server certificates must name beyond the defaults."""
    return [] if listen.client_host != listen.host else [listen.host]


def client_address(published: str, listen: Listen) -> str:
    """Where a client reaches what a service published (a wildcard bind is
    reached on loopback) (pure)."""
    if is_unix_target(published) or listen.client_host == listen.host:
        return published
    return tcp_address(listen.client_host, int(published.rpartition(":")[2]))
