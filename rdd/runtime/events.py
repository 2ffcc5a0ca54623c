"""Records Events straight into the store (no admission): one object per
(involved object, type, reason, message), repeated ones folded by count,
each on a lease so it expires after an hour instead of piling up.

Kubernetes Events, not Lima's host agent event lines (rdd.drivers.hostagent_events).
`record` returns at once: the writes happen in order on one background task
(client-go's broadcaster does the same), so an Event never delays the
reconcile that caused it; `shutdown` lets the ones pending be written."""

from __future__ import annotations

import asyncio
import collections
import contextlib
import hashlib
import logging
from typing import Any

from rdd.api.core.v1 import core_pb2
from rdd.errors import ApiError
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


class EventRecorder:
    def __init__(self, store: EtcdStore, *, component: str) -> None:
        self._store = store
        self._component = component
        self._pending: collections.deque[tuple[Any, str, str, str]] = collections.deque()
        self._writer: asyncio.Task[None] | None = None

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
            await asyncio.wait_for(asyncio.shield(self._writer), SHUTDOWN_FLUSH_SECONDS)
        self._writer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await self._writer
        self._pending.clear()

    async def _write_pending(self) -> None:
        while self._pending:
            await self._write(*self._pending.popleft())

    async def _write(self, obj: Any, event_type: str, reason: str, message: str) -> None:
        namespace = obj.metadata.namespace or "default"
        name = event_name(obj, event_type, reason, message)
        log.info(
            "event=k8s_event component=%s object=%s/%s type=%s reason=%s message=%r",
            self._component,
            obj.kind,
            obj.metadata.name,
            event_type,
            reason,
            message,
        )
        try:
            await retry_on_conflict(
                lambda: self._upsert(obj, namespace, name, event_type, reason, message),
                attempts=3,
            )
        except ApiError as exc:
            log.warning("event=event_record_failed name=%s error=%s", name, exc.message)
        except Exception:
            log.exception("event=event_record_failed name=%s", name)

    async def _upsert(
        self, obj: Any, namespace: str, name: str, event_type: str, reason: str, message: str
    ) -> None:
        now = now_rfc3339()
        old = await self._store.get(EVENT, namespace, name)
        if old is not None:
            new = core_pb2.Event()
            new.CopyFrom(old)
            new.count += 1
            new.last_timestamp = now
            await self._store.commit([Write(EVENT, old, new, expires=True)])
            return
        event = EVENT.new()
        event.metadata.name = name
        event.metadata.namespace = namespace
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
        created = rules.prepare_create(EVENT, event, now=now)
        await self._store.commit([Write(EVENT, None, created, expires=True)])
