"""Domain errors every layer raises and one place maps to gRPC status codes.

Each carries the message a person reads; `rdd` prints it in kubectl's shape.
"""

from __future__ import annotations


class ApiError(Exception):
    """Base: an API call that did not happen, with a message for people."""

    #: kubectl's reason word for `Error from server (<reason>): ...`.
    reason = "InternalError"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class NotFoundError(ApiError):
    reason = "NotFound"


class AlreadyExistsError(ApiError):
    reason = "AlreadyExists"


class ConflictError(ApiError):
    """A resourceVersion compare-and-swap that lost: re-read and retry."""

    reason = "Conflict"


class InvalidError(ApiError):
    """Schema or field validation failed; nothing was written."""

    reason = "Invalid"


class ForbiddenError(ApiError):
    """Admission (or an ownership rule) denied the request."""

    reason = "Forbidden"


class UnavailableError(ApiError):
    """A dependency (etcd, admission, another service) is down; nothing written."""

    reason = "ServiceUnavailable"


class GoneError(ApiError):
    """A watch asked for a revision etcd has compacted away: relist."""

    reason = "Expired"


class NameTakenError(AlreadyExistsError):
    """A name unique across namespaces (a LimaVM's) is held in another namespace."""

    @classmethod
    def held(cls, named: str, namespace: str) -> NameTakenError:
        """`named` (kind.named(name)) is held in `namespace`: the one wording."""
        return cls(f'{named} is already used in namespace "{namespace}"')
