"""The LimaVM controller's restart and preparation backoff accounting, pure."""

from __future__ import annotations

import pytest
from rdd.services.limavm.decisions import (
    PREPARE_RETRY_SECONDS,
    RESTART_BACKOFF_RESET_SECONDS,
    Failure,
    Observed,
    RestartStreak,
    account_restart,
    prepare_backoff,
    resumed_streak,
    run_failed,
)

from rdd.drivers.base import RUNNING, STARTING, STOPPED

CRASHED = Observed(running_wanted=True, state=STOPPED, message="host agent exited")
START_RAISED = Observed(
    running_wanted=True, state=STOPPED, failure=Failure("StartFailed", "no disk")
)
UP = Observed(running_wanted=True, state=RUNNING)


@pytest.mark.parametrize(
    ("observed", "failed"),
    [
        (CRASHED, True),
        (START_RAISED, True),
        (UP, False),
        (Observed(running_wanted=True, state=STOPPED), False),
        (Observed(running_wanted=False, state=STOPPED, message="exited"), False),
        (Observed(running_wanted=True, state=STARTING), False),
        (
            Observed(running_wanted=True, state=STOPPED, failure=Failure("StopFailed", "x")),
            False,
        ),
    ],
)
def test_which_observations_are_failed_runs(observed: Observed, failed: bool) -> None:
    assert run_failed(observed) is failed


@pytest.mark.parametrize(
    ("streak", "observed", "now", "after", "wait"),
    [
        # The first failure restarts at once, the next ones wait 1 s, 2 s, ...
        (RestartStreak(), CRASHED, 100.0, RestartStreak(1, 100.0, True, None), 0.0),
        (RestartStreak(1, 100.0, False), CRASHED, 101.0, RestartStreak(2, 102.0, True), 1.0),
        (RestartStreak(2, 102.0, False), START_RAISED, 103.0, RestartStreak(3, 105.0, True), 2.0),
        # A failure is counted once, however often it is seen.
        (RestartStreak(2, 102.0, True), CRASHED, 101.5, RestartStreak(2, 102.0, True), 0.5),
        (RestartStreak(2, 102.0, True), CRASHED, 110.0, RestartStreak(2, 102.0, True), 0.0),
        # Running: the time is noted and the next failure will count.
        (RestartStreak(3, 105.0, True), UP, 106.0, RestartStreak(3, 105.0, False, 106.0), 0.0),
        (
            RestartStreak(3, 105.0, False, 106.0),
            UP,
            200.0,
            RestartStreak(3, 105.0, False, 106.0),
            0.0,
        ),
        # A VM that ran long enough before failing starts a new streak.
        (
            RestartStreak(5, 0.0, False, 100.0),
            CRASHED,
            100.0 + RESTART_BACKOFF_RESET_SECONDS,
            RestartStreak(1, 100.0 + RESTART_BACKOFF_RESET_SECONDS, True),
            0.0,
        ),
        # ... and one that did not, keeps it.
        (RestartStreak(5, 0.0, False, 100.0), CRASHED, 105.0, RestartStreak(6, 121.0, True), 16.0),
        # Not wanted running: no streak at all.
        (
            RestartStreak(4, 50.0, True),
            Observed(running_wanted=False, state=STOPPED),
            60.0,
            RestartStreak(),
            0.0,
        ),
    ],
)
def test_account_restart(
    streak: RestartStreak, observed: Observed, now: float, after: RestartStreak, wait: float
) -> None:
    assert account_restart(streak, observed, now=now) == (after, wait)


@pytest.mark.parametrize(
    ("failed_at", "failing", "now", "expected"),
    [
        (None, False, 10.0, (None, 0.0)),
        (5.0, False, 10.0, (5.0, 0.0)),
        (None, True, 10.0, (10.0, PREPARE_RETRY_SECONDS)),
        (10.0, True, 25.0, (10.0, PREPARE_RETRY_SECONDS - 15.0)),
        (10.0, True, 10.0 + PREPARE_RETRY_SECONDS + 1, (10.0, 0.0)),
    ],
)
def test_prepare_backoff(
    failed_at: float | None, failing: bool, now: float, expected: tuple[float | None, float]
) -> None:
    assert prepare_backoff(failed_at, failing=failing, now=now) == expected


@pytest.mark.parametrize(
    ("failures", "left", "ran_since", "expected"),
    [
        (0, 5.0, False, RestartStreak()),
        (-1, 0.0, True, RestartStreak()),
        (3, 2.0, False, RestartStreak(3, 102.0, counted=True)),
        (2, -4.0, False, RestartStreak(2, 100.0, counted=True)),  # backoff over: may start now
        (2, 0.0, True, RestartStreak(2, 100.0, counted=False)),  # it ran since: a stop is new
    ],
)
def test_a_resumed_streak_is_what_status_kept(
    failures: int, left: float, ran_since: bool, expected: RestartStreak
) -> None:
    assert resumed_streak(failures, left, ran_since=ran_since, now=100.0) == expected
