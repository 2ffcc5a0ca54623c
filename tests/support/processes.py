"""Finding the processes a test started, from /proc: live ones only (a
zombie has exited), never the test process itself."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Callable
from pathlib import Path

from rdd import procs
from rdd.stack.processes import wait_gone


def live_processes(matches: Callable[[int, str], bool]) -> list[int]:
    """Live processes (not this one) for which `matches(pid, command line)`
    holds; the command line is argv joined by spaces."""
    found = []
    own = os.getpid()
    for pid in procs.pids():
        if pid == own:
            continue
        line = " ".join(procs.cmdline(pid) or [])
        if matches(pid, line) and procs.is_alive(pid):
            found.append(pid)
    return found


def processes_mentioning(*texts: str) -> list[int]:
    """Live processes whose command line holds every one of `texts` (a
    test's RDD_HOME or lima home, say)."""
    return live_processes(lambda _pid, line: all(text in line for text in texts))


def processes_of(home: Path) -> list[int]:
    """Live processes whose command line names this RDD_HOME."""
    return processes_mentioning(str(home))


def host_agents(lima_home: Path) -> list[int]:
    """Host agent processes (sim or stand-in) serving instances under `lima_home`."""
    return processes_mentioning(str(lima_home), "hostagent")


def lima_processes(lima_home: Path) -> list[int]:
    """Live processes of `lima_home`: their command line mentions it (host
    agents, VMs) or they run with LIMA_HOME set to it (limactl calls)."""
    home = str(lima_home)
    marker = f"LIMA_HOME={home}".encode()

    def ours(pid: int, line: str) -> bool:
        if home in line:
            return True
        try:
            return marker in Path(f"/proc/{pid}/environ").read_bytes().split(b"\0")
        except OSError:
            return False

    return live_processes(ours)


def wait_exit(pid: int, timeout: float = 10) -> bool:
    """Wait (bounded) until the process has exited; True when it has."""
    return wait_gone(pid, timeout)


def read_position(pid: int, path: Path) -> int | None:
    """How far process `pid` has read the file at `path` it holds open
    (/proc/PID/fdinfo), or None while it has not opened it."""
    fds, target = Path(f"/proc/{pid}/fd"), path.resolve()
    try:
        entries = list(fds.iterdir())
    except OSError:
        return None
    for fd in entries:
        try:
            if Path(os.readlink(fd)) != target:
                continue
            info = Path(f"/proc/{pid}/fdinfo/{fd.name}").read_text()
        except OSError:
            continue
        for line in info.splitlines():
            if line.startswith("pos:"):
                return int(line.split()[1])
    return None


def has_read_to_end(pid: int, path: Path) -> bool:
    """Process `pid` holds `path` open and has read all of it (a follower
    that will see whatever is appended next)."""
    return read_position(pid, path) == path.stat().st_size


def listens_on_tcp(pid: int) -> bool:
    """Whether one of the process's sockets is a listening TCP (v4 or v6) socket."""
    listening = set()
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with contextlib.suppress(FileNotFoundError), open(table) as handle:
            for line in list(handle)[1:]:
                fields = line.split()
                if fields[3] == "0A":  # LISTEN
                    listening.add(fields[9])
    sockets = set()
    with contextlib.suppress(OSError):
        for fd in os.listdir(f"/proc/{pid}/fd"):
            with contextlib.suppress(OSError):
                target = os.readlink(f"/proc/{pid}/fd/{fd}")
                if target.startswith("socket:["):
                    sockets.add(target[8:-1])
    return bool(sockets & listening)
