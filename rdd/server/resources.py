"""One generic servicer for every resource kind: thin methods that convert
requests, call the registry, and map domain errors to status codes.

Registered under each kind's generated service (AppService, LimaVMService,
ConfigMapService, EventService): their method names are the same."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import AsyncIterator, Awaitable
from typing import Any, TypeVar

import grpc

from rdd.api.meta.v1 import meta_pb2
from rdd.errors import ApiError, InvalidError
from rdd.kinds import Kind
from rdd.status import code_for
from rdd.store.registry import Companions, Registry

log = logging.getLogger(__name__)
T = TypeVar("T")


#: etcd revisions are int64, and a watch starts at the revision after the one given.
MAX_REVISION = 2**63 - 2


def watch_start(resource_version: str) -> int:
    """The revision a Watch starts after (0: from now). Pure.

    A resourceVersion is an etcd revision: decimal digits (no sign, spaces or
    other scripts' digits, which `int` would take) within int64, or etcd
    would refuse it with an error of its own; anything else is InvalidError."""
    if not resource_version:
        return 0
    if not _DIGITS.fullmatch(resource_version) or int(resource_version) > MAX_REVISION:
        shown = resource_version if len(resource_version) <= 40 else f"{resource_version[:40]}..."
        raise InvalidError(
            f"resourceVersion: Invalid value: {json.dumps(shown, ensure_ascii=False)}: "
            f"must be a revision between 0 and {MAX_REVISION}"
        )
    return int(resource_version)


_DIGITS = re.compile(r"[0-9]{1,20}")


async def _serve(context: grpc.aio.ServicerContext, call: Awaitable[T]) -> T:
    """Run one registry call; any domain error becomes its status code."""
    try:
        return await call
    except ApiError as error:
        await context.abort(code_for(error), error.message)
        raise  # unreachable: abort raises


class ResourceServicer:
    """Create/Get/List/Update/UpdateStatus/Delete/Watch/ReleaseOwnership for one kind."""

    def __init__(
        self,
        kind: Kind,
        registry: Registry,
        *,
        list_message: type[Any],
        watch_event_message: type[Any],
        companions: Companions | None = None,
    ) -> None:
        self._kind = kind
        self._registry = registry
        self._list_message = list_message
        self._watch_event = watch_event_message
        self._companions = companions

    def _object(self, request: Any) -> Any:
        if not request.HasField("object"):
            raise InvalidError(f"{self._kind.kind}: the request carries no object")
        obj = request.object
        if not self._kind.namespaced:
            obj.metadata.namespace = ""  # as Kubernetes does for cluster-scoped kinds
        elif not obj.metadata.namespace:
            obj.metadata.namespace = "default"
        return obj

    def _namespace(self, namespace: str) -> str:
        return (namespace or "default") if self._kind.namespaced else ""

    async def Create(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        async def create() -> Any:
            return await self._registry.create(
                self._kind,
                self._object(request),
                dry_run=request.dry_run,
                companions=self._companions,
            )

        return await _serve(context, create())

    async def Get(self, request: meta_pb2.GetRequest, context: grpc.aio.ServicerContext) -> Any:
        return await _serve(
            context,
            self._registry.get(self._kind, self._namespace(request.namespace), request.name),
        )

    async def List(self, request: meta_pb2.ListRequest, context: grpc.aio.ServicerContext) -> Any:
        items, revision = await _serve(context, self._registry.list(self._kind, request.namespace))
        return self._list_message(items=items, resource_version=str(revision))

    async def Update(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        async def update() -> Any:
            return await self._registry.update(
                self._kind, self._object(request), dry_run=request.dry_run
            )

        return await _serve(context, update())

    async def UpdateStatus(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        async def update_status() -> Any:
            return await self._registry.update_status(
                self._kind, self._object(request), dry_run=request.dry_run
            )

        return await _serve(context, update_status())

    async def Delete(
        self, request: meta_pb2.DeleteRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        return await _serve(
            context,
            self._registry.delete(
                self._kind,
                self._namespace(request.namespace),
                request.name,
                dry_run=request.dry_run,
                uid=request.uid,
                resource_version=request.resource_version,
            ),
        )

    async def ReleaseOwnership(
        self, request: meta_pb2.ReleaseOwnershipRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        if not request.owner_uid:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, "owner_uid: Required value")
        return await _serve(
            context,
            self._registry.release_ownership(
                self._kind,
                self._namespace(request.namespace),
                request.name,
                owner_uid=request.owner_uid,
                dry_run=request.dry_run,
            ),
        )

    async def Watch(
        self, request: meta_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        try:
            since = watch_start(request.resource_version) or await self._registry.store.revision()
        except ApiError as error:
            await context.abort(code_for(error), error.message)
            return
        events = self._registry.watch(self._kind, request.namespace, since)
        try:
            async for event in events:
                if request.name and event.obj.metadata.name != request.name:
                    continue
                yield self._watch_event(type=event.type, object=event.obj)
        except ApiError as error:
            await context.abort(code_for(error), error.message)
