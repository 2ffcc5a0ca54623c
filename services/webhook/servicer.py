"""AdmissionService servicer: JSON objects in, rdd.admission rules, a
verdict out. Thin: conversion and error mapping only."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf.message import DecodeError

from rdd import admission
from rdd.admission.limactl import LimactlValidator
from rdd.api.admission.v1 import admission_pb2
from rdd.errors import ApiError, ForbiddenError, InvalidError
from rdd.kinds import ALL_KINDS, Kind
from rdd.meta.serialization import from_json, to_json
from rdd.rpc_status import code_for
from rdd.store.etcdclient import EtcdStore
from rdd.store.review import Review

log = logging.getLogger(__name__)


@dataclass
class StoreLookup:
    """What admission may read: backed by etcd reads (the webhook never
    writes), and by limactl for what the installed Lima accepts."""

    store: EtcdStore
    host_arch: str
    limactl: LimactlValidator

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        return await self.store.get(kind, namespace, name)

    async def claimed_namespace(self, kind: Kind, name: str) -> str | None:
        return await self.store.claimed_namespace(kind, name)

    async def lima_problems(self, template: str) -> list[str]:
        return await self.limactl.problems(template)


def _kind_named(name: str) -> Kind:
    for kind in ALL_KINDS:
        if kind.kind == name:
            return kind
    raise InvalidError(f'admission: unknown kind "{name}"')


#: Which objects a review of each operation must carry.
_NEEDS = {"CREATE": ("object",), "UPDATE": ("object", "old_object"), "DELETE": ("old_object",)}


def _review(request: admission_pb2.AdmissionRequest) -> Review:
    kind = _kind_named(request.kind)
    needs = _NEEDS.get(request.operation)
    if needs is None:
        raise InvalidError(f'admission: unknown operation "{request.operation}"')
    missing = [f for f in needs if not getattr(request, f) and not getattr(request, f"{f}_binary")]
    if missing:
        raise InvalidError(f"admission: a {request.operation} review needs {' and '.join(missing)}")
    return Review(
        operation=request.operation,
        kind=kind,
        obj=_object(kind, request.object, request.object_binary, "object"),
        old=_object(kind, request.old_object, request.old_object_binary, "old_object"),
        dry_run=request.dry_run,
        subresource=request.subresource,
    )


def _object(kind: Kind, text: str, binary: bytes, field: str) -> Any | None:
    """One object of a review, from whichever form it came in (None: absent)."""
    if binary:
        obj = kind.message()
        try:
            obj.ParseFromString(binary)
        except DecodeError:
            raise InvalidError(f"admission: {field}_binary is not a {kind.kind}") from None
        return obj
    return from_json(kind, text) if text else None


class AdmissionServicer:
    def __init__(self, lookup: StoreLookup) -> None:
        self._lookup = lookup

    async def Mutate(
        self, request: admission_pb2.AdmissionRequest, context: grpc.aio.ServicerContext
    ) -> admission_pb2.AdmissionResponse:
        return await self._decide("mutate", request, context)

    async def Validate(
        self, request: admission_pb2.AdmissionRequest, context: grpc.aio.ServicerContext
    ) -> admission_pb2.AdmissionResponse:
        return await self._decide("validate", request, context)

    async def Review(
        self, request: admission_pb2.AdmissionRequest, context: grpc.aio.ServicerContext
    ) -> admission_pb2.AdmissionResponse:
        """Mutate then validate in one call: the request is parsed once and the
        mutated object itself is what validation judges."""
        return await self._decide("review", request, context)

    async def _decide(
        self, phase: str, request: admission_pb2.AdmissionRequest, context: grpc.aio.ServicerContext
    ) -> admission_pb2.AdmissionResponse:
        """One verdict; a denial is an answer, a malformed review an error."""
        try:
            review = _review(request)
        except ApiError as error:
            await context.abort(code_for(error), error.message)
            raise
        # A Review's verdict is named by the phase that gave it (validation
        # denies; a mutation that passes is reported as validated).
        webhook = admission.webhook_name(review.kind, "mutate" if phase == "mutate" else "validate")
        try:
            if phase == "validate":
                await admission.validate(review, self._lookup)
                return admission_pb2.AdmissionResponse(allowed=True, webhook=webhook)
            if phase == "mutate":
                mutated = await admission.mutate(review, self._lookup)
            else:
                mutated = await admission.admit(review, self._lookup)
        except ForbiddenError as denied:
            log.info(
                "event=denied webhook=%s kind=%s name=%s/%s operation=%s message=%r",
                webhook,
                request.kind,
                request.namespace,
                request.name,
                request.operation,
                denied.message,
            )
            return admission_pb2.AdmissionResponse(
                allowed=False, webhook=webhook, message=denied.message
            )
        except ApiError as error:
            await context.abort(code_for(error), error.message)
            raise
        response = admission_pb2.AdmissionResponse(allowed=True, webhook=webhook)
        if mutated is not None and review.obj is not None and mutated is not review.obj:
            if request.object_binary:
                response.patched_object_binary = mutated.SerializeToString()
            elif mutated != review.obj:
                response.patched_object = to_json(mutated)
        return response
