"""`rdd limavm` as a black box: the command run as a subprocess against a
real stack (`rdd svc start`, sim driver with a short boot), checking what it
prints, its exit codes, and that every test leaves nothing behind (no
LimaVM, ConfigMap, instance directory or host agent)."""

from __future__ import annotations

import json
import os
import shutil
import signal
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from rdd.templates.default import DEFAULT_TEMPLATE
from tests.support.cli import REPO, ok, run_rdd, stack_env, start_rdd, stop_and_check
from tests.support.processes import host_agents

VM = "limavm.lima.rancherdesktop.io"


def not_found(name: str) -> str:
    return f'Error from server (NotFound): limavms.lima.rancherdesktop.io "{name}" not found\n'


def lima_home(env: dict[str, str]) -> Path:
    return Path(env["RDD_HOME"]) / "lima"


def instance_dirs(env: dict[str, str]) -> list[str]:
    home = lima_home(env)
    return sorted(p.name for p in home.iterdir()) if home.exists() else []


@pytest.fixture
def env(cli_stack: dict[str, str]) -> Iterator[dict[str, str]]:
    """The shared stack; afterwards anything a test left is removed, and the
    test fails if it had to be."""
    stack = cli_stack
    yield stack
    names = ok(run_rdd("limavm", "list", "-o", "name", env=stack)).split()
    for name in names:
        run_rdd("limavm", "delete", name.split("/", 1)[1], "--timeout=30s", env=stack)
    listed = ok(run_rdd("ctl", "get", "cm", "-A", "-o", "json", env=stack))
    left = [item["metadata"] for item in json.loads(listed or '{"items": []}')["items"]]
    for meta in left:
        run_rdd("ctl", "delete", "cm", meta["name"], "-n", meta["namespace"], env=stack)
    assert names == [] and left == [], f"left behind: {names} {left}"
    assert instance_dirs(stack) == []
    assert host_agents(lima_home(stack)) == []


def template_file(tmp_path: Path, text: str = DEFAULT_TEMPLATE) -> str:
    path = tmp_path / "lima.yaml"
    path.write_text(text)
    return str(path)


def jsonpath(env: dict[str, str], name: str, path: str) -> str:
    return ok(run_rdd("ctl", "get", "limavm", name, "-o", f"jsonpath={path}", env=env))


def restart_count(env: dict[str, str], name: str) -> int:
    return int(jsonpath(env, name, "{.status.restartCount}") or 0)


def configmaps(env: dict[str, str]) -> list[str]:
    return ok(run_rdd("ctl", "get", "cm", "-A", "-o", "name", env=env)).split()


def delete_and_check_gone(env: dict[str, str], name: str, *, keep: tuple[str, ...] = ()) -> None:
    out = ok(run_rdd("limavm", "delete", name, "--timeout=30s", env=env)).splitlines()
    assert out[0] == f'{VM} "{name}" deleted'
    assert out[1:] in ([], ["waiting for finalizers: rdd.rancherdesktop.io/cleanup"])
    # waited: gone by the time it returns, with everything it owned
    assert run_rdd("ctl", "get", "limavm", name, env=env).stderr == not_found(name)
    assert sorted(configmaps(env)) == list(keep)
    assert name not in instance_dirs(env)


# -- lifecycle ------------------------------------------------------------------------------


