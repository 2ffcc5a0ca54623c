"""`rdd version [-o json|yaml] [--client]` and `rdd --version`.

The client's build comes from rdd.version; each service's from its
rdd.meta.v1.VersionService (every service process serves one), asked over
the same channels and credentials as every other call, so it answers for
the stack the client configuration names, local or remote. As `kubectl
version`: the client's version is printed even when no server answers, and
then the error (exit 1)."""

from __future__ import annotations

import argparse
import json
from typing import Any

import grpc
from google.protobuf import json_format

from rdd.api.meta.v1 import version_pb2, version_pb2_grpc
from rdd.cli.arguments import UsageError
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.output import to_yaml
from rdd.cli.parsing import Words
from rdd.errors import ApiError
from rdd.rpc_status import error_from_rpc
from rdd.transport.clientconfig import CLIENT_ENDPOINTS
from rdd.version import release, version_info

OUTPUTS = ("json", "yaml")


def version_line() -> str:
    """`rdd --version`."""
    return f"rdd v{release()}"


def document(client: dict[str, Any], servers: dict[str, dict[str, Any]]) -> dict[str, Any]:
    """`-o json|yaml` (pure): clientVersion, and serverVersions when asked."""
    shown: dict[str, Any] = {"clientVersion": client}
    if servers:
        shown["serverVersions"] = servers
    return shown


def text(client: dict[str, Any], servers: dict[str, dict[str, Any]]) -> str:
    """The default output (pure): `Client Version: v0.1.0`, then one
    `Server Version (app): v0.1.0` line per service."""
    lines = [f"Client Version: {client['gitVersion']}"]
    lines += [f"Server Version ({name}): {v.get('gitVersion', '')}" for name, v in servers.items()]
    return "\n".join(lines) + "\n"


async def server_version(conn: Connection, service: str) -> dict[str, Any]:
    stub = version_pb2_grpc.VersionServiceStub(conn.channel(service))  # type: ignore[no-untyped-call]
    try:
        reply = await stub.Get(version_pb2.GetVersionRequest(), timeout=conn.timeout)
    except grpc.aio.AioRpcError as exc:
        raise error_from_rpc(exc, what=f"the {service} service") from None
    return json_format.MessageToDict(reply)


async def version(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    if args.output is not None and args.output not in OUTPUTS:
        raise UsageError(f"--output must be 'yaml' or 'json', not {args.output!r}")
    client = version_info()
    servers: dict[str, dict[str, Any]] = {}
    failure: UsageError | ApiError | None = None
    if not args.client:
        try:
            for service in CLIENT_ENDPOINTS:
                servers[service] = await server_version(conn, service)
        except (UsageError, ApiError) as exc:
            failure = exc
            servers = {}
    if args.output == "json":
        console.write(json.dumps(document(client, servers), indent=2) + "\n")
    elif args.output == "yaml":
        console.write(to_yaml(document(client, servers)))
    else:
        console.write(text(client, servers))
    if failure is not None:
        raise failure
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("-o", "--output", help="json|yaml")
    parser.add_argument("--client", action="store_true", help="only the client's version")
    parser.set_defaults(run_async=version)
