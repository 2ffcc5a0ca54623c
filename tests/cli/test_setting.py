"""`rdd set`: the assignment, the condition lines it prints, when it is done."""

from __future__ import annotations

from typing import Any

import pytest

from rdd.cli.arguments import UsageError
from rdd.cli.setting import condition_changes, is_settled, parse_assignment


@pytest.mark.parametrize(
    ("text", "running"), [("running=true", True), ("running=false", False), ("running=1", True)]
)
def test_parse_assignment(text: str, running: bool) -> None:
    assert parse_assignment(text) is running


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("running", "expected KEY=VALUE"),
        ("cpus=2", 'unknown setting "cpus"'),
        ("running=maybe", 'invalid boolean "maybe"'),
    ],
)
def test_parse_assignment_rejects(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        parse_assignment(text)


def app(*conditions: tuple[str, str, str, str, int]) -> dict[str, Any]:
    return {
        "status": {
            "conditions": [
                {"type": t, "status": s, "reason": r, "message": m, "observedGeneration": g}
                for t, s, r, m, g in conditions
            ]
        }
    }


def test_condition_lines_only_on_change_and_settled_last() -> None:
    first = app(
        ("Settled", "False", "Starting", "Lima instance is starting", 2),
        ("Running", "False", "Starting", "Lima instance is starting", 2),
    )
    lines, seen = condition_changes(first, {}, generation=2)
    assert lines == [
        "Running=False: Lima instance is starting (Starting)",
        "Settled=False: Lima instance is starting (Starting)",
    ]
    second = app(
        ("Settled", "True", "Settled", "the VM is running as requested", 2),
        ("Running", "False", "Starting", "Lima instance is starting", 2),
    )
    lines, seen = condition_changes(second, seen, generation=2)
    assert lines == ["Settled=True: the VM is running as requested (Settled)"]
    assert condition_changes(second, seen, generation=2)[0] == []


def test_conditions_of_an_older_generation_are_not_printed() -> None:
    stale = app(("Settled", "True", "Settled", "the VM is stopped as requested", 1))
    assert condition_changes(stale, {}, generation=2) == ([], {})


@pytest.mark.parametrize(
    ("state", "generation", "settled"),
    [
        (app(("Settled", "True", "Settled", "", 2)), 2, True),
        (app(("Settled", "True", "Settled", "", 3)), 2, True),
        (app(("Settled", "True", "Settled", "", 1)), 2, False),
        (app(("Settled", "False", "Starting", "", 2)), 2, False),
        (app(("Running", "True", "Started", "", 2)), 2, False),
        (app(), 1, False),
    ],
)
def test_is_settled(state: dict[str, Any], generation: int, settled: bool) -> None:
    assert is_settled(state, generation=generation) is settled


def test_the_awaited_condition_is_printed_last_when_one_write_changed_several() -> None:
    state = {
        "status": {
            "conditions": [
                {
                    "type": "Created",
                    "status": "True",
                    "reason": "Created",
                    "message": "m",
                    "observedGeneration": 1,
                },
                {
                    "type": "Running",
                    "status": "False",
                    "reason": "Stopped",
                    "message": "s",
                    "observedGeneration": 1,
                },
            ]
        }
    }
    lines, _ = condition_changes(state, {}, generation=1, awaited="Created")
    assert lines == ["Running=False: s (Stopped)", "Created=True: m (Created)"]
    lines, _ = condition_changes(state, {}, generation=1, awaited="Running")
    assert lines == ["Created=True: m (Created)", "Running=False: s (Stopped)"]
