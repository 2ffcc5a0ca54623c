"""LimaVM controller decisions over plain data."""

from __future__ import annotations

import pytest

from rdd.drivers.base import ABSENT, BROKEN, PARTIAL, PREPARING, RUNNING, STARTING, STOPPED
from services.limavm.decisions import (
    Failure,
    Observed,
    VMAction,
    counts_as_start,
    created_condition,
    decide_vm_action,
    running_condition,
)


@pytest.mark.parametrize(
    ("observed", "action"),
    [
        (Observed(running_wanted=True, state=ABSENT), VMAction.PREPARE),
        (Observed(running_wanted=False, state=PARTIAL), VMAction.PREPARE),
        (Observed(running_wanted=True, state=ABSENT, preparing=True), VMAction.NOTHING),
        (Observed(running_wanted=True, state=PREPARING), VMAction.NOTHING),
        (
            Observed(
                running_wanted=True, state=ABSENT, failure=Failure("CreateFailed", "bad digest")
            ),
            VMAction.NOTHING,
        ),
        (Observed(running_wanted=True, state=STOPPED), VMAction.START),
        (Observed(running_wanted=False, state=STOPPED), VMAction.NOTHING),
        (Observed(running_wanted=False, state=RUNNING), VMAction.STOP),
        (Observed(running_wanted=False, state=STARTING), VMAction.STOP),
        (Observed(running_wanted=True, state=RUNNING), VMAction.NOTHING),
        (Observed(running_wanted=True, state=BROKEN), VMAction.FORCE_STOP),
        (Observed(running_wanted=True, state=RUNNING, template_current=False), VMAction.STOP),
        (Observed(running_wanted=True, state=STOPPED, template_current=False), VMAction.REPREPARE),
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
        (Observed(running_wanted=True, state=STOPPED, preparing=True), ("Unknown", "Pending")),
        (
            Observed(running_wanted=True, state=ABSENT, failure=Failure("CreateFailed", "x")),
            ("False", "CreateFailed"),
        ),
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