def test_create_list_stop_start_restart_delete(env: dict[str, str], tmp_path: Path) -> None:
    created = ok(run_rdd("limavm", "create", "life", template_file(tmp_path), "--start", env=env))
    lines = created.splitlines()
    assert lines[0] == f"{VM}/life created"
    assert lines[-1] == "Running=True: Lima instance is running (Started)"
    assert "Created=True: Lima instance is created (Created)" in lines
    # the file's ConfigMap is gone; the LimaVM holds its own copy
    assert configmaps(env) == ["configmap/life-template"]

    table = ok(run_rdd("limavm", "list", env=env)).splitlines()
    assert table[0].split() == ["NAME", "NAMESPACE", "RUNNING", "STATUS", "ARCH", "RESTARTS", "AGE"]
    row = table[1].split()
    assert row[:4] == ["life", "default", "true", "Running"]
    assert row[4] in ("x86_64", "aarch64") and row[5] == "1"

    stopped = ok(run_rdd("limavm", "stop", "life", env=env)).splitlines()
    assert stopped == [f"{VM}/life patched", "Running=False: Lima instance is stopped (Stopped)"]
    again = ok(run_rdd("limavm", "stop", "life", env=env))
    assert again == f"{VM}/life patched (no change)\n"
    assert host_agents(lima_home(env)) == []

    started = ok(run_rdd("limavm", "start", "life", env=env)).splitlines()
    assert started[0] == f"{VM}/life patched"
    assert started[-1] == "Running=True: Lima instance is running (Started)"
    before = restart_count(env, "life")

    restarted = ok(run_rdd("limavm", "restart", "life", env=env)).splitlines()
    assert restarted[0] == f"{VM}/life restart requested"
    assert restarted[-1] == "Running=True: Lima instance is running (Started)"
    assert restart_count(env, "life") == before + 1
    annotations = jsonpath(env, "life", "{.metadata.annotations}")
    assert "restartRequested" not in annotations

    delete_and_check_gone(env, "life")
    assert host_agents(lima_home(env)) == []
    assert run_rdd("limavm", "list", env=env).stderr == "No resources found\n"


def test_create_from_a_configmap_and_a_denied_create_leaves_nothing(
    env: dict[str, str], tmp_path: Path
) -> None:
    source = tmp_path / "cm.yaml"
    source.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: base\n  namespace: team\n"
        f"data:\n  template: {json.dumps(DEFAULT_TEMPLATE)}\n"
    )
    ok(run_rdd("ctl", "apply", "-f", str(source), env=env))
    out = ok(run_rdd("limavm", "create", "fromcm", "base", "-n", "team", env=env)).splitlines()
    assert out[0] == f"{VM}/fromcm created"
    assert out[-1] == "Created=True: Lima instance is created (Created)"
    # the user's ConfigMap stays; a stopped VM shows as such in every namespace's list
    assert sorted(configmaps(env)) == ["configmap/base", "configmap/fromcm-template"]
    row = ok(run_rdd("limavm", "list", env=env)).splitlines()[1].split()
    assert row[:4] == ["fromcm", "team", "false", "Stopped"]

    bad = template_file(tmp_path, "images: []\n")
    denied = run_rdd("limavm", "create", "badvm", bad, "-n", "team", env=env)
    assert (denied.returncode, denied.stdout) == (1, "")
    assert denied.stderr.startswith("Error from server (Forbidden): admission webhook ")
    assert "images" in denied.stderr
    taken = run_rdd("limavm", "create", "fromcm", template_file(tmp_path), env=env)
    assert taken.returncode == 1
    assert "is already used in namespace" in taken.stderr or "AlreadyExists" in taken.stderr
    assert sorted(configmaps(env)) == ["configmap/base", "configmap/fromcm-template"]

    missing = run_rdd("limavm", "create", "nofile", "./missing.yaml", env=env)
    assert (missing.returncode, missing.stderr) == (
        1,
        'error: the path "./missing.yaml" does not exist\n',
    )

    delete_and_check_gone(env, "fromcm", keep=("configmap/base",))
    ok(run_rdd("ctl", "delete", "cm", "base", "-n", "team", env=env))


# -- logs ------------------------------------------------------------------------------------


