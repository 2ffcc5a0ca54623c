"""The VM driver contract the LimaVM controller calls, and what drivers share.

The controller is level-based: it asks `status()` and decides. A driver never
blocks the event loop for long, and calls `notify(name)` (on the loop) when an
instance changed without being asked: host agent exited, VM became Running,
preparation finished.
"""

from __future__ import annotations

import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

ABSENT = "Absent"
PREPARING = "Preparing"
PARTIAL = "Partial"
STOPPED = "Stopped"
STARTING = "Starting"
RUNNING = "Running"
BROKEN = "Broken"

STATES = (ABSENT, PREPARING, PARTIAL, STOPPED, STARTING, RUNNING, BROKEN)

#: Marks an instance directory whose preparation has not finished.
SENTINEL = ".preparing"
LIMA_YAML = "lima.yaml"
HA_PID = "ha.pid"
HA_SOCK = "ha.sock"
HA_STDOUT = "ha.stdout.log"
HA_STDERR = "ha.stderr.log"
#: The host agent's logs, in the order lines with equal times are given.
LOG_SOURCES = (HA_STDERR, HA_STDOUT)

Notify = Callable[[str], None]


@dataclass(frozen=True)
class InstanceStatus:
    """What a driver observed about one instance."""

    #: One of STATES.
    state: str
    #: Host agent pid while it is alive.
    pid: int | None = None
    #: Detail for people (a backend error, why an instance is Partial, ...).
    #: On an Absent instance: why its last preparation failed. On a Stopped
    #: one: why it stopped without being asked (failed start, crash).
    message: str = ""


@dataclass(frozen=True)
class LogFiles:
    """Where an instance's host agent logs are: `directory` (may not exist
    yet) and the file names in it."""

    directory: Path
    sources: tuple[str, ...] = LOG_SOURCES


class DriverError(Exception):
    """A driver operation failed; `message` says why, for people."""

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class Driver(Protocol):
    """A VM backend. Every method is safe to call again (idempotent)."""

    name: str

    async def prepare(self, name: str, template_yaml: str, arch: str) -> None:
        """Build the instance and wait for it (a preparation in flight is joined)."""
        ...

    def begin_prepare(self, name: str, template_yaml: str, arch: str) -> None:
        """Start preparing in the background and return at once: `status` says
        Preparing until it ends, then `notify(name)`; a failure leaves the
        instance Absent with the reason as its message."""
        ...

    async def reconfigure(self, name: str, template_yaml: str) -> None:
        """Give a Stopped instance a new lima.yaml, keeping its disk (as
        `limactl edit` does); the next start uses it. Raises DriverError
        when the instance is not Stopped."""
        ...

    async def start(self, name: str) -> None: ...

    async def stop(self, name: str, *, timeout: float | None = None) -> None:
        """Stop gracefully, forcibly once `timeout` seconds have passed (0:
        at once). None: the backend's own graceful budget (Lima's allows the
        guest minutes to shut down)."""
        ...

    async def delete(self, name: str) -> None: ...

    async def status(self, name: str) -> InstanceStatus: ...

    async def shutdown(self) -> None: ...

    def built_template(self, name: str) -> str | None:
        """The lima.yaml the instance was built from; None when it has none."""
        ...

    def log_files(self, name: str) -> LogFiles:
        """Where the instance's host agent logs are (for the Logs RPC)."""
        ...


class InstanceFolders:
    """The instance folder both drivers keep in Lima's layout
    (`<lima_home>/<name>/lima.yaml`, `ha.*.log`): the answers of
    `Driver.built_template` and `Driver.log_files`, so nothing else reads it."""

    _home: Path

    def built_template(self, name: str) -> str | None:
        try:
            return (instance_dir(self._home, name) / LIMA_YAML).read_text()
        except (FileNotFoundError, NotADirectoryError):
            return None

    def log_files(self, name: str) -> LogFiles:
        return LogFiles(instance_dir(self._home, name))


def instance_dir(lima_home: Path, name: str) -> Path:
    return lima_home / name


def is_partial(inst_dir: Path) -> str:
    """Why an existing instance directory is unfinished, or "" when it is not.

    Reads the file system only (no process state)."""
    if (inst_dir / SENTINEL).exists():
        return "preparation was interrupted (.preparing sentinel left behind)"
    if not (inst_dir / LIMA_YAML).exists():
        return "instance directory has no lima.yaml"
    return ""


def parse_pid_text(text: str) -> int | None:
    """The pid in a pid file's text ("<pid>\\n"), or None (empty while being written, or garbage)."""
    text = text.strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def write_lima_yaml(inst_dir: Path, template_yaml: str) -> None:
    """Replace an instance's lima.yaml atomically (a reader never sees half a file)."""
    tmp = inst_dir / f".{LIMA_YAML}.tmp"
    tmp.write_text(template_yaml)
    tmp.replace(inst_dir / LIMA_YAML)


def remove_tree(path: Path) -> None:
    """rm -rf that tolerates a missing path (run it in a thread: it can be big)."""
    shutil.rmtree(path, ignore_errors=True)
    if path.exists():
        # A second try surfaces the real error (permission, busy mount, ...).
        shutil.rmtree(path)
