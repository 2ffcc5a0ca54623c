"""Health of a stack's components, as `rdd svc status` reports it: the gRPC
health protocol for services, /health for etcd. Each probe is bounded (1 s).

Called by the supervisor."""

from __future__ import annotations

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

from rdd.stack.etcd import is_healthy

SERVING = "SERVING"
NOT_SERVING = "NOT_SERVING"
#: A process is there but does not answer.
UNREACHABLE = "UNREACHABLE"
#: No process.
STOPPED = "STOPPED"

_OPTIONS = [("grpc.enable_http_proxy", 0)]


def service_health(address: str, *, timeout: float = 1.0) -> str:
    """SERVING, NOT_SERVING, ... from grpc.health.v1 for the server as a whole."""
    if not address:
        return UNREACHABLE
    with grpc.insecure_channel(address, options=_OPTIONS) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            response = stub.Check(health_pb2.HealthCheckRequest(service=""), timeout=timeout)
        except grpc.RpcError as exc:
            code = exc.code() if isinstance(exc, grpc.Call) else None
            if code in (None, grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED):
                return UNREACHABLE
            return str(code.name)
    return str(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))


def etcd_health(endpoints: str) -> str:
    """SERVING when any of the (comma separated) endpoints reports healthy."""
    for endpoint in endpoints.split(","):
        host_port = endpoint.strip().split("://")[-1].rstrip("/")
        if host_port and is_healthy(host_port):
            return SERVING
    return UNREACHABLE
