"""kubectl's JSONPath templates on jsonpath-ng's extended parser (pure).

A template is literal text and `{...}` actions: a path (`{.a.b}`,
`{.a[0].b}`, `{.items[*].metadata.name}`, `{.a['key.with.dots']}`,
`{.a.key\\.with\\.dots}`, `{.status.conditions[?(@.type=="Running")].status}`,
recursive descent `{..name}`), a string (`{"\\n"}`), and `{range PATH}BODY{end}`
(BODY once per value, its paths relative to that value; ranges nest).
This module splits the template, turns each kubectl path into jsonpath-ng's
syntax (every name quoted, so `where` or `a/b` stay names) after checking the
brackets kubectl allows, and leaves finding values to the library.

Missing keys print nothing (kubectl get allows missing keys). Values print
as kubectl does: strings bare, booleans true/false, lists and maps as JSON;
several results are joined by a space.

Used by `rdd ctl get` (-o jsonpath, custom-columns, --sort-by, the kinds'
printer columns) and `rdd ctl wait --for=jsonpath=`. jsonpath-ng is imported
on the first path parsed, not before."""

from __future__ import annotations

import functools
import json
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any


class JsonPathError(ValueError):
    """A template outside what kubectl accepts, or malformed."""


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Path:
    """One path action; `find` gives every value it reaches."""

    expression: str
    _find: Callable[[Any], list[Any]] = field(compare=False, repr=False)

    def find(self, data: Any) -> list[Any]:
        return self._find(data)


@dataclass(frozen=True)
class Range:
    """`{range PATH}BODY{end}`: BODY once per value PATH reaches."""

    path: Path
    body: tuple[Part, ...]


Part = Literal | Path | Range


@dataclass(frozen=True)
class _RangeStart:
    path: Path


class _RangeEnd:
    """`{end}`: closes the innermost `{range}`."""


def parse_template(template: str) -> list[Part]:
    """Split literal text from `{...}` actions, parse each, and nest what
    lies between `{range ...}` and `{end}`."""
    stack: list[tuple[_RangeStart | None, list[Part]]] = [(None, [])]
    for token in _tokens(template):
        if isinstance(token, _RangeStart):
            stack.append((token, []))
        elif isinstance(token, _RangeEnd):
            if len(stack) == 1:
                raise JsonPathError(f"{{end}} without a {{range}} in template {template!r}")
            start, body = stack.pop()
            assert start is not None
            stack[-1][1].append(Range(start.path, tuple(body)))
        else:
            stack[-1][1].append(token)
    if len(stack) > 1:
        raise JsonPathError(f"{{range}} without an {{end}} in template {template!r}")
    return stack[0][1]


def _tokens(template: str) -> Iterator[Part | _RangeStart | _RangeEnd]:
    i = 0
    while i < len(template):
        start = template.find("{", i)
        text = template[i:] if start < 0 else template[i:start]
        if "}" in text:
            raise JsonPathError(f"unmatched '}}' in template {template!r}")
        if text:
            yield Literal(text)
        if start < 0:
            return
        end = _closing(template, start)
        yield _action(template[start + 1 : end].strip(), template)
        i = end + 1


def _closing(template: str, start: int) -> int:
    """Index of the `}` closing the `{` at `start`, skipping quoted text."""
    quote = ""
    i = start + 1
    while i < len(template):
        char = template[i]
        if quote:
            if char == "\\":
                i += 1
            elif char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "}":
            return i
        i += 1
    raise JsonPathError(f"unclosed action in template {template!r}")


def _action(expr: str, template: str) -> Part | _RangeStart | _RangeEnd:
    if not expr:
        raise JsonPathError(f"empty expression in template {template!r}")
    if expr[0] in "\"'":
        return Literal(_unquote(expr))
    word, _, rest = expr.partition(" ")
    if word == "end" and not rest.strip():
        return _RangeEnd()
    if word == "range":
        if not rest.strip():
            raise JsonPathError(f"{{range}} needs a path in template {template!r}")
        return _RangeStart(parse_path(rest.strip()))
    return parse_path(expr)


def _unquote(text: str) -> str:
    if len(text) < 2 or text[-1] != text[0]:
        raise JsonPathError(f"unterminated string {text}")
    if text[0] == '"':
        try:
            return str(json.loads(text))
        except ValueError:
            raise JsonPathError(f"invalid string {text}") from None
    return text[1:-1]


def parse_path(expr: str) -> Path:
    """A kubectl path (`.a.b[0]`, `..name`, a leading `$` or `@` allowed)."""
    steps = _plain_steps(expr)
    if steps is not None:
        return Path(expr, functools.partial(_walk, steps))
    compiled = _compile(to_jsonpath_ng(expr))
    return Path(expr, lambda data: [match.value for match in compiled.find(data)])


# The kinds' printer columns use only names and `[?(@.key=="value")]`: those
# are walked here, so `rdd ctl get`'s tables do not pay jsonpath-ng's import
# and lexer (more than the rest of the command's own work).
_PLAIN_STEP = re.compile(r'\.([A-Za-z_][\w-]*)|\[\?\(@\.([A-Za-z_]\w*)=="([^"\\]*)"\)\]')


