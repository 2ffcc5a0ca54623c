"""The one place gRPC channels are built, for the CLI and the services alike:
target, credentials, bearer token, message limits, reconnect backoff.

- `unix:///path` targets: plaintext over the socket (its folder's permissions
  are the access check). A token, when given, rides along, so a service can
  prove who it is (ReleaseOwnership).
- `HOST:PORT` or `https://HOST:PORT`: TLS against the stack's CA, the token
  as `authorization: Bearer ...` on every call, and a client certificate
  where one is given (etcd requires it).

The token is added as plain call metadata by a thin wrapper around the
channel's multicallables, not as grpc call credentials: those run a Python
plugin on a thread for every call, measured at ~0.4 ms per call here.
- `http://HOST:PORT`: plaintext TCP, only for an etcd the user named
  (RDD_ETCD_ENDPOINTS); never how our own components are wired."""

from __future__ import annotations

import ipaddress
import json
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from rdd.transport.sockets import is_unix_target, socket_path, split_targets

#: Below etcd's 1.5 MiB request limit, so any accepted object can be stored.
MAX_MESSAGE_BYTES = 1024 * 1024
#: What a client takes in one reply (a List of many objects).
MAX_RECEIVE_BYTES = 4 * MAX_MESSAGE_BYTES

CHANNEL_OPTIONS: tuple[tuple[str, Any], ...] = (
    ("grpc.max_receive_message_length", MAX_RECEIVE_BYTES),
    ("grpc.enable_http_proxy", 0),
    ("grpc.initial_reconnect_backoff_ms", 100),
    ("grpc.min_reconnect_backoff_ms", 100),
    ("grpc.max_reconnect_backoff_ms", 1000),
    # Transparent retry: a call that never reached a server is retried.
    ("grpc.enable_retries", 1),
)


@dataclass(frozen=True)
class Credentials:
    """What a client presents: the CA it trusts and its bearer token (TCP),
    its certificate (etcd in TCP mode), its token alone (a service over unix)."""

    ca: bytes = b""
    token: str = ""
    cert: bytes = b""
    key: bytes = b""


NO_CREDENTIALS = Credentials()


def _one_target(target: str) -> tuple[str, bool]:
    if is_unix_target(target):
        return target, False
    if target.startswith("https://"):
        return target.removeprefix("https://").rstrip("/"), True
    if target.startswith("http://"):
        return target.removeprefix("http://").rstrip("/"), False
    return target, True


def _is_ip_address(host_port: str) -> bool:
    host = host_port.rpartition(":")[0].strip("[]")
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def split_target(endpoint: str) -> tuple[str, bool]:
    """(gRPC target, whether it is TLS) for an endpoint as the records and
    configurations write them: one target, or several replicas' separated by
    commas, which become one target gRPC's own resolver spreads calls over
    and fails over between (`unix:///a,/b`; `ipv4:H:P,H:P`) (pure)."""
    targets = split_targets(endpoint)
    if len(targets) <= 1:
        return _one_target(endpoint)
    parsed = [_one_target(t) for t in targets]
    tls = parsed[0][1]
    if all(is_unix_target(t) for t, _ in parsed):
        paths = [str(socket_path(t)) for t, _ in parsed]
        return f"unix://{','.join(paths)}", False
    if all(_is_ip_address(t) for t, _ in parsed):
        family = "ipv6" if "[" in parsed[0][0] else "ipv4"
        return f"{family}:{','.join(t for t, _ in parsed)}", tls
    return parsed[0][0], tls  # host names: gRPC cannot list several; the first


#: Reads are retried on UNAVAILABLE (a replica that died with the call in
#: flight); writes are not, beyond gRPC's transparent retry of calls that
#: never reached a server: a retried write might have landed already.
_READS = [
    {"service": service, "method": method}
    for service in (
        "rdd.app.v1alpha1.AppService",
        "rdd.lima.v1alpha1.LimaVMService",
        "rdd.core.v1.ConfigMapService",
        "rdd.core.v1.EventService",
    )
    for method in ("Get", "List")
]
_RETRY_READS = {
    "name": _READS,
    "retryPolicy": {
        "maxAttempts": 4,
        "initialBackoff": "0.05s",
        "maxBackoff": "0.5s",
        "backoffMultiplier": 2,
        "retryableStatusCodes": ["UNAVAILABLE"],
    },
}


def _service_config(endpoint: str) -> list[tuple[str, Any]]:
    """Options for an endpoint: reads retried; for several replicas,
    round_robin over all and the first address as the TLS authority (pure)."""
    targets = split_targets(endpoint)
    config: dict[str, Any] = {"methodConfig": [_RETRY_READS]}
    options: list[tuple[str, Any]] = []
    if len(targets) > 1:
        config["loadBalancingConfig"] = [{"round_robin": {}}]
        first = _one_target(targets[0])[0]
        if not is_unix_target(first):
            options.append(("grpc.default_authority", first))
    return [("grpc.service_config", json.dumps(config)), *options]


