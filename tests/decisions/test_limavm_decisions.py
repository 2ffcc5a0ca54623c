"""LimaVM controller decisions over plain data."""

from __future__ import annotations

import pytest
from rdd.services.limavm.decisions import (
    PENDING_REPORT_DELAY,
    Failure,
    Observed,
    VMAction,
    counts_as_start,
    created_condition,
    decide_vm_action,
    needs_rebuild,
    pending_hold,
    requeue_after,
    restart_delay,
    running_condition,
)

from rdd.drivers.base import ABSENT, BROKEN, PARTIAL, PREPARING, RUNNING, STARTING, STOPPED


@pytest.mark.parametrize(
    ("observed", "action"),
    [
        (Observed(running_wanted=True, state=ABSENT), VMAction.PREPARE),
        (Observed(running_wanted=False, state=PARTIAL), VMAction.PREPARE),
        (Observed(running_wanted=True, state=PREPARING), VMAction.NOTHING),
        (
            Observed(running_wanted=True, state=ABSENT, message="bad digest", prepare_backoff=5),
            VMAction.NOTHING,
        ),
        (Observed(running_wanted=True, state=ABSENT, message="bad digest"), VMAction.PREPARE),
        (Observed(running_wanted=True, state=STOPPED), VMAction.START),
        (Observed(running_wanted=False, state=STOPPED), VMAction.NOTHING),
        (Observed(running_wanted=False, state=RUNNING), VMAction.STOP),
        (Observed(running_wanted=False, state=STARTING), VMAction.STOP),
        (Observed(running_wanted=True, state=RUNNING), VMAction.NOTHING),
        (Observed(running_wanted=True, state=BROKEN), VMAction.FORCE_STOP),
        (Observed(running_wanted=True, state=RUNNING, template_current=False), VMAction.STOP),
        (
            Observed(running_wanted=True, state=STOPPED, template_current=False),
            VMAction.RECONFIGURE,
        ),
        (
            Observed(
                running_wanted=True, state=STOPPED, template_current=False, rebuild_needed=True
            ),
            VMAction.REBUILD,
        ),
        (
            Observed(
                running_wanted=True, state=RUNNING, template_current=False, rebuild_needed=True
            ),
            VMAction.STOP,
        ),
        (Observed(running_wanted=True, state=STOPPED, message="crashed"), VMAction.START),
        (
            Observed(running_wanted=True, state=STOPPED, message="crashed", start_backoff=2),
            VMAction.NOTHING,
        ),
        (Observed(running_wanted=True, state=RUNNING, restart_requested=True), VMAction.STOP),
        (
            Observed(running_wanted=True, state=STOPPED, restart_requested=True),
            VMAction.CLEAR_RESTART_REQUEST,
        ),
    ],
)
def test_decide_vm_action(observed: Observed, action: VMAction):
    assert decide_vm_action(observed) is action


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (Observed(running_wanted=True, state=ABSENT), ("Unknown", "Pending")),
        (Observed(running_wanted=True, state=PREPARING, message="x"), ("Unknown", "Pending")),
        (Observed(running_wanted=True, state=PARTIAL, message="x"), ("Unknown", "Pending")),
        (Observed(running_wanted=True, state=ABSENT, message="x"), ("False", "CreateFailed")),
        (Observed(running_wanted=True, state=STOPPED), ("True", "Created")),
    ],
)
def test_created_condition(observed: Observed, expected: tuple[str, str]):
    value = created_condition(observed)
    assert (value.status, value.reason) == expected


