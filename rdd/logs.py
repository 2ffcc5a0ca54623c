"""The log format of every rdd process: one JSON object per line.

Every line has `ts` (RFC 3339, UTC), `level` (debug, info, warning, error,
critical), `component` (app, limavm, webhook, or the supervisor for the line
that opens a run), `msg` and `logger`; the rest are the fields of the event.

Code logs `key=value` %-templates: `log.info("event=vm_started name=%s
pid=%s", name, pid)`. `JsonFormatter` reads the template, not the formatted
text: each `key=...` token becomes a field, formatted from its own
arguments, so a value holding spaces or `=` stays one field. `event` becomes
`msg`; a controller's `key` (namespace, name) becomes `namespace/name`, as
controller-runtime writes it. A message that is not of that form (a library's)
is kept whole as `msg`. An exception's traceback is the `traceback` field.

The functions below the formatter read such lines back (for `rdd svc
start`'s failure message): they are pure."""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

#: The fields every line has, in this order; an event field of the same name
#: is stored with a trailing underscore (`component_`).
RESERVED = ("ts", "level", "component", "msg", "logger")
#: The `msg` of the line the supervisor writes before it starts a process.
RUN_STARTED = "svc_start"

_PLACEHOLDER = re.compile(r"%(?:\([^)]*\))?[-#0 +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[diouxXeEfFgGcrsa%]")
_KEY = re.compile(r"^[A-Za-z_][A-Za-z0-9_.]*$")


def timestamp(created: float) -> str:
    """RFC 3339 in UTC with milliseconds: `2026-01-01T00:00:00.123Z` (pure)."""
    return datetime.fromtimestamp(created, UTC).isoformat(timespec="milliseconds")[:-6] + "Z"


def _value(template: str, args: tuple[Any, ...]) -> Any:
    """One field's value: a bare `%s`/`%d`/`%r` of a number or bool keeps its
    JSON type, of a string is the string, a (namespace, name) key reads
    `namespace/name`, anything else is the template formatted (pure)."""
    if template in ("%s", "%d", "%r") and len(args) == 1:
        arg = args[0]
        if isinstance(arg, str):
            return arg  # %r quoted it for key=value text; JSON quotes it anyway
        if isinstance(arg, bool | int | float) and not (template == "%d" and isinstance(arg, bool)):
            return arg
        if isinstance(arg, tuple) and len(arg) == 2 and all(isinstance(a, str) for a in arg):
            return f"{arg[0]}/{arg[1]}" if arg[0] else arg[1]
    return template % args if args else template.replace("%%", "%")


def _formatted(template: Any, args: Any) -> str:
    """What logging would print, or the template and its arguments when
    they do not fit (logging would print a traceback instead)."""
    if not args:
        return str(template)
    try:
        return str(template) % args
    except (TypeError, ValueError):
        return f"{template} {args!r}"


def event_fields(template: str, args: Any) -> tuple[str, dict[str, Any]]:
    """(msg, fields) of a `event=NAME key=%s ...` template and its arguments
    (pure). A template that is not of that form, or whose arguments do not
    match it, is formatted whole into msg with no fields."""
    whole = _formatted(template, args)
    if not isinstance(template, str) or not isinstance(args, tuple) or "=" not in template:
        return whole, {}
    words: list[str] = []
    fields: dict[str, Any] = {}
    remaining = list(args)
    try:
        for token in template.split():
            count = sum(1 for m in _PLACEHOLDER.finditer(token) if m.group() != "%%")
            taken, remaining = tuple(remaining[:count]), remaining[count:]
            if len(taken) != count:
                return whole, {}
            key, sep, value = token.partition("=")
            if sep and _KEY.match(key) and key not in fields:
                fields[key] = _value(value, taken)
            else:
                words.append(token % taken if taken else token.replace("%%", "%"))
    except (TypeError, ValueError):
        return whole, {}
    if remaining:
        return whole, {}
    event = fields.pop("event", None)
    msg = " ".join([str(event)] * (event is not None) + words)
    return msg, fields


def line(
    *,
    ts: str,
    level: str,
    component: str,
    msg: str,
    logger: str,
    fields: Mapping[str, Any] | None = None,
) -> str:
    """One log line (pure): the reserved fields first, then the event's."""
    document: dict[str, Any] = {
        "ts": ts,
        "level": level,
        "component": component,
        "msg": msg,
        "logger": logger,
    }
    for key, value in (fields or {}).items():
        document[f"{key}_" if key in RESERVED else key] = value
    return json.dumps(document, default=str, ensure_ascii=False)


class JsonFormatter(logging.Formatter):
    """A logging.Formatter that writes `line()`s for one component."""

    def __init__(self, component: str) -> None:
        super().__init__()
        self.component = component

    def format(self, record: logging.LogRecord) -> str:
        msg, fields = event_fields(record.msg, record.args)
        if record.exc_info:
            fields["traceback"] = self.formatException(record.exc_info)
        elif record.exc_text:
            fields["traceback"] = record.exc_text
        if record.stack_info:
            fields["stack"] = record.stack_info
        return line(
            ts=timestamp(record.created),
            level=record.levelname.lower(),
            component=self.component,
            msg=msg,
            logger=record.name,
            fields=fields,
        )


def run_header(component: str, created: float) -> str:
    """The line the supervisor appends to a component's log before it
    starts it, so one run's lines can be told from the previous run's (pure)."""
    return line(
        ts=timestamp(created),
        level="info",
        component=component,
        msg=RUN_STARTED,
        logger="rdd.stack.supervisor",
    )


def parse(text: str) -> dict[str, Any] | None:
    """The object of one log line, or None when the line is not one (raw
    output of a process, such as a traceback printed before logging was
    set up) (pure)."""
    if not text.startswith("{"):
        return None
    try:
        document = json.loads(text)
    except ValueError:
        return None
    return document if isinstance(document, dict) and "msg" in document else None


def is_run_header(text: str) -> bool:
    document = parse(text)
    return document is not None and document.get("msg") == RUN_STARTED


def plain(text: str) -> list[str]:
    """A log line as a person reads it (pure): `ERROR fatal error=...` and
    then its traceback's lines; a line that is not JSON, unchanged."""
    document = parse(text)
    if document is None:
        return [text]
    fields = {k: v for k, v in document.items() if k not in RESERVED and k != "traceback"}
    words = [str(document.get("level", "")).upper(), str(document["msg"])]
    words += [f"{k}={v}" for k, v in fields.items()]
    traceback = document.get("traceback")
    return [" ".join(w for w in words if w)] + (str(traceback).splitlines() if traceback else [])