def _plain_steps(expr: str) -> list[tuple[str, ...]] | None:
    """(name,) and (key, value) steps when `expr` is only those, else None."""
    steps: list[tuple[str, ...]] = []
    i = 0
    while i < len(expr):
        match = _PLAIN_STEP.match(expr, i)
        if match is None:
            return None
        name, key, value = match.groups()
        steps.append((name,) if name else (key, value))
        i = match.end()
    return steps or None


def _walk(steps: list[tuple[str, ...]], data: Any) -> list[Any]:
    nodes = [data]
    for step in steps:
        if len(step) == 1:
            nodes = [node[step[0]] for node in nodes if isinstance(node, dict) and step[0] in node]
        else:
            key, value = step
            nodes = [
                item
                for node in nodes
                if isinstance(node, list)
                for item in node
                if isinstance(item, dict) and item.get(key) == value
            ]
    return nodes


@functools.cache
def _parser() -> Any:
    """One parser for every path (jsonpath-ng's `parse()` builds a new one
    each call); imported here, so only the commands that use a path pay it."""
    from jsonpath_ng.ext.parser import ExtendedJsonPathParser

    return ExtendedJsonPathParser()


@functools.lru_cache(maxsize=256)
def _compile(expression: str) -> Any:
    try:
        return _parser().parse(expression)
    except Exception as exc:  # the library's lexer and parser errors
        raise JsonPathError(f"{exc} in {expression}") from None


_NAME = re.compile(r"(?:\\.|[^.\[\]\\])+")
_INDEXES = re.compile(r"-?\d+(\s*,\s*-?\d+)*")
_SLICE = re.compile(r"(-?\d+)?\s*:\s*(-?\d+)?(\s*:\s*(-?\d+)?)?")


def to_jsonpath_ng(expr: str) -> str:
    """kubectl's path in jsonpath-ng's syntax: `.a.b\\.c[0]` -> `$["a"]["b.c"][0]`.
    Brackets are checked against what kubectl accepts and passed on as they are."""
    i = 1 if expr[:1] in ("$", "@") else 0
    if i == 0 and expr[:1] not in (".", "["):
        raise JsonPathError(f"unrecognized identifier {expr.split('.')[0]} in {{{expr}}}")
    out = ["$"]
    while i < len(expr):
        char = expr[i]
        if char == "[":
            end = _bracket_end(expr, i)
            out.append(f"[{_bracket(expr[i + 1 : end].strip(), expr)}]")
            i = end + 1
            continue
        if char != ".":
            raise JsonPathError(f"unexpected {char!r} at position {i} in {{{expr}}}")
        descend = expr.startswith("..", i)
        i += 2 if descend else 1
        match = _NAME.match(expr, i)
        if match is None:
            if descend and expr[i : i + 1] == "[":
                out.append("..")
                continue
            if not descend and i == len(expr) and out == ["$"]:
                break  # `{.}`: the whole object
            raise JsonPathError(f"expected a field name at position {i} in {{{expr}}}")
        name = re.sub(r"\\(.)", r"\1", match.group())
        i = match.end()
        if name == "*":
            out.append("..*" if descend else ".*")
        else:
            out.append(f"{'..' if descend else ''}[{json.dumps(name)}]")
    return "".join(out)


def _bracket_end(expr: str, start: int) -> int:
    quote = ""
    depth = 0
    for i in range(start, len(expr)):
        char = expr[i]
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
            if depth == 0:
                return i
    raise JsonPathError(f"unterminated '[' in {{{expr}}}")


def _bracket(inner: str, expr: str) -> str:
    """What kubectl accepts in brackets: `*`, quoted names, indexes, a slice,
    or a filter on `@`."""
    if inner == "*" or inner[:1] in "\"'" or _INDEXES.fullmatch(inner) or _SLICE.fullmatch(inner):
        return inner
    if inner.startswith("?(@") and inner.endswith(")"):
        return inner
    if inner.startswith("?("):
        raise JsonPathError(f"a filter compares paths starting with '@' in {{{expr}}}")
    raise JsonPathError(f"invalid array index [{inner}] in {{{expr}}}")


# -- values ----------------------------------------------------------------------


def format_value(value: Any) -> str:
    """Strings bare, booleans true/false, null, numbers, lists/maps as JSON."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "true" if value else "false"
    if value is None:
        return "null"
    if isinstance(value, int | float):
        return json.dumps(value)
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def execute(template: str | list[Part], data: Any) -> str:
    """Render a template against `data` (a dict from rdd.meta.serialization.to_dict)."""
    parts = parse_template(template) if isinstance(template, str) else template
    return "".join(_render(parts, data))


def _render(parts: Sequence[Part], data: Any) -> Iterator[str]:
    for part in parts:
        if isinstance(part, Literal):
            yield part.text
        elif isinstance(part, Range):
            for value in part.path.find(data):
                yield from _render(part.body, value)
        else:
            yield " ".join(format_value(v) for v in part.find(data))


def values(template: str | list[Part], data: Any) -> list[Any]:
    """The values of a template's path actions (`wait --for=jsonpath`, columns, --sort-by)."""
    parts = parse_template(template) if isinstance(template, str) else template
    return [v for part in parts if isinstance(part, Path) for v in part.find(data)]
