"""Reading a Lima template's YAML, with one clear problem when it cannot be read.

Used by template validation and rendering.
"""

from __future__ import annotations

import json
from typing import Any

import yaml

_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class TemplateSyntaxError(ValueError):
    """The text is not a single YAML document holding a mapping."""


def load_template(text: str) -> dict[Any, Any]:
    """The template's top-level mapping. Pure.

    Raises TemplateSyntaxError with one message naming the line and showing it.
    """
    try:
        data = yaml.load(text, Loader=_LOADER)
    except yaml.MarkedYAMLError as exc:
        raise TemplateSyntaxError(_yaml_problem(text, exc)) from None
    except yaml.YAMLError as exc:
        raise TemplateSyntaxError(f"template is not valid YAML: {exc}") from None
    if not isinstance(data, dict):
        raise TemplateSyntaxError(f"template: must be a YAML mapping; got {_describe(data)}")
    return data


def show(value: Any) -> str:
    """A value the way a person wrote it, strings double-quoted."""
    return json.dumps(value, default=str)


def _yaml_problem(text: str, exc: yaml.MarkedYAMLError) -> str:
    mark = exc.problem_mark or exc.context_mark
    what = exc.problem or exc.context or "cannot parse"
    if mark is None:
        return f"template is not valid YAML: {what}"
    lines = text.splitlines()
    shown = f": {show(lines[mark.line])}" if mark.line < len(lines) else ""
    return (
        f"template is not valid YAML: line {mark.line + 1}, column {mark.column + 1}: {what}{shown}"
    )


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
