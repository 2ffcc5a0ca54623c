"""Watching the processes of running Lima VMs, for the lima driver: the host
agent's (and VM driver's) pids through pidfds, and the boot through
ha.stdout.log's events. A VM that becomes Running, or one whose process
exits, is reported to the driver; a watch the driver cancels (stop, delete)
reports nothing."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdd.drivers import hostagent_events, watching
from rdd.drivers.base import HA_PID, Notify, parse_pid_text
from rdd.procs import is_alive

log = logging.getLogger("rdd.drivers.lima")


@dataclass
class _Watch:
    pids: tuple[int, ...]
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class HostAgentWatches:
    """One watch per VM. `notify(name)` when it becomes Running;
    `exited(name, pids)` when one of its processes exits unasked."""

    def __init__(
        self,
        inst_dir: Callable[[str], Path],
        notify: Notify,
        exited: Callable[[str, str], None],
    ) -> None:
        self._dir = inst_dir
        self._notify = notify
        self._exited = exited
        self._watches: dict[str, _Watch] = {}

    def ensure(self, name: str, pids: tuple[int, ...]) -> None:
        """Watch these live processes of `name` (adoption, or just started)."""
        if not pids:
            return
        current = self._watches.get(name)
        if current is not None and current.pids == pids and not current.done.is_set():
            return
        if current is not None and current.task is not None:
            current.task.cancel()
        log.info("event=vm_watched name=%s pids=%s", name, ",".join(map(str, pids)))
        watch = _Watch(pids=pids)
        watch.task = asyncio.create_task(self._supervise(name, watch), name=f"lima-watch-{name}")
        self._watches[name] = watch

    async def _supervise(self, name: str, watch: _Watch) -> None:
        """Notify when a booting VM becomes Running and when one of its processes exits."""
        exits = [asyncio.create_task(watching.wait_pid_exit(pid)) for pid in watch.pids]
        boot: asyncio.Task[str] | None = None
        if watching.read_boot_phase(self._dir(name)) in hostagent_events.BEFORE_RUNNING:
            boot = asyncio.create_task(watching.wait_for_boot(self._dir(name)))
        waiting: set[asyncio.Task[Any]] = {*exits, *([boot] if boot else [])}
        try:
            done, _ = await asyncio.wait(waiting, return_when=asyncio.FIRST_COMPLETED)
            if boot is not None and boot in done:
                log.info("event=vm_running name=%s", name)
                self._notify(name)
                await asyncio.wait(exits, return_when=asyncio.FIRST_COMPLETED)
        finally:
            for task in waiting:
                task.cancel()
            await asyncio.gather(*waiting, return_exceptions=True)
            watch.done.set()
        pids = ",".join(map(str, watch.pids))
        log.info("event=vm_exited name=%s pids=%s", name, pids)
        # The driver cancels a watch before it stops or deletes: this exit was not asked for.
        self._exited(name, pids)

    def cancel(self, name: str) -> None:
        watch = self._watches.pop(name, None)
        if watch is not None and watch.task is not None:
            watch.task.cancel()

    def tasks(self) -> list[asyncio.Task[None]]:
        return [w.task for w in self._watches.values() if w.task is not None]

    def clear(self) -> None:
        self._watches.clear()


async def all_exited(pids: Sequence[int], timeout: float) -> bool:
    """Whether every pid has exited within `timeout` seconds (pidfd)."""
    if not pids:
        return True
    if timeout <= 0:
        return not any(is_alive(pid) for pid in pids)
    waits = [watching.wait_pid_exit(pid) for pid in pids]
    try:
        async with asyncio.timeout(timeout):
            await asyncio.gather(*waits)
    except TimeoutError:
        return False
    return True


async def wait_agent_death(inst: Path) -> None:
    """Return once the host agent of `inst` (its pid file, once written) has exited."""
    pidfile = inst / HA_PID
    with watching.DirWatch(inst) as watch:
        while True:
            try:
                pid = parse_pid_text(pidfile.read_text())
            except OSError:
                pid = None
            if pid is not None:
                break
            await watch.changed()
    await watching.wait_pid_exit(pid)