def channel_credentials(credentials: Credentials, *, tls: bool) -> grpc.ChannelCredentials | None:
    """The TLS credentials of a channel, None for plaintext."""
    if not tls:
        return None
    return grpc.ssl_channel_credentials(
        root_certificates=credentials.ca or None,
        private_key=credentials.key or None,
        certificate_chain=credentials.cert or None,
    )


def bearer_metadata(token: str) -> tuple[tuple[str, str], ...]:
    """The call metadata that carries `token` (pure)."""
    return (("authorization", f"Bearer {token}"),)


class _WithMetadata:
    """A multicallable whose calls carry extra metadata."""

    def __init__(self, call: Any, metadata: tuple[tuple[str, str], ...]) -> None:
        self._call = call
        self._metadata = metadata

    def __call__(self, *args: Any, metadata: Any = None, **kwargs: Any) -> Any:
        merged = self._metadata if not metadata else (*tuple(metadata), *self._metadata)
        return self._call(*args, metadata=merged, **kwargs)


class MetadataChannel(grpc.aio.Channel):
    """A channel whose every call carries extra metadata (the bearer token, a
    leader's fence); everything else is the wrapped channel's."""

    def __init__(self, channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]) -> None:
        self._channel = channel
        self._metadata = metadata

    def unary_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _WithMetadata(self._channel.unary_unary(*args, **kwargs), self._metadata)

    def unary_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _WithMetadata(self._channel.unary_stream(*args, **kwargs), self._metadata)

    def stream_unary(self, *args: Any, **kwargs: Any) -> Any:
        return _WithMetadata(self._channel.stream_unary(*args, **kwargs), self._metadata)

    def stream_stream(self, *args: Any, **kwargs: Any) -> Any:
        return _WithMetadata(self._channel.stream_stream(*args, **kwargs), self._metadata)

    async def close(self, grace: float | None = None) -> None:
        await self._channel.close(grace)

    def get_state(self, try_to_connect: bool = False) -> grpc.ChannelConnectivity:
        return self._channel.get_state(try_to_connect)

    async def wait_for_state_change(self, last_observed_state: grpc.ChannelConnectivity) -> None:
        await self._channel.wait_for_state_change(last_observed_state)

    async def channel_ready(self) -> None:
        await self._channel.channel_ready()

    async def __aenter__(self) -> MetadataChannel:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close(None)


def _options(max_send_bytes: int, extra: Sequence[tuple[str, Any]]) -> list[tuple[str, Any]]:
    """Our options; `extra` overrides (gRPC would take the first of two)."""
    merged = dict(CHANNEL_OPTIONS)
    merged["grpc.max_send_message_length"] = max_send_bytes
    merged.update(extra)
    return list(merged.items())


def open_channel(
    target: str,
    credentials: Credentials = NO_CREDENTIALS,
    *,
    max_send_bytes: int = MAX_MESSAGE_BYTES,
    options: Sequence[tuple[str, Any]] = (),
) -> grpc.aio.Channel:
    """An asyncio channel to one of the stack's endpoints."""
    address, tls = split_target(target)
    if tls and not credentials.ca:
        from rdd.transport.pki import PkiError  # cryptography: imported only for TLS

        raise PkiError(f"{target}: a TLS endpoint, and no CA to check it with")
    creds = channel_credentials(credentials, tls=tls)
    opts = _options(max_send_bytes, [*_service_config(target), *options])
    if creds is None:
        channel = grpc.aio.insecure_channel(address, options=opts)
    else:
        channel = grpc.aio.secure_channel(address, creds, options=opts)
    return (
        MetadataChannel(channel, bearer_metadata(credentials.token))
        if credentials.token
        else channel
    )


def with_metadata(
    channel: grpc.aio.Channel, metadata: tuple[tuple[str, str], ...]
) -> grpc.aio.Channel:
    """`channel`, every call also carrying `metadata`; closing it closes `channel`."""
    return MetadataChannel(channel, metadata)


def open_sync_channel(target: str, credentials: Credentials = NO_CREDENTIALS) -> grpc.Channel:
    """A blocking channel without a token (health probes from `rdd svc`)."""
    address, tls = split_target(target)
    creds = channel_credentials(credentials, tls=tls)
    opts = _options(MAX_MESSAGE_BYTES, ())
    if creds is None:
        return grpc.insecure_channel(address, options=opts)
    return grpc.secure_channel(address, creds, options=opts)


def service_credentials(home: Path, service: str, *, tls: bool) -> Credentials:
    """A service's own credentials, from `$RDD_HOME/pki`: its token always;
    with `tls`, the CA and its certificate too. PkiError when damaged."""
    from rdd.transport.pki import Pki

    pki = Pki(home / "pki")
    token = pki.load_token(service)
    if not tls:
        return Credentials(token=token)
    identity = pki.load_identity(service)
    return Credentials(ca=identity.ca, token=token, cert=identity.cert, key=identity.key)


def probe_credentials(home: Path) -> Credentials:
    """What `rdd svc` presents to its own stack's etcd and health checks in TCP mode."""
    from rdd.transport.pki import Pki

    identity = Pki(home / "pki").load_identity("client")
    return Credentials(ca=identity.ca, cert=identity.cert, key=identity.key)
