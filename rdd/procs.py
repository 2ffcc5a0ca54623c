"""Facts about a process by pid, read from the OS (/proc on Linux).

Shared by the VM drivers (host agents) and the stack supervisor (services,
etcd): both must tell a live process from a zombie or a reused pid."""

from __future__ import annotations

import os
from pathlib import Path


def is_alive(pid: int) -> bool:
    """Whether `pid` names a process that has not exited (zombies count as exited)."""
    if pid <= 0 or not _exists(pid):
        return False
    state = process_state(pid)
    # No state: reaped between the two looks (or no /proc here), so ask again.
    return _exists(pid) if state == "" else state != "Z"


def _exists(pid: int) -> bool:
    """Whether `pid` names a process, zombies included (signal 0)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        pass  # another user's process: it exists
    return True


def process_state(pid: int) -> str:
    """Linux process state letter, "" where /proc cannot be read."""
    fields = _stat_fields(pid)
    return fields[0] if fields else ""


def group_members(pgid: int) -> list[int]:
    """Live (non-zombie) processes of process group `pgid`, from /proc."""
    members = []
    for pid in pids():
        fields = _stat_fields(pid)
        if len(fields) > 2 and fields[2] == str(pgid) and fields[0] != "Z":
            members.append(pid)
    return members


def _stat_fields(pid: int) -> list[str]:
    """/proc/PID/stat after the command name: state, ppid, pgrp, ... ([] where unreadable)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return []
    # The command name (in parentheses) may hold spaces: the fields follow the last ')'.
    return stat.rpartition(")")[2].split() if ")" in stat else []


def cmdline(pid: int) -> list[str] | None:
    """A process's argv from /proc, or None where it cannot be read."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    return [part.decode(errors="replace") for part in raw.split(b"\0") if part]


def pids() -> list[int]:
    """Every process id /proc lists (empty where there is no /proc)."""
    proc = Path("/proc")
    if not proc.is_dir():
        return []
    return [int(entry.name) for entry in proc.iterdir() if entry.name.isdigit()]
