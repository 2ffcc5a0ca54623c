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
from typing import Any

from rdd.errors import ApiError, ConflictError, NotFoundError
from rdd.kinds import Kind
from rdd.meta.conditions import now_rfc3339
from rdd.meta.finalizers import remove_finalizer
from rdd.meta.names import OWNED_FINALIZER_PREFIX
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
from rdd.store.ownership import deleted, released
from rdd.store.paging import Page
from rdd.store.review import Admit, Companions, Review

_UNCONDITIONAL_RETRIES = 16
#: Tries of a create whose companions' sources keep changing under it.
_CREATE_ATTEMPTS = 3
Objects = list[Any]


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
        Tried again (a few times) when a companion's source changed meanwhile,
        the first try from the sources as cached, the others as stored."""

        async def attempt(fresh: bool) -> Any:
            sources = await companions.read(obj, fresh=fresh) if companions else []
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

        for tried in range(_CREATE_ATTEMPTS - 1):
            with contextlib.suppress(SourceChangedError):
                return await attempt(fresh=tried > 0)
        return await attempt(fresh=True)

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
            if and_delete:
                gone = await self._released_and_deleted(
                    kind, old, owner_uid, released_by, dry_run=dry_run
                )
            else:
                gone = released(kind, old, owner_uid, released_by)
            return old if gone is None else gone

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

    async def finish_deletion(
        self,
        kind: Kind,
        namespace: str,
        name: str,
        finalizer: str,
        *,
        released_by: Collection[str],
    ) -> Any:
        """A finalizing owner's last write: everything it controls released
        and deleted (each admitted as the DELETE it is), and its own
        `finalizer` dropped, in one transaction where a release_ownership per
        child and a remove_finalizer would each commit. The first try takes
        the cache's objects as guesses; a lost compare reads etcd again."""
        if finalizer.startswith(OWNED_FINALIZER_PREFIX):
            raise ValueError(f"{finalizer!r} is dropped by release_ownership")
        for attempt in range(_UNCONDITIONAL_RETRIES):
            owner = await self._current(kind, namespace, name, guess=attempt == 0)
            if owner is None:
                raise NotFoundError(f"{kind.named(name)} not found")
            writes = []
            for ref in await self._store.owned_by(owner.metadata.uid):
                child = await self._current(ref.kind, ref.namespace, ref.name, guess=attempt == 0)
                if child is None:
                    continue
                gone = await self._released_and_deleted(
                    ref.kind, child, owner.metadata.uid, released_by, dry_run=False
                )
                if gone is not None:
                    writes.append(_write(ref.kind, child, gone))
            updated = kind.message()
            updated.CopyFrom(owner)
            if finalizer in owner.metadata.finalizers:
                remove_finalizer(updated, finalizer)
                writes.append(_write(kind, owner, updated))
            if not writes:
                return owner
            try:
                committed = await self._store.commit(writes, fence=self.fence)
            except FencedError:
                raise  # no retry brings the term back
            except ConflictError:
                continue
            return committed[-1] or updated
        raise ConflictError(conflict_message(kind, name))

    async def _released_and_deleted(
        self, kind: Kind, child: Any, owner_uid: str, released_by: Collection[str], *, dry_run: bool
    ) -> Any | None:
        """`child` released by its controller `owner_uid` and deleted, admitted
        as the DELETE it is; None when nobody controls it (not ours to delete)."""
        freed = released(kind, child, owner_uid, released_by)
        if freed is None:
            return None
        await self._admit(Review("DELETE", kind, None, freed, dry_run))
        return deleted(kind, freed)

    async def _current(self, kind: Kind, namespace: str, name: str, *, guess: bool) -> Any | None:
        """The object as the cache has it (a guess the commit proves) or, when
        not guessing or the cache has none, as etcd has it; None when absent."""
        cached = self._cache(kind, namespace, name) if guess and self._cache else None
        return cached if cached is not None else await self._store.get(kind, namespace, name)

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
            return deleted(kind, old)

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


def _write(kind: Kind, old: Any, new: Any) -> Write:
    """Replacing `old` with `new`: a delete when no finalizer holds `new`."""
    return Write(kind, old, None if rules.is_gone(new) else new)


@dataclass
class _Meta:
    """Which object a by-name write targets."""

    name: str
    namespace: str
    resource_version: str