def test_logs_and_follow(env: dict[str, str], tmp_path: Path) -> None:
    ok(run_rdd("limavm", "create", "logged", template_file(tmp_path), "--start", env=env))
    out = ok(run_rdd("limavm", "logs", "logged", env=env)).splitlines()
    messages = [json.loads(line).get("msg") for line in out]
    assert "READY" in messages  # the sim host agent's stderr
    assert any('"running":true' in line for line in out)  # and its events
    assert messages.index("READY") > 0

    follower = start_rdd("limavm", "logs", "-f", "logged", env=env)
    try:
        assert follower.stdout is not None
        first = follower.stdout.readline()
        assert "Starting the simulated VM" in first
    finally:
        follower.send_signal(signal.SIGINT)
        follower.communicate(timeout=10)
    assert follower.returncode == 130

    # a follower sees the next boot, and ends on its own when the LimaVM is deleted
    until_gone = start_rdd("limavm", "logs", "--follow", "logged", env=env)
    assert until_gone.stdout is not None
    # the restart rewrites the log files: read this boot's READY before it
    seen = [until_gone.stdout.readline()]
    while '"READY"' not in seen[-1]:
        seen.append(until_gone.stdout.readline())
        assert seen[-1], f"the follower ended early: {seen}"
    ok(run_rdd("limavm", "restart", "logged", env=env))
    ok(run_rdd("limavm", "delete", "logged", env=env))
    rest, errors = until_gone.communicate(timeout=15)
    assert until_gone.returncode == 0, errors
    assert rest.count('"READY"') == 1  # the next boot's

    missing = run_rdd("limavm", "logs", "logged", env=env)
    assert (missing.returncode, missing.stdout) == (1, "")
    assert missing.stderr == not_found("logged")


# -- edit ------------------------------------------------------------------------------------


def editor(tmp_path: Path, name: str, script: str) -> str:
    path = tmp_path / name
    path.write_text(f"#!/bin/sh\n{script}\n")
    path.chmod(0o755)
    return str(path)


def test_edit_applies_and_restarts_refuses_and_aborts(env: dict[str, str], tmp_path: Path) -> None:
    ok(run_rdd("limavm", "create", "edited", template_file(tmp_path), "--start", env=env))
    before = restart_count(env, "edited")
    four = editor(tmp_path, "cpus4", "sed -i 's/^cpus: 2$/cpus: 4/' \"$1\"")
    out = ok(run_rdd("limavm", "edit", "edited", env={**env, "EDITOR": four})).splitlines()
    assert out[0] == "configmap/edited-template edited"
    assert out[-1] == "Running=True: Lima instance is running (Started)"
    assert restart_count(env, "edited") == before + 1
    assert "cpus: 4" in (lima_home(env) / "edited" / "lima.yaml").read_text()
    stored = ok(
        run_rdd("ctl", "get", "cm", "edited-template", "-o", "jsonpath={.data.template}", env=env)
    )
    assert "cpus: 4" in stored

    unchanged = ok(run_rdd("limavm", "edit", "edited", env={**env, "EDITOR": "true"}))
    assert unchanged == "Edit cancelled, no changes made.\n"

    emptied = run_rdd(
        "limavm", "edit", "edited", env={**env, "EDITOR": editor(tmp_path, "empty", ': > "$1"')}
    )
    assert (emptied.returncode, emptied.stdout) == (1, "")
    assert emptied.stderr == "error: edit cancelled, the template is empty\n"

    bad = editor(tmp_path, "bad", "sed -i 's/^cpus: 4$/cpus: -1/' \"$1\"")
    refused = run_rdd("limavm", "edit", "edited", env={**env, "EDITOR": bad})
    assert (refused.returncode, refused.stdout) == (1, "")
    error, kept = refused.stderr.splitlines()
    assert error.startswith("Error from server (Forbidden): admission webhook ")
    assert "cpus" in error
    assert kept.startswith('A copy of your changes has been stored to "')
    copy = Path(kept.split('"')[1])
    try:
        assert "cpus: -1" in copy.read_text()
    finally:
        copy.unlink()
    assert "cpus: 4" in ok(
        run_rdd("ctl", "get", "cm", "edited-template", "-o", "jsonpath={.data.template}", env=env)
    )
    ok(run_rdd("limavm", "delete", "edited", env=env))


