"""Every RDD_* value, parsed in one place.

`Settings`: where things are (every process, the CLI included).
`ServiceSettings`: what the services run with (VM driver, host arch, sim
timings, stop timeout, log level, metrics); drivers and controllers get
these values, never the environment. The stack's own (RDD_LISTEN,
RDD_ETCD_MEMBERS, RDD_REPLICAS) are parsed here too. Each field says which
variable sets it; docs/configuration.md lists them for users.

`environment_problems` is `rdd svc start`'s check: build them all, collect
the errors. The one check that runs a program: as root, whether the
`limactl` on PATH refuses root (Lima always does), so it can say so up front."""

from __future__ import annotations

import math
import os
import platform
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar

T = TypeVar("T")

#: RDD_VM_DRIVER's values; unset picks lima when limactl is on PATH, else sim.
VM_DRIVERS = ("lima", "sim")
#: RDD_HOST_ARCH's values; unset means the platform's (amd64 and arm64 are
#: read as x86_64 and aarch64).
HOST_ARCHES = ("x86_64", "aarch64")
#: platform.machine() values (lower case) -> Lima's architecture names.
ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}
#: Variables that hold seconds are non-negative numbers (RDD_RPC_TIMEOUT > 0).
DEFAULT_RPC_TIMEOUT = 10.0
DEFAULT_SIM_BOOT_SECONDS = 2.0
DEFAULT_SIM_PREPARE_SECONDS = 0.0
#: RDD_LOG_LEVEL's values, in any case; unset means INFO.
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def log_level(env: Mapping[str, str]) -> str:
    """RDD_LOG_LEVEL as logging spells it (`debug` -> DEBUG); INFO when unset."""
    return env.get("RDD_LOG_LEVEL", "").strip().upper() or "INFO"


#: RDD_METRICS's values, in any case; unset or empty means off.
METRICS_ON = ("1", "true", "yes", "on")
METRICS_OFF = ("", "0", "false", "no", "off")


def metrics_enabled(env: Mapping[str, str]) -> bool:
    """RDD_METRICS (`svc start --metrics`): whether each service serves
    Prometheus metrics on a loopback port. Off unless set to 1/true/yes/on."""
    return env.get("RDD_METRICS", "").strip().lower() in METRICS_ON


@dataclass(frozen=True)
class Listen:
    """How a stack's components listen (RDD_LISTEN, `svc start --listen`)."""

    #: False: unix sockets in $RDD_HOME/run (the default). True: TCP with TLS and a token.
    tcp: bool = False
    #: TCP mode: the interface address (127.0.0.1 unless `tcp://ADDRESS`).
    host: str = "127.0.0.1"

    @property
    def client_host(self) -> str:
        """Where a client on this machine reaches a server bound to `host`."""
        return "127.0.0.1" if self.host in ("0.0.0.0", "::", "[::]") else self.host


#: The addresses each service is started with: variable -> the component it names.
SERVICE_WIRING = {
    "webhook": {"RDD_ETCD_ENDPOINTS": "etcd"},
    "limavm": {"RDD_ETCD_ENDPOINTS": "etcd", "RDD_WEBHOOK_ADDRESS": "webhook"},
    "app": {
        "RDD_ETCD_ENDPOINTS": "etcd",
        "RDD_WEBHOOK_ADDRESS": "webhook",
        "RDD_LIMAVM_ADDRESS": "limavm",
    },
}

#: RDD_ETCD_MEMBERS' values: an etcd cluster needs an odd number for a quorum.
ETCD_MEMBER_COUNTS = (1, 3, 5)
MAX_REPLICAS = 5


def parse_count(name: str, raw: str, allowed: tuple[int, ...]) -> int:
    """RDD_ETCD_MEMBERS / RDD_REPLICAS -> int (unset: 1); SettingsError otherwise."""
    text = raw.strip()
    if not text:
        return 1
    if text.isdigit() and int(text) in allowed:
        return int(text)
    choices = ", ".join(str(n) for n in allowed)
    raise SettingsError(f'{name}: must be one of {choices}, got "{raw}"')


def etcd_members(env: Mapping[str, str]) -> int:
    return parse_count("RDD_ETCD_MEMBERS", env.get("RDD_ETCD_MEMBERS", ""), ETCD_MEMBER_COUNTS)


def replicas(env: Mapping[str, str]) -> int:
    allowed = tuple(range(1, MAX_REPLICAS + 1))
    return parse_count("RDD_REPLICAS", env.get("RDD_REPLICAS", ""), allowed)


def parse_listen(raw: str) -> Listen:
    """`unix` (or empty), `tcp`, `tcp://ADDRESS` -> Listen; SettingsError
    otherwise (pure)."""
    text = raw.strip()
    if text in ("", "unix"):
        return Listen()
    if text == "tcp":
        return Listen(tcp=True)
    if text.startswith("tcp://"):
        host = text.removeprefix("tcp://").rstrip("/")
        if host.startswith("[") and host.endswith("]"):
            host = host[1:-1]
        if host and "/" not in host and (":" not in host or host.count(":") > 1):
            return Listen(tcp=True, host=host)
    raise SettingsError(
        f'RDD_LISTEN: must be unix, tcp or tcp://ADDRESS (an address, no port), got "{raw}"'
    )


