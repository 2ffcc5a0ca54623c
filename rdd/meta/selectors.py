"""Kubernetes' label and field selectors: parsing and matching (pure).

The server evaluates them in List and Watch, so every client (kubectl-style
`rdd ctl get -l`, a controller) gets the same answer and lists do not carry
objects the caller throws away. Syntax and error texts follow apimachinery's
`labels.Parse` and `fields.ParseSelector`, so a kubectl user meets the
messages they know:

- labels: `k=v`, `k==v`, `k!=v`, `k`, `!k`, `k in (a,b)`, `k notin (a,b)`,
  `k>1`, `k<1`; a comma is "and". `k!=v` and `notin` match objects without
  the label, as in Kubernetes.
- fields: `f=v`, `f==v`, `f!=v`, comma is "and", `\\,` `\\=` `\\\\` escape.
  Which fields a kind supports is the server's table (rdd.meta.selection's `FIELDS`); any other
  is `field label not supported: f`.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any


class SelectorError(ValueError):
    """A selector that does not parse, or names an unsupported field."""


# -- labels --------------------------------------------------------------------

#: The lexer's operator symbols (anything else, up to a symbol or a blank, is
#: an identifier: a key or a value).
_SYMBOLS = "=!(),><"
_OPERATOR_TOKENS = ("!=", "==", "=", "!", "(", ")", ",", ">", "<")
_BINARY_OPERATORS = "in, notin, =, ==, !=, gt, lt"

_NAME = r"([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]"
_NAME_RE = re.compile(_NAME)
_DNS_LABEL = r"[a-z0-9]([-a-z0-9]*[a-z0-9])?"
_DNS_SUBDOMAIN_RE = re.compile(rf"{_DNS_LABEL}(\.{_DNS_LABEL})*")
_NAME_MESSAGE = (
    "name part must consist of alphanumeric characters, '-', '_' or '.', and must start "
    "and end with an alphanumeric character (e.g. 'MyName',  or 'my.name',  or '123-abc', "
    f"regex used for validation is '{_NAME}')"
)
_VALUE_MESSAGE = (
    "a valid label must be an empty string or consist of alphanumeric characters, '-', '_' "
    "or '.', and must start and end with an alphanumeric character (e.g. 'MyValue',  or "
    f"'my_value',  or '12345', regex used for validation is '({_NAME})?')"
)


@dataclass(frozen=True)
class Requirement:
    """One comma-separated term: key, operator (exists, !, =, ==, !=, in,
    notin, gt, lt) and its values."""

    key: str
    op: str
    values: tuple[str, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        has = self.key in labels
        value = labels.get(self.key, "")
        if self.op == "exists":
            return has
        if self.op == "!":
            return not has
        if self.op in ("=", "==", "in"):
            return has and value in self.values
        if self.op in ("!=", "notin"):
            return not has or value not in self.values
        # gt / lt: both sides integers, or no match (as Kubernetes).
        try:
            number = int(value)
        except ValueError:
            return False
        bound = int(self.values[0])
        return has and (number > bound if self.op == "gt" else number < bound)


@dataclass(frozen=True)
class LabelSelector:
    """Requirements that must all hold; none: everything matches."""

    requirements: tuple[Requirement, ...] = ()

    def matches(self, labels: Mapping[str, str]) -> bool:
        return all(r.matches(labels) for r in self.requirements)


def _lex(text: str) -> list[tuple[str, str]]:
    """(token, literal) pairs, ending with ("end", ""). Tokens are the
    operator symbols, "in"/"notin", "id" (an identifier) and "error"."""
    tokens: list[tuple[str, str]] = []
    i = 0
    while True:
        while i < len(text) and text[i] in " \t\r\n":
            i += 1
        if i == len(text):
            tokens.append(("end", ""))
            return tokens
        if text[i] in _SYMBOLS:
            run = i
            while run < len(text) and text[run] in _SYMBOLS:
                run += 1
            for symbol in _OPERATOR_TOKENS:  # longest first
                if text.startswith(symbol, i):
                    tokens.append((symbol, symbol))
                    i += len(symbol)
                    break
            else:
                tokens.append(("error", f"error expected: keyword found '{text[i:run]}'"))
                i = run
            continue
        start = i
        while i < len(text) and text[i] not in _SYMBOLS and text[i] not in " \t\r\n":
            i += 1
        word = text[start:i]
        tokens.append((word if word in ("in", "notin") else "id", word))


class _LabelParser:
    """apimachinery's recursive descent over the tokens; "in"/"notin" read as
    identifiers where a key or value is expected."""

    def __init__(self, text: str) -> None:
        self.tokens = _lex(text)
        self.position = 0

    def _peek(self, *, values: bool = True) -> tuple[str, str]:
        token, literal = self.tokens[self.position]
        return ("id" if values and token in ("in", "notin") else token), literal

    def _take(self, *, values: bool = True) -> tuple[str, str]:
        found = self._peek(values=values)
        self.position += 1
        return found

    def parse(self) -> LabelSelector:
        requirements: list[Requirement] = []
        while True:
            token, literal = self._peek()
            if token in ("id", "!"):
                try:
                    requirements.append(self._requirement())
                except SelectorError as error:
                    raise SelectorError(f"unable to parse requirement: {error}") from None
                token, literal = self._take()
                if token == "end":
                    break
                if token != ",":
                    raise SelectorError(f"found '{literal}', expected: ',' or 'end of string'")
                after, after_literal = self._peek()
                if after not in ("id", "!"):
                    raise SelectorError(f"found '{after_literal}', expected: identifier after ','")
            elif token == "end":
                break
            else:
                raise SelectorError(
                    f"found '{literal}', expected: !, identifier, or 'end of string'"
                )
        return LabelSelector(tuple(sorted(requirements, key=lambda r: r.key)))

    def _requirement(self) -> Requirement:
        token, literal = self._take()
        negated = token == "!"
        if negated:
            token, literal = self._take()
        if token != "id":
            raise SelectorError(f"found '{literal}', expected: identifier")
        _check_key(literal)
        key = literal
        if negated:
            return Requirement(key, "!")  # `!k=v` then fails on the `=` that follows
        if self._peek()[0] in ("end", ","):
            return Requirement(key, "exists")
        token, literal = self._take(values=False)
        op = {"=": "=", "==": "==", "!=": "!=", "in": "in", "notin": "notin", ">": "gt"}.get(
            token, "lt" if token == "<" else ""
        )
        if not op:
            raise SelectorError(f"found '{literal}', expected: {_BINARY_OPERATORS}")
        values = self._set_values() if op in ("in", "notin") else self._exact_value()
        for index, value in enumerate(values):
            if len(value) > 63 or (value and not _NAME_RE.fullmatch(value)):
                raise SelectorError(
                    f'values[{index}][{key}]: Invalid value: "{value}": {_VALUE_MESSAGE}'
                )
        if op in ("gt", "lt") and not re.fullmatch(r"-?\d+", values[0]):
            raise SelectorError(
                f"values: Invalid value: {list(values)}: for 'Gt', 'Lt' operators, "
                "the value must be an integer"
            )
        return Requirement(key, op, values)

    def _set_values(self) -> tuple[str, ...]:
        token, literal = self._take()
        if token != "(":
            raise SelectorError(f"found '{literal}' expected: '('")
        token, literal = self._peek()
        if token == ")":
            self._take()
            return ("",)
        if token not in ("id", ","):
            raise SelectorError(f"found '{literal}', expected: ',', ')' or identifier")
        values: set[str] = set()
        previous_comma = False
        while True:
            token, literal = self._take()
            if token == "id":
                values.add(literal)
                previous_comma = False
                after, after_literal = self._peek()
                if after == ")":
                    self._take()
                    return tuple(sorted(values))
                if after != ",":
                    raise SelectorError(f"found '{after_literal}', expected: ',' or ')'")
            elif token == ",":
                if previous_comma or not values:
                    values.add("")  # `(,a)`, `(a,,b)`: an empty value
                previous_comma = True
                if self._peek()[0] == ")":
                    self._take()
                    values.add("")
                    return tuple(sorted(values))
            else:
                raise SelectorError(f"found '{literal}', expected: ',', or identifier")

    def _exact_value(self) -> tuple[str, ...]:
        token, literal = self._peek()
        if token in ("end", ","):
            return ("",)
        token, literal = self._take()
        if token == "id":
            return (literal,)
        raise SelectorError(f"found '{literal}', expected: identifier")


def _check_key(key: str) -> None:
    """A qualified name: `[DNS subdomain/]name`, as labels keys must be."""
    prefix, slash, name = key.rpartition("/")
    problem = ""
    if slash and (not prefix or len(prefix) > 253 or not _DNS_SUBDOMAIN_RE.fullmatch(prefix)):
        problem = (
            "prefix part a lowercase RFC 1123 subdomain must consist of lower case "
            "alphanumeric characters, '-' or '.', and must start and end with an "
            "alphanumeric character"
        )
    elif not name:
        problem = "name part must be non-empty"
    elif len(name) > 63:
        problem = "name part must be no more than 63 characters"
    elif not _NAME_RE.fullmatch(name):
        problem = _NAME_MESSAGE
    if problem:
        raise SelectorError(f'<nil>: Invalid value: "{key}": {problem}')


def parse_label_selector(text: str) -> LabelSelector:
    """A LabelSelector from kubectl's `-l` syntax; SelectorError with
    apimachinery's message when it does not parse."""
    return _LabelParser(text).parse()


