"""Who is calling: the one server interceptor that checks bearer tokens, and
`caller_of` for the few methods that care which service called.

- TCP: every method but grpc.health.v1.Health needs `authorization: Bearer
  <token>` with the user's token or a service's; without one, or with a
  wrong one, the call is UNAUTHENTICATED before any handler runs.
- Unix socket: the folder's permissions already let only the owner in, so
  no token is needed; one that is presented must still be right.

A refusal is logged once with the peer and the method, never the token.
Tokens are compared in constant time (rdd.transport.pki.Tokens.caller)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

import grpc

from rdd.transport.pki import Tokens

log = logging.getLogger(__name__)

#: The caller of a request that came without a token over a unix socket.
USER = "user"
#: Methods anyone may call: load balancers and `svc status` probe health without a token.
_OPEN_SERVICES = ("/grpc.health.v1.Health/",)
_HEADER = "authorization"
_SCHEME = "bearer "


def _presented(metadata: Iterable[Any] | None) -> str | None:
    """The bearer token in the call's metadata, "" for a malformed header,
    None when there is none (pure)."""
    for key, value in metadata or ():
        if key == _HEADER:
            text = value.decode(errors="replace") if isinstance(value, bytes) else str(value)
            if not text.lower().startswith(_SCHEME):
                return ""
            return text[len(_SCHEME) :].strip()
    return None


class Authenticator:
    """The tokens a server accepts, and whether one is required."""

    def __init__(self, tokens: Tokens, *, require_token: bool) -> None:
        self._tokens = tokens
        self.require_token = require_token

    def caller(self, metadata: Iterable[Any] | None) -> str | None:
        """ "user", a service's name, or None when the call must be refused."""
        token = _presented(metadata)
        if token is None:
            return None if self.require_token else USER
        return self._tokens.caller(token) if token else None


def caller_of(context: grpc.aio.ServicerContext, authenticator: Authenticator) -> str:
    """Who made this (already admitted) call: "user" or a service's name."""
    return authenticator.caller(context.invocation_metadata()) or USER


class AuthInterceptor(grpc.aio.ServerInterceptor):
    """Refuses, as UNAUTHENTICATED, every call the Authenticator does not admit."""

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def intercept_service(
        self,
        continuation: Callable[[grpc.HandlerCallDetails], Awaitable[grpc.RpcMethodHandler]],
        handler_call_details: grpc.HandlerCallDetails,
    ) -> grpc.RpcMethodHandler:
        method = handler_call_details.method
        if method.startswith(_OPEN_SERVICES):
            return await continuation(handler_call_details)
        if self._authenticator.caller(handler_call_details.invocation_metadata) is not None:
            return await continuation(handler_call_details)
        handler = await continuation(handler_call_details)
        return _refusing(handler, method)


def _refusing(handler: grpc.RpcMethodHandler | None, method: str) -> grpc.RpcMethodHandler:
    """A handler of the same shape as `handler` that ends the call as
    UNAUTHENTICATED; the request is never decoded."""

    async def refuse(request: Any, context: grpc.aio.ServicerContext) -> None:
        log.warning("event=unauthenticated peer=%s method=%s", context.peer(), method)
        await context.abort(
            grpc.StatusCode.UNAUTHENTICATED,
            "missing or invalid bearer token: send 'authorization: Bearer <token>' "
            "with the token from the stack's client configuration",
        )

    async def refuse_stream(request: Any, context: grpc.aio.ServicerContext) -> Any:
        await refuse(request, context)
        yield  # pragma: no cover - abort raises

    streaming_request = handler is not None and handler.request_streaming
    streaming_response = handler is not None and handler.response_streaming
    if streaming_request and streaming_response:
        return grpc.stream_stream_rpc_method_handler(refuse_stream)
    if streaming_request:
        return grpc.stream_unary_rpc_method_handler(refuse)
    if streaming_response:
        return grpc.unary_stream_rpc_method_handler(refuse_stream)
    return grpc.unary_unary_rpc_method_handler(refuse)
