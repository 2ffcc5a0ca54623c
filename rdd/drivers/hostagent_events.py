"""Lima host-agent event lines and logrus lines, parsed and written (not the
Kubernetes Events of rdd.runtime.events).

Pure functions (no I/O). Used by the drivers to read `ha.stdout.log` and
limactl's stderr, and by the sim host agent to write the same formats.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

BOOTING, RUNNING, EXITING, NO_EVENTS = "booting", "running", "exiting", "none"
#: The phases of a boot that has not reported "running" or "exiting" yet.
BEFORE_RUNNING = (NO_EVENTS, BOOTING)


def rfc3339nano(moment: datetime) -> str:
    """Go's time.RFC3339Nano for a UTC moment (trailing zeros trimmed, as Go does)."""
    moment = moment.astimezone(UTC)
    base = moment.strftime("%Y-%m-%dT%H:%M:%S")
    frac = f"{moment.microsecond:06d}".rstrip("0")
    return f"{base}.{frac}Z" if frac else f"{base}Z"


def format_event(status: Mapping[str, Any], moment: datetime) -> str:
    """One host agent event line, compact like Go's encoding/json."""
    event = {"time": rfc3339nano(moment), "status": dict(status)}
    return json.dumps(event, separators=(",", ":"))


def parse_event_line(line: str) -> dict[str, Any] | None:
    """The `status` object of one event line, or None for anything else."""
    try:
        event = json.loads(line)
    except ValueError:
        return None
    if not isinstance(event, dict):
        return None
    status = event.get("status")
    return status if isinstance(status, dict) else None


def parse_events(text: str) -> list[dict[str, Any]]:
    """Every status in an `ha.stdout.log`, oldest first (a torn last line is skipped)."""
    statuses = (parse_event_line(line) for line in text.splitlines())
    return [status for status in statuses if status is not None]


def boot_phase(statuses: Iterable[Mapping[str, Any]]) -> str:
    """Where one boot is, from its events: none, booting, running or exiting."""
    phase = NO_EVENTS
    for status in statuses:
        if status.get("exiting"):
            return EXITING
        if status.get("running"):
            phase = RUNNING
        elif phase == NO_EVENTS:
            phase = BOOTING
    return phase


def event_errors(statuses: Iterable[Mapping[str, Any]]) -> list[str]:
    """Errors and degradation the host agent reported, in order."""
    found: list[str] = []
    for status in statuses:
        found.extend(str(err) for err in status.get("errors") or [])
        if status.get("degraded"):
            found.append("the VM is degraded")
    return found


def format_logrus_json(level: str, msg: str, moment: datetime, **fields: Any) -> str:
    """A logrus JSONFormatter line, as Lima's host agent writes to its stderr."""
    entry: dict[str, Any] = {"level": level, "msg": msg, "time": rfc3339nano(moment)}
    entry.update(fields)
    return json.dumps(entry, separators=(",", ":"), sort_keys=True)


_LOGRUS_PAIR = re.compile(r'(\w+)=("(?:[^"\\]|\\.)*"|\S*)')
_GO_ESCAPES = {"n": "\n", "t": "\t", "r": "\r", '"': '"', "\\": "\\", "a": "\a", "v": "\v"}


def unquote_go(value: str) -> str:
    """Undo Go's %q / strconv.Quote (what logrus does to values that need quoting)."""
    if len(value) < 2 or value[0] != '"' or value[-1] != '"':
        return value
    body, out, index = value[1:-1], [], 0
    while index < len(body):
        char = body[index]
        if char != "\\" or index + 1 == len(body):
            out.append(char)
            index += 1
            continue
        code = body[index + 1]
        width = {"x": 2, "u": 4, "U": 8}.get(code)
        if width is not None:
            digits = body[index + 2 : index + 2 + width]
            try:
                out.append(chr(int(digits, 16)))
                index += 2 + width
                continue
            except ValueError:
                pass
        out.append(_GO_ESCAPES.get(code, "\\" + code))
        index += 2
    return "".join(out)


def parse_logrus_line(line: str) -> dict[str, str]:
    """The key=value fields of a logrus TextFormatter line (`time=... level=... msg=...`)."""
    return {key: unquote_go(value) for key, value in _LOGRUS_PAIR.findall(line)}


def limactl_error(stderr: str) -> str:
    """The message a person should see for a failed limactl call.

    Prefers the last `level=fatal` line, then the last `level=error` line, then
    a Go panic's first line (`panic: must not run as the root user`, Lima
    v2.0.x run as root; the stack trace after it is left out), then the last
    non-empty line (a shell error, or v2.1+'s `limactl: must not run as the
    root user`)."""
    fatal, error, panic, last = "", "", "", ""
    for line in stderr.splitlines():
        if not line.strip():
            continue
        last = line.strip()
        if line.startswith("panic: ") and not panic:
            panic = line.strip()
            continue
        fields = parse_logrus_line(line)
        level, msg = fields.get("level"), fields.get("msg", "")
        if level in ("fatal", "panic") and msg:
            fatal = msg
        elif level == "error" and msg:
            error = msg
    return fatal or error or panic or last or "limactl failed without a message"


def strip_quotes(text: str) -> str:
    """Remove the quote characters Lima puts around names ("foo" up to v2.1.1, `foo` after)."""
    return text.replace('"', "").replace("`", "")
