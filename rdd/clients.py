"""Typed async clients for our resource services, used by controllers in
other services and by the CLI. Every unary call has a deadline; failures
come back as domain errors (rdd.errors), never raw gRPC errors."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import grpc

from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.api.meta.v1 import meta_pb2
from rdd.errors import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    NameTakenError,
    NotFoundError,
)
from rdd.kinds import LIMAVM, Kind
from rdd.retry import CONFLICT_ATTEMPTS, retry_on_conflict
from rdd.rpc_status import error_from_rpc

#: Items per List page when a client lists everything (kubectl's --chunk-size).
DEFAULT_CHUNK_SIZE = 500
_LIST_RESTARTS = 3


class ResourceClient:
    """create/get/list/update/update_status/delete/watch/release_ownership of one kind."""

    def __init__(self, kind: Kind, channel: grpc.aio.Channel, *, timeout: float = 10.0) -> None:
        self.kind = kind
        self._stub = kind.stub(channel)
        self._write_request: Any = kind.write_request
        self._timeout = timeout

    async def _call(self, method: str, request: Any) -> Any:
        try:
            return await getattr(self._stub, method)(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc, what=f"the {self.kind.kind} service") from None

    async def create(self, obj: Any, *, dry_run: bool = False) -> Any:
        return await self._call("Create", self._write_request(object=obj, dry_run=dry_run))

    async def get(self, name: str, namespace: str = "") -> Any:
        return await self._call("Get", meta_pb2.GetRequest(name=name, namespace=namespace))

    async def list(
        self,
        namespace: str = "",
        *,
        limit: int | None = None,
        continue_token: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> Any:
        """One page when `limit` or `continue_token` is given (its
        metadata.continue names the next); otherwise the whole list, paged.
        The selectors are evaluated by the server."""
        selectors = {"label_selector": label_selector, "field_selector": field_selector}
        if limit is None and not continue_token:
            return await self.list_all(
                namespace, label_selector=label_selector, field_selector=field_selector
            )
        request = meta_pb2.ListRequest(
            namespace=namespace, limit=limit or 0, **{"continue": continue_token}, **selectors
        )
        return await self._call("List", request)

    async def list_all(
        self,
        namespace: str = "",
        *,
        chunk_size: int = DEFAULT_CHUNK_SIZE,
        label_selector: str = "",
        field_selector: str = "",
    ) -> Any:
        """Every (selected) object, fetched `chunk_size` at a time (0: as many
        as fit a reply) and consistent at the first page's revision, as one
        List message. An expired continue token (a compaction between pages)
        starts the list over, a few times at most."""
        selectors = {"label_selector": label_selector, "field_selector": field_selector}
        for _ in range(_LIST_RESTARTS - 1):
            with contextlib.suppress(GoneError):
                return await self._pages(namespace, chunk_size, selectors)
        return await self._pages(namespace, chunk_size, selectors)

    async def _pages(self, namespace: str, chunk_size: int, selectors: dict[str, str]) -> Any:
        page = await self.list(namespace, limit=chunk_size, **selectors)
        whole = type(page)()
        whole.CopyFrom(page)
        while token := getattr(page.metadata, "continue"):
            page = await self.list(namespace, limit=chunk_size, continue_token=token, **selectors)
            whole.items.extend(page.items)
        whole.metadata.ClearField("continue")
        return whole

    async def update(self, obj: Any, *, dry_run: bool = False) -> Any:
        return await self._call("Update", self._write_request(object=obj, dry_run=dry_run))

    async def update_status(self, obj: Any, *, dry_run: bool = False) -> Any:
        return await self._call("UpdateStatus", self._write_request(object=obj, dry_run=dry_run))

    async def delete(
        self, name: str, namespace: str = "", *, dry_run: bool = False, uid: str = ""
    ) -> Any:
        request = meta_pb2.DeleteRequest(name=name, namespace=namespace, dry_run=dry_run, uid=uid)
        return await self._call("Delete", request)

    async def release_ownership(
        self,
        name: str,
        namespace: str,
        *,
        owner_uid: str,
        and_delete: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Release `owner_uid`'s hold on the child; with `and_delete`, delete
        it in the same write (one round trip for a finalizing owner)."""
        request = meta_pb2.ReleaseOwnershipRequest(
            name=name,
            namespace=namespace,
            owner_uid=owner_uid,
            and_delete=and_delete,
            dry_run=dry_run,
        )
        return await self._call("ReleaseOwnership", request)

    async def watch(
        self,
        namespace: str = "",
        *,
        resource_version: str = "",
        name: str = "",
        label_selector: str = "",
        field_selector: str = "",
    ) -> AsyncIterator[Any]:
        """Watch events (type, object) until the caller stops iterating; with
        selectors, of the selected objects only (entering: ADDED, leaving: DELETED)."""
        request = meta_pb2.WatchRequest(
            namespace=namespace,
            resource_version=resource_version,
            name=name,
            label_selector=label_selector,
            field_selector=field_selector,
        )
        call = self._stub.Watch(request)
        try:
            async for event in call:
                yield event
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc, what=f"the {self.kind.kind} service") from None
        finally:
            call.cancel()


