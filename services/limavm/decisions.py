"""What the LimaVM controller does next, and which conditions it reports.

Pure functions over plain data (no I/O), tested with parametrize. The
controller observes, calls `decide_vm_action`, performs that one action,
observes again and writes `conditions_for` into status."""

from __future__ import annotations

import enum
from dataclasses import dataclass

from rdd.drivers.base import ABSENT, BROKEN, PARTIAL, PREPARING, RUNNING, STARTING, STOPPED
from rdd.meta.conditions import FALSE, TRUE, UNKNOWN

CREATED, RUNNING_CONDITION = "Created", "Running"


class VMAction(enum.Enum):
    NOTHING = "nothing"
    PREPARE = "prepare"
    REPREPARE = "reprepare"  # template changed: rebuild the stopped instance
    START = "start"
    STOP = "stop"
    FORCE_STOP = "force-stop"
    CLEAR_RESTART_REQUEST = "clear-restart-request"


@dataclass(frozen=True)
class Failure:
    """A driver operation that failed: condition reason and message."""

    reason: str  # CreateFailed, StartFailed or StopFailed
    message: str


@dataclass(frozen=True)
class Observed:
    """Everything a decision depends on, as plain data."""

    running_wanted: bool
    #: Driver state (rdd.drivers.base STATES).
    state: str
    #: A preparation is in progress in this process.
    preparing: bool = False
    #: The instance was built from the current template (lima.yaml matches).
    template_current: bool = True
    #: The restart annotation is present.
    restart_requested: bool = False
    #: The last failed operation, while it still applies.
    failure: Failure | None = None


def _active(state: str) -> bool:
    return state in (STARTING, RUNNING)


def decide_vm_action(observed: Observed) -> VMAction:
    """The single next step towards the declared state (pure)."""
    state = observed.state
    if observed.preparing or state == PREPARING:
        return VMAction.NOTHING
    if state in (ABSENT, PARTIAL):
        failed = observed.failure is not None and observed.failure.reason == "CreateFailed"
        return VMAction.NOTHING if failed else VMAction.PREPARE
    if state == BROKEN:
        return VMAction.FORCE_STOP
    if not observed.template_current:
        return VMAction.STOP if _active(state) else VMAction.REPREPARE
    if observed.restart_requested:
        return VMAction.STOP if _active(state) else VMAction.CLEAR_RESTART_REQUEST
    if observed.running_wanted and state == STOPPED:
        return VMAction.START
    if not observed.running_wanted and _active(state):
        return VMAction.STOP
    return VMAction.NOTHING


@dataclass(frozen=True)
class ConditionValue:
    status: str
    reason: str
    message: str


def created_condition(observed: Observed) -> ConditionValue:
    """Created: Unknown/Pending -> True/Created or False/CreateFailed (pure)."""
    failure = observed.failure
    if failure is not None and failure.reason == "CreateFailed":
        return ConditionValue(FALSE, "CreateFailed", failure.message)
    if observed.preparing or observed.state in (ABSENT, PARTIAL, PREPARING):
        return ConditionValue(UNKNOWN, "Pending", "Lima instance is being prepared")
    return ConditionValue(TRUE, "Created", "Lima instance is created")


def running_condition(observed: Observed) -> ConditionValue:
    """Running: Starting/Started/Stopped/StartFailed/StopFailed (pure)."""
    failure = observed.failure
    if failure is not None and failure.reason in ("StartFailed", "StopFailed"):
        return ConditionValue(FALSE, failure.reason, failure.message)
    if observed.state == RUNNING and observed.template_current and not observed.restart_requested:
        return ConditionValue(TRUE, "Started", "Lima instance is running")
    if observed.state == STARTING or (observed.running_wanted and observed.state != RUNNING):
        return ConditionValue(FALSE, "Starting", "Lima instance is starting")
    if observed.state == RUNNING:
        return ConditionValue(FALSE, "Starting", "Lima instance is restarting")
    return ConditionValue(FALSE, "Stopped", "Lima instance is stopped")


def counts_as_start(previous_status: str, previous_reason: str, new_status: str) -> bool:
    """restartCount grows when Running turns True after we started the VM,
    not when a restarted controller finds it already running (pure)."""
    return new_status == TRUE and previous_status != TRUE and previous_reason == "Starting"
