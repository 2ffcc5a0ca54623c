"""What the LimaVM controller does next, and which conditions it reports.

Pure functions over plain data (no I/O besides parsing YAML text), tested with
parametrize. The controller observes, calls `decide_vm_action`, performs that
one action, observes again and writes `created_condition` and
`running_condition` into status."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from rdd.drivers.base import ABSENT, BROKEN, PARTIAL, PREPARING, RUNNING, STARTING, STOPPED
from rdd.meta.conditions import FALSE, TRUE, UNKNOWN, ConditionType, Reason
from rdd.meta.loading import LoadError, load_yaml

CREATED, RUNNING_CONDITION = ConditionType.CREATED, ConditionType.RUNNING

#: Restarts after consecutive failures wait RESTART_BACKOFF_BASE * 2**(n-2)
#: seconds (the first restart is immediate), at most RESTART_BACKOFF_CAP.
RESTART_BACKOFF_BASE = 1.0
RESTART_BACKOFF_CAP = 60.0
#: A VM Running this long has recovered: its failure count starts again.
RESTART_BACKOFF_RESET_SECONDS = 10.0
#: A failed preparation is retried after this long (or at once on a template change).
PREPARE_RETRY_SECONDS = 30.0
#: A preparation is reported Pending only once it has taken this long: one
#: that ends sooner (the sim's, a Lima instance already downloaded) is
#: reported once, as what it ended in, by the pass its notify brings.
PENDING_REPORT_DELAY = 0.25


class VMAction(enum.Enum):
    NOTHING = "nothing"
    PREPARE = "prepare"
    #: Arch or images changed: delete the stopped instance and prepare it again.
    REBUILD = "rebuild"
    #: Any other template change: give the stopped instance its new lima.yaml.
    RECONFIGURE = "reconfigure"
    START = "start"
    STOP = "stop"
    FORCE_STOP = "force-stop"
    CLEAR_RESTART_REQUEST = "clear-restart-request"


@dataclass(frozen=True)
class Failure:
    """A driver operation of ours that raised: condition reason and message."""

    reason: str  # Reason.START_FAILED or Reason.STOP_FAILED
    message: str


@dataclass(frozen=True)
class Observed:
    """Everything a decision depends on, as plain data."""

    running_wanted: bool
    #: Driver state (rdd.drivers.base STATES).
    state: str
    #: The driver's detail. Absent: why the last preparation failed; Stopped:
    #: why the VM stopped without being asked (failed start, crash).
    message: str = ""
    #: The instance was built from the current template (lima.yaml matches).
    template_current: bool = True
    #: The template change needs a new instance (arch or images changed).
    rebuild_needed: bool = False
    #: The restart annotation is present.
    restart_requested: bool = False
    #: An operation of ours that raised, while it still applies.
    failure: Failure | None = None
    #: Seconds before the VM may be started again (restart backoff).
    start_backoff: float = 0.0
    #: Failed runs in a row, and when their backoff ends (RFC 3339), for status.
    failure_streak: int = 0
    restart_not_before: str = ""
    #: Seconds before a failed preparation is tried again.
    prepare_backoff: float = 0.0


def _active(state: str) -> bool:
    return state in (STARTING, RUNNING)


def prepare_failed(observed: Observed) -> bool:
    return observed.state == ABSENT and bool(observed.message)


def stopped_unasked(observed: Observed) -> bool:
    """The VM stopped on its own (a start that failed, a crash) while wanted running."""
    return observed.running_wanted and observed.state == STOPPED and bool(observed.message)


def decide_vm_action(observed: Observed) -> VMAction:
    """The single next step towards the declared state (pure)."""
    state = observed.state
    if state == PREPARING:
        return VMAction.NOTHING
    if state in (ABSENT, PARTIAL):
        waiting = prepare_failed(observed) and observed.prepare_backoff > 0
        return VMAction.NOTHING if waiting else VMAction.PREPARE
    if state == BROKEN:
        return VMAction.FORCE_STOP
    if not observed.template_current:
        if _active(state):
            return VMAction.STOP
        return VMAction.REBUILD if observed.rebuild_needed else VMAction.RECONFIGURE
    if observed.restart_requested:
        return VMAction.STOP if _active(state) else VMAction.CLEAR_RESTART_REQUEST
    if observed.running_wanted and state == STOPPED:
        return VMAction.NOTHING if observed.start_backoff > 0 else VMAction.START
    if not observed.running_wanted and _active(state):
        return VMAction.STOP
    return VMAction.NOTHING


def requeue_after(observed: Observed, action: VMAction) -> float | None:
    """When to look again although nothing will notify us: a backoff ends (pure)."""
    if action is not VMAction.NOTHING:
        return None
    if prepare_failed(observed) and observed.prepare_backoff > 0:
        return observed.prepare_backoff
    if observed.running_wanted and observed.state == STOPPED and observed.start_backoff > 0:
        return observed.start_backoff
    return None


def restart_delay(failures: int) -> float:
    """Seconds to wait before the restart that follows `failures` consecutive
    failures: the first is immediate, then 1 s, 2 s, 4 s ... (pure)."""
    if failures <= 1:
        return 0.0
    return min(RESTART_BACKOFF_BASE * 2 ** (failures - 2), RESTART_BACKOFF_CAP)


@dataclass(frozen=True)
class RestartStreak:
    """Consecutive failed runs of one VM and the restart backoff they earned.
    Times are the controller's monotonic clock."""

    failures: int = 0
    #: No start before this.
    not_before: float = 0.0
    #: The current failure has been counted (a start of ours clears it).
    counted: bool = False
    #: Since when the VM has been seen Running.
    running_since: float | None = None


