"""`rdd ctl wait --for=...`: parsing, and when an object meets it."""

from __future__ import annotations

from typing import Any

import pytest

from rdd.cli.arguments import UsageError
from rdd.cli.waitfor import WaitFor, is_met, parse_wait_for


@pytest.mark.parametrize(
    ("text", "wait_for"),
    [
        ("create", WaitFor("create")),
        ("delete", WaitFor("delete")),
        ("condition=Running", WaitFor("condition", condition="Running", status="True")),
        ("condition=Running=False", WaitFor("condition", condition="Running", status="False")),
        (
            "jsonpath={.spec.running}=true",
            WaitFor("jsonpath", template="{.spec.running}", value="true"),
        ),
        ("jsonpath={.status.arch}", WaitFor("jsonpath", template="{.status.arch}", value=None)),
        (
            'jsonpath={.status.conditions[?(@.type=="Running")].status}=True',
            WaitFor(
                "jsonpath",
                template='{.status.conditions[?(@.type=="Running")].status}',
                value="True",
            ),
        ),
        ("jsonpath={.data.k}=", WaitFor("jsonpath", template="{.data.k}", value="")),
        ("jsonpath={..k}=1", WaitFor("jsonpath", template="{..k}", value="1")),
    ],
)
def test_parse_wait_for(text: str, wait_for: WaitFor) -> None:
    assert parse_wait_for(text) == wait_for


@pytest.mark.parametrize(
    "text", ["", "ready", "condition=", "jsonpath=.a", "jsonpath={.a}x", "jsonpath={.a[}=1"]
)
def test_parse_wait_for_rejects(text: str) -> None:
    with pytest.raises(UsageError):
        parse_wait_for(text)


def vm(generation: int = 1, **conditions: tuple[str, int]) -> dict[str, Any]:
    return {
        "metadata": {"name": "rd", "generation": generation},
        "spec": {"running": True},
        "status": {
            "conditions": [
                {"type": t, "status": s, "observedGeneration": g}
                for t, (s, g) in conditions.items()
            ]
        },
    }


@pytest.mark.parametrize(
    ("wait_for", "obj", "met"),
    [
        (WaitFor("create"), None, False),
        (WaitFor("create"), vm(), True),
        (WaitFor("delete"), None, True),
        (WaitFor("delete"), vm(), False),
        (WaitFor("condition", condition="Running"), None, False),
        (WaitFor("condition", condition="Running"), vm(Running=("True", 1)), True),
        (WaitFor("condition", condition="running", status="true"), vm(Running=("True", 1)), True),
        (WaitFor("condition", condition="Running"), vm(Running=("False", 1)), False),
        (WaitFor("condition", condition="Running", status="False"), vm(Running=("False", 1)), True),
        (WaitFor("condition", condition="Running"), vm(Created=("True", 1)), False),
        # written for an older generation: not yet
        (WaitFor("condition", condition="Running"), vm(2, Running=("True", 1)), False),
        (WaitFor("condition", condition="Running"), vm(2, Running=("True", 0)), True),
        (WaitFor("jsonpath", template="{.spec.running}", value="true"), vm(), True),
        (WaitFor("jsonpath", template="{.spec.running}", value="false"), vm(), False),
        (WaitFor("jsonpath", template="{.spec.running}", value=None), vm(), True),
        (WaitFor("jsonpath", template="{.spec.missing}", value=None), vm(), False),
        (WaitFor("jsonpath", template="{.spec.running}", value="true"), None, False),
    ],
)
def test_is_met(wait_for: WaitFor, obj: dict[str, Any] | None, met: bool) -> None:
    assert is_met(wait_for, obj) is met
