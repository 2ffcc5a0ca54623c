"""A real stack for contract tests: etcd and the three services as real
processes (started by the same Supervisor `rdd svc start` uses), and typed
gRPC clients to talk to it."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from rdd.clients import ResourceClient
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM
from rdd.logs import parse
from rdd.stack.supervisor import Supervisor
from rdd.transport.channels import Credentials, open_channel
from rdd.transport.clientconfig import read_config

FAST_SIM = {
    "RDD_VM_DRIVER": "sim",
    "RDD_SIM_BOOT_SECONDS": "0.3",
    "RDD_SIM_PREPARE_SECONDS": "0",
    "RDD_LOG_LEVEL": "INFO",
}


class Stack:
    def __init__(self, home: Path, **overrides: str) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("RDD_")}
        env.update(FAST_SIM)
        env.update(overrides)
        env["RDD_HOME"] = str(home)
        self.env = env
        self.home = home
        self.lima_home = Path(env.get("RDD_LIMA_HOME") or home / "lima")
        self.supervisor = Supervisor(env)

    def start(self) -> None:
        self.supervisor.start(timeout=60)

    def stop(self) -> None:
        self.supervisor.stop()

    def address(self, component: str) -> str:
        record = self.supervisor.layout.read_record(component)
        assert record is not None and record.address, f"{component} is not running"
        return record.address

    @property
    def credentials(self) -> Credentials:
        """What a user's client presents to this stack (its client configuration)."""
        config = read_config(self.home / "config")
        return Credentials(ca=config.ca.encode(), token=config.token)

    def channel(self, component: str, **options: Any) -> grpc.aio.Channel:
        """A user's channel to one service of this stack."""
        return open_channel(self.address(component), self.credentials, **options)

    def pid(self, component: str) -> int:
        record = self.supervisor.layout.read_record(component)
        assert record is not None and record.pid, f"{component} is not running"
        return record.pid

    def kill(self, component: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Crash (or stop) one service; `start()` brings it back."""
        pid = self.pid(component)
        os.kill(pid, sig)
        _wait_exit(pid)

    def log(self, component: str) -> str:
        return (self.home / "logs" / f"{component}.log").read_text(errors="replace")

    def log_events(self, component: str) -> list[dict[str, Any]]:
        """The service's JSON log lines (rdd.logs); raw lines that libraries
        write to stderr themselves (gRPC's C core) are left out."""
        events = (parse(line) for line in self.log(component).splitlines())
        return [event for event in events if event is not None]

    def has_logged(self, component: str, msg: str, **fields: Any) -> bool:
        """Whether a line with this msg and these fields is in the log."""
        return any(
            e.get("msg") == msg and all(e.get(k) == v for k, v in fields.items())
            for e in self.log_events(component)
        )

    def instance_dirs(self) -> list[str]:
        if not self.lima_home.exists():
            return []
        return sorted(p.name for p in self.lima_home.iterdir() if not p.name.startswith("_"))

    def vm_processes(self) -> list[int]:
        """Host agent processes (sim or stand-in) serving this stack's instances."""
        found = []
        for entry in Path("/proc").iterdir():
            if not entry.name.isdigit():
                continue
            try:
                cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            except OSError:
                continue
            if str(self.lima_home) in cmdline and "hostagent" in cmdline:
                state = _proc_state(entry)
                if state != "Z":
                    found.append(int(entry.name))
        return found


def _proc_state(entry: Path) -> str:
    try:
        return (entry / "stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return "?"


def _wait_exit(pid: int, timeout: float = 10) -> None:
    try:
        os.waitpid(pid, 0)
        return
    except ChildProcessError:
        pass
    subprocess.run(
        [
            "bash",
            "-c",
            f"for i in $(seq {int(timeout * 20)}); do kill -0 {pid} 2>/dev/null || exit 0; "
            "grep -q '^State:.*Z' /proc/{pid}/status 2>/dev/null && exit 0; sleep 0.05; done",
        ],
        check=False,
    )


@dataclass
class Api:
    """Clients for each resource service of one stack."""

    apps: ResourceClient
    limavms: ResourceClient
    configmaps: ResourceClient
    events: ResourceClient
    channels: list[grpc.aio.Channel]

    @classmethod
    def connect(cls, stack: Stack) -> Api:
        app_channel = stack.channel("app")
        limavm_channel = stack.channel("limavm")
        return cls(
            apps=ResourceClient(APP, app_channel),
            limavms=ResourceClient(LIMAVM, limavm_channel),
            configmaps=ResourceClient(CONFIGMAP, limavm_channel),
            events=ResourceClient(EVENT, limavm_channel),
            channels=[app_channel, limavm_channel],
        )

    async def close(self) -> None:
        for channel in self.channels:
            await channel.close(None)


def new_app(running: bool = False, namespace: str = "") -> Any:
    app = APP.new()
    app.metadata.name = "app"
    app.spec.running = running
    app.spec.namespace = namespace
    return app


def condition(obj: Any, type_: str) -> Any | None:
    for cond in obj.status.conditions:
        if cond.type == type_:
            return cond
    return None


def has_condition(obj: Any, type_: str, status: str, reason: str | None = None) -> bool:
    cond = condition(obj, type_)
    return cond is not None and cond.status == status and (reason is None or cond.reason == reason)


def env_without_rdd(env: Mapping[str, str]) -> dict[str, str]:
    return {k: v for k, v in env.items() if not k.startswith("RDD_")}


async def set_running(api: Api, running: bool) -> Any:
    """Read-modify-write of App spec.running, retried on conflict (the
    controller writes status concurrently)."""
    from rdd.errors import ConflictError

    while True:
        app = await api.apps.get("app")
        app.spec.running = running
        try:
            return await api.apps.update(app)
        except ConflictError:
            continue
