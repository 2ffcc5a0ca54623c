"""Records Events straight into the store (no admission): one object per
(involved object, type, reason, message), repeated ones folded by count,
each on a lease so it expires after an hour instead of piling up."""

from __future__ import annotations

import hashlib
import logging
from typing import Any

from rdd.api.core.v1 import core_pb2
from rdd.errors import ApiError
from rdd.kinds import EVENT
from rdd.meta.conditions import now_rfc3339
from rdd.retry import retry_on_conflict
from rdd.store import rules
from rdd.store.etcd import EtcdStore, Write

log = logging.getLogger(__name__)


def event_name(obj: Any, event_type: str, reason: str, message: str) -> str:
    """Stable per distinct event (pure): `<object>.<hash>`, like kubectl's."""
    digest = hashlib.sha256(
        f"{obj.metadata.uid}/{event_type}/{reason}/{message}".encode()
    ).hexdigest()[:16]
    return f"{obj.metadata.name}.{digest}"


class EventRecorder:
    def __init__(self, store: EtcdStore, *, component: str) -> None:
        self._store = store
        self._component = component

    async def record(self, obj: Any, event_type: str, reason: str, message: str) -> None:
        """Best effort by design: an Event that cannot be written is logged,
        never allowed to fail the reconcile that caused it."""
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
