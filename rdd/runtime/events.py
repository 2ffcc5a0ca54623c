"""Records Events straight into the store (no admission): one object per
(involved object, type, reason, message), repeated ones folded by count,
each on a lease so it expires after an hour instead of piling up.

Kubernetes Events, not Lima's host agent event lines (rdd.drivers.hostagent_events).
`record` returns at once: the writes happen in order on one background task
(client-go's broadcaster does the same), so an Event never delays the
reconcile that caused it; `shutdown` lets the ones pending be written.
What has piled up meanwhile is written together, in one transaction.

Each write starts from a guess, as client-go's event cache does: the Event
this recorder last wrote under that name, or none. The commit is a
compare-and-swap, so a wrong guess costs a read, and the usual Event (new,
or a repeat of our own) costs one round trip instead of two."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
from typing import Any

from rdd.api.core.v1 import core_pb2
from rdd.errors import AlreadyExistsError, ApiError, ConflictError, NotFoundError
from rdd.kinds import EVENT
from rdd.meta.conditions import now_rfc3339
from rdd.retry import retry_on_conflict
from rdd.store import rules
from rdd.store.etcdclient import EtcdStore, Write

log = logging.getLogger(__name__)


def event_name(obj: Any, event_type: str, reason: str, message: str) -> str:
    """Stable per distinct event (pure): `<object>.<hash>`, like kubectl's."""
    digest = hashlib.sha256(
        f"{obj.metadata.uid}/{event_type}/{reason}/{message}".encode()
    ).hexdigest()[:16]
    return f"{obj.metadata.name}.{digest}"


#: Seconds `shutdown` waits for pending Events before dropping them.
SHUTDOWN_FLUSH_SECONDS = 2.0
#: Events remembered as first guesses (the most recently written ones).
WRITTEN_REMEMBERED = 4096
#: Remembered in place of an Event whose guess was wrong: the next try reads.
_READ = object()
#: Events written in one transaction at most (etcd allows 128 operations
#: per transaction; each Event is one compare and one put).
BATCH = 64

_Pending = tuple[Any, str, str, str]


class EventRecorder:
    def __init__(self, store: EtcdStore, *, component: str) -> None:
        self._store = store
        self._component = component
        self._pending: collections.deque[_Pending] = collections.deque()
        self._writer: asyncio.Task[None] | None = None
        #: Event name -> the Event as this recorder last wrote it.
        self._written: collections.OrderedDict[str, Any] = collections.OrderedDict()

    async def record(self, obj: Any, event_type: str, reason: str, message: str) -> None:
        """Queue an Event for `obj` (an object as stored; it is not copied)
        and return. Best effort by design: an Event that cannot be written is
        logged, never allowed to fail the reconcile that caused it."""
        self._pending.append((obj, event_type, reason, message))
        if self._writer is None or self._writer.done():
            self._writer = asyncio.get_running_loop().create_task(
                self._write_pending(), name=f"events-{self._component}"
            )

    async def shutdown(self) -> None:
        """Write what is pending (for a moment), then stop."""
        if self._writer is None:
            return
        with contextlib.suppress(TimeoutError, asyncio.CancelledError):
            async with asyncio.timeout(SHUTDOWN_FLUSH_SECONDS):
                await asyncio.shield(self._writer)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._pending.clear()

    async def _write_pending(self) -> None:
        while self._pending:
            batch = [self._pending.popleft() for _ in range(min(BATCH, len(self._pending)))]
            for item in batch:
                _log(self._component, *item)
            if len(batch) > 1 and await self._write_together(batch):
                continue
            for item in batch:
                await self._write(*item)

    async def _write_together(self, batch: list[_Pending]) -> bool:
        """Write a batch in one transaction, each Event from its guess
        (repeats within the batch folded). False, and nothing written, when
        a guess is unknown or proved wrong: the caller writes them one by one."""
        now = now_rfc3339()
        planned: dict[str, Write] = {}
        for obj, event_type, reason, message in batch:
            name = event_name(obj, event_type, reason, message)
            if name in planned:
                _count_again(planned[name].new, now)
                continue
            guess = self._written.get(name)
            if guess is _READ:
                return False
            planned[name] = _next(obj, guess, name, event_type, reason, message, now)
        try:
            written = await self._store.commit(list(planned.values()))
        except (ConflictError, AlreadyExistsError, NotFoundError):
            return False
        except ApiError as exc:
            log.warning("event=event_record_failed events=%d error=%s", len(planned), exc.message)
            return True
        for name, event in zip(planned, written, strict=True):
            self._remember(name, event)
        return True

    async def _write(self, obj: Any, event_type: str, reason: str, message: str) -> None:
        name = event_name(obj, event_type, reason, message)
        try:
            await retry_on_conflict(
                lambda: self._upsert(obj, name, event_type, reason, message), attempts=3
            )
        except ApiError as exc:
            log.warning("event=event_record_failed name=%s error=%s", name, exc.message)
        except Exception:
            log.exception("event=event_record_failed name=%s", name)

    async def _upsert(
        self, obj: Any, name: str, event_type: str, reason: str, message: str
    ) -> None:
        """One try: from the guess (what we last wrote, else absent), or from
        a read once a guess was proved wrong."""
        remembered = self._written.pop(name, None)
        if remembered is _READ:
            remembered = await self._store.get(EVENT, _namespace(obj), name)
        write = _next(obj, remembered, name, event_type, reason, message, now_rfc3339())
        await self._commit(name, write)

    async def _commit(self, name: str, write: Write) -> None:
        """Write, and remember the result. A guess proved wrong (the Event
        changed, exists, or expired) is a Conflict, and the next try reads."""
        try:
            (written,) = await self._store.commit([write])
        except (ConflictError, AlreadyExistsError, NotFoundError) as exc:
            self._written[name] = _READ
            raise ConflictError(exc.message) from exc
        self._remember(name, written)

    def _remember(self, name: str, event: Any) -> None:
        self._written.pop(name, None)
        self._written[name] = event
        if len(self._written) > WRITTEN_REMEMBERED:
            self._written.popitem(last=False)


def _namespace(obj: Any) -> str:
    return obj.metadata.namespace or "default"


def _log(component: str, obj: Any, event_type: str, reason: str, message: str) -> None:
    log.info(
        "event=k8s_event component=%s object=%s/%s type=%s reason=%s message=%r",
        component,
        obj.kind,
        obj.metadata.name,
        event_type,
        reason,
        message,
    )


def _next(
    obj: Any, old: Any | None, name: str, event_type: str, reason: str, message: str, now: str
) -> Write:
    """The write that records one more occurrence (pure): `old` counted on,
    or a new Event."""
    if old is not None:
        new = core_pb2.Event()
        new.CopyFrom(old)
        _count_again(new, now)
        return Write(EVENT, old, new, expires=True)
    event = EVENT.new()
    event.metadata.name = name
    event.metadata.namespace = _namespace(obj)
    event.involved_object.kind = obj.kind
    event.involved_object.namespace = obj.metadata.namespace
    event.involved_object.name = obj.metadata.name
    event.involved_object.uid = obj.metadata.uid
    event.type = event_type
    event.reason = reason
    event.message = message
    event.count = 1
    event.first_timestamp = now
    event.last_timestamp = now
    return Write(EVENT, None, rules.prepare_create(EVENT, event, now=now), expires=True)


def _count_again(event: Any, now: str) -> None:
    event.count += 1
    event.last_timestamp = now
