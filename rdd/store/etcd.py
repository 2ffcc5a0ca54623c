"""The only code that talks to etcd: reads, compare-and-swap transactions,
the owner index, name claims, leases for Events, and resumable watches.

Objects are stored as serialized protobuf; resourceVersion is never stored,
it is the key's mod_revision, filled in on every read.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aetcd
import grpc
from aetcd import rpc, watcher

from rdd.errors import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)
from rdd.kinds import Kind
from rdd.meta.owners import owner_uids
from rdd.store import paging
from rdd.store.keys import KeyLayout, ObjectRef, prefix_end
from rdd.store.orphans import Orphan, StoredKey, find_orphans
from rdd.store.paging import Page
from rdd.transport.channels import NO_CREDENTIALS, Credentials, open_channel

log = logging.getLogger(__name__)

#: Names for builtins the classes below shadow with their own `list` method.
Objects = list[Any]
Ops = list[Any]
Keys = list[StoredKey]

#: etcd refuses requests over 1.5 MiB; objects stay well below.
MAX_OBJECT_BYTES = 1024 * 1024
#: A whole List read for ourselves (informers) comes in pages this large.
_WHOLE_LIST_PAGE_BYTES = 16 * MAX_OBJECT_BYTES
#: Keys per etcd range when scanning a section (claims are tiny, keys-only reads too).
_SCAN_BATCH = 1000
EVENT_LEASE_SECONDS = 3600
_LEASE_REUSE_SECONDS = 60


@dataclass(frozen=True)
class Write:
    """One object's part of a transaction.

    old=None: create (the key must not exist). new=None: remove the key.
    Otherwise a compare-and-swap against old's resourceVersion.
    """

    kind: Kind
    old: Any | None
    new: Any | None
    #: Attach the key to a lease that expires (Events).
    expires: bool = False


@dataclass(frozen=True)
class Fence:
    """One leader's term: a write that carries it commits only while the
    election key is still the one this leader created, at `revision`. An
    ex-leader that wakes after its lease expired cannot write (the compare
    fails in the same transaction), which a lock alone does not ensure."""

    key: bytes
    revision: int

    def header(self) -> str:
        """How a fence travels in call metadata (`rdd-fence`) (pure)."""
        return f"{self.revision}:{self.key.decode()}"

    @classmethod
    def parse(cls, text: str) -> Fence | None:
        revision, _, key = text.partition(":")
        if not revision.isdigit() or not key:
            return None
        return cls(key=key.encode(), revision=int(revision))


class FencedError(ConflictError):
    """A write carried a fence whose term has ended: its leader lost the lease."""


@dataclass(frozen=True)
class StoreEvent:
    """ADDED, MODIFIED or DELETED, with the object as of `revision`."""

    type: str
    obj: Any
    revision: int
    #: The object before this change (MODIFIED only, and only when the watch
    #: was asked `with_prev`): a selecting watch tells entering from leaving.
    prev: Any | None = None


class _Client(aetcd.Client):
    """aetcd's client on a channel from rdd.transport (unix socket, or TLS
    with a client certificate), which aetcd itself cannot open."""

    def __init__(self, target: str, credentials: Credentials, *, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self._target = target
        self._credentials = credentials

    async def connect(self) -> None:
        if self._connected.is_set():
            return
        # Replies may hold many objects; the transport's limits apply otherwise.
        self.channel = open_channel(
            self._target,
            self._credentials,
            options=[("grpc.max_receive_message_length", 64 * 1024 * 1024)],
        )
        self.kvstub = rpc.KVStub(self.channel)
        self.clusterstub = rpc.ClusterStub(self.channel)
        self.leasestub = rpc.LeaseStub(self.channel)
        self.maintenancestub = rpc.MaintenanceStub(self.channel)
        self._watcher = watcher.Watcher(
            rpc.WatchStub(self.channel), timeout=self._timeout, metadata=self.metadata
        )
        self._connected.set()


class EtcdStore:
    """Kubernetes-registry storage primitives over one etcd client."""

    def __init__(self, client: aetcd.Client, layout: KeyLayout, timeout: float) -> None:
        self._client = client
        self._layout = layout
        self._timeout = timeout
        self._lease: tuple[int, float] | None = None

    @classmethod
    async def connect(
        cls,
        endpoints: str,
        *,
        prefix: str = "/rdd",
        timeout: float = 5.0,
        credentials: Credentials = NO_CREDENTIALS,
    ) -> EtcdStore:
        """`endpoints` is etcd's comma list (`unix:///path`, `https://HOST:PORT`,
        `http://HOST:PORT`): one client over all of them, which moves to
        another member when one is down. UnavailableError when none answers."""
        client = _Client(endpoints, credentials, timeout=timeout)
        store = cls(client, KeyLayout(prefix), timeout)
        try:
            await store.revision()
        except UnavailableError as exc:
            await client.close()
            raise UnavailableError(f"etcd is unreachable at {endpoints}: {exc}") from None
        return store

    async def close(self) -> None:
        await self._client.close()

    @property
    def layout(self) -> KeyLayout:
        return self._layout

    async def _call(self, method: str, request: Any) -> Any:
        await self._client.connect()
        stub = self._client.kvstub
        try:
            return await getattr(stub, method)(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise _store_error(exc) from None

    async def revision(self) -> int:
        """The store's current revision (a cheap read of an absent key)."""
        response = await self._call(
            "Range", rpc.RangeRequest(key=self._layout.prefix.encode() + b"/~", count_only=True)
        )
        return int(response.header.revision)

    def _decode(self, kind: Kind, kv: Any) -> Any:
        obj = kind.message()
        obj.ParseFromString(kv.value)
        obj.metadata.resource_version = str(kv.mod_revision)
        return obj

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        key = self._layout.object_key(kind, namespace, name)
        response = await self._call("Range", rpc.RangeRequest(key=key))
        return self._decode(kind, response.kvs[0]) if response.kvs else None

    async def list(self, kind: Kind, namespace: str = "") -> tuple[Objects, int]:
        """Every object of the kind (in one namespace when given) and the
        revision the list was read at: a watch resumes from it. Read page by
        page at that one revision (GoneError if it is compacted meanwhile)."""
        page = await self.list_page(kind, namespace, max_bytes=_WHOLE_LIST_PAGE_BYTES)
        items, revision = list(page.items), page.revision
        while page.continue_token:
            page = await self.list_page(
                kind,
                namespace,
                continue_token=page.continue_token,
                max_bytes=_WHOLE_LIST_PAGE_BYTES,
            )
            items.extend(page.items)
        return items, revision

    async def list_page(
        self,
        kind: Kind,
        namespace: str = "",
        *,
        limit: int = 0,
        continue_token: str = "",
        max_bytes: int,
        keep: Callable[[Any], bool] | None = None,
    ) -> Page:
        """One page of a List, Kubernetes-style: at most `limit` items (0: no
        count limit) whose encoded size stays under `max_bytes` (one item at
        least), in key order, at the revision the first page was read at
        (`continue_token` carries it). InvalidError for a token this store did
        not issue, GoneError once its revision is compacted. With `keep` (a
        selector) only the objects it keeps are returned and counted: the scan
        goes on past the rest, and the token resumes after the last key read,
        as Kubernetes' filtered lists do."""
        if limit < 0:
            raise InvalidError(f"limit: Invalid value: {limit}: must be greater than or equal to 0")
        prefix = self._layout.list_prefix(kind, namespace)
        end = prefix_end(prefix)
        revision, start, last_key = 0, prefix, b""
        if continue_token:
            continuation = paging.decode_token(continue_token)
            revision, start = continuation.revision, paging.start_key(continuation, prefix)
        items: Objects = []
        size = largest = 0
        while True:
            # Filtered out objects do not count, so a filtered page reads full batches.
            limit_left = limit - len(items) if limit and keep is None else 0
            batch = paging.range_batch(limit_left, max_bytes - size, largest)
            request = rpc.RangeRequest(key=start, range_end=end, revision=revision, limit=batch)
            try:
                response = await self._call("Range", request)
            except GoneError as error:
                if not continue_token:
                    raise
                raise paging.continued_read_error(error, revision) from None
            revision = revision or int(response.header.revision)
            for index, kv in enumerate(response.kvs):
                obj = self._decode(kind, kv)
                if keep is not None and not keep(obj):
                    last_key = kv.key
                    continue
                cost = paging.item_cost(obj)
                if items and size + cost > max_bytes:
                    # This one does not fit: the next page starts with it.
                    return Page(items, revision, paging.encode_token(revision, last_key, prefix))
                items.append(obj)
                size, largest, last_key = size + cost, max(largest, cost), kv.key
                if limit and len(items) == limit:
                    more = index + 1 < len(response.kvs) or bool(response.more)
                    token = paging.encode_token(revision, kv.key, prefix) if more else ""
                    return Page(items, revision, token)
            if not response.more or not response.kvs:
                return Page(items, revision, "")
            start = response.kvs[-1].key + b"\0"

    async def owned_by(self, owner_uid: str) -> Sequence[ObjectRef]:
        """Everything whose ownerReferences name this uid, from the owner index."""
        prefix = self._layout.owner_index_prefix(owner_uid)
        response = await self._call(
            "Range",
            rpc.RangeRequest(key=prefix, range_end=prefix_end(prefix), keys_only=True),
        )
        return [self._layout.parse_owner_index_key(kv.key) for kv in response.kvs]

    async def claimed_namespace(self, kind: Kind, name: str) -> str | None:
        """Namespace holding a cross-namespace unique name, if any."""
        response = await self._call(
            "Range", rpc.RangeRequest(key=self._layout.name_claim_key(kind, name))
        )
        return response.kvs[0].value.decode() if response.kvs else None

    async def orphans(self) -> Sequence[Orphan]:
        """Name claims and owner-index entries whose object is absent, judged
        from one revision (see rdd.store.orphans)."""
        layout = self._layout
        claims, revision = await self._scan(layout.section_prefix("names"), 0, keys_only=False)
        index, _ = await self._scan(layout.section_prefix("owners"), revision, keys_only=True)
        objects, _ = await self._scan(layout.section_prefix("registry"), revision, keys_only=True)
        return find_orphans(layout, claims, index, {o.key for o in objects})

    async def remove_orphan(self, orphan: Orphan) -> bool:
        """Compare-and-delete: the entry goes only if its object is still
        absent and the entry unchanged since it was judged. False otherwise."""
        compares = [
            rpc.Compare(
                key=orphan.object_key,
                target=rpc.Compare.CREATE,
                result=rpc.Compare.EQUAL,
                create_revision=0,
            ),
            rpc.Compare(
                key=orphan.key,
                target=rpc.Compare.MOD,
                result=rpc.Compare.EQUAL,
                mod_revision=orphan.mod_revision,
            ),
        ]
        remove = [rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=orphan.key))]
        response = await self._call("Txn", rpc.TxnRequest(compare=compares, success=remove))
        return bool(response.succeeded)

    async def _scan(self, prefix: bytes, revision: int, *, keys_only: bool) -> tuple[Keys, int]:
        """Every key under `prefix` at `revision` (0: now), a batch at a time."""
        found: Keys = []
        start, end = prefix, prefix_end(prefix)
        while True:
            request = rpc.RangeRequest(
                key=start, range_end=end, revision=revision, limit=_SCAN_BATCH, keys_only=keys_only
            )
            response = await self._call("Range", request)
            revision = revision or int(response.header.revision)
            found += [StoredKey(kv.key, int(kv.mod_revision), kv.value) for kv in response.kvs]
            if not response.more or not response.kvs:
                return found, revision
            start = response.kvs[-1].key + b"\0"

    async def _event_lease(self) -> int:
        now = time.monotonic()
        if self._lease is None or now - self._lease[1] > _LEASE_REUSE_SECONDS:
            await self._client.connect()
            try:
                granted = await self._client.leasestub.LeaseGrant(
                    rpc.LeaseGrantRequest(TTL=EVENT_LEASE_SECONDS), timeout=self._timeout
                )
            except grpc.aio.AioRpcError as exc:
                raise _store_error(exc) from None
            self._lease = (int(granted.ID), now)
        return self._lease[0]

    async def commit(
        self, writes: Sequence[Write], *, fence: Fence | None = None
    ) -> Sequence[Any | None]:
        """Apply all writes in one etcd transaction, or none of them; with a
        `fence`, only while that leader's term lasts.

        Returns the new objects with their resourceVersion (None for removals).
        Raises AlreadyExistsError / ConflictError (FencedError) when a compare fails.
        """
        compares: Ops = []
        ops: Ops = []
        if fence is not None:
            compares.append(_created_at(fence.key, fence.revision))
        for write in writes:
            await self._plan(write, compares, ops)
        response = await self._call("Txn", rpc.TxnRequest(compare=compares, success=ops))
        if not response.succeeded:
            if fence is not None and await self._term_ended(fence):
                raise FencedError(
                    f"not the leader any more (term {fence.revision} of "
                    f"{fence.key.decode()} ended): the write was not made"
                )
            await self._explain_failure(writes)
        revision = str(response.header.revision)
        results: Objects = []
        for write in writes:
            if write.new is None:
                results.append(None)
                continue
            written = write.kind.message()
            written.CopyFrom(write.new)
            written.metadata.resource_version = revision
            results.append(written)
        return results

    async def _plan(self, write: Write, compares: Ops, ops: Ops) -> None:
        layout = self._layout
        kind = write.kind
        obj = write.new if write.new is not None else write.old
        assert obj is not None, "a write needs an old or a new object"
        meta = obj.metadata
        key = layout.object_key(kind, meta.namespace, meta.name)
        claim = layout.name_claim_key(kind, meta.name)
        if write.old is None:
            compares.append(
                rpc.Compare(
                    key=key, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0
                )
            )
            if kind.unique_names:
                compares.append(
                    rpc.Compare(
                        key=claim,
                        target=rpc.Compare.CREATE,
                        result=rpc.Compare.EQUAL,
                        create_revision=0,
                    )
                )
                ops.append(
                    rpc.RequestOp(
                        request_put=rpc.PutRequest(key=claim, value=meta.namespace.encode())
                    )
                )
        else:
            compares.append(
                rpc.Compare(
                    key=key,
                    target=rpc.Compare.MOD,
                    result=rpc.Compare.EQUAL,
                    mod_revision=int(write.old.metadata.resource_version),
                )
            )
        before = owner_uids(write.old) if write.old is not None else set()
        after = owner_uids(write.new) if write.new is not None else set()
        for uid in sorted(after - before):
            index = layout.owner_index_key(uid, kind, meta.namespace, meta.name)
            ops.append(rpc.RequestOp(request_put=rpc.PutRequest(key=index, value=b"")))
        for uid in sorted(before - after):
            index = layout.owner_index_key(uid, kind, meta.namespace, meta.name)
            ops.append(rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=index)))
        if write.new is None:
            ops.append(rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=key)))
            if kind.unique_names:
                ops.append(rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=claim)))
            return
        stored = write.kind.message()
        stored.CopyFrom(write.new)
        stored.metadata.resource_version = ""
        value = stored.SerializeToString()
        if len(value) > MAX_OBJECT_BYTES:
            raise InvalidError(
                f"{kind.named(meta.name)} is invalid: the object is {len(value)} bytes, "
                f"over the limit of {MAX_OBJECT_BYTES}"
            )
        lease = await self._event_lease() if write.expires else 0
        ops.append(rpc.RequestOp(request_put=rpc.PutRequest(key=key, value=value, lease=lease)))

    async def _explain_failure(self, writes: Sequence[Write]) -> None:
        for write in writes:
            obj = write.new if write.new is not None else write.old
            assert obj is not None, "a write needs an old or a new object"
            meta = obj.metadata
            kind = write.kind
            if write.old is None:
                if await self.get(kind, meta.namespace, meta.name) is not None:
                    raise AlreadyExistsError(f"{kind.named(meta.name)} already exists")
                if kind.unique_names:
                    taken = await self.claimed_namespace(kind, meta.name)
                    if taken is not None:
                        raise AlreadyExistsError(
                            f'{kind.named(meta.name)} is already used in namespace "{taken}"'
                        )
            else:
                current = await self.get(kind, meta.namespace, meta.name)
                if current is None:
                    raise NotFoundError(f"{kind.named(meta.name)} not found")
                if current.metadata.resource_version != write.old.metadata.resource_version:
                    raise ConflictError(conflict_message(kind, meta.name))
        raise ConflictError("the transaction's preconditions changed; please retry")

    # -- leases and leader election (rdd.runtime.leadership) ------------------

    def leader_key(self, name: str) -> bytes:
        return f"{self._layout.prefix}/leaders/{name}".encode()

    async def grant_lease(self, ttl: int) -> int:
        response = await self._lease_call("LeaseGrant", rpc.LeaseGrantRequest(TTL=ttl))
        return int(response.ID)

    async def keep_alive(self, lease: int) -> int:
        """Renew the lease; its remaining TTL in seconds, 0 when it expired."""
        await self._client.connect()
        try:
            async for reply in self._client.leasestub.LeaseKeepAlive(
                iter([rpc.LeaseKeepAliveRequest(ID=lease)]), timeout=self._timeout
            ):
                return max(0, int(reply.TTL))
        except grpc.aio.AioRpcError as exc:
            raise _store_error(exc) from None
        return 0

    async def revoke_lease(self, lease: int) -> None:
        await self._lease_call("LeaseRevoke", rpc.LeaseRevokeRequest(ID=lease))

    async def _lease_call(self, method: str, request: Any) -> Any:
        await self._client.connect()
        try:
            return await getattr(self._client.leasestub, method)(request, timeout=self._timeout)
        except grpc.aio.AioRpcError as exc:
            raise _store_error(exc) from None

    async def campaign(self, name: str, identity: str, lease: int) -> Fence | None:
        """Become the leader of `name` when nobody is: the key is created on
        `lease` (it goes when the lease expires). The term, or None."""
        key = self.leader_key(name)
        put = rpc.RequestOp(
            request_put=rpc.PutRequest(key=key, value=identity.encode(), lease=lease)
        )
        response = await self._call(
            "Txn", rpc.TxnRequest(compare=[_created_at(key, 0)], success=[put])
        )
        return (
            Fence(key=key, revision=int(response.header.revision)) if response.succeeded else None
        )

    async def leader(self, name: str) -> tuple[str, int] | None:
        """(identity, term revision) of the current leader of `name`, if any."""
        response = await self._call("Range", rpc.RangeRequest(key=self.leader_key(name)))
        if not response.kvs:
            return None
        kv = response.kvs[0]
        return kv.value.decode(errors="replace"), int(kv.create_revision)

    async def resign(self, fence: Fence) -> None:
        """End the term early (a clean step-down), only if it is still ours."""
        delete = rpc.RequestOp(request_delete_range=rpc.DeleteRangeRequest(key=fence.key))
        await self._call(
            "Txn",
            rpc.TxnRequest(compare=[_created_at(fence.key, fence.revision)], success=[delete]),
        )

    async def wait_deleted(self, key: bytes, *, timeout: float) -> None:
        """Return once `key` is deleted, or after `timeout` seconds."""
        try:
            watch = await self._client.watch(key)
        except (aetcd.exceptions.ClientError, grpc.aio.AioRpcError) as exc:
            raise UnavailableError(f"etcd: cannot watch {key.decode()}: {exc}") from None

        async def deleted() -> None:
            async for event in watch:
                if event.kind == "DELETE":
                    return

        try:
            # Timing out (or a broken watch) is an answer too: the caller looks again.
            with contextlib.suppress(
                TimeoutError, aetcd.exceptions.ClientError, grpc.aio.AioRpcError
            ):
                await asyncio.wait_for(deleted(), timeout)
        finally:
            await _quietly_cancel(watch)

    async def _term_ended(self, fence: Fence) -> bool:
        current = await self._call("Range", rpc.RangeRequest(key=fence.key))
        return not current.kvs or int(current.kvs[0].create_revision) != fence.revision

    async def watch(
        self, kind: Kind, namespace: str, since: int, *, with_prev: bool = False
    ) -> AsyncIterator[StoreEvent]:
        """Changes after revision `since`, in order, surviving etcd restarts
        (resumes from the last revision seen, skipping what was delivered).
        Raises GoneError when `since` has been compacted away."""
        prefix = self._layout.list_prefix(kind, namespace)
        last_revision = since
        delivered: set[bytes] = set()  # keys already delivered at last_revision
        delay = 0.05
        while True:
            try:
                watch = await self._client.watch(
                    prefix,
                    range_end=prefix_end(prefix),
                    start_revision=last_revision if delivered else last_revision + 1,
                    prev_kv=True,
                )
            except aetcd.exceptions.RevisionCompactedError as exc:
                raise GoneError(_gone_message(since, exc.compacted_revision)) from None
            except (TimeoutError, aetcd.exceptions.ClientError, grpc.aio.AioRpcError) as exc:
                log.info("event=watch_retry prefix=%s error=%r", prefix.decode(), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
                continue
            try:
                async for raw in watch:
                    delay = 0.05
                    event = self._to_event(kind, raw, with_prev=with_prev)
                    if event is None:
                        continue
                    if event.revision == last_revision and raw.kv.key in delivered:
                        continue
                    if event.revision != last_revision:
                        last_revision = event.revision
                        delivered = set()
                    delivered.add(raw.kv.key)
                    yield event
            except aetcd.exceptions.RevisionCompactedError as exc:
                raise GoneError(_gone_message(since, exc.compacted_revision)) from None
            except (aetcd.exceptions.ClientError, grpc.aio.AioRpcError) as exc:
                log.info("event=watch_broken prefix=%s error=%r", prefix.decode(), exc)
                await asyncio.sleep(delay)
                delay = min(delay * 2, 1.0)
            finally:
                await _quietly_cancel(watch)

    def _to_event(self, kind: Kind, raw: Any, *, with_prev: bool = False) -> StoreEvent | None:
        revision = int(raw.kv.mod_revision)
        if raw.kind == "DELETE":
            if raw.prev_kv is None:
                return None  # previous value compacted away; a relist will notice
            obj = self._decode(kind, raw.prev_kv)
            obj.metadata.resource_version = str(revision)
            return StoreEvent("DELETED", obj, revision)
        obj = self._decode(kind, raw.kv)
        kind_of_change = "ADDED" if raw.kv.version == 1 else "MODIFIED"
        prev = None
        if with_prev and kind_of_change == "MODIFIED" and raw.prev_kv is not None:
            prev = self._decode(kind, raw.prev_kv)
        return StoreEvent(kind_of_change, obj, revision, prev)

    async def compact(self, revision: int) -> None:
        """Compact history up to `revision` (tests and maintenance)."""
        await self._client.connect()
        try:
            await self._client.kvstub.Compact(
                rpc.CompactionRequest(revision=revision, physical=True), timeout=self._timeout
            )
        except grpc.aio.AioRpcError as exc:
            raise _store_error(exc) from None


def _created_at(key: bytes, revision: int) -> Any:
    """Compare: `key` was created at `revision` (0: it does not exist)."""
    return rpc.Compare(
        key=key,
        result=rpc.Compare.EQUAL,
        target=rpc.Compare.CREATE,
        create_revision=revision,
    )


async def _quietly_cancel(watch: Any) -> None:
    try:
        await watch.cancel()
    except Exception:  # the stream may already be gone; nothing is left to release
        log.debug("event=watch_cancel_failed", exc_info=True)


def conflict_message(kind: Kind, name: str) -> str:
    return (
        f"Operation cannot be fulfilled on {kind.named(name)}: the object has been "
        "modified; please apply your changes to the latest version and try again"
    )


def _gone_message(since: int, compacted: int) -> str:
    return f"too old resource version: {since} ({compacted})"


def _store_error(exc: grpc.aio.AioRpcError) -> Exception:
    code = exc.code()
    if code == grpc.StatusCode.INVALID_ARGUMENT and "too large" in (exc.details() or ""):
        return InvalidError(f"etcd refused the request: {exc.details()}")
    if code == grpc.StatusCode.OUT_OF_RANGE:
        return GoneError(exc.details() or "revision compacted")
    return UnavailableError(f"etcd: {code.name}: {exc.details()}")
