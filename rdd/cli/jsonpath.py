"""kubectl's JSONPath templates, the subset people use (pure).

A template is literal text and `{...}` expressions: `{.a.b}`, `{.a[0].b}`,
`{.items[*].metadata.name}`, `{.a['key.with.dots']}`, `{.a.key\\.with\\.dots}`,
`{.status.conditions[?(@.type=="Running")].status}`, `{"\\n"}`, recursive
descent `{..name}`, and `{range .items[*]}...{end}` (the body once per value,
paths in it relative to that value; ranges nest). Missing keys
print nothing (kubectl get allows missing keys). Values print as kubectl does:
strings bare, booleans true/false, lists and maps as JSON; several results
are joined by a space.

Used by `rdd ctl get -o jsonpath=` and `rdd ctl wait --for=jsonpath=`."""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any


class JsonPathError(ValueError):
    """A template outside the supported subset, or malformed."""


@dataclass(frozen=True)
class Key:
    names: tuple[str, ...]


@dataclass(frozen=True)
class Wildcard:
    pass


@dataclass(frozen=True)
class Descend:
    """`..`: the node and everything below it, for the next step to pick from."""


@dataclass(frozen=True)
class Index:
    indexes: tuple[int, ...]


@dataclass(frozen=True)
class Slice:
    start: int | None
    stop: int | None
    step: int | None


@dataclass(frozen=True)
class Filter:
    left: tuple[Step, ...]
    op: str
    #: A literal, or a path (tuple of steps) relative to the element.
    right: Any
    right_is_path: bool


Step = Key | Wildcard | Descend | Index | Slice | Filter


@dataclass(frozen=True)
class Literal:
    text: str


@dataclass(frozen=True)
class Path:
    steps: tuple[Step, ...]


@dataclass(frozen=True)
class Range:
    """`{range PATH}BODY{end}`: BODY once per value PATH reaches."""

    steps: tuple[Step, ...]
    body: tuple[Part, ...]


Part = Literal | Path | Range


@dataclass(frozen=True)
class _RangeStart:
    """`{range .path}`: what follows repeats for each item of `steps`' result."""

    steps: tuple[Step, ...]


@dataclass(frozen=True)
class _RangeEnd:
    """`{end}`: closes the innermost `{range}`."""


def parse_template(template: str) -> list[Part]:
    """Split literal text from `{...}` expressions, parse each expression,
    and nest what lies between `{range ...}` and `{end}`."""
    stack: list[tuple[_RangeStart | None, list[Part]]] = [(None, [])]
    for token in _tokens(template):
        if isinstance(token, _RangeStart):
            stack.append((token, []))
        elif isinstance(token, _RangeEnd):
            if len(stack) == 1:
                raise JsonPathError(f"{{end}} without a {{range}} in template {template!r}")
            start, body = stack.pop()
            assert start is not None
            stack[-1][1].append(Range(start.steps, tuple(body)))
        else:
            stack[-1][1].append(token)
    if len(stack) > 1:
        raise JsonPathError(f"{{range}} without an {{end}} in template {template!r}")
    return stack[0][1]


def _tokens(template: str) -> list[Part | _RangeStart | _RangeEnd]:
    parts: list[Part | _RangeStart | _RangeEnd] = []
    text = []
    i = 0
    while i < len(template):
        char = template[i]
        if char != "{":
            if char == "}":
                raise JsonPathError(f"unmatched '}}' in template {template!r}")
            text.append(char)
            i += 1
            continue
        end = _closing(template, i)
        if text:
            parts.append(Literal("".join(text)))
            text = []
        parts.append(_parse_expression(template[i + 1 : end].strip(), template))
        i = end + 1
    if text:
        parts.append(Literal("".join(text)))
    return parts


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


def _parse_expression(expr: str, template: str) -> Part | _RangeStart | _RangeEnd:
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
    return Path(parse_path(expr))


def _unquote(text: str) -> str:
    if len(text) < 2 or text[-1] != text[0]:
        raise JsonPathError(f"unterminated string {text}")
    if text[0] == '"':
        try:
            return str(json.loads(text))
        except ValueError:
            raise JsonPathError(f"invalid string {text}") from None
    return text[1:-1]


_NAME = re.compile(r"(?:\\.|[^.\[\]\\])+")


def parse_path(expr: str) -> tuple[Step, ...]:
    """`.a.b[0][?(@.x=="y")]` -> steps. A leading `$` or `@` is allowed."""
    i = 1 if expr[:1] in ("$", "@") else 0
    if i == 0 and expr[:1] not in (".", "["):
        raise JsonPathError(f"unrecognized identifier {expr.split('.')[0]} in {{{expr}}}")
    steps: list[Step] = []
    while i < len(expr):
        char = expr[i]
        if expr.startswith("..", i):
            steps.append(Descend())
            i += 2 if expr[i + 2 : i + 3] == "[" else 1
            if i >= len(expr) - 1 and expr[i:] in ("", "."):
                raise JsonPathError(f"'..' must be followed by a field or index in {{{expr}}}")
            continue
        if char == ".":
            i += 1
            if expr[i : i + 1] == "*":
                steps.append(Wildcard())
                i += 1
                continue
            match = _NAME.match(expr, i)
            if match is None:
                if i == len(expr) and not steps:
                    break  # `{.}`: the whole object
                raise JsonPathError(f"expected a field name at position {i} in {{{expr}}}")
            steps.append(Key((re.sub(r"\\(.)", r"\1", match.group()),)))
            i = match.end()
        elif char == "[":
            end = _bracket_end(expr, i)
            steps.append(_parse_bracket(expr[i + 1 : end].strip(), expr))
            i = end + 1
        else:
            raise JsonPathError(f"unexpected {char!r} at position {i} in {{{expr}}}")
    return tuple(steps)


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


