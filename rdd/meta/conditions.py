"""metav1.Condition handling: set with transition-time semantics, mirror, prune.

Pure functions over repeated Condition fields; callers write the object.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence
from datetime import UTC, datetime

from rdd.api.meta.v1 import meta_pb2

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


def now_rfc3339() -> str:
    """Kubernetes' timestamp format, UTC, microseconds kept for ordering."""
    return datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def find_condition(
    conditions: Iterable[meta_pb2.Condition], type_: str
) -> meta_pb2.Condition | None:
    for cond in conditions:
        if cond.type == type_:
            return cond
    return None


def set_condition(
    conditions: MutableSequence[meta_pb2.Condition],
    new: meta_pb2.Condition,
    *,
    now: str,
) -> bool:
    """Upsert `new` by type. lastTransitionTime moves only when status changes
    (or is taken from `new` when it carries one). Returns whether anything changed."""
    current = find_condition(conditions, new.type)
    wanted = meta_pb2.Condition()
    wanted.CopyFrom(new)
    if current is None:
        if not wanted.last_transition_time:
            wanted.last_transition_time = now
        conditions.append(wanted)
        return True
    if not wanted.last_transition_time:
        wanted.last_transition_time = (
            current.last_transition_time if current.status == wanted.status else now
        )
    if current == wanted:
        return False
    current.CopyFrom(wanted)
    return True


def remove_condition(conditions: MutableSequence[meta_pb2.Condition], type_: str) -> bool:
    for index, cond in enumerate(conditions):
        if cond.type == type_:
            del conditions[index]
            return True
    return False


def condition_changes(
    before: Iterable[meta_pb2.Condition], after: Iterable[meta_pb2.Condition]
) -> list[meta_pb2.Condition]:
    """Conditions in `after` whose status, reason or message differ from `before`:
    each one is an Event to record."""
    old = {c.type: (c.status, c.reason, c.message) for c in before}
    return [c for c in after if old.get(c.type) != (c.status, c.reason, c.message)]


def describe(cond: meta_pb2.Condition) -> str:
    """`Running=False: Lima instance is starting (Starting)`, as `rdd set` prints."""
    return f"{cond.type}={cond.status}: {cond.message} ({cond.reason})"