# -- shell, timeouts, not found, owned -------------------------------------------------------------


def test_shell_is_not_supported_by_the_sim_driver(env: dict[str, str]) -> None:
    result = run_rdd("limavm", "shell", "anything", "uname", "-a", env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == 'error: "rdd limavm shell" is not supported by the sim driver\n'


def test_waits_time_out_with_a_message(env: dict[str, str], tmp_path: Path) -> None:
    assert ok(run_rdd("limavm", "create", "slow", template_file(tmp_path), env=env))
    started = run_rdd("limavm", "start", "slow", "--timeout=50ms", env=env)
    assert started.returncode == 1
    assert started.stdout.startswith(f"{VM}/slow patched\n")
    assert started.stderr.startswith(
        "error: timed out after 50ms waiting for limavms/slow to be running"
    )
    ok(run_rdd("limavm", "start", "slow", env=env))  # the VM got there anyway
    restarted = run_rdd("limavm", "restart", "slow", "--timeout=50ms", env=env)
    assert restarted.returncode == 1
    assert "timed out after 50ms waiting for limavms/slow to be restarted" in restarted.stderr
    assert "Traceback" not in restarted.stderr
    ok(run_rdd("limavm", "delete", "slow", env=env))


def test_missing_names_and_the_apps_vm(env: dict[str, str]) -> None:
    for verb in ("start", "stop", "restart", "delete", "edit"):
        result = run_rdd("limavm", verb, "nope", env=env)
        assert (verb, result.returncode) == (verb, 1)
        assert result.stderr == not_found("nope")
    ok(run_rdd("set", "running=false", env=env))
    try:
        refused = run_rdd("limavm", "delete", "rd", env=env)
        assert (refused.returncode, refused.stdout) == (1, "")
        assert refused.stderr.startswith("Error from server (Forbidden): admission webhook ")
        assert 'cannot delete "rd": owned by App; delete the App resource instead' in refused.stderr
        managed = run_rdd("limavm", "start", "rd", env=env)
        assert managed.stderr == (
            f'error: {VM}/rd is managed by App "app": use "rdd start" instead\n'
        )
    finally:
        ok(run_rdd("ctl", "delete", "app", "app", "--timeout=60s", env=env))


def test_shell_runs_limactl_shell_on_the_services_lima_home(tmp_path: Path) -> None:
    """On the lima driver (the limactl stand-in here) `shell` becomes
    `limactl shell NAME CMD...` with LIMA_HOME set to the service's folder:
    the stand-in finds the instance there and says it is stopped."""
    lima = Path(tempfile.mkdtemp(prefix="rdd-sh-"))  # short: Lima's sockets live there
    env = stack_env(tmp_path / "home")
    env.update(
        RDD_VM_DRIVER="lima",
        RDD_LIMA_HOME=str(lima),
        PATH=f"{REPO / 'tests' / 'standin'}{os.pathsep}{env.get('PATH', '')}",
        LIMACTL_STANDIN_BOOT_SECONDS="0.3",
    )
    ok(run_rdd("svc", "start", env=env, timeout=120))
    try:
        ok(run_rdd("limavm", "create", "shelled", template_file(tmp_path), env=env))
        result = run_rdd(
            "limavm", "shell", "shelled", "uname", "-a", env={**env, "LIMA_HOME": "/x"}
        )
        assert (result.returncode, result.stdout) == (1, "")
        assert "is stopped, run `limactl start shelled` to start the instance" in result.stderr
        missing = run_rdd("limavm", "shell", "nope", env=env)
        assert (missing.returncode, missing.stderr) == (1, not_found("nope"))
        ok(run_rdd("limavm", "delete", "shelled", "--timeout=60s", env=env))
        assert [p.name for p in lima.iterdir() if not p.name.startswith("_")] == []
    finally:
        stop_and_check(env)
        shutil.rmtree(lima, ignore_errors=True)
