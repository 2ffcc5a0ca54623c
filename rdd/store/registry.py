"""The API server's store API: reads, watches, and the write paths (check,
admit, apply the storage rules once, commit).

Servicers and controllers call these, never the etcd client beneath;
admission is a hook (`Admit`) so the store layer never imports the admission
client. Status, ownership-release and a controller's own finalizer removal
are not admitted: no rule can deny them (the storage rules still apply);
companions are admitted with their parent (`Companions`). Unconditional
writes retry on conflict; writes that carry a resourceVersion are a single
compare-and-swap.
"""

from __future__ import annotations

import contextlib
import copy
from collections.abc import AsyncIterator, Awaitable, Callable, Collection, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from rdd.errors import ApiError, ConflictError, ForbiddenError, NotFoundError
from rdd.kinds import Kind
from rdd.meta.conditions import now_rfc3339
from rdd.meta.finalizers import remove_finalizer
from rdd.meta.names import OWNED_FINALIZER_PREFIX, owned_finalizer
from rdd.meta.owners import controller_ref, remove_owner_reference
from rdd.store import rules
from rdd.store.etcdclient import (
    EtcdStore,
    Fence,
    FencedError,
    SourceChangedError,
    StoreEvent,
    Write,
    conflict_message,
)
from rdd.store.keys import ObjectRef
from rdd.store.paging import Page

_UNCONDITIONAL_RETRIES = 16
#: Tries of a create whose companions' sources keep changing under it.
_CREATE_ATTEMPTS = 3
Objects = list[Any]


@dataclass(frozen=True)
class Review:
    """One write as admission sees it."""

    operation: str  # CREATE, UPDATE or DELETE
    kind: Kind
    obj: Any | None
    old: Any | None
    dry_run: bool
    subresource: str = ""


#: Mutate then validate; returns the object to write, raises ForbiddenError.
Admit = Callable[[Review], Awaitable[Any]]
#: (kind, object) pairs: what companions are built from, and what they are.
KindObjects = list[tuple[Kind, Any]]


class Companions(Protocol):
    """Objects created in the same transaction as a new parent (a LimaVM's
    template), copied from others (the ConfigMap its templateRef names).

    They are admitted with their parent: `read` runs before the parent's
    review, which judges the same sources, and the create commits only
    while those are unchanged (a compare in its transaction). So what is
    copied is what was judged, and no second review repeats the checks."""

    async def read(self, parent: Any) -> KindObjects:
        """The sources, as stored now; one that is missing is left out (the
        parent's review names it, and `build` refuses to go without it)."""
        ...

    def build(self, parent: Any, sources: KindObjects) -> KindObjects:
        """The companions of `parent` as it is created (uid set). Pure."""
        ...


#: A watch-fed cache (an informer) of the objects this registry writes, if any.
Cache = Callable[[Kind, str, str], Any | None]


async def _admit_nothing(review: Review) -> Any:
    return review.obj


