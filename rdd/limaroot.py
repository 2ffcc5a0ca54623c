"""Whether Lima refuses to run for us: every Lima version refuses root, in
one of three forms, and rdd asks the installed limactl rather than guess
from the uid (the tests' stand-in limactl does run as root)."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
from collections.abc import Mapping

#: What every Lima version says when run as root (cmd/limactl/main.go): v1.x
#: a fatal error (exit 1), v2.0.x a Go panic (exit 2), v2.1+ `limactl: must
#: not run as the root user` (exit 1).
LIMA_ROOT_REFUSAL = "must not run as the root user"
#: limactl answers `list --quiet` of an empty LIMA_HOME in well under this.
_PROBE_TIMEOUT_SECONDS = 10.0


def refuses_root(code: int, output: str) -> bool:
    """Whether a limactl call that exited with `code` and printed `output`
    (stdout and stderr) was refused because we are root, in any of the three
    forms. Pure."""
    return code != 0 and LIMA_ROOT_REFUSAL in output


def limactl_refuses_root(limactl: str, env: Mapping[str, str]) -> bool:
    """Whether `limactl` refuses to run for us; never asked unless we are root.

    Asked rather than predicted from the uid, so a limactl that does run as
    root (the tests' stand-in) is let through: `limactl list --quiet` in an
    empty temporary LIMA_HOME, so nothing of the user's is read or written.
    A limactl that cannot be run at all is left to the driver to report."""
    if os.geteuid() != 0:
        return False
    with tempfile.TemporaryDirectory(prefix="rdd-limactl-") as home:
        try:
            done = subprocess.run(
                [limactl, "list", "--quiet", "--tty=false"],
                env={**env, "LIMA_HOME": home},
                stdin=subprocess.DEVNULL,
                capture_output=True,
                timeout=_PROBE_TIMEOUT_SECONDS,
                check=False,
            )
        except (OSError, subprocess.TimeoutExpired):
            return False
    output = done.stdout.decode(errors="replace") + done.stderr.decode(errors="replace")
    return refuses_root(done.returncode, output)


def find_limactl(env: Mapping[str, str]) -> str | None:
    return shutil.which("limactl", path=env.get("PATH"))


def lima_root_problem(env: Mapping[str, str]) -> str:
    """Why the lima driver cannot run in `env` because Lima refuses root; ""
    when it can, or when there is no limactl to ask (the driver says so)."""
    limactl = find_limactl(env)
    if limactl is None or not limactl_refuses_root(limactl, env):
        return ""
    return (
        f'limactl refuses to run as root ("{LIMA_ROOT_REFUSAL}"): '
        "run rdd as a normal user, or set RDD_VM_DRIVER=sim"
    )
