"""The `lima` VM driver: real Lima instances through `limactl`.

Called by the LimaVM controller. Every limactl call is an asyncio subprocess
with LIMA_HOME=<lima_home>, so nothing blocks the event loop. `limactl start`
blocks until the VM runs, so it runs as a background task; the host agent's
pid is then watched through a pidfd, and a Running VM found at startup is
adopted, never started twice. `shutdown()` leaves real VMs running.

The `.preparing` sentinel and limactl: `limactl create` refuses an instance
directory that already exists, so the driver cannot create the directory and
its sentinel first. Instead it writes `<lima_home>/.<name>.preparing` (Lima
ignores dot entries in LIMA_HOME) before running `limactl create`, mirrors it
as `<lima_home>/<name>/.preparing` the moment limactl creates the directory
(inotify), and removes the inner sentinel, then the outer one, once create
succeeded. Either marker left behind by a crash makes the instance Partial.

Template changes (`reconfigure`): `limactl edit NAME` is how a person changes
a stopped instance, but it is interactive (an editor on a TTY, or yq `--set`
expressions). What it does is: refuse a Running instance ("cannot edit a
running instance"), validate, and write `lima.yaml` in the instance directory;
the next `limactl start` uses it and the disk stays. The driver does exactly
that without the editor: it checks `limactl list` reports Stopped and replaces
lima.yaml atomically (admission has already run `limactl validate` on the
template). So the stand-in needs no `edit`.

A VM that stops without being asked (its start failed, or its host agent
died) reports the reason as the Stopped instance's message until the next
start or stop.

Its halves: limactl calls (rdd.drivers.lima_calls), the folders it keeps
in LIMA_HOME (rdd.drivers.lima_folders), the watches on running VMs
(rdd.drivers.lima_watches), and limactl's outputs (rdd.drivers.limactl).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from rdd.drivers import hostagent_events, watching
from rdd.drivers.base import (
    ABSENT,
    HA_PID,
    LIMA_YAML,
    PARTIAL,
    PREPARING,
    RUNNING,
    SENTINEL,
    STARTING,
    STOPPED,
    DriverError,
    InstanceFolders,
    InstanceStatus,
    Notify,
    instance_dir,
    is_partial,
    remove_tree,
    write_lima_yaml,
)
from rdd.drivers.lima_calls import Limactl, kill, list_hint
from rdd.drivers.lima_folders import (
    SET_ASIDE,
    age,
    last_words,
    mirror_sentinel,
    refuse_unembedded,
    set_aside_strays,
    strays,
)
from rdd.drivers.lima_watches import HostAgentWatches, all_exited, wait_agent_death
from rdd.drivers.limactl import (
    decide_lima_state,
    is_unmatched,
    listed_errors,
    listed_pid,
    outer_marker,
    parse_list_output,
)
from rdd.drivers.preparing import Preparations
from rdd.templates.disks import disk_shrink_problem

__all__ = ["SET_ASIDE", "STOP_TIMEOUT_SECONDS", "LimaDriver", "mirror_sentinel", "strays"]

log = logging.getLogger(__name__)

#: Graceful stop budget, Lima's own (pkg/instance/stop.go, v1.1.0+): up to
#: 3m10s for the host agent's exiting event, then up to 3 min for Stopped.
#: QEMU gives the guest up to 3 min for its ACPI shutdown. A VM killed
#: earlier risks its file systems. RDD_STOP_TIMEOUT_SECONDS overrides it.
STOP_TIMEOUT_SECONDS = 190.0 + 180.0


@dataclass
class _Observed:
    state: InstanceStatus
    lima_status: str = ""
    ha_pid: int | None = None
    driver_pid: int | None = None


@dataclass
class _Start:
    """A `limactl start` running in the background."""

    proc: asyncio.subprocess.Process
    task: asyncio.Task[None] | None = None
    cancelled: bool = False


class LimaDriver(InstanceFolders):
    """The Driver contract (rdd.drivers.base) over limactl."""

    name = "lima"

    def __init__(
        self,
        lima_home: Path,
        notify: Notify,
        *,
        limactl: str = "limactl",
        env: Mapping[str, str] | None = None,
        stop_timeout: float = STOP_TIMEOUT_SECONDS,
    ) -> None:
        self._home = lima_home
        self._stop_timeout = stop_timeout
        self._notify = notify
        self._limactl = Limactl(lima_home, limactl, env)
        self._preparations = Preparations(notify)
        self._starts: dict[str, _Start] = {}
        #: Start followers until they end, also after leaving _starts (shutdown waits).
        self._followers: set[asyncio.Task[None]] = set()
        self._start_errors: dict[str, str] = {}
        self._watches = HostAgentWatches(self._dir, notify, self._exited_unasked)

    def _dir(self, name: str) -> Path:
        return instance_dir(self._home, name)

    # -- status --------------------------------------------------------------

    async def status(self, name: str) -> InstanceStatus:
        return (await self._observe(name)).state

    async def _observe(self, name: str) -> _Observed:
        if self._preparations.is_running(name):
            return _Observed(InstanceStatus(PREPARING))
        inst = self._dir(name)
        if outer_marker(self._home, name).exists():
            return _Observed(InstanceStatus(PARTIAL, message="preparation was interrupted"))
        if not inst.exists():
            return _Observed(InstanceStatus(ABSENT, message=self._preparations.last_error(name)))
        reason = is_partial(inst)
        if reason:
            return _Observed(InstanceStatus(PARTIAL, message=reason))
        result = await self._limactl.run(["list", "--json", "--tty=false", name])
        if result.code != 0:
            if is_unmatched(result):
                return _Observed(InstanceStatus(ABSENT))
            raise DriverError(f"limactl list {name} failed: {result.error}{list_hint(result)}")
        listing = parse_list_output(result.stdout, name)
        if listing is None:
            return _Observed(InstanceStatus(ABSENT))
        state = decide_lima_state(
            listing,
            starting=name in self._starts,
            phase=watching.read_boot_phase(inst),
            start_error=self._start_errors.get(name, ""),
            errors=listed_errors(listing, result.stderr),
            boot_seconds=age(inst / HA_PID),
        )
        observed = _Observed(
            state,
            lima_status=str(listing.get("status", "")),
            ha_pid=listed_pid(listing, "hostAgentPID"),
            driver_pid=listed_pid(listing, "driverPID"),
        )
        self._ensure_watched(name, observed)
        return observed

    # -- watching ------------------------------------------------------------

    def _ensure_watched(self, name: str, observed: _Observed) -> None:
        """Watch the live processes of a VM not started here (adoption) or just started."""
        if name not in self._starts:
            pids = (observed.ha_pid, observed.driver_pid)
            self._watches.ensure(name, tuple(pid for pid in pids if pid))

    def _exited_unasked(self, name: str, pids: str) -> None:
        self._start_errors[name] = (
            f"the host agent (pid {pids}) exited without being stopped{last_words(self._dir(name))}"
        )
        self._notify(name)

    def _unwatch(self, name: str) -> None:
        self._watches.cancel(name)

    # -- prepare -------------------------------------------------------------

    async def prepare(self, name: str, template_yaml: str, arch: str) -> None:
        await self._preparations.run(name, lambda: self._prepare(name, template_yaml, arch))

    def begin_prepare(self, name: str, template_yaml: str, arch: str) -> None:
        self._preparations.begin(name, lambda: self._prepare(name, template_yaml, arch))

    async def reconfigure(self, name: str, template_yaml: str) -> None:
        """What `limactl edit` does to a stopped instance (see the module
        docstring), with its refusals: a template limactl would have to
        embed, a smaller disk."""
        refuse_unembedded(name, template_yaml)
        observed = await self._observe(name)
        if observed.state.state != STOPPED or observed.lima_status != "Stopped":
            raise DriverError(f"cannot reconfigure instance {name!r}: it is {observed.state.state}")
        try:
            current = (self._dir(name) / LIMA_YAML).read_text()
        except OSError as err:
            raise DriverError(f"cannot read the lima.yaml of {name!r}: {err}") from err
        shrink = disk_shrink_problem(current, template_yaml)
        if shrink:
            raise DriverError(f"cannot reconfigure instance {name!r}: {shrink}")
        try:
            write_lima_yaml(self._dir(name), template_yaml)
        except OSError as err:
            raise DriverError(f"cannot write the lima.yaml of {name!r}: {err}") from err
        log.info("event=instance_reconfigured name=%s", name)

    async def _prepare(self, name: str, template_yaml: str, arch: str) -> None:
        refuse_unembedded(name, template_yaml)
        inst, marker = self._dir(name), outer_marker(self._home, name)
        if marker.exists() or (inst.exists() and is_partial(inst)):
            log.info("event=partial_instance_removed name=%s", name)
            await self._remove_instance(name)
        elif inst.exists():
            return
        log.info("event=prepare_started name=%s arch=%s", name, arch)
        self._home.mkdir(parents=True, exist_ok=True)
        marker.write_text(f"{os.getpid()}\n")
        try:
            result = await self._limactl.create(name, template_yaml, arch)
            if result.code != 0:
                raise DriverError(result.error)
            (inst / SENTINEL).unlink(missing_ok=True)
            marker.unlink()
        except BaseException:
            await asyncio.shield(self._remove_instance(name))
            raise
        log.info("event=prepare_finished name=%s", name)

    async def _remove_instance(self, name: str) -> None:
        """`limactl delete -f`, then whatever it left (a half-created directory, markers)."""
        inst = self._dir(name)
        if inst.exists():
            await self._set_aside_strays(keep=name)
            result = await self._limactl.run(["delete", "-f", "--tty=false", name])
            if result.code != 0:
                log.warning("event=limactl_delete_failed name=%s error=%r", name, result.error)
        try:
            await asyncio.to_thread(remove_tree, inst)
        except OSError as err:
            raise DriverError(f"cannot remove {inst}: {err}") from err
        outer_marker(self._home, name).unlink(missing_ok=True)

    # -- start ---------------------------------------------------------------

    async def start(self, name: str) -> None:
        if name in self._starts:
            return
        current = await self.status(name)
        if current.state in (RUNNING, STARTING):
            return
        if current.state != STOPPED:
            detail = f" ({current.message})" if current.message else ""
            raise DriverError(f"cannot start instance {name!r}: it is {current.state}{detail}")
        self._start_errors.pop(name, None)
        self._unwatch(name)
        await self._set_aside_strays()
        proc = await self._limactl.spawn(["start", "--tty=false", name], detach=True)
        start = _Start(proc=proc)
        self._starts[name] = start
        start.task = asyncio.create_task(self._follow_start(name, start), name=f"lima-start-{name}")
        self._followers.add(start.task)
        start.task.add_done_callback(self._followers.discard)
        log.info("event=vm_started name=%s limactl_pid=%s", name, proc.pid)

    async def _follow_start(self, name: str, start: _Start) -> None:
        """Wait for `limactl start`, or for its host agent to die first (limactl would wait 10 min)."""
        talk = asyncio.create_task(start.proc.communicate())
        agent_died = asyncio.create_task(wait_agent_death(self._dir(name)))
        error = ""
        try:
            await asyncio.wait({talk, agent_died}, return_when=asyncio.FIRST_COMPLETED)
            if talk.done():
                _, err = talk.result()
                if start.proc.returncode != 0:
                    error = hostagent_events.limactl_error(err.decode(errors="replace"))
            else:
                error = self._agent_death_message(name)
                await kill(start.proc)
        finally:
            agent_died.cancel()
            talk.cancel()
            await asyncio.gather(agent_died, talk, return_exceptions=True)
            if self._starts.get(name) is start:
                del self._starts[name]
        if start.cancelled:
            return
        if error:
            self._start_errors[name] = error
            log.warning("event=vm_start_failed name=%s error=%r", name, error)
        else:
            log.info("event=vm_running name=%s", name)
        with contextlib.suppress(DriverError):
            await self._observe(name)  # starts watching the new host agent
        self._notify(name)

    def _agent_death_message(self, name: str) -> str:
        return f"the host agent exited while the instance was starting{last_words(self._dir(name))}"

    async def _cancel_start(self, name: str) -> None:
        start = self._starts.get(name)
        if start is None:
            return
        start.cancelled = True
        await kill(start.proc)
        if start.task is not None:
            await asyncio.gather(start.task, return_exceptions=True)

    # -- stop / delete -------------------------------------------------------

    async def stop(self, name: str, *, timeout: float | None = None) -> None:
        """Stop gracefully within `timeout` seconds (None: Lima's own budget,
        STOP_TIMEOUT_SECONDS), then forcibly."""
        self._unwatch(name)
        await self._cancel_start(name)
        try:
            await self._stop(name, timeout=self._stop_timeout if timeout is None else timeout)
        finally:
            self._unwatch(name)
            self._start_errors.pop(name, None)

    async def _stop(self, name: str, *, timeout: float) -> None:
        observed = await self._observe(name)
        self._unwatch(name)  # _observe watches a live VM again
        if observed.lima_status == "Stopped" or observed.state.state in (
            ABSENT,
            PARTIAL,
            PREPARING,
            STOPPED,
        ):
            return
        log.info("event=vm_stopping name=%s timeout=%s", name, timeout)
        await self._set_aside_strays()
        pids = tuple(pid for pid in (observed.ha_pid, observed.driver_pid) if pid)
        deadline = asyncio.get_running_loop().time() + timeout
        if observed.lima_status == "Running" and timeout > 0:
            try:
                result = await self._limactl.run(["stop", "--tty=false", name], timeout=timeout)
                if result.code != 0:
                    log.warning("event=vm_stop_failed name=%s error=%r", name, result.error)
            except TimeoutError:
                log.warning("event=vm_stop_timeout name=%s timeout=%s", name, timeout)
            # v1.0.x returns at the exiting event, and a stop that failed or
            # was given up on may leave the host agent shutting the guest
            # down: it gets the rest of the budget before anything is killed.
            remaining = deadline - asyncio.get_running_loop().time()
            if await all_exited(pids, remaining) and await self._limactl.is_stopped(name):
                return
        log.warning("event=vm_stop_forced name=%s", name)
        await self._limactl.stop_forcibly(name)

    async def _set_aside_strays(self, *, keep: str = "") -> None:
        """rdd.drivers.lima_folders.set_aside_strays, sparing `keep` (a name
        the caller deals with itself) and preparations in flight."""
        await set_aside_strays(
            self._home, skip=lambda name: name == keep or self._preparations.is_running(name)
        )

    async def delete(self, name: str) -> None:
        await self._preparations.cancel(name)
        await self._cancel_start(name)
        self._unwatch(name)
        await self._remove_instance(name)
        self._start_errors.pop(name, None)
        log.info("event=instance_deleted name=%s", name)

    async def shutdown(self) -> None:
        """Stop watching; real VMs (and a `limactl start` in flight) keep running."""
        await self._preparations.cancel_all()
        tasks = self._watches.tasks()
        tasks += list(self._followers)
        for start in self._starts.values():
            start.cancelled = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watches.clear()
        log.info("event=driver_shutdown driver=lima")
