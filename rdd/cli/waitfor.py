"""What `rdd ctl wait --for=...` waits for, and whether an object meets it
(pure). The watching itself is in rdd.cli.waiting."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdd.cli import jsonpath
from rdd.cli.arguments import UsageError


@dataclass(frozen=True)
class WaitFor:
    #: create, delete, condition or jsonpath.
    mode: str
    condition: str = ""
    status: str = "True"
    template: str = ""
    #: jsonpath: the value to match; None means "the path exists".
    value: str | None = None


def parse_wait_for(text: str) -> WaitFor:
    """`create`, `delete`, `condition=TYPE[=STATUS]`, `jsonpath={.path}[=VALUE]`."""
    if text in ("create", "delete"):
        return WaitFor(text)
    if text.startswith("condition="):
        spec = text[len("condition=") :]
        condition, _, status = spec.partition("=")
        if not condition:
            raise UsageError(f"--for=condition= needs a condition type: {text}")
        return WaitFor("condition", condition=condition, status=status or "True")
    if text.startswith("jsonpath="):
        spec = text[len("jsonpath=") :]
        if not spec.startswith("{"):
            raise UsageError(f"unrecognized JSONPath expression {spec}: it must be wrapped in {{}}")
        end = spec.rfind("}")
        template, rest = spec[: end + 1], spec[end + 1 :]
        try:
            jsonpath.parse_template(template)
        except jsonpath.JsonPathError as exc:
            raise UsageError(str(exc)) from None
        if rest and not rest.startswith("="):
            raise UsageError(f"unrecognized JSONPath expression {spec}")
        return WaitFor("jsonpath", template=template, value=rest[1:] if rest else None)
    raise UsageError(
        f"unrecognized condition: {text!r} (use create, delete, condition=TYPE[=STATUS] "
        "or jsonpath='{.path}'=VALUE)"
    )


def is_met(wait_for: WaitFor, obj: dict[str, Any] | None) -> bool:
    """Does the object (None: it does not exist) meet the wait?"""
    if wait_for.mode == "delete":
        return obj is None
    if obj is None:
        return False
    if wait_for.mode == "create":
        return True
    if wait_for.mode == "condition":
        return _condition_met(wait_for, obj)
    found = jsonpath.values(wait_for.template, obj)
    if wait_for.value is None:
        return bool(found)
    return any(jsonpath.format_value(v) == wait_for.value for v in found)


def _condition_met(wait_for: WaitFor, obj: dict[str, Any]) -> bool:
    generation = int(obj.get("metadata", {}).get("generation") or 0)
    for cond in obj.get("status", {}).get("conditions", []):
        if str(cond.get("type", "")).lower() != wait_for.condition.lower():
            continue
        if str(cond.get("status", "")).lower() != wait_for.status.lower():
            return False
        observed = int(cond.get("observedGeneration") or 0)
        # A condition written for an older generation says nothing about this one.
        return observed == 0 or observed >= generation
    return False
