"""Reading a Lima template's YAML, with one clear problem when it cannot be read
(the limits on size, nesting, aliases and duplicate keys are rdd.meta.loading's).

Used by template validation and rendering.
"""

from __future__ import annotations

import json
from typing import Any

from rdd.meta.loading import LoadError, load_yaml


class TemplateSyntaxError(ValueError):
    """The text is not a single YAML document holding a mapping."""


def load_template(text: str) -> dict[Any, Any]:
    """The template's top-level mapping. Pure.

    Raises TemplateSyntaxError with one message naming the line and showing it.
    """
    try:
        data = load_yaml(text)
    except LoadError as exc:
        raise TemplateSyntaxError(_yaml_problem(text, exc)) from None
    if not isinstance(data, dict):
        raise TemplateSyntaxError(f"template: must be a YAML mapping; got {_describe(data)}")
    return data


def show(value: Any) -> str:
    """A value the way a person wrote it, strings double-quoted."""
    return json.dumps(value, default=str)


def _yaml_problem(text: str, exc: LoadError) -> str:
    if exc.line is None:
        return f"template is not valid YAML: {exc.problem}"
    lines = text.splitlines()
    column = f", column {exc.column}" if exc.column is not None else ""
    shown = f": {show(lines[exc.line - 1])}" if exc.line <= len(lines) else ""
    return f"template is not valid YAML: line {exc.line}{column}: {exc.problem}{shown}"


_NOUNS: dict[type, str] = {
    list: "a list",
    str: "a string",
    bool: "a boolean",
    int: "a number",
    float: "a number",
}


def _describe(value: Any) -> str:
    if value is None:
        return "an empty document"
    noun = _NOUNS.get(type(value), f"a {type(value).__name__}")
    return f"{noun} {show(value)[:60]}"
