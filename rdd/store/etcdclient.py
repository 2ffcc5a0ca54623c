"""The store's object operations on etcd: reads, List pages, compare-and-swap
transactions that keep the owner index and name claims, leases for Events,
orphan sweeps. `EtcdStore` also watches (rdd.store.watching) and holds
leader terms (rdd.store.fencing); it is the one etcd client of a service.

Objects are stored as serialized protobuf; resourceVersion is never stored,
it is the key's mod_revision, filled in on every read.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

import aetcd
from aetcd import rpc

from rdd.errors import (
    AlreadyExistsError,
    ConflictError,
    GoneError,
    InvalidError,
    NameTakenError,
    NotFoundError,
)
from rdd.kinds import Kind
from rdd.meta.owners import owner_uids
from rdd.store import paging
from rdd.store.connection import EtcdConnection
from rdd.store.fencing import Fence, FencedError, Leadership
from rdd.store.keys import KeyLayout, ObjectRef, prefix_end
from rdd.store.orphans import Orphan, StoredKey, find_orphans
from rdd.store.paging import Page
from rdd.store.watching import StoreEvent, Watching

__all__ = [
    "EtcdConnection",
    "EtcdStore",
    "Fence",
    "FencedError",
    "StoreEvent",
    "Write",
    "conflict_message",
]

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


class EtcdStore(Watching, Leadership):
    """Kubernetes-registry storage primitives over one etcd client."""

    def __init__(self, client: aetcd.Client, layout: KeyLayout, timeout: float) -> None:
        super().__init__(client, layout, timeout)
        self._lease: tuple[int, float] | None = None

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
        compares = [_absent(orphan.object_key), _unchanged_since(orphan.key, orphan.mod_revision)]
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
            granted = await self._lease_call(
                "LeaseGrant", rpc.LeaseGrantRequest(TTL=EVENT_LEASE_SECONDS)
            )
            self._lease = (int(granted.ID), now)
        return self._lease[0]

    async def commit(
        self,
        writes: Sequence[Write],
        *,
        fence: Fence | None = None,
        unchanged: Sequence[tuple[Kind, Any]] = (),
    ) -> Sequence[Any | None]:
        """Apply all writes in one etcd transaction, or none of them; with a
        `fence`, only while that leader's term lasts; only while the objects
        `unchanged` are still at the version read (SourceChangedError).

        Returns the new objects with their resourceVersion (None for removals).
        Raises AlreadyExistsError / ConflictError (FencedError) when a compare fails.
        """
        compares: Ops = []
        ops: Ops = []
        if fence is not None:
            compares.append(fence.compare())
        for write in writes:
            await self._plan(write, compares, ops)
        for kind, obj in unchanged:
            key = self._layout.object_key(kind, obj.metadata.namespace, obj.metadata.name)
            compares.append(_unchanged_since(key, int(obj.metadata.resource_version)))
        response = await self._call("Txn", rpc.TxnRequest(compare=compares, success=ops))
        if not response.succeeded:
            fenced = await self.fenced_error(fence) if fence is not None else None
            if fenced is not None:
                raise fenced
            await self._explain_failure(writes, unchanged)
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
            compares.append(_absent(key))
            if kind.unique_names:
                compares.append(_absent(claim))
                ops.append(
                    rpc.RequestOp(
                        request_put=rpc.PutRequest(key=claim, value=meta.namespace.encode())
                    )
                )
        else:
            compares.append(_unchanged_since(key, int(write.old.metadata.resource_version)))
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

    async def check_absent(self, kind: Kind, namespace: str, name: str) -> None:
        """Raises what a create of this object would fail with now: AlreadyExistsError
        when it exists, NameTakenError when its unique name is held elsewhere."""
        if await self.get(kind, namespace, name) is not None:
            raise AlreadyExistsError(f"{kind.named(name)} already exists")
        if kind.unique_names:
            taken = await self.claimed_namespace(kind, name)
            if taken is not None:
                raise NameTakenError.held(kind.named(name), taken)

    async def _explain_failure(
        self, writes: Sequence[Write], unchanged: Sequence[tuple[Kind, Any]]
    ) -> None:
        for write in writes:
            obj = write.new if write.new is not None else write.old
            assert obj is not None, "a write needs an old or a new object"
            meta = obj.metadata
            kind = write.kind
            if write.old is None:
                await self.check_absent(kind, meta.namespace, meta.name)
            else:
                current = await self.get(kind, meta.namespace, meta.name)
                if current is None:
                    raise NotFoundError(f"{kind.named(meta.name)} not found")
                if current.metadata.resource_version != write.old.metadata.resource_version:
                    raise ConflictError(conflict_message(kind, meta.name))
        for kind, obj in unchanged:
            meta = obj.metadata
            current = await self.get(kind, meta.namespace, meta.name)
            if current is None or current.metadata.resource_version != meta.resource_version:
                raise SourceChangedError(
                    f"{kind.named(meta.name)} changed while it was being copied; please retry"
                )
        raise ConflictError("the transaction's preconditions changed; please retry")


class SourceChangedError(ConflictError):
    """An object a write was built from changed before it committed."""


def _absent(key: bytes) -> rpc.Compare:
    return rpc.Compare(
        key=key, target=rpc.Compare.CREATE, result=rpc.Compare.EQUAL, create_revision=0
    )


def _unchanged_since(key: bytes, revision: int) -> rpc.Compare:
    return rpc.Compare(
        key=key, target=rpc.Compare.MOD, result=rpc.Compare.EQUAL, mod_revision=revision
    )


def conflict_message(kind: Kind, name: str) -> str:
    return (
        f"Operation cannot be fulfilled on {kind.named(name)}: the object has been "
        "modified; please apply your changes to the latest version and try again"
    )