class SettingsError(ValueError):
    """Environment variables hold values no process of the stack can use:
    one message per variable in `problems`, all of them in str()."""

    def __init__(self, *problems: str) -> None:
        super().__init__("\n".join(problems))
        self.problems = list(problems)


def _seconds_problem(name: str, raw: str) -> str | None:
    try:
        value = float(raw)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0 or (name == "RDD_RPC_TIMEOUT" and value == 0):
        bound = "positive" if name == "RDD_RPC_TIMEOUT" else "non-negative"
        return f'{name}: must be a {bound} number of seconds, got "{raw}"'
    return None


def env_seconds(env: Mapping[str, str], name: str, default: float) -> float:
    """A variable holding seconds, `default` when unset
    or empty; SettingsError when it is not a usable number (pure)."""
    raw = env.get(name, "").strip()
    if not raw:
        return default
    problem = _seconds_problem(name, raw)
    if problem:
        raise SettingsError(problem)
    return float(raw)


def normalize_arch(machine: str) -> str | None:
    """Lima's name for a platform.machine() value, or None when we do not run it."""
    return ARCH_ALIASES.get(machine.strip().lower())


def host_arch(env: Mapping[str, str], *, machine: str | None = None) -> str:
    """x86_64 or aarch64: RDD_HOST_ARCH when set, else the platform's
    (`machine`: platform.machine(), for tests); SettingsError otherwise."""
    arch = env.get("RDD_HOST_ARCH", "").strip()
    if arch:
        if arch not in HOST_ARCHES:
            raise SettingsError(f'RDD_HOST_ARCH: must be x86_64 or aarch64, got "{arch}"')
        return arch
    machine = platform.machine() if machine is None else machine
    found = normalize_arch(machine)
    if found is None:
        raise SettingsError(
            f'RDD_HOST_ARCH: unset, and this host\'s architecture "{machine}" is not '
            "supported: set it to x86_64 or aarch64"
        )
    return found


def vm_driver(env: Mapping[str, str]) -> str:
    """RDD_VM_DRIVER: lima, sim, or "" (choose: rdd.drivers.select_driver)."""
    driver = env.get("RDD_VM_DRIVER", "").strip()
    if driver and driver not in VM_DRIVERS:
        raise SettingsError(f'RDD_VM_DRIVER: must be lima or sim, got "{driver}"')
    return driver


def checked_log_level(env: Mapping[str, str]) -> str:
    level = log_level(env)
    if level not in LOG_LEVELS:
        raise SettingsError(
            f"RDD_LOG_LEVEL: must be one of {', '.join(LOG_LEVELS)} (any case), "
            f'got "{env.get("RDD_LOG_LEVEL", "")}"'
        )
    return level


def checked_metrics(env: Mapping[str, str]) -> bool:
    metrics = env.get("RDD_METRICS", "").strip().lower()
    if metrics not in METRICS_ON + METRICS_OFF:
        raise SettingsError(
            f'RDD_METRICS: must be 1 or 0 (or true/false, yes/no, on/off), got "{metrics}"'
        )
    return metrics in METRICS_ON


def _collect(problems: list[str], parse: Callable[[], T], fallback: T) -> T:
    """parse(), or `fallback` with its SettingsError added to `problems`."""
    try:
        return parse()
    except SettingsError as exc:
        problems.extend(exc.problems)
        return fallback


