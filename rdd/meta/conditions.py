"""metav1.Condition handling: the vocabulary every component speaks
(condition types, reasons, which reasons are failures) and pure functions
over repeated Condition fields (set with transition-time semantics, prune,
compare); callers write the object.

Used by both controllers (services/app, services/limavm), admission, and
the CLI's waits and `rdd set`: a new condition or reason is added here.
"""

from __future__ import annotations

from collections.abc import Iterable, MutableSequence
from datetime import UTC, datetime, timedelta

from rdd.api.meta.v1 import meta_pb2

TRUE, FALSE, UNKNOWN = "True", "False", "Unknown"


class ConditionType:
    """The condition types, by who writes them."""

    #: LimaVM (mirrored on its App): the Lima instance exists.
    CREATED = "Created"
    #: LimaVM (mirrored on its App): the VM runs.
    RUNNING = "Running"
    #: App: its LimaVM is as the App declares (current template, running as asked).
    SETTLED = "Settled"


class Reason:
    """Every reason a condition carries."""

    # Created
    PENDING = "Pending"
    CREATED = "Created"
    CREATE_FAILED = "CreateFailed"
    # Running
    STARTING = "Starting"
    STARTED = "Started"
    STOPPED = "Stopped"
    START_FAILED = "StartFailed"
    STOP_FAILED = "StopFailed"
    RECONCILING = "Reconciling"
    # Settled
    SETTLED = "Settled"
    STOPPING = "Stopping"
    WAITING_FOR_LIMAVM = "WaitingForLimaVM"
    APPLYING_TEMPLATE = "ApplyingTemplate"


#: The reasons that report a failure: their Events are Warnings, and the App
#: settles on them rather than waiting.
FAILED_REASONS = frozenset({Reason.CREATE_FAILED, Reason.START_FAILED, Reason.STOP_FAILED})


def is_failed(reason: str) -> bool:
    """Whether `reason` reports a failure (pure)."""
    return reason in FAILED_REASONS


def event_type_for(reason: str) -> str:
    """The Event type recorded when a condition takes `reason`: Warning for a failure."""
    return "Warning" if is_failed(reason) else "Normal"


#: Kubernetes' timestamp format, UTC, microseconds kept for ordering.
RFC3339_MICRO = "%Y-%m-%dT%H:%M:%S.%fZ"


def now_rfc3339() -> str:
    """Now, as every stored timestamp is written (called on every write)."""
    return datetime.now(UTC).strftime(RFC3339_MICRO)


def rfc3339_in(seconds_from_now: float) -> str:
    """The moment `seconds_from_now` away, as now_rfc3339 writes it."""
    return (datetime.now(UTC) + timedelta(seconds=seconds_from_now)).strftime(RFC3339_MICRO)


def seconds_until(text: str) -> float:
    """Seconds from now to the RFC 3339 moment `text` (0 when past, empty or unreadable)."""
    try:
        moment = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return 0.0
    return max(0.0, (moment - datetime.now(UTC)).total_seconds())


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