_INT = re.compile(r"-?\d+")


def _parse_bracket(inner: str, expr: str) -> Step:
    if inner == "*":
        return Wildcard()
    if inner.startswith("?(") and inner.endswith(")"):
        return _parse_filter(inner[2:-1].strip(), expr)
    if inner[:1] in "\"'":
        names = [_unquote(part.strip()) for part in _split_outside_quotes(inner, ",")]
        return Key(tuple(names))
    if ":" in inner:
        bounds = inner.split(":")
        if len(bounds) > 3 or not all(b.strip() == "" or _INT.fullmatch(b.strip()) for b in bounds):
            raise JsonPathError(f"invalid slice [{inner}] in {{{expr}}}")
        values = [int(b) if b.strip() else None for b in bounds] + [None]
        return Slice(values[0], values[1], values[2])
    pieces = [p.strip() for p in inner.split(",")]
    if pieces and all(_INT.fullmatch(p) for p in pieces):
        return Index(tuple(int(p) for p in pieces))
    raise JsonPathError(f"invalid array index [{inner}] in {{{expr}}}")


def _split_outside_quotes(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    current: list[str] = []
    quote = ""
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "\"'":
            quote = char
        elif char == separator:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    return parts


_OPERATOR = re.compile(r"==|!=|<=|>=|<|>")


def _parse_filter(condition: str, expr: str) -> Filter:
    match = None
    quote = ""
    for i, char in enumerate(condition):
        if quote:
            if char == quote:
                quote = ""
            continue
        if char in "\"'":
            quote = char
            continue
        match = _OPERATOR.match(condition, i)
        if match:
            break
    if match is None:
        return Filter(_filter_path(condition, expr), "exists", None, False)
    left = _filter_path(condition[: match.start()].strip(), expr)
    right_text = condition[match.end() :].strip()
    if right_text.startswith("@"):
        return Filter(left, match.group(), _filter_path(right_text, expr), True)
    return Filter(left, match.group(), _literal(right_text, expr), False)


def _filter_path(text: str, expr: str) -> tuple[Step, ...]:
    if not text.startswith("@"):
        raise JsonPathError(f"a filter compares paths starting with '@' in {{{expr}}}")
    return parse_path(text)


def _literal(text: str, expr: str) -> Any:
    if text[:1] in "\"'":
        return _unquote(text)
    try:
        return json.loads(text)
    except ValueError:
        raise JsonPathError(f"invalid literal {text} in filter of {{{expr}}}") from None


# -- evaluation ---------------------------------------------------------------

_MISSING = object()


def evaluate(steps: tuple[Step, ...], data: Any) -> list[Any]:
    """Every value the path reaches in `data` (none when a key is missing)."""
    current: list[Any] = [data]
    for step in steps:
        current = [value for node in current for value in _apply(step, node)]
    return current


def _apply(step: Step, node: Any) -> list[Any]:
    if isinstance(step, Key):
        if not isinstance(node, dict):
            return []
        return [node[name] for name in step.names if name in node]
    if isinstance(step, Descend):
        return list(_descendants(node))
    if isinstance(step, Wildcard):
        if isinstance(node, dict):
            return list(node.values())
        return list(node) if isinstance(node, list) else []
    if not isinstance(node, list):
        if isinstance(step, Filter) and isinstance(node, dict):
            return [v for v in node.values() if _matches(step, v)]
        return []
    if isinstance(step, Index):
        return [node[i] for i in step.indexes if -len(node) <= i < len(node)]
    if isinstance(step, Slice):
        return list(node[step.start : step.stop : step.step])
    return [element for element in node if _matches(step, element)]


def _descendants(node: Any) -> Iterator[Any]:
    """`node`, then everything inside it, depth first in document order."""
    yield node
    children = node.values() if isinstance(node, dict) else node if isinstance(node, list) else ()
    for child in children:
        yield from _descendants(child)


def _matches(step: Filter, element: Any) -> bool:
    left = evaluate(step.left, element)
    if step.op == "exists":
        return bool(left)
    if not left:
        return False
    right = evaluate(step.right, element) if step.right_is_path else [step.right]
    if not right:
        return False
    return _compare(left[0], step.op, right[0])


def _compare(left: Any, op: str, right: Any) -> bool:
    numeric = all(isinstance(v, int | float) and not isinstance(v, bool) for v in (left, right))
    if op in ("==", "!="):
        equal = left == right if numeric or type(left) is type(right) else False
        return equal if op == "==" else not equal
    if not numeric and not (isinstance(left, str) and isinstance(right, str)):
        return False
    return {
        "<": left < right,
        ">": left > right,
        "<=": left <= right,
        ">=": left >= right,
    }[op]


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
            for value in evaluate(part.steps, data):
                yield from _render(part.body, value)
        else:
            yield " ".join(format_value(v) for v in evaluate(part.steps, data))


def values(template: str, data: Any) -> list[Any]:
    """The values of the expressions in a template (for `wait --for=jsonpath`)."""
    found: list[Any] = []
    for part in parse_template(template):
        if isinstance(part, Path):
            found.extend(evaluate(part.steps, data))
    return found
