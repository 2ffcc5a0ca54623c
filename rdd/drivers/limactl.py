"""limactl's outputs and files, read without I/O: the lima driver's pure half.

Called by rdd.drivers.lima: what a limactl call returned, `list --json`
parsing, and the decision from Lima's listing to our instance state; and by
rdd.admission.limactl: what `limactl validate` said about a template.
"""

from __future__ import annotations

import contextlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rdd.drivers import hostagent_events
from rdd.drivers.base import BROKEN, RUNNING, SENTINEL, STARTING, STOPPED, InstanceStatus


@dataclass(frozen=True)
class Result:
    """What one limactl call returned."""

    code: int
    stdout: str
    stderr: str

    @property
    def error(self) -> str:
        return hostagent_events.limactl_error(self.stderr)


def outer_marker(lima_home: Path, name: str) -> Path:
    """The preparation marker beside the instance directory (see the module docstring)."""
    return lima_home / f".{name}{SENTINEL}"


def parse_list_output(stdout: str, name: str) -> dict[str, Any] | None:
    """The `limactl list --json` object for `name` (one JSON object per line)."""
    for line in stdout.splitlines():
        line = line.strip()
        if not line:
            continue
        try:
            item = json.loads(line)
        except ValueError:
            continue
        if isinstance(item, dict) and item.get("name") == name:
            return item
    return None


def is_unmatched(result: Result) -> bool:
    """Whether `limactl list NAME` failed only because NAME does not exist (v1 and v2 wording)."""
    return "No instance matching" in result.stderr or "unmatched instances" in result.error


def listed_pid(listing: Mapping[str, Any], key: str) -> int | None:
    value = listing.get(key)
    return value if isinstance(value, int) and value > 0 else None


def listed_errors(listing: Mapping[str, Any], stderr: str) -> list[str]:
    """The errors `limactl list --json NAME` reports for the instance. Pure.

    From v2.0.0 `errors` holds strings. Up to v1.2.x it holds Go error values,
    which encode as `{}` (pkg/store/instance.go, v1.0.0): then the text comes
    from the warning list prints beside the JSON (cmd/limactl/list.go,
    `instance "NAME" has errors errors="[...]"`)."""
    raw = listing.get("errors") or []
    texts = [str(err) for err in raw if isinstance(err, str) and err]
    if texts or not raw:
        return texts
    for line in stderr.splitlines():
        fields = hostagent_events.parse_logrus_line(line)
        if fields.get("errors") and "has errors" in fields.get("msg", ""):
            texts.append(fields["errors"].removeprefix("[").removesuffix("]"))
    return texts or [f"limactl reports {len(raw)} error(s) without text"]


#: How long a host agent may take to boot before a partial status is no
#: longer early boot: `limactl start --timeout`'s default (cmd/limactl/start.go).
BOOT_TIMEOUT_SECONDS = 600.0


def decide_lima_state(
    listing: Mapping[str, Any],
    *,
    starting: bool,
    phase: str,
    start_error: str,
    errors: Sequence[str] | None = None,
    boot_seconds: float | None = None,
) -> InstanceStatus:
    """Our state from Lima's listing. Pure.

    `starting`: our `limactl start` is still running. `phase`: the boot phase in
    ha.stdout.log. `errors`: the listing's errors as text (listed_errors;
    default: the listing's own strings). `boot_seconds`: how long ago the host
    agent wrote ha.pid. Lima reports Running as soon as the host agent
    answers, so a boot whose "running" event has not come yet is still
    Starting. Early in a boot Lima reports Broken ("host agent is running but
    driver is not": ha.pid exists before the VM process and before the host
    agent answers, pkg/store/instance.go): a live host agent that has not
    reported running or exiting within Lima's start timeout is Starting too,
    so a restarted controller does not force-stop a VM that is booting."""
    status = listing.get("status", "")
    pid = listed_pid(listing, "hostAgentPID")
    if errors is None:
        errors = [str(err) for err in listing.get("errors") or []]
    message = "; ".join(errors)
    if status == "Running":
        if starting or phase == hostagent_events.BOOTING:
            return InstanceStatus(STARTING, pid=pid)
        return InstanceStatus(RUNNING, pid=pid, message=message or start_error)
    if starting:
        # Before the host agent answers, Lima says Stopped or Broken.
        return InstanceStatus(STARTING, pid=pid)
    if status == "Stopped":
        return InstanceStatus(STOPPED, message=start_error)
    early = boot_seconds is not None and boot_seconds < BOOT_TIMEOUT_SECONDS
    if (
        status == "Broken"
        and pid is not None
        and early
        and phase in hostagent_events.BEFORE_RUNNING
    ):
        return InstanceStatus(STARTING, pid=pid)
    detail = message or f"limactl reports status {status!r}"
    return InstanceStatus(BROKEN, pid=pid, message=detail)


def logrus_json_msg(line: str) -> str:
    """The msg of a logrus JSON line (the host agent's stderr), else the line."""
    with contextlib.suppress(ValueError):
        entry = json.loads(line)
        if isinstance(entry, dict) and "msg" in entry:
            return str(entry["msg"])
    return line


#: What `limactl validate` puts before its errors about a file ("load" up to v1.0).
_VALIDATE_PREFIX = re.compile(
    r'^failed to (?:validate|load) YAML file (?:"(?:[^"\\]|\\.)*"|`[^`]*`): '
)


@dataclass(frozen=True)
class ValidateVerdict:
    """What one `limactl [template] validate FILE` call said."""

    #: Lima's complaints about the template, one per error; empty when it accepted it.
    problems: tuple[str, ...] = ()
    #: This limactl has no such command (`template validate` is v1.1+).
    unsupported: bool = False
    #: Why limactl could not judge the template at all (run as root, crashed, ...).
    failure: str = ""


def parse_validate_result(result: Result, path: str) -> ValidateVerdict:
    """The verdict of `limactl [template] validate PATH` from its exit code and
    `level=fatal msg="..."` line. Pure.

    Lima joins several errors with newlines after `failed to validate YAML file
    "PATH": `; each becomes one problem, with PATH itself left out."""
    if result.code == 0:
        return ValidateVerdict()
    message = result.error
    if message.startswith("unknown command"):
        return ValidateVerdict(unsupported=True)
    body = _VALIDATE_PREFIX.sub("", message, count=1)
    if body == message and path not in message and not message.startswith("failed to unmarshal"):
        return ValidateVerdict(failure=message)
    body = body.replace(path, Path(path).name)
    return ValidateVerdict(
        problems=tuple(line.strip() for line in body.split("\n") if line.strip())
    )
