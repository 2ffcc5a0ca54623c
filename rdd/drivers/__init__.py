"""VM drivers: pick one from the environment and build it.

Called by the LimaVM service wiring: `select_driver(os.environ)` says which
backend and why (log the reason once), `make_driver` builds it, `host_arch`
gives the architecture instances are built for.
"""

from __future__ import annotations

import platform
from collections.abc import Mapping
from pathlib import Path

from rdd.config import find_limactl, lima_root_problem, limactl_refuses_root
from rdd.drivers.base import Driver, DriverError, InstanceStatus, Notify

__all__ = [
    "Driver",
    "DriverError",
    "InstanceStatus",
    "host_arch",
    "make_driver",
    "select_driver",
    "stop_timeout_seconds",
]

DRIVERS = ("lima", "sim")
ARCH_ALIASES = {"x86_64": "x86_64", "amd64": "x86_64", "aarch64": "aarch64", "arm64": "aarch64"}


def select_driver(env: Mapping[str, str]) -> tuple[str, str]:
    """(driver name, reason): RDD_VM_DRIVER, else lima when limactl is on PATH
    and runs for us, else sim. Lima refuses root (rdd.config.lima_root_problem): as
    root, RDD_VM_DRIVER=lima is a DriverError and the automatic choice is sim,
    the reason saying why."""
    wanted = env.get("RDD_VM_DRIVER", "").strip()
    if wanted:
        if wanted not in DRIVERS:
            raise DriverError(f"RDD_VM_DRIVER must be one of {', '.join(DRIVERS)}, got {wanted!r}")
        problem = lima_root_problem(env) if wanted == "lima" else ""
        if problem:
            raise DriverError(f"RDD_VM_DRIVER=lima: {problem}")
        return wanted, f"RDD_VM_DRIVER={wanted}"
    limactl = find_limactl(env)
    if limactl and limactl_refuses_root(limactl, env):
        return "sim", (
            f"limactl found at {limactl}, but it refuses to run as root: using the sim "
            "driver (run rdd as a normal user for real VMs)"
        )
    if limactl:
        return "lima", f"limactl found at {limactl}"
    return "sim", "limactl not found on PATH"


def stop_timeout_seconds(env: Mapping[str, str]) -> float | None:
    """RDD_STOP_TIMEOUT_SECONDS: the graceful stop budget the LimaVM controller
    gives a driver; None when unset, so each driver uses its own (the lima
    driver's matches Lima's, see rdd.drivers.lima.STOP_TIMEOUT_SECONDS)."""
    raw = env.get("RDD_STOP_TIMEOUT_SECONDS", "").strip()
    return float(raw) if raw else None


def make_driver(name: str, lima_home: Path, notify: Notify) -> Driver:
    """Build the driver called `name` ("lima" or "sim")."""
    if name == "sim":
        from rdd.drivers.sim import SimDriver

        return SimDriver(lima_home, notify)
    if name == "lima":
        from rdd.drivers.lima import LimaDriver

        return LimaDriver(lima_home, notify)
    raise DriverError(f"unknown VM driver {name!r} (expected one of {', '.join(DRIVERS)})")


def normalize_arch(machine: str) -> str | None:
    """Lima's name for a platform.machine() value, or None when we do not run it."""
    return ARCH_ALIASES.get(machine.strip().lower())


def host_arch(env: Mapping[str, str]) -> str:
    """x86_64 or aarch64: RDD_HOST_ARCH when set, else the platform's."""
    override = env.get("RDD_HOST_ARCH", "").strip()
    if override:
        if override not in ("x86_64", "aarch64"):
            raise DriverError(f"RDD_HOST_ARCH must be x86_64 or aarch64, got {override!r}")
        return override
    machine = platform.machine()
    arch = normalize_arch(machine)
    if arch is None:
        raise DriverError(f"unsupported host architecture {machine!r} (set RDD_HOST_ARCH)")
    return arch