class LimaVMClient(ResourceClient):
    """The LimaVM resource methods plus Logs and Info (LimaVMService only)."""

    def __init__(self, channel: grpc.aio.Channel, *, timeout: float = 10.0) -> None:
        super().__init__(LIMAVM, channel, timeout=timeout)

    async def info(self) -> limavm_pb2.ServiceInfo:
        """The driver, LIMA_HOME and host arch the LimaVM service runs with."""
        return await self._call("Info", limavm_pb2.InfoRequest())  # type: ignore[no-any-return]

    async def logs(
        self, name: str, namespace: str = "", *, follow: bool = False
    ) -> AsyncIterator[limavm_pb2.LogLine]:
        """The host agent's log lines; with `follow`, until the LimaVM is gone
        or the caller stops iterating. Without it the whole call has the deadline."""
        request = limavm_pb2.LogsRequest(name=name, namespace=namespace, follow=follow)
        call = self._stub.Logs(request, timeout=None if follow else self._timeout)
        try:
            async for chunk in call:
                for line in chunk.lines:
                    yield line
        except grpc.aio.AioRpcError as exc:
            raise error_from_rpc(exc, what=f"the {self.kind.kind} service") from None
        finally:
            call.cancel()


#: What create_or_update did: kubectl's words for apply.
CREATED, UPDATED, UNCHANGED = "created", "updated", "unchanged"


async def create_or_update(
    client: ResourceClient,
    name: str,
    namespace: str,
    *,
    build: Callable[[], Any],
    mutate: Callable[[Any], Any | None],
    read: Callable[[], Awaitable[Any]] | None = None,
    dry_run: bool = False,
    attempts: int = CONFLICT_ATTEMPTS,
) -> tuple[str, Any]:
    """controller-runtime's CreateOrUpdate over our API: read the object
    (`read()`, a controller's informer copy, or a Get); when it is missing
    (NotFoundError) create `build()`, else write `mutate(live)` unless that
    is None (nothing to change). An object created or changed meanwhile
    (AlreadyExists, Conflict) is read again, at most `attempts` times; a
    name another namespace holds (NameTakenError) is the answer at once.
    Returns (created|updated|unchanged, the object as the server has it)."""

    async def attempt() -> tuple[str, Any]:
        try:
            live = await (read() if read is not None else client.get(name, namespace))
        except NotFoundError:
            try:
                return CREATED, await client.create(build(), dry_run=dry_run)
            except NameTakenError:
                raise
            except AlreadyExistsError as exc:
                raise ConflictError(exc.message) from None
        changed = mutate(live)
        if changed is None:
            return UNCHANGED, live
        return UPDATED, await client.update(changed, dry_run=dry_run)

    return await retry_on_conflict(attempt, attempts)
