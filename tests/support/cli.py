"""The `rdd` command line as a user runs it: a subprocess with its own
environment (an RDD_HOME of the test's, sim VM driver), and what the CLI
contract tests check of its results."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.support.processes import processes_of
from tests.support.stack import env_without_rdd
from tests.support.waiting import wait_until

REPO = Path(__file__).resolve().parents[2]


def stack_env(home: Path) -> dict[str, str]:
    """A user's environment for a stack in `home` (no RDD_* of the caller's)."""
    env = env_without_rdd()
    env.update(RDD_HOME=str(home), RDD_VM_DRIVER="sim", RDD_SIM_BOOT_SECONDS="0.2")
    return env


def run_rdd(
    *args: str, env: dict[str, str], input: str | None = None, timeout: float = 60
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "rdd.cli", *args],
        env=env,
        input=input,
        capture_output=True,
        text=True,
        timeout=timeout,
    )


def start_rdd(*args: str, env: dict[str, str]) -> subprocess.Popen[str]:
    """`rdd` started in the background (watches, waits), its output piped."""
    return subprocess.Popen(
        [sys.executable, "-m", "rdd.cli", *args],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def ok(result: subprocess.CompletedProcess[str]) -> str:
    """The stdout of a command that must have succeeded without a traceback."""
    assert result.returncode == 0, f"exit {result.returncode}\n{result.stdout}\n{result.stderr}"
    assert "Traceback" not in result.stderr
    return result.stdout


def status_of(env: dict[str, str]) -> dict[str, dict]:
    return json.loads(ok(run_rdd("svc", "status", "-o", "json", env=env)))


def app_health(env: dict[str, str]) -> str:
    """The app service's health in `svc status` (which exits 1 while any
    component is down)."""
    status = json.loads(run_rdd("svc", "status", "-o", "json", env=env).stdout)
    return str(status["components"]["app"]["health"])


def stop_and_check(env: dict[str, str]) -> None:
    """`svc stop`, then insist the stack left no process, config or record."""
    ok(run_rdd("svc", "stop", env=env, timeout=120))
    home = Path(env["RDD_HOME"])
    wait_until(lambda: processes_of(home) == [], timeout=10, message="processes left")
    assert not (home / "config").exists()
    assert list((home / "run").glob("*.json")) == []


def apply(env: dict[str, str], manifest: str, *args: str) -> subprocess.CompletedProcess[str]:
    return run_rdd("ctl", "apply", "-f", "-", *args, env=env, input=manifest)


def configmap(name: str, namespace: str = "", **data: str) -> str:
    """A ConfigMap manifest (YAML) for `rdd ctl apply`."""
    ns = f"\n  namespace: {namespace}" if namespace else ""
    body = "".join(f"\n  {k}: {json.dumps(v)}" for k, v in data.items())
    return f"apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: {name}{ns}\ndata:{body or ' {}'}\n"
