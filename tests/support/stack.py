"""A real stack for tests: etcd and the three services as real processes
(started by the same Supervisor `rdd svc start` uses), typed gRPC clients
to talk to it, its etcd reached directly, and the App helpers most stack
tests use."""

from __future__ import annotations

import contextlib
import os
import signal
from collections.abc import AsyncIterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import grpc

from rdd.clients import ResourceClient
from rdd.config import Settings
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM
from rdd.logs import parse
from rdd.retry import retry_on_conflict
from rdd.stack.records import component_of
from rdd.stack.supervisor import Supervisor
from rdd.store.etcdclient import EtcdStore
from rdd.transport.channels import Credentials, open_channel
from rdd.transport.clientconfig import read_config
from rdd.transport.sockets import join_targets
from tests.support.processes import host_agents, wait_exit
from tests.support.waiting import eventually

FAST_SIM = {
    "RDD_VM_DRIVER": "sim",
    "RDD_SIM_BOOT_SECONDS": "0.3",
    "RDD_SIM_PREPARE_SECONDS": "0",
    "RDD_LOG_LEVEL": "INFO",
}


class Stack:
    def __init__(self, home: Path, **overrides: str) -> None:
        env = env_without_rdd()
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
        """The component's endpoint: every replica's address (one for most stacks)."""
        layout = self.supervisor.layout
        records = [layout.read_record(n) for n in layout.recorded() if component_of(n) == component]
        endpoint = join_targets([r.address for r in records if r is not None])
        assert endpoint, f"{component} is not running"
        return endpoint

    @property
    def credentials(self) -> Credentials:
        """What a user's client presents to this stack (its client configuration)."""
        config = read_config(self.home / "config")
        return Credentials(ca=config.ca.encode(), token=config.token)

    def channel(self, component: str, **options: Any) -> grpc.aio.Channel:
        """A user's channel to one service of this stack."""
        return open_channel(self.address(component), self.credentials, **options)

    def channel_to(self, instance: str) -> grpc.aio.Channel:
        """A user's channel to one replica (`app`, `app-1`, ...)."""
        record = self.supervisor.layout.read_record(instance)
        assert record is not None and record.address, f"{instance} is not running"
        return open_channel(record.address, self.credentials)

    def pid(self, component: str) -> int:
        record = self.supervisor.layout.read_record(component)
        assert record is not None and record.pid, f"{component} is not running"
        return record.pid

    def kill(self, component: str, sig: signal.Signals = signal.SIGKILL) -> None:
        """Crash (or stop) one service; `start()` brings it back."""
        pid = self.pid(component)
        os.kill(pid, sig)
        # SIGTERM: limavm stops its VMs first.
        assert wait_exit(pid, timeout=60), f"{component} (pid {pid}) did not exit"

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
        return host_agents(self.lima_home)


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


def env_without_rdd(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """The environment (this process's by default) without any RDD_* variable."""
    return {
        k: v for k, v in (os.environ if env is None else env).items() if not k.startswith("RDD_")
    }


async def set_running(api: Api, running: bool) -> Any:
    """Read-modify-write of App spec.running, retried on conflict (the
    controller writes status concurrently)."""

    async def attempt() -> Any:
        app = await api.apps.get("app")
        app.spec.running = running
        return await api.apps.update(app)

    return await retry_on_conflict(attempt, attempts=50)


async def settled(
    api: Api, generation: int | None = None, *, timeout: float = 20, interval: float = 0.02
) -> Any:
    """The App once Settled=True for `generation` (default: its current one)."""

    async def probe() -> Any:
        app = await api.apps.get("app")
        cond = condition(app, "Settled")
        wanted = generation or app.metadata.generation
        return (
            app if cond and cond.status == "True" and cond.observed_generation >= wanted else None
        )

    return await eventually(probe, timeout=timeout, interval=interval, message="App not Settled")


@contextlib.asynccontextmanager
async def stack_store(stack: Stack) -> AsyncIterator[EtcdStore]:
    """The stack's etcd, reached directly, behind the API's back: for tests
    that compact history or make keys vanish as an outside writer could."""
    settings = Settings.from_env(stack.env)
    store = await EtcdStore.connect(stack.address("etcd"), prefix=settings.etcd_prefix)
    try:
        yield store
    finally:
        await store.close()
