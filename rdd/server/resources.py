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
from rdd.kinds import Kind, kinds_served_by
from rdd.meta.selection import Selection, filtered_event_type, selection_for
from rdd.meta.selectors import SelectorError
from rdd.rpc_status import abort
from rdd.server.auth import USER, Authenticator, caller_of
from rdd.store.etcdclient import Fence
from rdd.store.registry import Registry
from rdd.store.review import Companions
from rdd.transport.channels import MAX_MESSAGE_BYTES

log = logging.getLogger(__name__)
#: Call metadata that carries a leader's term (rdd.store.fencing.Fence.header).
FENCE_HEADER = "rdd-fence"
T = TypeVar("T")

#: A List reply's items stay this far below the 4 MiB send limit: room for the
#: envelope, and an object of the largest accepted size always fits.
MAX_LIST_PAGE_BYTES = 3 * MAX_MESSAGE_BYTES


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
        await abort(context, error)
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
        authenticator: Authenticator | None = None,
    ) -> None:
        self._kind = kind
        #: Tells which service called ReleaseOwnership; None: no caller is a service.
        self._authenticator = authenticator
        self._registry = registry
        self._list_message = list_message
        self._watch_event = watch_event_message
        self._companions = companions

    def _writer(self, context: grpc.aio.ServicerContext) -> Registry:
        """The registry for this call's writes: fenced when a leader's
        controller sent its term (`rdd-fence`), so a write from an ended term
        is refused in its transaction."""
        for key, value in context.invocation_metadata() or ():
            if key == FENCE_HEADER:
                fence = Fence.parse(value if isinstance(value, str) else value.decode())
                if fence is not None:
                    return self._registry.fenced(fence)
        return self._registry

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
            return await self._writer(context).create(
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
        """One page: `limit` items at most, and never more than fit one reply
        (the continue token says where the next page starts). With selectors,
        only the objects they select, counted as such."""
        selection = await self._selection(request, context)
        page = await _serve(
            context,
            self._registry.list_page(
                self._kind,
                request.namespace,
                limit=request.limit,
                continue_token=getattr(request, "continue"),
                max_bytes=MAX_LIST_PAGE_BYTES,
                keep=None if selection.everything else selection.matches,
            ),
        )
        revision = str(page.revision)
        metadata = meta_pb2.ListMeta(resource_version=revision, **{"continue": page.continue_token})
        return self._list_message(items=page.items, resource_version=revision, metadata=metadata)

    async def _selection(self, request: Any, context: grpc.aio.ServicerContext) -> Selection:
        """The request's label and field selectors; INVALID_ARGUMENT with
        apimachinery's message when either does not parse."""
        try:
            return selection_for(self._kind.kind, request.label_selector, request.field_selector)
        except SelectorError as error:
            await context.abort(grpc.StatusCode.INVALID_ARGUMENT, str(error))
            raise  # unreachable: abort raises

    async def Update(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        async def update() -> Any:
            return await self._writer(context).update(
                self._kind, self._object(request), dry_run=request.dry_run
            )

        return await _serve(context, update())

    async def UpdateStatus(self, request: Any, context: grpc.aio.ServicerContext) -> Any:
        async def update_status() -> Any:
            return await self._writer(context).update_status(
                self._kind, self._object(request), dry_run=request.dry_run
            )

        return await _serve(context, update_status())

    async def Delete(
        self, request: meta_pb2.DeleteRequest, context: grpc.aio.ServicerContext
    ) -> Any:
        return await _serve(
            context,
            self._writer(context).delete(
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
        caller = USER if self._authenticator is None else caller_of(context, self._authenticator)
        owner_kinds = kinds_served_by(caller) if caller != USER else frozenset()
        if not owner_kinds:
            log.warning(
                "event=release_denied peer=%s kind=%s name=%s caller=%s",
                context.peer(),
                self._kind.kind,
                request.name,
                caller,
            )
            await context.abort(
                grpc.StatusCode.PERMISSION_DENIED,
                f"ReleaseOwnership of {self._kind.named(request.name)}: only the owner's "
                "service may release what it owns; delete the owner instead",
            )
        return await _serve(
            context,
            self._writer(context).release_ownership(
                self._kind,
                self._namespace(request.namespace),
                request.name,
                owner_uid=request.owner_uid,
                released_by=owner_kinds,
                and_delete=request.and_delete,
                dry_run=request.dry_run,
            ),
        )

    async def Watch(
        self, request: meta_pb2.WatchRequest, context: grpc.aio.ServicerContext
    ) -> AsyncIterator[Any]:
        try:
            since = watch_start(request.resource_version) or await self._registry.revision()
        except ApiError as error:
            await abort(context, error)
            return
        selection = await self._selection(request, context)
        selecting = not selection.everything
        events = self._registry.watch(self._kind, request.namespace, since, with_prev=selecting)
        try:
            async for event in events:
                if request.name and event.obj.metadata.name != request.name:
                    continue
                kind_of_change: str | None = event.type
                if selecting:
                    before = event.prev is not None and selection.matches(event.prev)
                    kind_of_change = filtered_event_type(
                        event.type, selection.matches(event.obj), before
                    )
                if kind_of_change is not None:
                    yield self._watch_event(type=kind_of_change, object=event.obj)
        except ApiError as error:
            await abort(context, error)