def resumed_streak(
    failures: int, backoff_left: float, *, ran_since: bool, now: float
) -> RestartStreak:
    """The streak a controller that (re)starts reads back from status:
    `failures` in a row, `backoff_left` seconds of their backoff still to
    wait (pure). The last failure is counted already unless status shows
    the VM ran after it (`ran_since`): then a stop is a new failure."""
    if failures <= 0:
        return RestartStreak()
    return RestartStreak(failures, now + max(0.0, backoff_left), counted=not ran_since)


def run_failed(observed: Observed) -> bool:
    """The VM is down after a failed run: it stopped unasked, or our start raised."""
    return stopped_unasked(observed) or (
        observed.state == STOPPED
        and observed.failure is not None
        and observed.failure.reason == Reason.START_FAILED
    )


def account_restart(
    streak: RestartStreak, observed: Observed, *, now: float
) -> tuple[RestartStreak, float]:
    """The streak after this observation, and the seconds before the VM may
    be started again (pure). A failed run counts once; a VM that ran
    RESTART_BACKOFF_RESET_SECONDS before failing starts a new streak; one
    not wanted running has none."""
    if not observed.running_wanted:
        return RestartStreak(), 0.0
    failures, not_before = streak.failures, streak.not_before
    counted, running_since = streak.counted, streak.running_since
    if observed.state == RUNNING:
        running_since = now if running_since is None else running_since
        counted = False
    failed = run_failed(observed)
    if failed and not counted:
        stable = running_since is not None and now - running_since >= RESTART_BACKOFF_RESET_SECONDS
        failures = 1 if stable else failures + 1
        not_before = now + restart_delay(failures)
        counted, running_since = True, None
    after = RestartStreak(failures, not_before, counted, running_since)
    return after, (max(0.0, not_before - now) if failed else 0.0)


def prepare_backoff(
    failed_at: float | None, *, failing: bool, now: float
) -> tuple[float | None, float]:
    """(when the current template's preparation was first seen failing, the
    seconds until it is tried again) (pure). `failing`: the instance is
    Absent with the error of a preparation of this very template."""
    if not failing:
        return failed_at, 0.0
    failed_at = now if failed_at is None else failed_at
    return failed_at, max(0.0, failed_at + PREPARE_RETRY_SECONDS - now)


def pending_hold(began: float | None, *, preparing: bool, now: float) -> float | None:
    """Seconds to hold back the status of an instance being prepared since
    `began` (pure): a preparation is reported Pending only once it has
    taken PENDING_REPORT_DELAY, so a quick one is reported once, as what it
    ended in. None: report now (not preparing, long enough, or begun before
    this controller knew of it)."""
    if not preparing or began is None:
        return None
    left = began + PENDING_REPORT_DELAY - now
    return left if left > 0 else None


def _loads(text: str) -> Any:
    try:
        return load_yaml(text)
    except LoadError:
        return None


def _build_inputs(template: Any) -> tuple[Any, Any]:
    """What an instance is built from: its arch and the images for that arch."""
    if not isinstance(template, dict):
        return (None, None)
    arch = template.get("arch")
    images = template.get("images")
    if isinstance(images, list):
        images = [
            image
            for image in images
            if not isinstance(image, dict) or image.get("arch") in (None, arch)
        ]
    return (arch, images)


def needs_rebuild(built_yaml: str, wanted_yaml: str) -> bool:
    """Whether going from the instance's lima.yaml to `wanted_yaml` needs a new
    instance (pure): its arch or the images that can boot it (location, digest)
    changed. cpus, memory, mounts, ... only need a restart. Text that does not
    parse is a rebuild."""
    built, wanted = _loads(built_yaml), _loads(wanted_yaml)
    if not isinstance(built, dict) or not isinstance(wanted, dict):
        return True
    return _build_inputs(built) != _build_inputs(wanted)


@dataclass(frozen=True)
class ConditionValue:
    status: str
    reason: str
    message: str


def created_condition(observed: Observed) -> ConditionValue:
    """Created: Unknown/Pending -> True/Created or False/CreateFailed (pure)."""
    if prepare_failed(observed):
        return ConditionValue(FALSE, Reason.CREATE_FAILED, observed.message)
    if observed.state in (ABSENT, PARTIAL, PREPARING):
        return ConditionValue(UNKNOWN, Reason.PENDING, "Lima instance is being prepared")
    return ConditionValue(TRUE, Reason.CREATED, "Lima instance is created")


def running_condition(observed: Observed) -> ConditionValue:
    """Running: Starting/Started/Stopped/StartFailed/StopFailed (pure)."""
    failure = observed.failure
    if failure is not None:
        return ConditionValue(FALSE, failure.reason, failure.message)
    if observed.state == RUNNING and observed.template_current and not observed.restart_requested:
        return ConditionValue(TRUE, Reason.STARTED, "Lima instance is running")
    if stopped_unasked(observed):
        return ConditionValue(FALSE, Reason.START_FAILED, observed.message)
    if observed.state == STARTING or (observed.running_wanted and observed.state != RUNNING):
        return ConditionValue(FALSE, Reason.STARTING, "Lima instance is starting")
    if observed.state == RUNNING:
        return ConditionValue(FALSE, Reason.STARTING, "Lima instance is restarting")
    return ConditionValue(FALSE, Reason.STOPPED, "Lima instance is stopped")


def counts_as_start(previous_status: str, previous_reason: str, new_status: str) -> bool:
    """restartCount grows when Running turns True after we started the VM,
    not when a restarted controller finds it already running (pure)."""
    return new_status == TRUE and previous_status != TRUE and previous_reason == Reason.STARTING
