"""Processes the supervisor started: are they alive, are they still ours,
and how to stop them (SIGTERM, bounded wait, SIGKILL).

The processes run in their own session and outlive `rdd svc start`, so they
are usually not our children: exits are observed with a pidfd where the
platform has one."""

from __future__ import annotations

import contextlib
import os
import select
import signal
import threading
import time
from collections.abc import Iterator, Sequence
from pathlib import Path

from rdd.procs import cmdline, group_members, is_alive


def command_line(pid: int) -> str | None:
    """The process's argv joined by spaces: "" for a process that is gone,
    None where /proc is not available."""
    argv = cmdline(pid)
    if argv is None:
        return "" if Path("/proc/self/cmdline").exists() else None
    return " ".join(argv)


def has_markers(argv: Sequence[str], markers: Sequence[str]) -> bool:
    """Every marker is one whole argument (`--data-dir=/h/etcd` does not
    match `--data-dir=/h/etcd-1`) (pure)."""
    arguments = set(argv)
    return all(marker in arguments for marker in markers)


def is_ours(pid: int | None, markers: Sequence[str]) -> bool:
    """Alive, and its command line has every marker (so a reused pid is
    never mistaken for, or signalled as, one of our processes)."""
    if pid is None or not is_alive(pid):
        return False
    argv = cmdline(pid)
    if argv is None:
        # No /proc: trust the pid; a process that is gone has no command line.
        return not Path("/proc/self/cmdline").exists()
    return has_markers(argv, markers)


def wait_gone(pid: int, timeout: float) -> bool:
    """Wait up to `timeout` seconds for the process to exit; True when it has."""
    _reap(pid)
    if not is_alive(pid):
        return True
    try:
        fd = os.pidfd_open(pid)
    except (AttributeError, OSError):
        fd = -1
    if fd >= 0:
        try:
            select.select([fd], [], [], max(timeout, 0))
        finally:
            os.close(fd)
    else:
        # No pidfd (not Linux): there is no exit notification for a process
        # that is not our child, so look again at a short interval.
        deadline = time.monotonic() + timeout
        while is_alive(pid) and time.monotonic() < deadline:
            time.sleep(0.05)
    _reap(pid)
    return not is_alive(pid)


def _reap(pid: int) -> None:
    """Collect the exit status when the process is our child (tests)."""
    with contextlib.suppress(ChildProcessError, OSError):
        os.waitpid(pid, os.WNOHANG)


def terminate(pid: int, *, grace: float) -> bool:
    """SIGTERM, wait up to `grace`, then SIGKILL. Whatever is left of its
    process group (it leads its own session) is ended the same way.
    Returns True when it had to be killed."""
    killed = False
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGTERM)
    if not wait_gone(pid, grace):
        killed = True
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        wait_gone(pid, 5)
    _end_group(pid)
    return killed


def _end_group(pgid: int) -> None:
    """Children left behind in the group of a process that has exited."""
    if not _group_members(pgid):
        return
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + 3
    while _group_members(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    if _group_members(pgid):
        with contextlib.suppress(ProcessLookupError, PermissionError):
            os.killpg(pgid, signal.SIGKILL)


def _group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of a process group."""
    if not Path("/proc").is_dir():
        try:
            os.killpg(pgid, 0)
        except (ProcessLookupError, PermissionError):
            return []
        return [pgid]
    return group_members(pgid)


_DEFERRED = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)


@contextlib.contextmanager
def deferred_signals() -> Iterator[None]:
    """Hold SIGINT, SIGTERM and SIGHUP until the block is done, then deliver
    them: between spawning a process and recording it, an interrupt must not
    leave a process nobody knows about. A no-op off the main thread."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    received: list[int] = []

    def remember(signum: int, _frame: object) -> None:
        received.append(signum)

    previous = {sig: signal.signal(sig, remember) for sig in _DEFERRED}
    try:
        yield
    finally:
        for deferred, handler in previous.items():
            signal.signal(deferred, handler)
        for signum in received:
            signal.raise_signal(signum)
