"""Calls the admission service's Review (mutate, then validate, in one round
trip) for every create, update and delete; its Admit callable is what the
registry runs before committing (status and ownership-release writes are
not admitted). The objects travel as binary protobuf, not JSON.

If admission is unreachable the write fails with UnavailableError and
nothing is stored."""

from __future__ import annotations

from typing import Any

import grpc

from rdd.api.admission.v1 import admission_pb2, admission_pb2_grpc
from rdd.errors import ForbiddenError, UnavailableError
from rdd.rpc_status import error_from_rpc
from rdd.store.review import Review

ADMISSION_DEADLINE_SECONDS = 10.0


class AdmissionClient:
    def __init__(self, channel: grpc.aio.Channel) -> None:
        self._stub = admission_pb2_grpc.AdmissionServiceStub(channel)

    async def admit(self, review: Review) -> Any:
        reviewed = await self._call("Review", _request(review))
        if review.obj is None or not reviewed.patched_object_binary:
            return review.obj
        patched = review.kind.message()
        patched.ParseFromString(reviewed.patched_object_binary)
        return patched

    async def _call(
        self, method: str, request: admission_pb2.AdmissionRequest
    ) -> admission_pb2.AdmissionResponse:
        try:
            response = await getattr(self._stub, method)(
                request, timeout=ADMISSION_DEADLINE_SECONDS
            )
        except grpc.aio.AioRpcError as exc:
            error = error_from_rpc(exc, what="the admission service")
            if isinstance(error, UnavailableError):
                raise UnavailableError(
                    f"admission is unavailable, nothing was written: {error.message}"
                ) from None
            raise error from None  # e.g. a review too large: Invalid, not Unavailable
        if not response.allowed:
            raise ForbiddenError(
                f'admission webhook "{response.webhook}" denied the request: {response.message}'
            )
        return response


def _request(review: Review) -> admission_pb2.AdmissionRequest:
    subject = review.obj if review.obj is not None else review.old
    assert subject is not None, "a review is about an object"
    return admission_pb2.AdmissionRequest(
        operation=review.operation,
        kind=review.kind.kind,
        namespace=subject.metadata.namespace,
        name=subject.metadata.name,
        object_binary=review.obj.SerializeToString() if review.obj is not None else b"",
        old_object_binary=review.old.SerializeToString() if review.old is not None else b"",
        dry_run=review.dry_run,
        subresource=review.subresource,
    )
