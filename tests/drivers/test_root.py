"""Lima refuses to run as root (cmd/limactl/main.go, every version): the lima
driver is not chosen as root. The stand-in refuses only with
LIMACTL_STANDIN_ROOT=refuse (the tests run as root); these tests set it, and
need root."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from rdd.config import environment_problems
from rdd.drivers import DriverError, select_driver
from rdd.limaroot import refuses_root
from tests.support.processes import processes_mentioning
from tests.support.standin import STANDIN

pytestmark = pytest.mark.skipif(os.geteuid() != 0, reason="needs root (Lima refuses root)")

#: The three forms: v1.x fatal (exit 1), v2.0.x panic (exit 2), v2.1+ plain (exit 1).
VERSIONS = ("1.2.1", "2.0.3", "2.2.0")

ADVICE = "run rdd as a normal user, or set RDD_VM_DRIVER=sim"


def root_env(version: str, **extra: str) -> dict[str, str]:
    return {
        **os.environ,
        "PATH": f"{STANDIN}{os.pathsep}{os.environ['PATH']}",
        "LIMACTL_STANDIN_ROOT": "refuse",
        "LIMACTL_STANDIN_VERSION": version,
        **extra,
    }


@pytest.mark.parametrize(
    ("version", "code", "first_line"),
    [
        ("1.2.1", 1, 'level=fatal msg="must not run as the root user"'),
        ("2.0.3", 2, "panic: must not run as the root user"),
        ("2.2.0", 1, "limactl: must not run as the root user"),
    ],
)
def test_the_standin_refuses_root_in_each_versions_form(
    tmp_path: Path, version: str, code: int, first_line: str
) -> None:
    done = subprocess.run(
        [str(STANDIN / "limactl"), "list", "--tty=false"],
        env={**root_env(version), "LIMA_HOME": str(tmp_path)},
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == code
    assert first_line in done.stderr.splitlines()[0]
    assert refuses_root(done.returncode, done.stdout + done.stderr)


@pytest.mark.parametrize("version", VERSIONS)
def test_the_automatic_choice_falls_back_to_sim_saying_why(version: str) -> None:
    name, reason = select_driver("", root_env(version))
    assert name == "sim"
    assert "refuses to run as root" in reason
    with pytest.raises(DriverError, match="must not run as the root user"):
        select_driver("lima", root_env(version))


def test_a_limactl_that_runs_as_root_is_chosen() -> None:
    env = {**root_env("2.2.0"), "LIMACTL_STANDIN_ROOT": ""}
    assert select_driver("", env)[0] == "lima"
    assert select_driver("lima", env) == ("lima", "RDD_VM_DRIVER=lima")


@pytest.mark.parametrize("version", VERSIONS)
def test_environment_problems_name_the_root_refusal(version: str) -> None:
    [problem] = environment_problems(root_env(version, RDD_VM_DRIVER="lima"), machine="x86_64")
    assert problem == (
        'RDD_VM_DRIVER=lima: limactl refuses to run as root ("must not run as the root '
        f'user"): {ADVICE}'
    )
    assert environment_problems(root_env(version), machine="x86_64") == []
    assert environment_problems(root_env(version, RDD_VM_DRIVER="sim"), machine="x86_64") == []


def test_svc_start_as_root_with_the_lima_driver_fails_and_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "home"
    env = root_env("2.2.0", RDD_VM_DRIVER="lima", RDD_HOME=str(home))
    done = subprocess.run(
        [sys.executable, "-c", "from rdd.cli.main import main; main()", "svc", "start"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode != 0
    assert "limactl refuses to run as root" in done.stderr
    assert ADVICE in done.stderr
    assert "Traceback" not in done.stderr
    assert not home.exists() or not any(home.iterdir())
    assert processes_mentioning(str(home)) == []