@pytest.mark.parametrize(
    ("observed", "expected"),
    [
        (Observed(running_wanted=True, state=STOPPED), ("False", "Starting")),
        (Observed(running_wanted=True, state=STARTING), ("False", "Starting")),
        (Observed(running_wanted=True, state=RUNNING), ("True", "Started")),
        (Observed(running_wanted=False, state=STOPPED), ("False", "Stopped")),
        (Observed(running_wanted=False, state=ABSENT), ("False", "Stopped")),
        (
            Observed(running_wanted=True, state=STOPPED, failure=Failure("StartFailed", "boom")),
            ("False", "StartFailed"),
        ),
        (
            Observed(running_wanted=False, state=RUNNING, failure=Failure("StopFailed", "stuck")),
            ("False", "StopFailed"),
        ),
        (
            Observed(running_wanted=True, state=STOPPED, message="host agent was killed"),
            ("False", "StartFailed"),
        ),
        (
            Observed(running_wanted=False, state=STOPPED, message="host agent was killed"),
            ("False", "Stopped"),
        ),
        (
            Observed(running_wanted=True, state=RUNNING, message="shutting down"),
            ("True", "Started"),
        ),
        (
            Observed(running_wanted=True, state=RUNNING, restart_requested=True),
            ("False", "Starting"),
        ),
    ],
)
def test_running_condition(observed: Observed, expected: tuple[str, str]):
    value = running_condition(observed)
    assert (value.status, value.reason) == expected


@pytest.mark.parametrize(
    ("previous", "new", "counts"),
    [
        (("False", "Starting"), "True", True),
        (("Unknown", "Reconciling"), "True", False),
        (("True", "Started"), "True", False),
        (("False", "Starting"), "False", False),
    ],
)
def test_restart_count_only_counts_starts_we_made(previous, new, counts):
    assert counts_as_start(previous[0], previous[1], new) is counts


def test_a_stopped_vm_that_failed_carries_the_drivers_message():
    value = running_condition(Observed(running_wanted=True, state=STOPPED, message="exit 1: boom"))
    assert value.message == "exit 1: boom"


@pytest.mark.parametrize(
    ("failures", "delay"), [(0, 0.0), (1, 0.0), (2, 1.0), (3, 2.0), (4, 4.0), (7, 32.0), (30, 60.0)]
)
def test_restarts_back_off_exponentially_after_an_immediate_first(failures: int, delay: float):
    assert restart_delay(failures) == delay


def test_requeue_after_a_backoff_only_when_waiting():
    waiting = Observed(running_wanted=True, state=STOPPED, message="x", start_backoff=3)
    assert requeue_after(waiting, VMAction.NOTHING) == 3
    assert requeue_after(Observed(running_wanted=True, state=RUNNING), VMAction.NOTHING) is None
    failed = Observed(running_wanted=True, state=ABSENT, message="x", prepare_backoff=20)
    assert requeue_after(failed, VMAction.NOTHING) == 20


BUILT = """\
arch: x86_64
images:
- location: https://example.invalid/amd64.img
  arch: x86_64
  digest: sha256:aa
- location: https://example.invalid/arm64.img
  arch: aarch64
cpus: 2
memory: 4GiB
"""


@pytest.mark.parametrize(
    ("change", "rebuild"),
    [
        (("cpus: 2", "cpus: 4"), False),
        (("memory: 4GiB", "memory: 8GiB\nmounts: []"), False),
        (("arm64.img", "arm64-v2.img"), False),  # an image this VM's arch does not use
        (("amd64.img", "amd64-v2.img"), True),
        (("sha256:aa", "sha256:bb"), True),
        (("arch: x86_64\nimages", "arch: aarch64\nimages"), True),
    ],
)
def test_only_a_new_arch_or_new_images_need_a_rebuild(change: tuple[str, str], rebuild: bool):
    assert needs_rebuild(BUILT, BUILT.replace(*change)) is rebuild


def test_unreadable_lima_yaml_is_rebuilt():
    assert needs_rebuild("{not yaml", BUILT) is True


@pytest.mark.parametrize(
    ("began", "preparing", "now", "hold"),
    [
        (100.0, True, 100.0, PENDING_REPORT_DELAY),  # just begun: not Pending yet
        (100.0, True, 100.1, PENDING_REPORT_DELAY - 0.1),
        (100.0, True, 100.0 + PENDING_REPORT_DELAY, None),  # long enough: Pending
        (None, True, 100.0, None),  # begun before this controller knew of it
        (100.0, False, 100.0, None),  # done (or failed) already: say what it ended in
    ],
)
def test_a_preparation_is_reported_pending_only_once_it_has_taken_a_moment(
    began: float | None, preparing: bool, now: float, hold: float | None
):
    assert pending_hold(began, preparing=preparing, now=now) == pytest.approx(hold)
