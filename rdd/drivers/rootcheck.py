"""Whether the `limactl` on PATH runs for this user: Lima refuses root.

Every Lima version refuses to run as root (cmd/limactl/main.go: v1.x a fatal
error, v2.0.x a Go panic, v2.1+ `limactl: must not run as the root user`).
Called by `rdd.config.environment_problems` (so `rdd svc start` with
RDD_VM_DRIVER=lima as root fails before anything is spawned) and by
`rdd.drivers.select_driver` (the automatic choice falls back to sim).

Rather than predict from the uid alone, limactl is asked, once, as root only:
`limactl list --quiet` with an empty temporary LIMA_HOME, so nothing of the
user's is read or written. A limactl that runs (a stand-in that allows root)
is let through; one that cannot be run at all is left to the driver.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping

from rdd.drivers.limactl import ROOT_REFUSAL, Result, is_root_refusal

#: limactl answers `list --quiet` of an empty LIMA_HOME in well under this.
PROBE_TIMEOUT_SECONDS = 10.0

#: What to do about it, for the messages below.
ADVICE = "run rdd as a normal user, or set RDD_VM_DRIVER=sim"


def limactl_refuses_root(limactl: str, env: Mapping[str, str]) -> bool:
    """Whether `limactl` refuses to run for us; False unless we are root."""
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory(prefix="rdd-limactl-") as home:
        try:
            done = subprocess.run(
                [limactl, "list", "--quiet", "--tty=false"],
                env={**env, "LIMA_HOME": home},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=PROBE_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    result = Result(
        done.returncode, done.stdout.decode(errors="replace"), done.stderr.decode(errors="replace")
    )
    return is_root_refusal(result)


def find_limactl(env: Mapping[str, str]) -> str | None:
    return shutil.which("limactl", path=env.get("PATH"))


def root_problem(env: Mapping[str, str]) -> str:
    """Why the lima driver cannot run here ("" when it can, or when there is
    no limactl to ask: that is reported where limactl is run)."""
    limactl = find_limactl(env)
    if limactl is None or not limactl_refuses_root(limactl, env):
        return ""
    return f'limactl refuses to run as root ("{ROOT_REFUSAL}"): {ADVICE}'
