"""The one place a service decodes requests: bytes that are not a valid
message for the method are INVALID_ARGUMENT with one log line.

Left to gRPC, a request that fails to parse is UNKNOWN ("Exception
deserializing request!") and a traceback in the service log per call. This
interceptor takes decoding over for every unary-request method: gRPC hands
the handler the raw bytes, and the handler parses them itself. Methods that
stream requests (reflection) are left as gRPC serves them.
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc
from google.protobuf.message import DecodeError

log = logging.getLogger(__name__)

Deserializer = Callable[[bytes], Any]


class DecodingInterceptor(grpc.aio.ServerInterceptor):
    """Decodes unary requests in the handler, so a bad one is a clean refusal."""

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        handler = await continuation(handler_call_details)
        if handler is None or handler.request_streaming or handler.request_deserializer is None:
            return handler
        method = str(handler_call_details.method)
        decode = handler.request_deserializer
        if handler.response_streaming:
            behavior = _streaming(handler.unary_stream, decode, method)
            return handler._replace(request_deserializer=None, unary_stream=behavior)  # type: ignore[attr-defined,no-any-return]
        behavior = _unary(handler.unary_unary, decode, method)
        return handler._replace(request_deserializer=None, unary_unary=behavior)  # type: ignore[attr-defined,no-any-return]


def undecodable_message(method: str, error: Exception) -> str:
    """What the caller is told when its bytes are not a request for `method`. Pure."""
    return f"{method}: the request is not a valid message for this method ({error})"


async def _decoded(
    raw: bytes, decode: Deserializer, method: str, context: grpc.aio.ServicerContext
) -> Any:
    try:
        return decode(raw)
    except DecodeError as error:
        log.info("event=undecodable_request method=%s bytes=%d error=%r", method, len(raw), error)
        await context.abort(grpc.StatusCode.INVALID_ARGUMENT, undecodable_message(method, error))


def _unary(behavior: Any, decode: Deserializer, method: str) -> Any:
    async def handle(raw: bytes, context: grpc.aio.ServicerContext) -> Any:
        request = await _decoded(raw, decode, method, context)
        return await behavior(request, context)

    return handle


def _streaming(behavior: Any, decode: Deserializer, method: str) -> Any:
    """Server streaming comes in two shapes: an async generator (ours), or a
    coroutine that writes to the context (grpc_health's Watch)."""
    if inspect.isasyncgenfunction(behavior):

        async def stream(raw: bytes, context: grpc.aio.ServicerContext) -> AsyncIterator[Any]:
            request = await _decoded(raw, decode, method, context)
            async for response in behavior(request, context):
                yield response

        return stream
    return _unary(behavior, decode, method)
