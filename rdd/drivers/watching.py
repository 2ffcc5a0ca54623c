"""Waiting without polling: process exit (pidfd) and directory changes (inotify).

Used by the sim and lima drivers to notice, within milliseconds, that a host
agent died or that a VM wrote its "running" event. Where the kernel lacks
pidfd or inotify (not Linux) both fall back to a short poll.
"""

from __future__ import annotations

import asyncio
import ctypes
import ctypes.util
import functools
import logging
import os
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

from rdd.drivers import hostagent_events
from rdd.procs import is_alive

log = logging.getLogger(__name__)

#: Fallback poll interval where pidfd or inotify is unavailable.
POLL_SECONDS = 0.1

_IN_MODIFY = 0x002
_IN_ATTRIB = 0x004
_IN_CLOSE_WRITE = 0x008
_IN_MOVED_FROM = 0x040
_IN_MOVED_TO = 0x080
_IN_CREATE = 0x100
_IN_DELETE = 0x200
_IN_DELETE_SELF = 0x400
_IN_ALL = (
    _IN_MODIFY
    | _IN_ATTRIB
    | _IN_CLOSE_WRITE
    | _IN_MOVED_FROM
    | _IN_MOVED_TO
    | _IN_CREATE
    | _IN_DELETE
    | _IN_DELETE_SELF
)


async def wait_pid_exit(pid: int, *, is_ours: Callable[[], bool] | None = None) -> None:
    """Return once `pid` has exited (at once if it is gone).

    `is_ours` is checked after the pidfd is open: it pins the process, so a
    pid recycled by an unrelated process counts as exited."""
    try:
        fd = os.pidfd_open(pid)
    except ProcessLookupError:
        return
    except (AttributeError, OSError):
        await _poll_pid_exit(pid)
        return
    try:
        if is_ours is not None and not is_ours():
            return
        loop = asyncio.get_running_loop()
        exited: asyncio.Future[None] = loop.create_future()

        def on_exit() -> None:
            if not exited.done():
                exited.set_result(None)

        loop.add_reader(fd, on_exit)
        try:
            await exited
        finally:
            loop.remove_reader(fd)
    finally:
        os.close(fd)


async def _poll_pid_exit(pid: int) -> None:
    while is_alive(pid):
        await asyncio.sleep(POLL_SECONDS)


@functools.cache
def _libc() -> ctypes.CDLL | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"), use_errno=True)
        libc.inotify_init1  # noqa: B018 (probe: absent outside Linux)
    except (OSError, AttributeError):
        return None
    return libc


def _inotify_open(path: Path) -> int | None:
    """An inotify fd watching `path`, or None where inotify is unavailable."""
    libc = _libc()
    if libc is None:
        return None
    init, add = libc.inotify_init1, libc.inotify_add_watch
    fd = init(os.O_NONBLOCK | os.O_CLOEXEC)
    if fd < 0:
        return None
    if add(fd, os.fsencode(path), _IN_ALL) < 0:
        os.close(fd)
        return None
    return fd


class DirWatch:
    """Wakes `changed()` when anything in one directory changes.

    Use as `with DirWatch(d) as w: while not ready(): await w.changed()`: the
    watch is armed before the first check, so no change is missed."""

    def __init__(self, path: Path) -> None:
        self._path = path
        self._fd: int | None = None
        self._event = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None

    def __enter__(self) -> DirWatch:
        self._fd = _inotify_open(self._path)
        if self._fd is not None:
            self._loop = asyncio.get_running_loop()
            self._loop.add_reader(self._fd, self._on_readable)
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        if self._fd is not None:
            if self._loop is not None:
                self._loop.remove_reader(self._fd)
            os.close(self._fd)
            self._fd = None

    def _on_readable(self) -> None:
        assert self._fd is not None
        try:
            while os.read(self._fd, 65536):
                pass
        except BlockingIOError:
            pass
        self._event.set()

    async def changed(self) -> None:
        if self._fd is None:
            await asyncio.sleep(POLL_SECONDS)
            return
        await self._event.wait()
        self._event.clear()


def read_boot_phase(inst_dir: Path) -> str:
    """The boot phase recorded in an instance's `ha.stdout.log` (see hostagent_events.boot_phase)."""
    try:
        text = (inst_dir / "ha.stdout.log").read_text(errors="replace")
    except OSError:
        return hostagent_events.NO_EVENTS
    return hostagent_events.boot_phase(hostagent_events.parse_events(text))


async def wait_for_boot(inst_dir: Path) -> str:
    """Wait until the host agent logs "running" or "exiting"; returns which."""
    with DirWatch(inst_dir) as watch:
        while True:
            phase = read_boot_phase(inst_dir)
            if phase in (hostagent_events.RUNNING, hostagent_events.EXITING):
                return phase
            await watch.changed()


async def wait_for_path(path: Path) -> None:
    """Wait until `path` exists (its parent directory must exist)."""
    with DirWatch(path.parent) as watch:
        while not path.exists():
            await watch.changed()
