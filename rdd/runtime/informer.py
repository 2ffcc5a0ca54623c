"""List + watch cache of one kind, straight from the store.

After any watch error the cache is rebuilt from a fresh List (and handlers
told about every difference), so it always converges to what etcd holds:
controllers stay level-based and never depend on a single event. The List
is read page by page at one revision (EtcdStore.list), so any number of
objects of any accepted size fills the cache.

An informer is shared (client-go's SharedInformer): the API's read cache and
a leader's controller use one per kind, so each watch event is decoded and
cached once. It runs while anyone who started it has not shut it down.

The cache holds each object encoded (about 400 bytes for a LimaVM, against
some 2 KB as a message) and decodes it on every read (a few microseconds):
10,000 objects fit in a few MB, and each reader gets its own copy, as
controller-runtime's cache hands out deep copies, so no caller can change
the cache by changing what it read."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Iterable
from typing import Any

from rdd.errors import ApiError, GoneError
from rdd.kinds import Kind
from rdd.retry import Backoff
from rdd.store.etcdclient import EtcdStore

log = logging.getLogger(__name__)

Key = tuple[str, str]  # (namespace, name)
Objects = list[Any]
#: Called with (old, new): add (None, obj), update (obj, obj), delete (obj, None).
Handler = Callable[[Any | None, Any | None], None]
#: The index values of one object (client-go's IndexFunc).
IndexFunc = Callable[[Any], Iterable[str]]


def subject(old: Any | None, new: Any | None) -> Any:
    """The object a handler call is about (the old one for a delete)."""
    return new if new is not None else old


def status_only(old: Any | None, new: Any | None) -> bool:
    """An update that changed status and nothing else (pure). A controller
    whose own status write caused it has nothing new to look at
    (controller-runtime's GenerationChangedPredicate; metadata changes such
    as finalizers and labels still count). The event of a write the cache
    already holds (note_written) is never status-only: its change is unknown."""
    if old is None or new is None or old.spec != new.spec:
        return False
    if old.metadata.resource_version == new.metadata.resource_version:
        return False  # our own write, cached already (note_written): what it changed is unknown
    return _without_version(old.metadata) == _without_version(new.metadata)


def _without_version(meta: Any) -> Any:
    copy = type(meta)()
    copy.CopyFrom(meta)
    copy.resource_version = ""
    return copy


def key_of(obj: Any) -> Key:
    return (obj.metadata.namespace, obj.metadata.name)


class Informer:
    def __init__(self, store: EtcdStore, kind: Kind, namespace: str = "") -> None:
        self.kind = kind
        self._store = store
        self._namespace = namespace
        self._cache: dict[Key, bytes] = {}  # encoded objects
        self._handlers: list[Handler] = []
        self._index_funcs: dict[str, IndexFunc] = {}
        self._indexes: dict[str, dict[str, set[Key]]] = {}
        self._synced = asyncio.Event()
        #: The etcd revision the cache is current to.
        self._revision = 0
        self._task: asyncio.Task[None] | None = None
        #: Starts not yet matched by a shutdown.
        self._users = 0

    def add_handler(self, handler: Handler) -> None:
        self._handlers.append(handler)

    def remove_handler(self, handler: Handler) -> None:
        """Stop telling `handler` (a controller whose term ended)."""
        self._handlers = [h for h in self._handlers if h != handler]

    def add_index(self, name: str, index: IndexFunc) -> None:
        """Keep the cache indexed by `index` (a second call with the same
        name replaces it)."""
        self._index_funcs[name] = index
        self._indexes[name] = {}
        for key in self._cache:
            self._index(key, None, self._object(key))

    def by_index(self, name: str, value: str) -> Objects:
        """The cached objects whose `name` index holds `value`."""
        keys = self._indexes[name].get(value, ())
        return [obj for key in keys if (obj := self._object(key)) is not None]

    def get(self, namespace: str, name: str) -> Any | None:
        return self._object((namespace, name))

    def list(self) -> Objects:
        return [self._decode(data) for data in self._cache.values()]

    async def start(self) -> None:
        """Return once the first List has filled the cache (at once when
        another user started it and it is synced)."""
        self._users += 1
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name=f"informer-{self.kind.plural}"
            )
        task = self._task
        synced = asyncio.ensure_future(self._synced.wait())
        done, _ = await asyncio.wait({synced, task}, return_when=asyncio.FIRST_COMPLETED)
        if task in done:
            synced.cancel()
            self._users -= 1
            self._task = None
            task.result()  # raises why it ended

    async def shutdown(self) -> None:
        """Stop watching once the last user is done."""
        self._users = max(0, self._users - 1)
        if self._users or self._task is None:
            return
        task, self._task = self._task, None
        self._synced.clear()
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task

    async def _run(self) -> None:
        backoff = Backoff(initial=0.05, cap=2.0)
        while True:
            try:
                revision = await self._relist()
                self._synced.set()
                backoff.reset()
                async for event in self._store.watch(
                    self.kind, self._namespace, revision, with_prev=True
                ):
                    self._revision = max(self._revision, event.revision)
                    self._apply(event.type, event.obj, event.prev)
            except GoneError as exc:
                log.info("event=informer_relist kind=%s reason=%s", self.kind.kind, exc.message)
            except ApiError as exc:
                log.warning("event=informer_error kind=%s error=%s", self.kind.kind, exc.message)
                await asyncio.sleep(backoff.next())

    def note_written(self, obj: Any) -> None:
        """A write of ours returned `obj`: cache it now (handlers are not
        told; its watch event will be), so the next reconcile does not
        read an older version and lose its write to a Conflict. Ignored once
        the cache has seen anything later (a delete, say): etcd revisions are
        global, so a newer cache already holds the truth."""
        if _version(obj) <= self._revision:
            return
        key = key_of(obj)
        cached = self._object(key)
        if cached is None or _version(cached) < _version(obj):
            self._store_obj(key, cached, obj)

    async def _relist(self) -> int:
        items, revision = await self._store.list(self.kind, self._namespace)
        self._revision = max(self._revision, revision)
        fresh = {key_of(obj): obj for obj in items}
        for key in list(self._cache):
            if key not in fresh:
                old = self._decode(self._cache[key])
                self._store_obj(key, old, None)
                self._notify(old, None)
        for key, obj in fresh.items():
            old = self._object(key)
            if old is None or old.metadata.resource_version != obj.metadata.resource_version:
                self._store_obj(key, old, obj)
                self._notify(old, obj)
        return revision

    def _apply(self, event_type: str, obj: Any, prev: Any | None = None) -> None:
        key = key_of(obj)
        old = self._object(key)
        if event_type == "DELETED":
            if old is not None:
                self._store_obj(key, old, None)
            self._notify(old if old is not None else obj, None)
            return
        if old is not None and _version(old) > _version(obj):
            return  # a write of ours already cached (note_written); its own event follows
        self._store_obj(key, old, obj)
        if old is not None and prev is not None and _version(old) == _version(obj):
            old = prev  # ours, cached already: handlers see what it changed from
        self._notify(old, obj)

    def _store_obj(self, key: Key, old: Any | None, new: Any | None) -> None:
        if new is None:
            del self._cache[key]
        else:
            self._cache[key] = new.SerializeToString()
        self._index(key, old, new)

    def _object(self, key: Key) -> Any | None:
        data = self._cache.get(key)
        return self._decode(data) if data is not None else None

    def _decode(self, data: bytes) -> Any:
        obj = self.kind.message()
        obj.ParseFromString(data)
        return obj

    def _index(self, key: Key, old: Any | None, new: Any | None) -> None:
        for name, index in self._index_funcs.items():
            entries = self._indexes[name]
            for value in index(old) if old is not None else ():
                keys = entries.get(value)
                if keys is not None:
                    keys.discard(key)
                    if not keys:
                        del entries[value]
            for value in index(new) if new is not None else ():
                entries.setdefault(value, set()).add(key)

    def _notify(self, old: Any | None, new: Any | None) -> None:
        for handler in self._handlers:
            try:
                handler(old, new)
            except Exception:
                log.exception("event=handler_failed kind=%s", self.kind.kind)


def _version(obj: Any) -> int:
    return int(obj.metadata.resource_version or 0)


def cache_of(*informers: Informer) -> Callable[[Kind, str, str], Any | None]:
    """A registry's read cache backed by these informers (one per kind)."""
    by_kind = {informer.kind.kind: informer for informer in informers}

    def lookup(kind: Kind, namespace: str, name: str) -> Any | None:
        informer = by_kind.get(kind.kind)
        return informer.get(namespace, name) if informer is not None else None

    return lookup