# -- fields --------------------------------------------------------------------


@dataclass(frozen=True)
class FieldTerm:
    field: str
    op: str  # "=" (also for "==") or "!="
    value: str


@dataclass(frozen=True)
class FieldSelector:
    """Terms that must all hold; none: everything matches."""

    terms: tuple[FieldTerm, ...] = ()

    def matches(self, fields: Mapping[str, str]) -> bool:
        return all((fields.get(t.field, "") == t.value) == (t.op == "=") for t in self.terms)


def _split_unescaped(text: str, separator: str) -> list[str]:
    parts, current, i = [], [], 0
    while i < len(text):
        if text[i] == "\\" and i + 1 < len(text):
            current.append(text[i : i + 2])
            i += 2
            continue
        if text[i] == separator:
            parts.append("".join(current))
            current = []
        else:
            current.append(text[i])
        i += 1
    parts.append("".join(current))
    return parts


def _split_term(term: str) -> tuple[str, str, str] | None:
    i = 0
    while i < len(term):
        if term[i] == "\\":
            i += 2
            continue
        for op in ("!=", "==", "="):
            if term.startswith(op, i):
                return term[:i], op, term[i + len(op) :]
        i += 1
    return None


def _unescape(value: str) -> str:
    out, i = [], 0
    while i < len(value):
        if value[i] == "\\":
            if i + 1 == len(value) or value[i + 1] not in "\\,=":
                raise SelectorError(f"invalid field selector value: '{value}': bad escape")
            out.append(value[i + 1])
            i += 2
            continue
        if value[i] in ",=":
            raise SelectorError(f"invalid field selector value: '{value}': unescaped '{value[i]}'")
        out.append(value[i])
        i += 1
    return "".join(out)


def parse_field_selector(text: str, supported: Mapping[str, Any] | None = None) -> FieldSelector:
    """A FieldSelector from kubectl's `--field-selector` syntax; with
    `supported`, a field outside it is `field label not supported: f`."""
    terms = []
    for part in sorted(_split_unescaped(text, ",")):
        if not part:
            continue
        split = _split_term(part)
        if split is None:
            raise SelectorError(f"invalid selector: '{text}'; can't understand '{part}'")
        name, op, value = split
        name = name.strip()
        if supported is not None and name not in supported:
            raise SelectorError(f"field label not supported: {name}")
        terms.append(FieldTerm(name, "!=" if op == "!=" else "=", _unescape(value)))
    return FieldSelector(tuple(terms))
