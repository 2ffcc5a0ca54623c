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
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdd.drivers import hostagent_events, watching
from rdd.drivers.base import (
    ABSENT,
    HA_PID,
    HA_STDERR,
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
    parse_pid_text,
    remove_tree,
    write_lima_yaml,
)
from rdd.drivers.limactl import (
    Result,
    decide_lima_state,
    is_unmatched,
    listed_errors,
    listed_pid,
    logrus_json_msg,
    outer_marker,
    parse_list_output,
)
from rdd.drivers.preparing import Preparations
from rdd.procs import is_alive
from rdd.templates.disks import disk_shrink_problem
from rdd.templates.embedding import unembedded_problems
from rdd.templates.loading import TemplateSyntaxError, load_template

log = logging.getLogger(__name__)

#: Budget for quick limactl calls (list, delete, stop -f).
CALL_TIMEOUT_SECONDS = 60.0
#: Budget for `limactl create` (it downloads the image).
CREATE_TIMEOUT_SECONDS = 30 * 60.0
#: Graceful stop budget, Lima's own (pkg/instance/stop.go, v1.1.0+): up to
#: 3m10s for the host agent's exiting event, then up to 3 min for Stopped.
#: QEMU gives the guest up to 3 min for its ACPI shutdown. A VM killed
#: earlier risks its file systems. RDD_STOP_TIMEOUT_SECONDS overrides it.
STOP_TIMEOUT_SECONDS = 190.0 + 180.0
#: Where folders Lima cannot inspect (no lima.yaml) are moved to (Lima skips
#: names starting with "_" or ".", pkg/store/store.go).
SET_ASIDE = "_rdd-set-aside"


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


@dataclass
class _Watch:
    pids: tuple[int, ...]
    task: asyncio.Task[None] | None = None
    done: asyncio.Event = field(default_factory=asyncio.Event)


