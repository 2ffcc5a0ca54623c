"""`rdd limavm`'s pure parts: status word, list table, template sources,
what each wait waits for, timeout messages, shell and editor invocations,
and how the parser reads the verbs."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from rdd.cli.arguments import UsageError
from rdd.cli.limavm.editing import editor_command
from rdd.cli.limavm.vms import (
    TemplateSource,
    input_configmap_name,
    is_blank_template,
    is_created,
    is_down,
    is_restarted,
    is_running_as_wanted,
    is_template_applied,
    list_rows,
    managing_app,
    parse_template_source,
    read_template_file,
    seen_conditions,
    shell_invocation,
    timeout_message,
)
from rdd.cli.main import parse
from rdd.cli.printing import render_table, vm_status
from rdd.meta.names import RESTART_ANNOTATION

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


def cond(type_: str, status: str, reason: str = "", message: str = "", gen: int = 1) -> dict:
    return {
        "type": type_,
        "status": status,
        "reason": reason,
        "message": message,
        "observedGeneration": gen,
    }


def vm(
    *conditions: dict,
    name: str = "vm1",
    namespace: str = "default",
    running: bool = False,
    generation: int = 1,
    annotations: dict[str, str] | None = None,
    deleting: bool = False,
    **status: Any,
) -> dict[str, Any]:
    meta: dict[str, Any] = {
        "name": name,
        "namespace": namespace,
        "generation": generation,
        "uid": "u1",
        "creationTimestamp": (NOW - timedelta(minutes=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
    }
    if annotations:
        meta["annotations"] = annotations
    if deleting:
        meta["deletionTimestamp"] = "2026-01-02T03:04:00Z"
        meta["finalizers"] = ["rdd.rancherdesktop.io/cleanup"]
    return {
        "metadata": meta,
        "spec": {"running": running, "templateRef": {"name": "t"}},
        "status": {"conditions": list(conditions), **status},
    }


CREATED = cond("Created", "True", "Created", "Lima instance is created")
PENDING = cond("Created", "Unknown", "Pending", "Lima instance is being prepared")
STARTED = cond("Running", "True", "Started", "Lima instance is running")
STARTING = cond("Running", "False", "Starting", "Lima instance is starting")
STOPPED = cond("Running", "False", "Stopped", "Lima instance is stopped")


# -- status and list -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "expected"),
    [
        (vm(), "Creating"),
        (vm(PENDING, STARTING), "Creating"),
        (vm(cond("Created", "False", "CreateFailed", "no image")), "CreateFailed"),
        (vm(CREATED, STARTING), "Starting"),
        (vm(CREATED, STARTED), "Running"),
        (vm(CREATED, STOPPED), "Stopped"),
        (vm(CREATED, cond("Running", "False", "StartFailed", "boom")), "StartFailed"),
        (vm(CREATED, cond("Running", "Unknown", "Reconciling", "")), "Reconciling"),
        (vm(CREATED, STARTED, annotations={RESTART_ANNOTATION: "now"}), "Restarting"),
        (vm(CREATED, STARTED, deleting=True), "Deleting"),
    ],
)
def test_vm_status(obj: dict[str, Any], expected: str) -> None:
    assert vm_status(obj) == expected


def test_list_rows() -> None:
    rows = list_rows(
        [
            vm(CREATED, STARTED, running=True, arch="x86_64", restartCount=3),
            vm(name="vm2", namespace="other"),
        ],
        now=NOW,
    )
    assert rows == [
        ["NAME", "NAMESPACE", "RUNNING", "STATUS", "ARCH", "RESTARTS", "AGE"],
        ["vm1", "default", "true", "Running", "x86_64", "3", "5m"],
        ["vm2", "other", "false", "Creating", "<none>", "0", "5m"],
    ]
    assert render_table(rows).splitlines()[1].split() == rows[1]


def test_seen_conditions_and_managing_app() -> None:
    obj = vm(CREATED, STOPPED)
    assert seen_conditions(obj) == {
        "Created": ("True", "Created", "Lima instance is created"),
        "Running": ("False", "Stopped", "Lima instance is stopped"),
    }
    assert managing_app(obj) is None
    obj["metadata"]["ownerReferences"] = [{"kind": "App", "name": "app", "controller": True}]
    assert managing_app(obj) == "app"


# -- templates --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "files", "expected"),
    [
        ("-", set(), TemplateSource(path="-")),
        ("lima.yaml", {"lima.yaml"}, TemplateSource(path="lima.yaml")),
        ("base", set(), TemplateSource(configmap="base")),
        ("base", {"base"}, TemplateSource(path="base")),
        ("configmap/base", {"configmap/base"}, TemplateSource(configmap="base")),
        ("cm/base", set(), TemplateSource(configmap="base")),
    ],
)
def test_template_source(text: str, files: set[str], expected: TemplateSource) -> None:
    assert parse_template_source(text, exists=files.__contains__) == expected


@pytest.mark.parametrize("text", ["./missing", "dir/t.yaml", "t.yaml", "t.yml", "cm/"])
def test_template_source_that_is_neither(text: str) -> None:
    with pytest.raises(UsageError):
        parse_template_source(text, exists=lambda _: False)


def test_input_configmap_name() -> None:
    assert input_configmap_name("vm1") == "vm1-input"


@pytest.mark.parametrize(
    ("text", "blank"),
    [("", True), ("\n  \n", True), ("# only\n  # comments\n", True), ("cpus: 2\n", False)],
)
def test_blank_template(text: str, blank: bool) -> None:
    assert is_blank_template(text) is blank


def test_read_template_file(tmp_path: Path) -> None:
    good = tmp_path / "t.yaml"
    good.write_text("cpus: 2\n")
    assert read_template_file(str(good), stdin=io.BytesIO()) == "cpus: 2\n"
    assert read_template_file("-", stdin=io.BytesIO(b"cpus: 1\n")) == "cpus: 1\n"
    empty = tmp_path / "empty.yaml"
    empty.write_text("# nothing\n")
    with pytest.raises(UsageError, match="is empty"):
        read_template_file(str(empty), stdin=io.BytesIO())
    with pytest.raises(UsageError, match="cannot read the template"):
        read_template_file(str(tmp_path), stdin=io.BytesIO())


# -- waits ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("obj", "running", "generation", "met"),
    [
        (vm(CREATED, STARTED), True, 1, True),
        (vm(CREATED, STARTED), True, 2, False),  # written for an older generation
        (vm(CREATED, STARTING), True, 1, False),
        (vm(CREATED, STOPPED), False, 1, True),
        (vm(CREATED, STARTING), False, 1, False),  # False, but on its way up
        (vm(CREATED), True, 1, False),
    ],
)
def test_running_as_wanted(obj: dict, running: bool, generation: int, met: bool) -> None:
    assert is_running_as_wanted(obj, running=running, generation=generation) is met


def test_created() -> None:
    assert is_created(vm(CREATED, STOPPED), running=False, generation=1)
    assert not is_created(vm(PENDING, STARTING), running=False, generation=1)
    assert not is_created(vm(CREATED, STARTING), running=True, generation=1)
    assert is_created(vm(CREATED, STARTED), running=True, generation=1)


def test_restarted() -> None:
    requested = {RESTART_ANNOTATION: "2026-01-02T03:04:05Z"}
    before = vm(CREATED, STARTED, running=True, annotations=requested, restartCount=1)
    assert not is_down(before)
    assert not is_restarted(before, restarts_before=1, went_down=False)
    down = vm(CREATED, STARTING, running=True, restartCount=1)
    assert is_down(down)
    up = vm(CREATED, STARTED, running=True, restartCount=2)
    assert is_restarted(up, restarts_before=1, went_down=True)
    assert is_restarted(up, restarts_before=1, went_down=False)  # the count grew
    stale = vm(CREATED, STARTED, running=True, restartCount=1)
    assert not is_restarted(stale, restarts_before=1, went_down=False)


def test_template_applied() -> None:
    running = vm(CREATED, STARTED, running=True, observedTemplateResourceVersion="120")
    assert is_template_applied(running, template_version="120")
    assert is_template_applied(running, template_version="99")  # a later edit counts too
    assert not is_template_applied(running, template_version="121")
    pending = vm(
        CREATED, STARTED, running=True, observedTemplateResourceVersion="120", restartNeeded=True
    )
    assert not is_template_applied(pending, template_version="120")
    starting = vm(CREATED, STARTING, running=True, observedTemplateResourceVersion="120")
    assert not is_template_applied(starting, template_version="120")
    stopped = vm(CREATED, STOPPED, observedTemplateResourceVersion="120")
    assert is_template_applied(stopped, template_version="120")


def test_timeout_message() -> None:
    assert timeout_message("vm1", "running", vm(CREATED, STARTING), "30s") == (
        "timed out after 30s waiting for limavms/vm1 to be running "
        "(now: Running=False: Lima instance is starting (Starting))"
    )
    assert timeout_message("vm1", "deleted", vm(CREATED, STOPPED, deleting=True), "1m") == (
        "timed out after 1m waiting for limavms/vm1 to be deleted "
        "(finalizers left: rdd.rancherdesktop.io/cleanup)"
    )
    assert timeout_message("vm1", "created", None, "5s") == (
        "timed out after 5s waiting for limavms/vm1 to be created"
    )


# -- shell and editor -----------------------------------------------------------------------


def test_shell_invocation() -> None:
    argv, env = shell_invocation(
        "/usr/bin/limactl",
        "vm1",
        ["uname", "-a"],
        lima_home="/srv/lima",
        env={"PATH": "/usr/bin", "LIMA_HOME": "/elsewhere"},
    )
    assert argv == ["/usr/bin/limactl", "shell", "--", "vm1", "uname", "-a"]
    assert env == {"PATH": "/usr/bin", "LIMA_HOME": "/srv/lima"}


@pytest.mark.parametrize(
    ("env", "expected"),
    [
        ({}, ["vi"]),
        ({"EDITOR": "  "}, ["vi"]),
        ({"EDITOR": "nano"}, ["nano"]),
        ({"EDITOR": "code --wait"}, ["code", "--wait"]),
        ({"EDITOR": "'/opt/my editor/ed' -q"}, ["/opt/my editor/ed", "-q"]),
    ],
)
def test_editor_command(env: dict[str, str], expected: list[str]) -> None:
    assert editor_command(env) == expected


# -- the parser -------------------------------------------------------------------------------


def test_parse_verbs() -> None:
    created = parse(["limavm", "create", "vm1", "t.yaml", "--start", "-n", "ns"])
    assert (created.name, created.template, created.start) == ("vm1", "t.yaml", True)
    assert (created.namespace, created.namespace_given, created.wait) == ("ns", True, True)
    stopped = parse(["limavm", "stop", "vm1", "--wait=false", "--timeout=5s"])
    assert (stopped.wait, stopped.timeout, stopped.namespace_given) == (False, "5s", False)
    followed = parse(["limavm", "logs", "-f", "vm1"])
    assert (followed.name, followed.follow) == ("vm1", True)
    listed = parse(["limavm", "list"])
    assert (listed.namespace_given, listed.output) == (False, None)


def test_parse_shell_keeps_the_command_as_typed() -> None:
    args = parse(["limavm", "shell", "-n", "ns", "vm1", "ls", "-l", "--color"])
    assert (args.name, args.namespace, args.shell_command) == ("vm1", "ns", ["ls", "-l", "--color"])
    bare = parse(["limavm", "shell", "vm1"])
    assert bare.shell_command == []


def test_parse_rejects_extra_names() -> None:
    with pytest.raises(UsageError, match="unrecognized arguments"):
        parse(["limavm", "start", "vm1", "vm2"])
