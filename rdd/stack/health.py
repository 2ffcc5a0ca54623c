"""Health of a stack's components, as `rdd svc status` reports it: the gRPC
health protocol for services, /health for etcd. Each probe is bounded (1 s).

Called by the supervisor."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rdd.stack.etcd import is_healthy
from rdd.transport.channels import NO_CREDENTIALS, Credentials, open_sync_channel
from rdd.transport.pki import Pki

SERVING = "SERVING"
NOT_SERVING = "NOT_SERVING"
#: A process is there but does not answer.
UNREACHABLE = "UNREACHABLE"
#: No process.
STOPPED = "STOPPED"


def service_health(
    address: str, *, credentials: Credentials = NO_CREDENTIALS, timeout: float = 1.0
) -> str:
    """SERVING, NOT_SERVING, ... from grpc.health.v1 for the server as a
    whole. Health needs no token; over TLS, `credentials` holds the CA."""
    if not address:
        return UNREACHABLE
    with open_sync_channel(address, credentials) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code in (None, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return UNREACHABLE
            return str(code.name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def etcd_health(endpoints: str, *, pki: Pki | None = None) -> str:
    """SERVING when any of the (comma separated) endpoints reports healthy;
    `pki` holds the client certificate of a TCP-mode etcd."""
    for endpoint in endpoints.split(","):
        endpoint = endpoint.strip()
        if endpoint and "://" not in endpoint:
            endpoint = f"http://{endpoint}"
        if endpoint and is_healthy(endpoint, pki=pki):
            return SERVING
    return UNREACHABLE