@dataclass(frozen=True)
class ServiceSettings:
    """What the services run with, from RDD_* variables (parsed once, at start)."""

    #: RDD_VM_DRIVER: lima or sim; "" lets the LimaVM service choose
    #: (lima when limactl is on PATH and runs for us, else sim).
    vm_driver: str = ""
    #: RDD_HOST_ARCH: x86_64 or aarch64, what instances are built for;
    #: unset means the platform's (amd64 and arm64 read as x86_64 and aarch64).
    host_arch: str = "x86_64"
    #: RDD_SIM_BOOT_SECONDS: how long a sim VM takes to boot.
    sim_boot_seconds: float = DEFAULT_SIM_BOOT_SECONDS
    #: RDD_SIM_PREPARE_SECONDS: how long a sim instance takes to prepare.
    sim_prepare_seconds: float = DEFAULT_SIM_PREPARE_SECONDS
    #: RDD_STOP_TIMEOUT_SECONDS: the graceful stop budget the LimaVM
    #: controller gives a driver; None (unset): each driver's own (the lima
    #: driver's matches Lima's).
    stop_timeout: float | None = None
    #: RDD_LOG_LEVEL: as logging spells it (any case; INFO when unset).
    log_level: str = "INFO"
    #: RDD_METRICS: serve Prometheus metrics on a loopback port (1/true/yes/on).
    metrics: bool = False

    @classmethod
    def from_env(
        cls, env: Mapping[str, str] | None = None, *, machine: str | None = None
    ) -> ServiceSettings:
        """The settings `env` (default os.environ) gives; a SettingsError
        naming every value that cannot be used (`machine`: platform.machine(),
        for tests). An empty variable counts as unset."""
        env = os.environ if env is None else env
        found: list[str] = []
        settings = cls(
            vm_driver=_collect(found, lambda: vm_driver(env), ""),
            host_arch=_collect(found, lambda: host_arch(env, machine=machine), "x86_64"),
            sim_boot_seconds=_collect(
                found,
                lambda: env_seconds(env, "RDD_SIM_BOOT_SECONDS", DEFAULT_SIM_BOOT_SECONDS),
                DEFAULT_SIM_BOOT_SECONDS,
            ),
            sim_prepare_seconds=_collect(
                found,
                lambda: env_seconds(env, "RDD_SIM_PREPARE_SECONDS", DEFAULT_SIM_PREPARE_SECONDS),
                DEFAULT_SIM_PREPARE_SECONDS,
            ),
            stop_timeout=_collect(found, lambda: _stop_timeout(env), None),
            log_level=_collect(found, lambda: checked_log_level(env), "INFO"),
            metrics=_collect(found, lambda: checked_metrics(env), False),
        )
        if found:
            raise SettingsError(*found)
        return settings


def _stop_timeout(env: Mapping[str, str]) -> float | None:
    if not env.get("RDD_STOP_TIMEOUT_SECONDS", "").strip():
        return None
    return env_seconds(env, "RDD_STOP_TIMEOUT_SECONDS", 0.0)


def environment_problems(env: Mapping[str, str], *, machine: str | None = None) -> list[str]:
    """What is wrong with the variables the stack reads, one message each
    (`RDD_HOST_ARCH: must be x86_64 or aarch64, got "sparc"`); empty when
    all is well: every settings object built from `env`, their errors
    collected. Checked by `rdd svc start` before anything is spawned, so a
    bad value is one line on the CLI, not a service dying at start-up.
    `machine`: platform.machine() (tests). RDD_VM_DRIVER=lima as root asks
    limactl whether it runs (Lima refuses root, see rdd.limaroot);
    unset, the services fall back to sim."""
    found: list[str] = []
    settings = _collect(found, lambda: ServiceSettings.from_env(env, machine=machine), None)
    if settings is not None and settings.vm_driver == "lima":
        from rdd.limaroot import lima_root_problem  # its subprocess: only this check needs it

        lima_problem = lima_root_problem(env)
        if lima_problem:
            found.append(f"RDD_VM_DRIVER=lima: {lima_problem}")
    for check in (
        lambda: Settings.from_env(env),
        lambda: parse_listen(env.get("RDD_LISTEN", "")),
        lambda: etcd_members(env),
        lambda: replicas(env),
    ):
        _collect(found, check, None)
    return found


def default_home(env: Mapping[str, str]) -> Path:
    base = env.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "rdd"


@dataclass(frozen=True)
class Settings:
    #: RDD_HOME: state folder (endpoints, pids, logs, etcd data).
    home: Path
    #: RDD_LIMA_HOME: Lima instances folder; default $RDD_HOME/lima.
    lima_home: Path
    #: RDD_ETCD_ENDPOINTS: etcd to use (comma list); unset means `svc start` runs one.
    etcd_endpoints: str
    #: RDD_ETCD_PREFIX: key prefix, so stacks can share one etcd.
    etcd_prefix: str
    #: RDD_WEBHOOK_ADDRESS: admission service, for the services that write.
    webhook_address: str
    #: RDD_LIMAVM_ADDRESS: LimaVM service, for the App service.
    limavm_address: str
    #: RDD_RPC_TIMEOUT: deadline in seconds on every internal unary RPC.
    rpc_timeout: float
    #: RDD_CONFIG: the client configuration the CLI reads; default $RDD_HOME/config.
    client_config: Path

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """The settings `env` (default os.environ) gives; SettingsError when
        one of them cannot be used."""
        env = os.environ if env is None else env
        rpc_timeout = env_seconds(env, "RDD_RPC_TIMEOUT", DEFAULT_RPC_TIMEOUT)
        home = Path(env.get("RDD_HOME") or default_home(env)).expanduser()
        return cls(
            home=home,
            lima_home=Path(env.get("RDD_LIMA_HOME") or home / "lima").expanduser(),
            etcd_endpoints=env.get("RDD_ETCD_ENDPOINTS", ""),
            etcd_prefix=env.get("RDD_ETCD_PREFIX", "/rdd"),
            webhook_address=env.get("RDD_WEBHOOK_ADDRESS", ""),
            limavm_address=env.get("RDD_LIMAVM_ADDRESS", ""),
            rpc_timeout=rpc_timeout,
            client_config=Path(env.get("RDD_CONFIG") or home / "config").expanduser(),
        )
