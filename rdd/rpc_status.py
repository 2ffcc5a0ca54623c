"""Domain errors <-> gRPC status codes, in both directions, in one table.

Servers abort with `code_for(error)`; clients turn an AioRpcError back into
the domain error so callers (controllers, CLI) catch one family."""

from __future__ import annotations

from typing import Any

import grpc

from rdd.errors import (
    AlreadyExistsError,
    ApiError,
    ConflictError,
    ForbiddenError,
    GoneError,
    InvalidError,
    NameTakenError,
    NotFoundError,
    UnavailableError,
)

_CODES: list[tuple[type[ApiError], grpc.StatusCode]] = [
    (NotFoundError, grpc.StatusCode.NOT_FOUND),
    (AlreadyExistsError, grpc.StatusCode.ALREADY_EXISTS),
    (ConflictError, grpc.StatusCode.ABORTED),
    (InvalidError, grpc.StatusCode.INVALID_ARGUMENT),
    (ForbiddenError, grpc.StatusCode.PERMISSION_DENIED),
    (UnavailableError, grpc.StatusCode.UNAVAILABLE),
    (GoneError, grpc.StatusCode.OUT_OF_RANGE),
]


#: Trailing metadata naming an error type the status code alone cannot tell
#: (a NameTakenError is ALREADY_EXISTS too), so clients raise that type.
ERROR_TYPE_KEY = "rdd-error-type"
_SUBTYPES: dict[str, type[ApiError]] = {NameTakenError.__name__: NameTakenError}


async def abort(context: grpc.aio.ServicerContext, error: ApiError) -> None:
    """End the call with `error`'s status code and message (raises)."""
    name = type(error).__name__
    trailing = ((ERROR_TYPE_KEY, name),) if name in _SUBTYPES else ()
    await context.abort(code_for(error), error.message, trailing_metadata=trailing)


def code_for(error: ApiError) -> grpc.StatusCode:
    for error_type, code in _CODES:
        if isinstance(error, error_type):
            return code
    return grpc.StatusCode.INTERNAL


def error_from_rpc(exc: grpc.aio.AioRpcError, *, what: str = "") -> ApiError:
    """The domain error a failed call stands for; transport failures are
    UnavailableError (the service is down or too slow)."""
    code = exc.code()
    details = exc.details() or code.name
    trailing: Any = exc.trailing_metadata() or ()  # aio Metadata: (key, value) pairs
    for key, value in trailing:
        subtype = _SUBTYPES.get(str(value)) if key == ERROR_TYPE_KEY else None
        if subtype is not None:
            return subtype(details)
    for error_type, error_code in _CODES:
        if code == error_code:
            return error_type(details)
    if code == grpc.StatusCode.DEADLINE_EXCEEDED:
        return UnavailableError(f"{what or 'the service'} did not answer in time")
    if code == grpc.StatusCode.RESOURCE_EXHAUSTED:
        return InvalidError(f"request too large: {details}")
    return ApiError(f"{code.name}: {details}")