class Registry:
    """create / get / list / update / update_status / delete / watch for any kind."""

    def __init__(
        self, store: EtcdStore, admit: Admit | None = None, cache: Cache | None = None
    ) -> None:
        self._store = store
        #: The term every write of this registry is fenced by (a leader's controller).
        self.fence: Fence | None = None
        self._admit = admit or _admit_nothing
        self._cache = cache

    def fenced(self, fence: Fence | None) -> Registry:
        """This registry, its writes fenced by `fence` (None: unfenced)."""
        view = copy.copy(self)
        view.fence = fence
        return view

    async def revision(self) -> int:
        """The store's current revision: a Watch from now starts after it."""
        return await self._store.revision()

    async def owned_by(self, owner_uid: str) -> Sequence[ObjectRef]:
        """Everything whose ownerReferences name this uid (the owner index)."""
        return await self._store.owned_by(owner_uid)

    async def get(self, kind: Kind, namespace: str, name: str) -> Any:
        obj = await self._store.get(kind, namespace, name)
        if obj is None:
            raise NotFoundError(f"{kind.named(name)} not found")
        return obj

    async def list(self, kind: Kind, namespace: str = "") -> tuple[Objects, int]:
        return await self._store.list(kind, namespace)

    async def list_page(
        self,
        kind: Kind,
        namespace: str,
        *,
        limit: int = 0,
        continue_token: str = "",
        max_bytes: int,
        keep: Callable[[Any], bool] | None = None,
    ) -> Page:
        """One page of a List, of the objects `keep` keeps (see EtcdStore.list_page)."""
        return await self._store.list_page(
            kind,
            namespace,
            limit=limit,
            continue_token=continue_token,
            max_bytes=max_bytes,
            keep=keep,
        )

    def watch(
        self, kind: Kind, namespace: str, since: int, *, with_prev: bool = False
    ) -> AsyncIterator[StoreEvent]:
        return self._store.watch(kind, namespace, since, with_prev=with_prev)

    async def create(
        self,
        kind: Kind,
        obj: Any,
        *,
        dry_run: bool = False,
        companions: Companions | None = None,
    ) -> Any:
        """Create `obj` (and its companions, atomically): schema checks, then
        admission, then the storage rules once, on what admission returned.
        Tried again (a few times) when a companion's source changed meanwhile."""

        async def attempt() -> Any:
            sources = await companions.read(obj) if companions else []
            now = now_rfc3339()
            new = await self._admitted_create(kind, obj, now=now, dry_run=dry_run)
            writes = [Write(kind, None, new)]
            for child_kind, child in companions.build(new, sources) if companions else []:
                rules.validate_object(child_kind, child)
                writes.append(
                    Write(child_kind, None, rules.prepare_create(child_kind, child, now=now))
                )
            if dry_run:
                for write in writes:
                    assert write.new is not None, "a create writes a new object"
                    meta = write.new.metadata
                    await self._store.check_absent(write.kind, meta.namespace, meta.name)
                return new
            committed = await self._store.commit(writes, fence=self.fence, unchanged=sources)
            return committed[0]

        for _ in range(_CREATE_ATTEMPTS - 1):
            with contextlib.suppress(SourceChangedError):
                return await attempt()
        return await attempt()

    async def _admitted_create(self, kind: Kind, obj: Any, *, now: str, dry_run: bool) -> Any:
        rules.validate_object(kind, obj)
        admitted = await self._admit(Review("CREATE", kind, obj, None, dry_run))
        return rules.prepare_create(kind, admitted, now=now)

    async def update(self, kind: Kind, obj: Any, *, dry_run: bool = False) -> Any:
        """Spec and metadata from `obj`; status is kept."""
        rules.validate_object(kind, obj)

        async def change(old: Any) -> Any:
            rules.check_update(kind, old, obj)
            admitted = await self._admit(Review("UPDATE", kind, obj, old, dry_run))
            return rules.merge_update(kind, old, admitted)

        return await self._read_modify_write(kind, obj.metadata, change, dry_run=dry_run)

    async def update_status(self, kind: Kind, obj: Any, *, dry_run: bool = False) -> Any:
        """Status from `obj`; everything else is kept. Not admitted: no rule
        judges status (the controllers own it)."""

        async def change(old: Any) -> Any:
            return rules.merge_status(kind, old, obj)

        return await self._read_modify_write(kind, obj.metadata, change, dry_run=dry_run)

    async def release_ownership(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        *,
        owner_uid: str,
        released_by: Collection[str],
        and_delete: bool = False,
        dry_run: bool = False,
    ) -> Any:
        """Drop the owned-by finalizer and the controller reference, for the
        controller named by `owner_uid` only, asked by the service that runs
        the controllers of the kinds `released_by`. Idempotent once released.
        Not admitted: these checks are the whole rule for it.

        With `and_delete` (a finalizing owner's cleanup) the released child is
        deleted in the same write, admitted as the DELETE it is; a child nobody
        controls is not `owner_uid`'s to delete and is returned as it is."""
        meta = _Meta(name=name, namespace=namespace, resource_version="")

        async def change(old: Any) -> Any:
            released = _released(kind, old, owner_uid, released_by)
            if released is None:
                return old
            if not and_delete:
                return released
            await self._admit(Review("DELETE", kind, None, released, dry_run))
            return _deleted(kind, released)

        return await self._read_modify_write(kind, meta, change, dry_run=dry_run)

    async def remove_finalizer(self, kind: Kind, namespace: str, name: str, finalizer: str) -> Any:
        """Drop a controller's own `finalizer` (its cleanup is done); the
        last one gone removes a deleting object. Idempotent. Not admitted:
        admission guards only the owned-by finalizers, which only
        release_ownership drops."""
        if finalizer.startswith(OWNED_FINALIZER_PREFIX):
            raise ValueError(f"{finalizer!r} is dropped by release_ownership")
        meta = _Meta(name=name, namespace=namespace, resource_version="")

        async def change(old: Any) -> Any:
            if finalizer not in old.metadata.finalizers:
                return old
            updated = kind.message()
            updated.CopyFrom(old)
            remove_finalizer(updated, finalizer)
            return updated

        return await self._read_modify_write(kind, meta, change, dry_run=False)

    async def delete(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        *,
        dry_run: bool = False,
        uid: str = "",
        resource_version: str = "",
    ) -> Any:
        """Remove now, or only mark deleting while finalizers remain."""
        meta = _Meta(name=name, namespace=namespace, resource_version=resource_version)

        async def change(old: Any) -> Any:
            if uid and old.metadata.uid != uid:
                raise ConflictError(
                    f"Precondition failed: UID in precondition: {uid}, UID in object meta: "
                    f"{old.metadata.uid}"
                )
            await self._admit(Review("DELETE", kind, None, old, dry_run))
            return _deleted(kind, old)

        return await self._read_modify_write(kind, meta, change, dry_run=dry_run)

    async def _read_modify_write(
        self,
        kind: Kind,
        meta: Any,
        change: Callable[[Any], Awaitable[Any]],
        *,
        dry_run: bool,
    ) -> Any:
        wanted_version = meta.resource_version
        cached = self._cached(kind, meta)
        for _ in range(_UNCONDITIONAL_RETRIES):
            # The cache saves a read when it is current; the commit is a
            # compare-and-swap either way, and a stale guess is re-read. Only
            # success is taken from a guess: a refusal, a no-op or a lost
            # compare is judged again against etcd.
            old = cached or await self.get(kind, meta.namespace, meta.name)
            guessed, cached = cached is not None, None
            if wanted_version and old.metadata.resource_version != wanted_version:
                raise ConflictError(conflict_message(kind, meta.name))
            try:
                new = await change(old)
            except ApiError:
                if guessed:
                    continue
                raise
            if new == old or dry_run:
                if guessed:
                    continue
                return new
            target = None if rules.is_gone(new) else new
            try:
                written = (await self._store.commit([Write(kind, old, target)], fence=self.fence))[
                    0
                ]
            except FencedError:
                raise  # no retry brings the term back
            except ConflictError:
                if wanted_version and not guessed:
                    raise
                continue
            return written if written is not None else new
        raise ConflictError(conflict_message(kind, meta.name))

    def _cached(self, kind: Kind, meta: Any) -> Any | None:
        """The cached object as a first guess: for a write that names a
        version, only when it is exactly that version (admission then judges
        what the caller saw); for an unconditional write, whatever the cache
        holds. The commit's compare-and-swap proves the guess current."""
        if self._cache is None:
            return None
        cached = self._cache(kind, meta.namespace, meta.name)
        if cached is None:
            return None
        if meta.resource_version and cached.metadata.resource_version != meta.resource_version:
            return None
        return cached