class LimaDriver(InstanceFolders):
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
        self._limactl = limactl
        self._base_env = env
        self._preparations = Preparations(notify)
        self._starts: dict[str, _Start] = {}
        self._start_errors: dict[str, str] = {}
        self._watches: dict[str, _Watch] = {}

    def _dir(self, name: str) -> Path:
        return instance_dir(self._home, name)

    # -- limactl -------------------------------------------------------------

    def _env(self) -> dict[str, str]:
        """The environment of every limactl call (os.environ at call time unless given)."""
        env = dict(os.environ if self._base_env is None else self._base_env)
        env["LIMA_HOME"] = str(self._home)
        return env

    async def _spawn(
        self, args: Sequence[str], *, stdin: bool = False, detach: bool = False
    ) -> asyncio.subprocess.Process:
        try:
            return await asyncio.create_subprocess_exec(
                self._limactl,
                *args,
                stdin=asyncio.subprocess.PIPE if stdin else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                env=self._env(),
                start_new_session=detach,
            )
        except OSError as err:
            raise DriverError(f"cannot run {self._limactl}: {err}") from err

    async def _run(
        self, args: Sequence[str], *, timeout: float = CALL_TIMEOUT_SECONDS, stdin: str = ""
    ) -> Result:
        """Run one limactl call to completion; a call that outlives `timeout` is killed."""
        proc = await self._spawn(args, stdin=bool(stdin))
        try:
            out, err = await asyncio.wait_for(proc.communicate(stdin.encode() or None), timeout)
        except BaseException:
            await _kill(proc)
            raise
        result = Result(
            proc.returncode or 0, out.decode(errors="replace"), err.decode(errors="replace")
        )
        log.debug("event=limactl args=%s code=%s", " ".join(args), result.code)
        return result

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
        result = await self._run(["list", "--json", "--tty=false", name])
        if result.code != 0:
            if is_unmatched(result):
                return _Observed(InstanceStatus(ABSENT))
            raise DriverError(f"limactl list {name} failed: {result.error}{_list_hint(result)}")
        listing = parse_list_output(result.stdout, name)
        if listing is None:
            return _Observed(InstanceStatus(ABSENT))
        state = decide_lima_state(
            listing,
            starting=name in self._starts,
            phase=watching.read_boot_phase(inst),
            start_error=self._start_errors.get(name, ""),
            errors=listed_errors(listing, result.stderr),
            boot_seconds=_age(inst / HA_PID),
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
        pids = tuple(pid for pid in (observed.ha_pid, observed.driver_pid) if pid)
        if not pids or name in self._starts:
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
        # stop() and delete() cancel this watch first: an exit seen here was not asked for.
        self._start_errors[name] = (
            f"the host agent (pid {pids}) exited without being stopped{self._last_words(name)}"
        )
        self._notify(name)

    def _unwatch(self, name: str) -> None:
        watch = self._watches.pop(name, None)
        if watch is not None and watch.task is not None:
            watch.task.cancel()

    # -- prepare -------------------------------------------------------------

    async def prepare(self, name: str, template_yaml: str, arch: str) -> None:
        await self._preparations.run(name, lambda: self._prepare(name, template_yaml, arch))

    def begin_prepare(self, name: str, template_yaml: str, arch: str) -> None:
        self._preparations.begin(name, lambda: self._prepare(name, template_yaml, arch))

    async def reconfigure(self, name: str, template_yaml: str) -> None:
        """What `limactl edit` does to a stopped instance (see the module
        docstring), with its refusals: a template limactl would have to
        embed, a smaller disk."""
        _refuse_unembedded(name, template_yaml)
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
        _refuse_unembedded(name, template_yaml)
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
            result = await self._create(name, template_yaml, arch)
            if result.code != 0:
                raise DriverError(result.error)
            (inst / SENTINEL).unlink(missing_ok=True)
            marker.unlink()
        except BaseException:
            await asyncio.shield(self._remove_instance(name))
            raise
        log.info("event=prepare_finished name=%s", name)

    async def _create(self, name: str, template_yaml: str, arch: str) -> Result:
        """`limactl create` from stdin, mirroring the sentinel into the new directory."""
        inst = self._dir(name)
        with watching.DirWatch(self._home) as watch:
            args = ["create", "--tty=false", f"--name={name}", f"--arch={arch}", "-"]
            run = asyncio.create_task(
                self._run(args, timeout=CREATE_TIMEOUT_SECONDS, stdin=template_yaml)
            )
            try:
                while not run.done():
                    mirror_sentinel(inst)
                    changed = asyncio.create_task(watch.changed())
                    try:
                        await asyncio.wait({run, changed}, return_when=asyncio.FIRST_COMPLETED)
                    finally:
                        changed.cancel()
                        await asyncio.gather(changed, return_exceptions=True)
            except BaseException:
                run.cancel()
                await asyncio.gather(run, return_exceptions=True)
                raise
            return run.result()

    async def _remove_instance(self, name: str) -> None:
        """`limactl delete -f`, then whatever it left (a half-created directory, markers)."""
        inst = self._dir(name)
        if inst.exists():
            await self._set_aside_strays(keep=name)
            result = await self._run(["delete", "-f", "--tty=false", name])
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
        proc = await self._spawn(["start", "--tty=false", name], detach=True)
        start = _Start(proc=proc)
        self._starts[name] = start
        start.task = asyncio.create_task(self._follow_start(name, start), name=f"lima-start-{name}")
        log.info("event=vm_started name=%s limactl_pid=%s", name, proc.pid)

    async def _follow_start(self, name: str, start: _Start) -> None:
        """Wait for `limactl start`, or for its host agent to die first (limactl would wait 10 min)."""
        talk = asyncio.create_task(start.proc.communicate())
        agent_died = asyncio.create_task(self._wait_agent_death(self._dir(name)))
        error = ""
        try:
            await asyncio.wait({talk, agent_died}, return_when=asyncio.FIRST_COMPLETED)
            if talk.done():
                _, err = talk.result()
                if start.proc.returncode != 0:
                    error = hostagent_events.limactl_error(err.decode(errors="replace"))
            else:
                error = self._agent_death_message(name)
                await _kill(start.proc)
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

    async def _wait_agent_death(self, inst: Path) -> None:
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

    def _agent_death_message(self, name: str) -> str:
        return f"the host agent exited while the instance was starting{self._last_words(name)}"

    def _last_words(self, name: str) -> str:
        """ ": <msg of the host agent's last stderr line>", or "" when it wrote none."""
        last = ""
        with contextlib.suppress(OSError):
            lines = (self._dir(name) / HA_STDERR).read_text(errors="replace").splitlines()
            last = lines[-1] if lines else ""
        return f": {logrus_json_msg(last)}" if last else ""

    async def _cancel_start(self, name: str) -> None:
        start = self._starts.get(name)
        if start is None:
            return
        start.cancelled = True
        await _kill(start.proc)
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
                result = await self._run(["stop", "--tty=false", name], timeout=timeout)
                if result.code != 0:
                    log.warning("event=vm_stop_failed name=%s error=%r", name, result.error)
            except TimeoutError:
                log.warning("event=vm_stop_timeout name=%s timeout=%s", name, timeout)
            # v1.0.x returns at the exiting event, and a stop that failed or
            # was given up on may leave the host agent shutting the guest
            # down: it gets the rest of the budget before anything is killed.
            remaining = deadline - asyncio.get_running_loop().time()
            if await _all_exited(pids, remaining) and await self._lima_stopped(name):
                return
        log.warning("event=vm_stop_forced name=%s", name)
        await self._stop_forcibly(name)

    async def _stop_forcibly(self, name: str) -> None:
        """`limactl stop -f`. Up to v2.1.4 it ends by inspecting every instance
        and exits 1 on one it cannot read (pkg/networks/reconcile): what counts
        is that `list` says Stopped afterwards."""
        result = await self._run(["stop", "-f", "--tty=false", name])
        if result.code == 0:
            return
        if await self._lima_stopped(name):
            log.warning("event=vm_stop_forced_with_error name=%s error=%r", name, result.error)
            return
        raise DriverError(f"limactl stop -f {name} failed: {result.error}")

    async def _lima_stopped(self, name: str) -> bool:
        result = await self._run(["list", "--json", "--tty=false", name])
        listing = parse_list_output(result.stdout, name) if result.code == 0 else None
        return listing is not None and listing.get("status") == "Stopped"

    async def _set_aside_strays(self, *, keep: str = "") -> None:
        """Move folders Lima cannot inspect out of LIMA_HOME (see strays()).

        Up to v2.1.4 `start`, `stop`, `stop -f` and `delete` inspect every
        instance and exit 1 on the first folder without lima.yaml, so one
        such folder breaks every other instance. A folder our own interrupted
        preparation left (a `.preparing` marker) is removed; any other is
        renamed into SET_ASIDE, so nothing a person may want is lost.
        `keep`: a name the caller deals with itself."""
        for name in strays(self._home):
            if name == keep or self._preparations.is_running(name):
                continue
            inst, marker = self._dir(name), outer_marker(self._home, name)
            try:
                if marker.exists() or (inst / SENTINEL).exists():
                    log.warning("event=partial_instance_removed name=%s", name)
                    await asyncio.to_thread(remove_tree, inst)
                    marker.unlink(missing_ok=True)
                else:
                    target = _set_aside_path(self._home, name)
                    target.parent.mkdir(exist_ok=True)
                    inst.rename(target)
                    log.warning("event=stray_folder_set_aside name=%s to=%s", name, target)
            except OSError as err:
                log.warning("event=stray_folder_left name=%s error=%r", name, str(err))

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
        tasks = [w.task for w in self._watches.values() if w.task is not None]
        tasks += [s.task for s in self._starts.values() if s.task is not None]
        for start in self._starts.values():
            start.cancelled = True
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        self._watches.clear()
        log.info("event=driver_shutdown driver=lima")


async def _kill(proc: asyncio.subprocess.Process) -> None:
    """SIGKILL a limactl call we gave up on, and reap it."""
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.send_signal(signal.SIGKILL)
    with contextlib.suppress(Exception):
        await asyncio.wait_for(proc.wait(), 5)


def strays(lima_home: Path) -> list[str]:
    """Folders of `lima_home` Lima takes for instances but cannot inspect:
    no lima.yaml (pkg/store/store.go Instances skips names starting with "."
    or "_", and files)."""
    try:
        entries = list(lima_home.iterdir())
    except OSError:
        return []
    return sorted(
        entry.name
        for entry in entries
        if not entry.name.startswith((".", "_"))
        and entry.is_dir()
        and not (entry / LIMA_YAML).exists()
    )


def _set_aside_path(lima_home: Path, name: str) -> Path:
    stamp = time.strftime("%Y%m%dT%H%M%S", time.gmtime())
    return lima_home / SET_ASIDE / f"{name}-{stamp}-{os.getpid()}"


def mirror_sentinel(inst: Path) -> None:
    """Write the `.preparing` sentinel into a directory `limactl create` just
    made. Lima v2.2+ removes that directory itself when the create fails
    (pkg/instance/create.go): a directory gone under us is no error."""
    if inst.is_dir() and not (inst / SENTINEL).exists():
        with contextlib.suppress(FileNotFoundError, NotADirectoryError):
            (inst / SENTINEL).write_text(f"{os.getpid()}\n")


def _refuse_unembedded(name: str, template_yaml: str) -> None:
    """A template `limactl create` would rewrite is never built or written
    (rdd.templates.embedding; admission refuses it first)."""
    try:
        data = load_template(template_yaml)
    except TemplateSyntaxError:
        return  # limactl reports it in its own words
    problems = unembedded_problems(data)
    if problems:
        raise DriverError(f"instance {name!r}: {problems[0]}")


async def _all_exited(pids: Sequence[int], timeout: float) -> bool:
    """Whether every pid has exited within `timeout` seconds (pidfd)."""
    if not pids:
        return True
    if timeout <= 0:
        return not any(is_alive(pid) for pid in pids)
    waits = [watching.wait_pid_exit(pid) for pid in pids]
    try:
        await asyncio.wait_for(asyncio.gather(*waits), timeout)
    except TimeoutError:
        return False
    return True


def _age(path: Path) -> float | None:
    """Seconds since `path` was last written, or None when it is absent."""
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None


def _list_hint(result: Result) -> str:
    """What to do when Lima v2.x cannot print an instance: its `list --json`
    reads each instance's line with a 64 KiB limit (cmd/limactl/list.go)."""
    if "token too long" not in result.error:
        return ""
    return (
        " (Lima v2.x cannot list an instance whose JSON, lima.yaml included, is 64 KiB or "
        "more: make the template smaller, e.g. its provision scripts)"
    )
