"""The `sim` VM driver: Lima-shaped instances run by a real simulated host agent.

Called by the LimaVM controller on machines without a hypervisor (CI, demos).
Each running VM is a child process (rdd.drivers.sim_hostagent) in its own
session, so a Ctrl-C to the service does not reach it; `shutdown()` stops them
all. A host agent left running by an earlier service process is adopted: its
exit is watched through a pidfd and it is never started twice.

Timings come from rdd.config.ServiceSettings (RDD_SIM_BOOT_SECONDS,
RDD_SIM_PREPARE_SECONDS) through make_driver.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from dataclasses import dataclass, field
from pathlib import Path

import rdd
from rdd import procs
from rdd.config import DEFAULT_SIM_BOOT_SECONDS, DEFAULT_SIM_PREPARE_SECONDS
from rdd.drivers import hostagent_events, watching
from rdd.drivers.base import (
    ABSENT,
    BROKEN,
    HA_PID,
    HA_SOCK,
    HA_STDERR,
    HA_STDOUT,
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
from rdd.drivers.preparing import Preparations
from rdd.drivers.sim_hostagent import MODULE as HOSTAGENT_MODULE

log = logging.getLogger(__name__)

#: How long to wait for a SIGKILLed host agent to be gone.
KILL_WAIT_SECONDS = 5.0
#: Graceful stop budget when the caller gives none (RDD_STOP_TIMEOUT_SECONDS unset).
STOP_TIMEOUT_SECONDS = 30.0
#: Graceful stop budget per VM when the service shuts down.
SHUTDOWN_STOP_SECONDS = 5.0
SIM_VERSION = "rdd-sim"
ARCHES = ("x86_64", "aarch64")


def is_sim_agent(argv: list[str] | None, pidfile: Path) -> bool:
    """Whether a process's argv is our host agent for this pid file.

    None (argv unreadable: no /proc) trusts the pid file, as Lima does."""
    if argv is None:
        return True
    return HOSTAGENT_MODULE in argv and str(pidfile) in argv


def _finished_with(task: asyncio.Task[str], value: str) -> bool:
    return (
        task.done() and not task.cancelled() and task.exception() is None and task.result() == value
    )


@dataclass
class _Agent:
    """A host agent this driver watches (its child, or adopted)."""

    pid: int
    proc: asyncio.subprocess.Process | None = None
    exited: asyncio.Event = field(default_factory=asyncio.Event)
    task: asyncio.Task[None] | None = None
    #: We asked it to exit (stop, delete, shutdown): its exit is no crash.
    stopping: bool = False


class SimDriver(InstanceFolders):
    name = "sim"

    def __init__(
        self,
        lima_home: Path,
        notify: Notify,
        *,
        boot_seconds: float = DEFAULT_SIM_BOOT_SECONDS,
        prepare_seconds: float = DEFAULT_SIM_PREPARE_SECONDS,
    ) -> None:
        self._home = lima_home
        self._notify = notify
        self._boot_seconds = boot_seconds
        self._prepare_seconds = prepare_seconds
        self._preparations = Preparations(notify)
        self._agents: dict[str, _Agent] = {}
        self._exit_messages: dict[str, str] = {}

    def _dir(self, name: str) -> Path:
        return instance_dir(self._home, name)

    # -- prepare -------------------------------------------------------------

    async def prepare(self, name: str, template_yaml: str, arch: str) -> None:
        await self._preparations.run(name, lambda: self._prepare(name, template_yaml, arch))

    def begin_prepare(self, name: str, template_yaml: str, arch: str) -> None:
        self._preparations.begin(name, lambda: self._prepare(name, template_yaml, arch))

    async def _prepare(self, name: str, template_yaml: str, arch: str) -> None:
        if arch not in ARCHES:
            raise DriverError(f"unsupported arch {arch!r}: the sim driver runs {', '.join(ARCHES)}")
        inst = self._dir(name)
        if inst.exists():
            reason = is_partial(inst)
            if not reason:
                return
            log.info("event=partial_instance_removed name=%s reason=%r", name, reason)
            await asyncio.to_thread(remove_tree, inst)
        log.info("event=prepare_started name=%s arch=%s", name, arch)
        try:
            # Files are written off the event loop: at a thousand instances
            # the writes are most of a preparation, and the loop serves the API.
            await asyncio.to_thread(_begin_instance, inst, template_yaml)
            await asyncio.sleep(self._prepare_seconds)
            await asyncio.to_thread(_finish_instance, inst, arch)
        except BaseException as err:
            await asyncio.shield(asyncio.to_thread(remove_tree, inst))
            if isinstance(err, OSError):
                raise DriverError(f"preparing instance {name!r} failed: {err}") from err
            raise
        log.info("event=prepare_finished name=%s", name)

    async def reconfigure(self, name: str, template_yaml: str) -> None:
        current = await self.status(name)
        if current.state != STOPPED:
            raise DriverError(f"cannot reconfigure instance {name!r}: it is {current.state}")
        try:
            write_lima_yaml(self._dir(name), template_yaml)
        except OSError as err:
            raise DriverError(f"cannot write the lima.yaml of {name!r}: {err}") from err
        log.info("event=instance_reconfigured name=%s", name)

    # -- status --------------------------------------------------------------

    async def status(self, name: str) -> InstanceStatus:
        inst = self._dir(name)
        if self._preparations.is_running(name):
            return InstanceStatus(PREPARING)
        if not inst.exists():
            return InstanceStatus(ABSENT, message=self._preparations.last_error(name))
        reason = is_partial(inst)
        if reason:
            return InstanceStatus(PARTIAL, message=reason)
        try:
            pid = self._live_pid(name)
        except DriverError as err:
            return InstanceStatus(BROKEN, message=err.message)
        if pid is None:
            return InstanceStatus(STOPPED, message=self._exit_messages.get(name, ""))
        self._ensure_watched(name, pid)
        phase = watching.read_boot_phase(inst)
        if phase == hostagent_events.RUNNING:
            return InstanceStatus(RUNNING, pid=pid)
        if phase == hostagent_events.EXITING:
            return InstanceStatus(RUNNING, pid=pid, message="shutting down")
        return InstanceStatus(STARTING, pid=pid)

    def _live_pid(self, name: str) -> int | None:
        """The live host agent of `name`, removing a stale pid file (as `limactl list` does).

        Raises DriverError when ha.pid holds something that is not a pid."""
        agent = self._agents.get(name)
        pidfile = self._dir(name) / HA_PID
        # Our own child counts as live until its exit has been handled (and
        # its crash message kept), so the status never says Stopped without
        # saying why; only an adopted pid is judged from /proc.
        child = agent.pid if agent and agent.proc and not agent.exited.is_set() else None
        try:
            text = pidfile.read_text()
        except FileNotFoundError:  # our child may not have written it yet
            return child
        pid = parse_pid_text(text)
        if pid is None:
            raise DriverError(f"{pidfile} does not hold a pid: {text[:40]!r}")
        if pid == child or (procs.is_alive(pid) and is_sim_agent(procs.cmdline(pid), pidfile)):
            return pid
        log.info("event=stale_pidfile_removed name=%s pid=%s", name, pid)
        self._remove_runtime_files(name)
        return None

    def _remove_runtime_files(self, name: str) -> None:
        for file in (HA_PID, HA_SOCK):
            with contextlib.suppress(FileNotFoundError):
                (self._dir(name) / file).unlink()

    # -- start ---------------------------------------------------------------

    async def start(self, name: str) -> None:
        current = await self.status(name)
        if current.state in (RUNNING, STARTING):
            return
        if current.state != STOPPED:
            raise DriverError(f"cannot start instance {name!r}: it is {current.state}")
        inst = self._dir(name)
        self._exit_messages.pop(name, None)
        proc = await self._spawn(name, inst)
        agent = _Agent(pid=proc.pid, proc=proc)
        self._watch(name, agent)
        log.info("event=vm_started name=%s pid=%s", name, proc.pid)

    async def _spawn(self, name: str, inst: Path) -> asyncio.subprocess.Process:
        argv = [
            sys.executable,
            "-m",
            HOSTAGENT_MODULE,
            "--pidfile",
            str(inst / HA_PID),
            "--socket",
            str(inst / HA_SOCK),
            "--boot-seconds",
            str(self._boot_seconds),
            name,
        ]
        env = dict(os.environ)
        source_root = str(Path(rdd.__file__).resolve().parent.parent)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [source_root, env.get("PYTHONPATH")]))
        try:
            with open(inst / HA_STDOUT, "wb") as out, open(inst / HA_STDERR, "wb") as err:
                return await asyncio.create_subprocess_exec(
                    *argv,
                    stdin=asyncio.subprocess.DEVNULL,
                    stdout=out,
                    stderr=err,
                    cwd=inst,
                    env=env,
                    start_new_session=True,
                )
        except OSError as err:
            raise DriverError(f"cannot start the host agent of {name!r}: {err}") from err

    # -- watching ------------------------------------------------------------

    def _ensure_watched(self, name: str, pid: int) -> None:
        """Adopt a live host agent this driver does not watch yet."""
        agent = self._agents.get(name)
        if agent is not None and agent.pid == pid and not agent.exited.is_set():
            return
        log.info("event=vm_adopted name=%s pid=%s", name, pid)
        self._watch(name, _Agent(pid=pid))

    def _watch(self, name: str, agent: _Agent) -> None:
        self._agents[name] = agent
        agent.task = asyncio.create_task(self._supervise(name, agent), name=f"sim-watch-{name}")

    async def _supervise(self, name: str, agent: _Agent) -> None:
        """Notify when the VM becomes Running and when its host agent exits."""
        inst = self._dir(name)
        exit_task = asyncio.create_task(self._wait_exit(name, agent))
        boot_task = asyncio.create_task(watching.wait_for_boot(inst))
        try:
            await asyncio.wait({exit_task, boot_task}, return_when=asyncio.FIRST_COMPLETED)
            if not exit_task.done() and _finished_with(boot_task, hostagent_events.RUNNING):
                log.info("event=vm_running name=%s pid=%s", name, agent.pid)
                self._notify(name)
            await exit_task
        finally:
            boot_task.cancel()
            exit_task.cancel()
            await asyncio.gather(boot_task, exit_task, return_exceptions=True)
            agent.exited.set()
            if self._agents.get(name) is agent:
                del self._agents[name]
        log.info("event=vm_exited name=%s pid=%s", name, agent.pid)
        self._notify(name)

    async def _wait_exit(self, name: str, agent: _Agent) -> None:
        """Wait for the host agent to exit; an exit nobody asked for (no stop,
        delete or shutdown) leaves the reason in `_exit_messages`."""
        code: int | None = None
        if agent.proc is not None:
            code = await agent.proc.wait()
        else:
            pidfile = self._dir(name) / HA_PID
            await watching.wait_pid_exit(
                agent.pid, is_ours=lambda: is_sim_agent(procs.cmdline(agent.pid), pidfile)
            )
        if not agent.stopping:
            self._exit_messages[name] = self._crash_message(name, agent.pid, code)

    def _crash_message(self, name: str, pid: int, code: int | None) -> str:
        if code is not None and code < 0:
            return f"host agent was killed by {signal.Signals(-code).name}"
        last = ""
        with contextlib.suppress(OSError):
            lines = (self._dir(name) / HA_STDERR).read_text(errors="replace").splitlines()
            last = lines[-1] if lines else ""
        how = f"exited with {code}" if code is not None else f"(pid {pid}) exited"
        return f"host agent {how} without being stopped" + (f": {last}" if last else "")

    # -- stop / delete -------------------------------------------------------

    async def stop(self, name: str, *, timeout: float | None = None) -> None:
        agent = self._agent_for(name)
        if agent is None:
            return
        timeout = STOP_TIMEOUT_SECONDS if timeout is None else timeout
        log.info("event=vm_stopping name=%s pid=%s timeout=%s", name, agent.pid, timeout)
        agent.stopping = True
        self._signal(agent, signal.SIGTERM)
        try:
            async with asyncio.timeout(timeout):
                await agent.exited.wait()
        except TimeoutError:
            log.warning("event=vm_stop_forced name=%s pid=%s", name, agent.pid)
            await self._kill(name, agent)
        self._remove_runtime_files(name)
        self._exit_messages.pop(name, None)

    async def _kill(self, name: str, agent: _Agent) -> None:
        agent.stopping = True
        self._signal(agent, signal.SIGKILL)
        try:
            async with asyncio.timeout(KILL_WAIT_SECONDS):
                await agent.exited.wait()
        except TimeoutError:
            raise DriverError(f"host agent {agent.pid} of {name!r} survived SIGKILL") from None

    def _agent_for(self, name: str) -> _Agent | None:
        """The watched host agent of `name`, adopting a live one; clears a bad pid file."""
        if not self._dir(name).exists():
            return None
        try:
            pid = self._live_pid(name)
        except DriverError:
            self._remove_runtime_files(name)
            return None
        if pid is None:
            return None
        self._ensure_watched(name, pid)
        return self._agents[name]

    @staticmethod
    def _signal(agent: _Agent, signum: signal.Signals) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.kill(agent.pid, signum)

    async def delete(self, name: str) -> None:
        await self._preparations.cancel(name)
        agent = self._agent_for(name)
        if agent is not None:
            await self._kill(name, agent)
        await asyncio.to_thread(remove_tree, self._dir(name))
        self._exit_messages.pop(name, None)
        log.info("event=instance_deleted name=%s", name)

    # -- shutdown ------------------------------------------------------------

    async def shutdown(self) -> None:
        """Stop every simulated VM under lima_home: nothing is left running."""
        await self._preparations.cancel_all()
        names = set(self._agents)
        if self._home.is_dir():
            names.update(entry.name for entry in self._home.iterdir() if (entry / HA_PID).exists())
        await asyncio.gather(
            *(self.stop(name, timeout=SHUTDOWN_STOP_SECONDS) for name in sorted(names)),
            return_exceptions=True,
        )
        tasks = [agent.task for agent in self._agents.values() if agent.task is not None]
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        log.info("event=driver_shutdown driver=sim stopped=%d", len(names))


def _begin_instance(inst: Path, template_yaml: str) -> None:
    """A new instance folder, partial (SENTINEL) until _finish_instance."""
    inst.mkdir(parents=True)
    (inst / SENTINEL).write_text(f"{os.getpid()}\n")
    (inst / LIMA_YAML).write_text(template_yaml)


def _finish_instance(inst: Path, arch: str) -> None:
    (inst / "lima-version").write_text(SIM_VERSION)
    (inst / "disk").write_text(f"simulated disk for {arch}\n")
    (inst / SENTINEL).unlink()
