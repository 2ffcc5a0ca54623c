"""Processes of a stack that nothing records: services or etcd members a
starter killed between spawn and record left (strays), and sim host agents
that outlived the limavm service that would have stopped them (orphans).
Both are found from /proc and stopped by `svc start` / `svc stop`."""

from __future__ import annotations

import os
from pathlib import Path

from rdd.drivers.base import HA_PID, parse_pid_text
from rdd.drivers.sim import is_sim_agent
from rdd.procs import cmdline, is_alive, pids
from rdd.stack.home import STOP_GRACE, StackHome
from rdd.stack.processes import terminate
from rdd.stack.records import component_of
from rdd.stack.results import Outcome

#: Seconds a sim host agent that outlived the limavm service gets after SIGTERM.
ORPHAN_VM_GRACE = 10.0


def strays(stack: StackHome) -> list[tuple[str, int]]:
    """(instance, pid) of each live process of this RDD_HOME that no
    record names: what a starter killed between spawn and record left."""
    recorded = set()
    for name in stack.layout.recorded():
        record = stack.layout.read_record(name)
        if record is not None and record.pid:
            recorded.add(record.pid)
    found = []
    for pid in pids():
        if pid in recorded or pid == os.getpid():
            continue
        argv = cmdline(pid)
        instance = stack.instance_of(argv) if argv else None
        if instance is not None and is_alive(pid):
            found.append((instance, pid))
    return found


def stop_strays(found: list[tuple[str, int]]) -> list[Outcome]:
    """Stop processes of a home that have no record."""
    outcomes = []
    for name, pid in found:
        killed = terminate(pid, grace=STOP_GRACE[component_of(name)])
        outcomes.append(Outcome(f"{name} (unrecorded)", "killed" if killed else "stopped", pid))
    return outcomes


def orphan_sim_agents(lima_home: Path) -> list[tuple[str, int]]:
    """(instance, pid) of each live sim host agent under `lima_home`: the pid
    in `<lima_home>/<name>/ha.pid`, checked against the process's argv (a
    process whose argv cannot be read is left alone: it may be a real
    Lima host agent, which is never ours to stop)."""
    found: list[tuple[str, int]] = []
    if not lima_home.is_dir():
        return found
    for inst in sorted(lima_home.iterdir()):
        pidfile = inst / HA_PID
        try:
            pid = parse_pid_text(pidfile.read_text())
        except OSError:
            continue
        if pid is None or not is_alive(pid):
            continue
        argv = cmdline(pid)
        if argv is not None and is_sim_agent(argv, pidfile):
            found.append((inst.name, pid))
    return found


def stop_orphan_vms(lima_home: Path) -> list[Outcome]:
    """Stop the sim host agents left running under `lima_home` (call once
    limavm is down): SIGTERM, bounded wait, SIGKILL."""
    outcomes = []
    for name, pid in orphan_sim_agents(lima_home):
        killed = terminate(pid, grace=ORPHAN_VM_GRACE)
        outcomes.append(Outcome(f"vm {name}", "killed" if killed else "stopped", pid))
    return outcomes