def _released(kind: Kind, old: Any, owner_uid: str, released_by: Collection[str]) -> Any | None:
    """`old` without the owned-by finalizer and controller reference of
    `owner_uid` (None when it has no controller); refused for anyone else."""
    ref = controller_ref(old)
    if ref is None:
        return None
    name = old.metadata.name
    if ref.kind not in released_by:
        raise ForbiddenError(
            f'cannot release "{name}": it is owned by {ref.kind} "{ref.name}", and '
            f"only the {ref.kind} controller's service may release it"
        )
    if ref.uid != owner_uid:
        raise ForbiddenError(
            f'cannot release "{name}": it is controlled by {ref.kind} "{ref.name}" '
            f"(uid {ref.uid}), not by uid {owner_uid}"
        )
    released = kind.message()
    released.CopyFrom(old)
    remove_finalizer(released, owned_finalizer(ref.kind))
    remove_owner_reference(released, owner_uid)
    return released


def _deleted(kind: Kind, old: Any) -> Any:
    """`old` deleted: gone when no finalizer holds it, else marked deleting."""
    if not old.metadata.finalizers:
        gone = kind.message()
        gone.CopyFrom(old)
        gone.metadata.deletion_timestamp = gone.metadata.deletion_timestamp or now_rfc3339()
        return gone
    return rules.mark_deleting(kind, old, now=now_rfc3339())


@dataclass
class _Meta:
    """Which object a by-name write targets."""

    name: str
    namespace: str
    resource_version: str
