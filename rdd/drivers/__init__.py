"""VM drivers: pick one and build it.

Called by the LimaVM service wiring with its rdd.config.ServiceSettings:
`select_driver` says which backend and why (log the reason once),
`make_driver` builds it. `host_arch` (rdd.config) gives the architecture
instances are built for.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from rdd.config import VM_DRIVERS, ServiceSettings, host_arch, normalize_arch
from rdd.drivers.base import Driver, DriverError, InstanceStatus, Notify
from rdd.limaroot import find_limactl, lima_root_problem, limactl_refuses_root

__all__ = [
    "Driver",
    "DriverError",
    "InstanceStatus",
    "host_arch",
    "make_driver",
    "normalize_arch",
    "select_driver",
]


def select_driver(wanted: str, env: Mapping[str, str]) -> tuple[str, str]:
    """(driver name, reason): `wanted` (RDD_VM_DRIVER, already checked by
    ServiceSettings), else lima when limactl is on `env`'s PATH and runs for
    us, else sim. Lima refuses root (rdd.limaroot.lima_root_problem): as root,
    RDD_VM_DRIVER=lima is a DriverError and the automatic choice is sim, the
    reason saying why."""
    if wanted:
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


def make_driver(
    name: str,
    lima_home: Path,
    notify: Notify,
    settings: ServiceSettings | None = None,
    *,
    env: Mapping[str, str] | None = None,
) -> Driver:
    """Build the driver called `name` ("lima" or "sim") with `settings`'
    values (default: every default); `env`: the environment limactl runs in
    (default: this process's)."""
    settings = ServiceSettings() if settings is None else settings
    if name == "sim":
        from rdd.drivers.sim import SimDriver

        return SimDriver(
            lima_home,
            notify,
            boot_seconds=settings.sim_boot_seconds,
            prepare_seconds=settings.sim_prepare_seconds,
        )
    if name == "lima":
        from rdd.drivers.lima import LimaDriver

        return LimaDriver(lima_home, notify, env=env)
    raise DriverError(f"unknown VM driver {name!r} (expected one of {', '.join(VM_DRIVERS)})")
