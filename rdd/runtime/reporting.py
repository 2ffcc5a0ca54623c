"""Writing a controller's status, in one place for the App and LimaVM
controllers: the caller sets conditions and fields on a copy in memory, then
`Reporter.write` makes the one status write (none when nothing changed) and
records one Event per condition that changed (a Warning for a failed reason,
rdd.meta.conditions.event_type_for)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdd.kinds import Kind
from rdd.meta.conditions import condition_changes, event_type_for
from rdd.runtime.events import EventRecorder
from rdd.runtime.informer import Informer
from rdd.store.registry import Registry


@dataclass(frozen=True)
class Reporter:
    kind: Kind
    registry: Registry
    recorder: EventRecorder
    #: The controller's informer of `kind`: told of each write (note_written).
    informer: Informer | None = None

    async def write(self, before: Any, after: Any) -> Any:
        """Store `after`'s status when it differs from `before`'s, then an
        Event per changed condition. Returns the object as stored (`before`
        when nothing changed)."""
        if after.status == before.status:
            return before
        stored = await self.registry.update_status(self.kind, after)
        if self.informer is not None:
            self.informer.note_written(stored)
        for changed in condition_changes(before.status.conditions, after.status.conditions):
            await self.recorder.record(
                stored, event_type_for(changed.reason), changed.reason, changed.message
            )
        return stored
