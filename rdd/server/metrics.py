"""Prometheus metrics of a service: every RPC counted and timed under
go-grpc-prometheus's names (`grpc_server_started_total`,
`grpc_server_handled_total`, `grpc_server_handling_seconds`), and, with
RDD_METRICS (`rdd svc start --metrics`), an HTTP endpoint on a free
loopback port serving them with the controllers' (rdd.runtime.metrics) in
Prometheus' text format.

The interceptor comes first in the server's list, so a call the bearer-token
check refuses is counted too, as UNAUTHENTICATED."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
import prometheus_client
from prometheus_client import Counter, Histogram

STARTED = Counter(
    "grpc_server_started_total",
    "Total number of RPCs started on the server.",
    ["grpc_type", "grpc_service", "grpc_method"],
)
HANDLED = Counter(
    "grpc_server_handled_total",
    "Total number of RPCs completed on the server, regardless of success or failure.",
    ["grpc_type", "grpc_service", "grpc_method", "grpc_code"],
)
HANDLING_SECONDS = Histogram(
    "grpc_server_handling_seconds",
    "Histogram of response latency (seconds) of gRPC that had been application-level "
    "handled by the server.",
    ["grpc_type", "grpc_service", "grpc_method"],
)


def split_method(method: str) -> tuple[str, str]:
    """`/pkg.Service/Method` -> (`pkg.Service`, `Method`) (pure)."""
    service, _, name = method.lstrip("/").rpartition("/")
    return service, name


def rpc_type(handler: grpc.RpcMethodHandler) -> str:
    """go-grpc-prometheus's grpc_type label (pure)."""
    if handler.request_streaming:
        return "bidi_stream" if handler.response_streaming else "client_stream"
    return "server_stream" if handler.response_streaming else "unary"


def code_name(context: grpc.aio.ServicerContext, error: BaseException | None) -> str:
    """The status a finished call ended with, as go-grpc-prometheus spells it
    (`OK`, `NOT_FOUND`): what the servicer set or aborted with; UNKNOWN for
    an exception that escaped it; CANCELLED when the client went away."""
    code = context.code()
    if isinstance(code, grpc.StatusCode):
        return code.name
    if isinstance(error, BaseException) and not isinstance(error, Exception):
        return grpc.StatusCode.CANCELLED.name  # asyncio.CancelledError
    return grpc.StatusCode.UNKNOWN.name if error is not None else grpc.StatusCode.OK.name


class _Call:
    """The labels of one call and the moment it started."""

    def __init__(self, kind: str, method: str) -> None:
        self.labels = (kind, *split_method(method))
        self.began = time.monotonic()
        STARTED.labels(*self.labels).inc()

    def finish(self, context: grpc.aio.ServicerContext, error: BaseException | None) -> None:
        HANDLED.labels(*self.labels, code_name(context, error)).inc()
        HANDLING_SECONDS.labels(*self.labels).observe(time.monotonic() - self.began)


class MetricsInterceptor(grpc.aio.ServerInterceptor):
    """Counts and times every call, by service, method and status code."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None:
            return handler
        return _measured(handler, handler_call_details.method)


def _measured(handler: grpc.RpcMethodHandler, method: str) -> grpc.RpcMethodHandler:
    kind = rpc_type(handler)
    codecs: dict[str, Any] = {
        "request_deserializer": handler.request_deserializer,
        "response_serializer": handler.response_serializer,
    }
    if handler.response_streaming:
        behavior: Any = handler.stream_stream if handler.request_streaming else handler.unary_stream

        async def streaming(request: Any, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            call = _Call(kind, method)
            error: BaseException | None = None
            try:
                async for response in behavior(request, context):
                    yield response
            except BaseException as exc:
                error = exc
                raise
            finally:
                call.finish(context, error)

        if handler.request_streaming:
            return grpc.stream_stream_rpc_method_handler(streaming, **codecs)
        return grpc.unary_stream_rpc_method_handler(streaming, **codecs)

    unary_behavior: Any = handler.stream_unary if handler.request_streaming else handler.unary_unary

    async def unary(request: Any, context: grpc.aio.ServicerContext) -> Any:
        call = _Call(kind, method)
        error: BaseException | None = None
        try:
            return await unary_behavior(request, context)
        except BaseException as exc:
            error = exc
            raise
        finally:
            call.finish(context, error)

    if handler.request_streaming:
        return grpc.stream_unary_rpc_method_handler(unary, **codecs)
    return grpc.unary_unary_rpc_method_handler(unary, **codecs)


class MetricsEndpoint:
    """`/metrics` over HTTP on 127.0.0.1, a free port (a thread of its own)."""

    def __init__(self) -> None:
        prometheus_client.disable_created_metrics()  # as the Go clients expose them
        self._server, self._thread = prometheus_client.start_http_server(0, addr="127.0.0.1")

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/metrics"

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
