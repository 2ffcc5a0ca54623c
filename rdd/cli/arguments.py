"""Parsing the values people type on the command line (pure): durations,
booleans, `--dry-run`, `KIND/NAME`, `key=value` annotations, `-o` formats.

Used by the parser (rdd.cli.main) and the commands; every problem is a
UsageError whose message `rdd` prints as `error: ...`."""

from __future__ import annotations

import re
from dataclasses import dataclass

from rdd.kinds import Kind, UnknownKindError, resolve_kind


class UsageError(Exception):
    """A command line that cannot be run as typed; exit status 1."""

    def __init__(self, message: str, *, exit_code: int = 1) -> None:
        super().__init__(message)
        self.message = message
        self.exit_code = exit_code


_DURATION_PART = re.compile(r"(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|ms|s|m|h)")
_UNIT_SECONDS = {
    "ns": 1e-9,
    "us": 1e-6,
    "µs": 1e-6,
    "ms": 1e-3,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
}


def parse_duration(text: str) -> float:
    """Seconds from `30s`, `5m`, `1h`, `1m30s`, `500ms` (Go's syntax) or a
    bare number of seconds (`90`)."""
    value = text.strip()
    if re.fullmatch(r"\d+(\.\d*)?|\.\d+", value):
        return float(value)
    if not value or _DURATION_PART.sub("", value):
        raise UsageError(f'invalid duration "{text}": use e.g. 30s, 5m, 1h or a number of seconds')
    return sum(float(n) * _UNIT_SECONDS[unit] for n, unit in _DURATION_PART.findall(value))


_TRUE = {"1", "t", "true", "y", "yes"}
_FALSE = {"0", "f", "false", "n", "no"}


def parse_bool(text: str) -> bool:
    """true/false the way Go's strconv.ParseBool reads them (case-insensitive)."""
    lowered = text.strip().lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise UsageError(f'invalid boolean "{text}": use true or false')


DRY_RUN_MODES = ("none", "server", "client")


def parse_dry_run(text: str) -> str:
    """`--dry-run=server|client|none`."""
    if text not in DRY_RUN_MODES:
        raise UsageError(f'Invalid dry-run value ({text}). Must be "none", "server", or "client".')
    return text


def parse_kind(word: str) -> Kind:
    try:
        return resolve_kind(word)
    except UnknownKindError as exc:
        raise UsageError(str(exc)) from None


def check_writable(kind: Kind) -> Kind:
    """`kind` itself when a command may create, change or delete its objects."""
    if kind.read_only:
        raise UsageError(kind.read_only)
    return kind


def split_kind_name(words: list[str]) -> tuple[Kind, list[str]]:
    """`KIND [NAME...]` or `KIND/NAME...` -> (kind, names)."""
    if not words:
        raise UsageError("you must specify the type of resource to get")
    first = words[0]
    if "/" not in first:
        return parse_kind(first), list(words[1:])
    kind: Kind | None = None
    names = []
    for word in words:
        kind_word, sep, name = word.partition("/")
        if not sep or not name:
            raise UsageError(
                f"there is no need to specify a resource type as a separate argument when "
                f'passing arguments in resource/name form (e.g. "rdd ctl get {first}")'
            )
        this = parse_kind(kind_word)
        if kind is not None and this != kind:
            raise UsageError("all resources must be of the same kind")
        kind = this
        names.append(name)
    assert kind is not None
    return kind, names


def one_object(words: list[str]) -> tuple[Kind, str]:
    """`KIND NAME` or `KIND/NAME`: exactly one object."""
    kind, names = split_kind_name(words)
    if len(names) != 1:
        raise UsageError(f"exactly one NAME is required, got {len(names)}")
    return kind, names[0]


def parse_annotations(pairs: list[str]) -> dict[str, str | None]:
    """`key=value` sets, `key-` removes (None)."""
    changes: dict[str, str | None] = {}
    for pair in pairs:
        if "=" in pair:
            key, _, value = pair.partition("=")
            if not key:
                raise UsageError(f"invalid annotation format: {pair}")
            changes[key] = value
        elif pair.endswith("-") and len(pair) > 1:
            changes[pair[:-1]] = None
        else:
            raise UsageError(f"invalid annotation format: {pair}")
    if not changes:
        raise UsageError("at least one annotation update is required")
    return changes


@dataclass(frozen=True)
class OutputFormat:
    """`-o`: table (default), wide, json, yaml, name, or jsonpath or
    custom-columns with its template."""

    kind: str = "table"
    template: str = ""


def parse_output(text: str | None) -> OutputFormat:
    if not text:
        return OutputFormat()
    if text in ("wide", "json", "yaml", "name"):
        return OutputFormat(text)
    for prefix in ("jsonpath=", "custom-columns="):
        if text.startswith(prefix):
            return OutputFormat(prefix[:-1], text[len(prefix) :])
    raise UsageError(
        f'unable to match a printer suitable for the output format "{text}", allowed '
        "formats are: custom-columns,json,jsonpath,name,wide,yaml"
    )
