"""CLI.md as a black box: `rdd` run as a subprocess against a real stack
(`rdd svc start` in a temporary RDD_HOME, sim VM driver), checking stdout,
stderr shapes and exit codes. ConfigMaps need no controller, so most checks
use them; one test drives the App through `rdd start` / `rdd stop`."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import yaml

from rdd.stack.processes import is_alive
from rdd.stack.records import SERVICES
from tests.support.cli import (
    app_health,
    apply,
    configmap,
    ok,
    run_rdd,
    stack_env,
    start_rdd,
    status_of,
    stop_and_check,
)
from tests.support.processes import processes_of

# -- svc ------------------------------------------------------------------------


def test_status_json_shape(env: dict[str, str]) -> None:
    status = status_of(env)
    assert set(status) == {"endpoints", "components", "replicas"}
    assert set(status["endpoints"]) == {"etcd", "webhook", "limavm", "app"}
    for name, component in status["components"].items():
        assert set(component) == {"pid", "address", "health"}
        assert component["health"] == "SERVING"
        assert component["address"] == status["endpoints"][name]
        home = env["RDD_HOME"]
        expected = (
            f"unix://{home}/run/etcd:2379" if name == "etcd" else f"unix://{home}/run/{name}.sock"
        )
        assert component["address"] == expected
        assert is_alive(component["pid"])
    table = ok(run_rdd("svc", "status", env=env))
    assert table.splitlines()[0].split() == ["COMPONENT", "PID", "ADDRESS", "HEALTH"]


def test_start_when_running_changes_nothing(env: dict[str, str]) -> None:
    before = status_of(env)
    out = ok(run_rdd("svc", "start", env=env))
    assert [line.split(":")[0] for line in out.splitlines()] == ["etcd", "webhook", "limavm", "app"]
    assert all(": running (pid" in line for line in out.splitlines())
    assert status_of(env) == before


# -- apply / get ------------------------------------------------------------------


def test_apply_creates_configures_and_leaves_unchanged(env: dict[str, str]) -> None:
    manifest = configmap("apply-a", a="1", b="2") + "---\n" + configmap("apply-b", x="y")
    assert ok(apply(env, manifest)) == "configmap/apply-a created\nconfigmap/apply-b created\n"
    assert ok(apply(env, manifest)) == "configmap/apply-a unchanged\nconfigmap/apply-b unchanged\n"
    assert ok(apply(env, configmap("apply-a", a="9"))) == "configmap/apply-a configured\n"
    data = ok(run_rdd("ctl", "get", "cm", "apply-a", "-o", "jsonpath={.data}", env=env))
    assert json.loads(data) == {"a": "9"}  # b was applied before and dropped now: removed


def test_apply_dry_run_server_persists_nothing(env: dict[str, str]) -> None:
    out = ok(apply(env, configmap("dry"), "--dry-run=server"))
    assert out == "configmap/dry created (server dry run)\n"
    missing = run_rdd("ctl", "get", "cm", "dry", env=env)
    assert missing.returncode == 1


def test_get_formats(env: dict[str, str]) -> None:
    ok(apply(env, configmap("fmt-a", "fmt", k="v") + "---\n" + configmap("fmt-b", "fmt")))
    table = ok(run_rdd("ctl", "get", "cm", "-n", "fmt", env=env)).splitlines()
    assert table[0].split() == ["NAME", "DATA", "AGE"]
    assert [row.split()[:2] for row in table[1:]] == [["fmt-a", "1"], ["fmt-b", "0"]]
    everywhere = ok(run_rdd("ctl", "get", "configmaps", "-A", env=env)).splitlines()
    assert everywhere[0].split()[:2] == ["NAMESPACE", "NAME"]
    assert ["fmt", "fmt-a"] in [row.split()[:2] for row in everywhere]
    names = ok(run_rdd("ctl", "get", "cm", "-n", "fmt", "-o", "name", env=env))
    assert names == "configmap/fmt-a\nconfigmap/fmt-b\n"
    listed = json.loads(ok(run_rdd("ctl", "get", "cm", "-n", "fmt", "-o", "json", env=env)))
    assert (listed["apiVersion"], listed["kind"], len(listed["items"])) == ("v1", "List", 2)
    single = json.loads(ok(run_rdd("ctl", "get", "cm/fmt-a", "-n", "fmt", "-o", "json", env=env)))
    assert single["kind"] == "ConfigMap" and single["data"] == {"k": "v"}
    yaml_out = ok(run_rdd("ctl", "get", "cm", "fmt-a", "-n", "fmt", "-o", "yaml", env=env))
    assert yaml_out.startswith("apiVersion: v1\nkind: ConfigMap\n")


def test_get_that_finds_nothing(env: dict[str, str]) -> None:
    result = run_rdd("ctl", "get", "cm", "-n", "nothing-here", env=env)
    assert (result.returncode, result.stdout) == (0, "")
    assert result.stderr == "No resources found in nothing-here namespace.\n"
    quiet = run_rdd("ctl", "get", "cm", "-n", "nothing-here", "-o", "name", env=env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", result.stderr)
    empty = {"apiVersion": "v1", "items": [], "kind": "List", "metadata": {"resourceVersion": ""}}
    for fmt, load in (("json", json.loads), ("yaml", yaml.safe_load)):
        listed = run_rdd("ctl", "get", "cm", "-n", "nothing-here", "-o", fmt, env=env)
        assert (listed.returncode, listed.stderr) == (0, "")  # as kubectl: no "No resources"
        assert load(listed.stdout) == empty


def test_not_found(env: dict[str, str]) -> None:
    result = run_rdd("ctl", "get", "cm", "nope", env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'
    vm = run_rdd("ctl", "get", "limavm", "nope", "-o", "name", env=env)
    assert vm.stderr == (
        'Error from server (NotFound): limavms.lima.rancherdesktop.io "nope" not found\n'
    )


def test_invalid_name(env: dict[str, str]) -> None:
    result = apply(env, configmap("Bad_Name"))
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith("Error from server (Invalid): ")
    assert "Bad_Name" in result.stderr


def test_unknown_kind(env: dict[str, str]) -> None:
    result = run_rdd("ctl", "get", "pods", env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == 'error: the server doesn\'t have a resource type "pods"\n'
    manifest = "apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n"
    applied = apply(env, manifest)
    assert applied.returncode == 1
    assert applied.stderr.startswith('error: resource mapping not found for name: "p"')
    assert 'no matches for kind "Pod" in version "v1"' in applied.stderr


def test_events_are_read_only(env: dict[str, str]) -> None:
    manifest = (
        configmap("before-event") + "---\napiVersion: v1\nkind: Event\nmetadata:\n  name: e\n"
    )
    result = apply(env, manifest)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: events are read-only: they are recorded by the controllers\n"
    assert run_rdd("ctl", "get", "cm", "before-event", env=env).returncode == 1


def test_malformed_yaml(env: dict[str, str], tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text(configmap("first") + "---\nmetadata: [\n")
    result = run_rdd("ctl", "apply", "-f", str(bad), env=env)
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr.startswith(f"error: error parsing {bad}: yaml: line ")
    assert "Traceback" not in result.stderr
    # parsed before anything is written
    assert run_rdd("ctl", "get", "cm", "first", env=env).returncode == 1


def test_admission_denial(env: dict[str, str]) -> None:
    manifest = "apiVersion: app.rancherdesktop.io/v1alpha1\nkind: App\nmetadata:\n  name: other\n"
    result = apply(env, manifest)
    assert result.returncode == 1
    assert result.stderr.startswith("Error from server (Forbidden): admission webhook ")
    assert "App resource must be named 'app'" in result.stderr


# -- patch / annotate / compare-and-swap -------------------------------------------


def test_patch_merge(env: dict[str, str]) -> None:
    ok(apply(env, configmap("patched", a="1", b="2")))
    out = ok(
        run_rdd(
            "ctl",
            "patch",
            "cm",
            "patched",
            "--type=merge",
            "-p",
            '{"data":{"a":null,"c":"3"}}',
            env=env,
        )
    )
    assert out == "configmap/patched patched\n"
    data = ok(run_rdd("ctl", "get", "cm", "patched", "-o", "jsonpath={.data}", env=env))
    assert json.loads(data) == {"b": "2", "c": "3"}
    again = ok(run_rdd("ctl", "patch", "cm", "patched", "-p", '{"data":{"c":"3"}}', env=env))
    assert again == "configmap/patched patched (no change)\n"
    dry = ok(
        run_rdd(
            "ctl",
            "patch",
            "cm",
            "patched",
            "-p",
            '{"data":{"d":"4"}}',
            "--dry-run=server",
            env=env,
        )
    )
    assert dry == "configmap/patched patched (server dry run)\n"
    keys = ok(run_rdd("ctl", "get", "cm", "patched", "-o", "jsonpath={.data}", env=env))
    assert "d" not in json.loads(keys)
    missing = run_rdd("ctl", "patch", "cm", "nope", "-p", "{}", env=env)
    assert missing.returncode == 1
    assert missing.stderr == 'Error from server (NotFound): configmaps "nope" not found\n'


def test_stale_resource_version_is_a_conflict(env: dict[str, str]) -> None:
    ok(apply(env, configmap("cas", v="1")))
    version = ok(
        run_rdd("ctl", "get", "cm", "cas", "-o", "jsonpath={.metadata.resourceVersion}", env=env)
    )
    ok(run_rdd("ctl", "patch", "cm", "cas", "-p", '{"data":{"v":"2"}}', env=env))
    pinned = json.dumps({"metadata": {"resourceVersion": version}, "data": {"v": "3"}})
    patched = run_rdd("ctl", "patch", "cm", "cas", "-p", pinned, env=env)
    assert patched.returncode == 1
    assert patched.stderr.startswith("Error from server (Conflict): ")
    stale = configmap("cas", v="4").replace(
        "  name: cas", f"  name: cas\n  resourceVersion: '{version}'"
    )
    applied = apply(env, stale)
    assert applied.returncode == 1
    assert applied.stderr.startswith("Error from server (Conflict): ")
    current = ok(
        run_rdd("ctl", "get", "cm", "cas", "-o", "jsonpath={.metadata.resourceVersion}", env=env)
    )
    fresh = configmap("cas", v="5").replace(
        "  name: cas", f"  name: cas\n  resourceVersion: '{current}'"
    )
    assert ok(apply(env, fresh)) == "configmap/cas configured\n"


def test_annotate(env: dict[str, str]) -> None:
    ok(apply(env, configmap("noted")))
    assert ok(run_rdd("ctl", "annotate", "cm", "noted", "a=1", env=env)) == (
        "configmap/noted annotated\n"
    )
    refused = run_rdd("ctl", "annotate", "cm", "noted", "a=2", env=env)
    assert refused.returncode == 1
    assert refused.stderr.startswith("error: --overwrite is false")
    ok(run_rdd("ctl", "annotate", "cm/noted", "a=2", "--overwrite", env=env))
    value = ok(
        run_rdd("ctl", "get", "cm", "noted", "-o", "jsonpath={.metadata.annotations.a}", env=env)
    )
    assert value == "2"
    ok(run_rdd("ctl", "annotate", "cm", "noted", "a-", env=env))
    gone = ok(
        run_rdd("ctl", "get", "cm", "noted", "-o", "jsonpath={.metadata.annotations.a}", env=env)
    )
    assert gone == ""


# -- delete / wait ------------------------------------------------------------------


def test_delete(env: dict[str, str]) -> None:
    ok(apply(env, configmap("doomed")))
    assert ok(run_rdd("ctl", "delete", "cm", "doomed", env=env)) == 'configmap "doomed" deleted\n'
    again = run_rdd("ctl", "delete", "cm", "doomed", env=env)
    assert again.returncode == 1
    assert again.stderr == 'Error from server (NotFound): configmaps "doomed" not found\n'
    quiet = run_rdd("ctl", "delete", "cm", "doomed", "--ignore-not-found", env=env)
    assert (quiet.returncode, quiet.stdout, quiet.stderr) == (0, "", "")


def test_wait_for_delete_of_a_gone_object_is_immediate(env: dict[str, str]) -> None:
    started = time.monotonic()
    out = ok(run_rdd("ctl", "wait", "cm/never-was", "--for=delete", "--timeout=30s", env=env))
    assert out == "configmap/never-was condition met\n"
    assert time.monotonic() - started < 10


def test_wait_is_woken_by_changes(env: dict[str, str]) -> None:
    waiting_create = start_rdd("ctl", "wait", "cm/later", "--for=create", "--timeout=60s", env=env)
    time.sleep(1.0)  # let the wait reach its watch
    ok(apply(env, configmap("later", k="v1")))
    assert waiting_create.wait(timeout=30) == 0
    waiting_value = start_rdd(
        "ctl", "wait", "cm", "later", "--for=jsonpath={.data.k}=v2", "--timeout=60s", env=env
    )
    time.sleep(1.0)
    ok(run_rdd("ctl", "patch", "cm", "later", "-p", '{"data":{"k":"v2"}}', env=env))
    assert waiting_value.wait(timeout=30) == 0
    waiting_delete = start_rdd("ctl", "wait", "cm/later", "--for=delete", "--timeout=60s", env=env)
    time.sleep(1.0)
    ok(run_rdd("ctl", "delete", "cm", "later", "--wait=false", env=env))
    assert waiting_delete.wait(timeout=30) == 0
    for process in (waiting_create, waiting_value, waiting_delete):
        out, _ = process.communicate()
        assert out == "configmap/later condition met\n"


def test_wait_times_out(env: dict[str, str]) -> None:
    ok(apply(env, configmap("patient", k="v")))
    result = run_rdd(
        "ctl", "wait", "cm/patient", "--for=jsonpath={.data.k}=never", "--timeout=1s", env=env
    )
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == "error: timed out waiting for the condition on configmaps/patient\n"
    missing = run_rdd("ctl", "wait", "cm/absent", "--for=condition=Ready", "--timeout=1s", env=env)
    assert missing.returncode == 1
    assert missing.stderr == 'Error from server (NotFound): configmaps "absent" not found\n'


# -- the App shortcut -------------------------------------------------------------------


def test_start_and_stop_wait_until_settled(env: dict[str, str]) -> None:
    started = ok(run_rdd("start", "--timeout=60s", env=env, timeout=90))
    lines = started.splitlines()
    assert lines[0] == "app.app.rancherdesktop.io/app created"
    assert lines[-1].startswith("Settled=True: ")
    assert "Running=True: Lima instance is running (Started)" in lines
    running = ok(
        run_rdd(
            "ctl",
            "get",
            "limavm",
            "rd",
            "-o",
            'jsonpath={.status.conditions[?(@.type=="Running")].status}',
            env=env,
        )
    )
    assert running == "True"
    again = ok(run_rdd("set", "running=true", env=env))
    assert again.splitlines()[0] == "app.app.rancherdesktop.io/app patched (no change)"
    assert again.splitlines()[-1].startswith("Settled=True: ")
    stopped = ok(run_rdd("stop", env=env, timeout=90)).splitlines()
    assert stopped[0] == "app.app.rancherdesktop.io/app patched"
    assert stopped[-1].startswith("Settled=True: ")
    assert "Running=False: Lima instance is stopped (Stopped)" in stopped
    deleted = ok(run_rdd("ctl", "delete", "app", "app", "--timeout=60s", env=env, timeout=90))
    assert deleted == 'app.app.rancherdesktop.io "app" deleted\n'
    assert run_rdd("ctl", "get", "app", env=env).stderr == "No resources found\n"


# -- supervision ----------------------------------------------------------------------


def test_start_brings_back_only_what_died(env: dict[str, str]) -> None:
    before = status_of(env)["components"]
    os.kill(before["limavm"]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 10
    while is_alive(before["limavm"]["pid"]) and time.monotonic() < deadline:
        time.sleep(0.05)
    down = run_rdd("svc", "status", "-o", "json", env=env)
    assert down.returncode == 1
    assert json.loads(down.stdout)["components"]["limavm"]["health"] == "STOPPED"
    unavailable = run_rdd("ctl", "get", "cm", env=env)
    assert unavailable.returncode == 1
    assert "the rdd limavm service is not running" in unavailable.stderr
    out = ok(run_rdd("svc", "start", env=env, timeout=120)).splitlines()
    assert out[2].startswith("limavm: restarted (pid ")
    assert [line.split(" (")[0] for line in out[:2] + out[3:]] == [
        "etcd: running",
        "webhook: running",
        "app: running",
    ]
    after = status_of(env)["components"]
    for name in ("etcd", "webhook", "app"):
        assert after[name] == before[name]
    assert after["limavm"]["pid"] != before["limavm"]["pid"]
    # back on its port: the app service's recorded RDD_LIMAVM_ADDRESS stays valid
    assert after["limavm"]["address"] == before["limavm"]["address"]
    ok(run_rdd("ctl", "get", "cm", "-A", env=env))


def test_etcd_comes_back_on_its_endpoint(env: dict[str, str]) -> None:
    """Down long enough for the services to say NOT_SERVING (as on a loaded
    machine): they are waiting for etcd, not broken, and keep running."""
    before = status_of(env)["components"]
    os.kill(before["etcd"]["pid"], signal.SIGKILL)
    deadline = time.monotonic() + 30
    while app_health(env) != "NOT_SERVING":
        assert time.monotonic() < deadline, "app never noticed that etcd was gone"
        time.sleep(0.2)
    out = ok(run_rdd("svc", "start", env=env, timeout=120)).splitlines()
    assert out[0].startswith("etcd: restarted (pid ")
    after = status_of(env)["components"]
    assert after["etcd"]["address"] == before["etcd"]["address"]
    for name in SERVICES:
        assert after[name]["pid"] == before[name]["pid"]
    ok(apply(env, configmap("after-etcd-restart")))


def test_a_service_that_cannot_start_says_why_on_the_first_line(tmp_path: Path) -> None:
    home = tmp_path / "failing-home"
    home.mkdir()
    (home / "not-a-folder").write_text("")
    failing = stack_env(home) | {"RDD_LIMA_HOME": str(home / "not-a-folder")}
    try:
        result = run_rdd("svc", "start", env=failing, timeout=120)
        assert (result.returncode, result.stdout) == (1, "")
        first = result.stderr.splitlines()[0]
        assert first.startswith("error: limavm exited with status 1 before SERVING: ")
        assert "FileExistsError" in first
        assert "Traceback" not in result.stderr and 'File "' not in result.stderr
    finally:
        stop_and_check(failing)


def test_a_bad_environment_starts_nothing(tmp_path: Path) -> None:
    home = tmp_path / "bad-env-home"
    result = run_rdd("svc", "start", env=stack_env(home) | {"RDD_HOST_ARCH": "sparc"})
    assert (result.returncode, result.stdout) == (1, "")
    assert result.stderr == 'error: RDD_HOST_ARCH: must be x86_64 or aarch64, got "sparc"\n'
    assert processes_of(home) == []


def test_two_stacks_side_by_side(env: dict[str, str], tmp_path: Path) -> None:
    other = stack_env(tmp_path / "other-home")
    try:
        ok(run_rdd("svc", "start", env=other, timeout=120))
        mine, theirs = status_of(env)["endpoints"], status_of(other)["endpoints"]
        assert set(mine.values()).isdisjoint(theirs.values())
        ok(apply(other, configmap("only-in-other")))
        assert run_rdd("ctl", "get", "cm", "only-in-other", env=env).returncode == 1
        ok(run_rdd("ctl", "get", "cm", "only-in-other", env=other))
    finally:
        stop_and_check(other)
    after = run_rdd("ctl", "get", "cm", env=other)
    assert after.returncode == 1
    assert after.stderr == (
        f"error: the rdd stack is not running (RDD_HOME={other['RDD_HOME']}); "
        "start it with 'rdd svc start'\n"
    )
    ok(run_rdd("ctl", "get", "cm", env=env))
