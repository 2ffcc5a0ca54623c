"""`rdd` as a whole, without a stack: the parser, error shapes and exit codes."""

from __future__ import annotations

import argparse
import io
from pathlib import Path

import pytest

from rdd.cli import getting, setting
from rdd.cli import main as cli_main
from rdd.cli.connection import Connection
from rdd.cli.console import Console, api_error_line, usage_error_line
from rdd.errors import (
    AlreadyExistsError,
    ConflictError,
    ForbiddenError,
    InvalidError,
    NotFoundError,
    UnavailableError,
)


def rdd(argv: list[str], home: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli_main.run(argv, out=out, err=err, env={"RDD_HOME": str(home)})
    return code, out.getvalue(), err.getvalue()


@pytest.mark.parametrize(
    ("error", "line"),
    [
        (
            NotFoundError('limavms.lima.rancherdesktop.io "rd" not found'),
            'Error from server (NotFound): limavms.lima.rancherdesktop.io "rd" not found',
        ),
        (AlreadyExistsError("x"), "Error from server (AlreadyExists): x"),
        (ConflictError("x"), "Error from server (Conflict): x"),
        (InvalidError("x"), "Error from server (Invalid): x"),
        (
            ForbiddenError(
                'admission webhook "validate.apps.app.rancherdesktop.io" denied the request: no'
            ),
            'Error from server (Forbidden): admission webhook "validate.apps.app.rancherdesktop.io" '
            "denied the request: no",
        ),
        (UnavailableError("x"), "Error from server (ServiceUnavailable): x"),
    ],
)
def test_api_error_line(error: Exception, line: str) -> None:
    assert api_error_line(error) == line  # type: ignore[arg-type]


def test_usage_error_line() -> None:
    assert usage_error_line("boom") == "error: boom"


@pytest.mark.parametrize(
    "argv",
    [
        ["ctl", "get", "cm"],
        ["ctl", "get", "limavm", "rd", "-o", "name"],
        ["ctl", "delete", "cm", "x"],
        ["ctl", "wait", "cm/x", "--for=delete"],
        ["set", "running=true"],
        ["start"],
    ],
)
def test_stack_not_running(argv: list[str], tmp_path: Path) -> None:
    code, out, err = rdd(argv, tmp_path)
    assert (code, out) == (1, "")
    assert err == (
        f"error: the rdd stack is not running (RDD_HOME={tmp_path}); "
        "start it with 'rdd svc start'\n"
    )


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        ([], "error: the following arguments are required: COMMAND"),
        (["ctl", "get"], "error: the following arguments are required"),
        (["ctl", "get", "pods"], 'error: the server doesn\'t have a resource type "pods"'),
        (["ctl", "get", "cm", "-o", "table"], "error: unable to match a printer"),
        (["ctl", "get", "cm", "-o", "jsonpath={.a"], "error: error parsing jsonpath {.a"),
        (["ctl", "get", "cm", "x", "-A"], "error: a resource cannot be retrieved by name"),
        (["ctl", "get", "cm", "--bogus"], "error: unrecognized arguments: --bogus"),
        (["ctl", "delete", "cm"], "error: resource(s) were provided, but no name"),
        (["ctl", "delete", "cm", "x", "--timeout=soon"], "error: invalid duration"),
        (["ctl", "wait", "cm/x"], "error: --for must be specified"),
        (["ctl", "wait", "cm/x", "--for=ready"], "error: unrecognized condition"),
        (["ctl", "patch", "cm", "x", "-p", "{bad"], 'error: unable to parse "{bad"'),
        (
            ["ctl", "patch", "cm", "x", "--type=strategic", "-p", "{}"],
            "error: --type must be one of",
        ),
        (["ctl", "annotate", "cm", "x"], "error: at least one annotation update"),
        (
            ["ctl", "apply", "-f", "/does/not/exist"],
            'error: the path "/does/not/exist" does not exist',
        ),
        (["ctl", "apply", "-f", "x", "--dry-run=all"], "Invalid dry-run value (all)"),
        (["set", "running=maybe"], 'error: invalid boolean "maybe"'),
        (["set", "cpus=2"], 'error: unknown setting "cpus"'),
        (["set", "running=true", "--wait=perhaps"], "invalid boolean"),
        (["svc", "status", "-o", "yaml"], "error: unsupported output format"),
    ],
)
def test_usage_errors_exit_1(argv: list[str], message: str, tmp_path: Path) -> None:
    code, out, err = rdd(argv, tmp_path)
    assert code == 1
    assert out == ""
    assert err.startswith("error: ") or message in err
    assert message in err
    assert "Traceback" not in err


def test_malformed_yaml_is_reported_before_connecting(tmp_path: Path) -> None:
    manifest = tmp_path / "bad.yaml"
    manifest.write_text("a: [\n")
    code, out, err = rdd(["ctl", "apply", "-f", str(manifest)], tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: error parsing {manifest}: yaml: line 2:")


EVENT_MANIFEST = "apiVersion: v1\nkind: Event\nmetadata:\n  name: e\n"
READ_ONLY = "error: events are read-only: they are recorded by the controllers\n"


@pytest.mark.parametrize(
    "argv",
    [
        ["ctl", "patch", "event", "e", "-p", "{}"],
        ["ctl", "annotate", "ev/e", "a=b"],
        ["ctl", "delete", "events", "e"],
    ],
)
def test_events_are_read_only(argv: list[str], tmp_path: Path) -> None:
    """Refused before connecting: the event service serves only reads."""
    assert rdd(argv, tmp_path) == (1, "", READ_ONLY)


def test_applying_an_event_is_refused_before_anything_is_written(tmp_path: Path) -> None:
    manifest = tmp_path / "e.yaml"
    manifest.write_text(
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\n---\n" + EVENT_MANIFEST
    )
    assert rdd(["ctl", "apply", "-f", str(manifest)], tmp_path) == (1, "", READ_ONLY)


@pytest.mark.parametrize("named", ["file", "folder"])
def test_manifest_that_is_not_utf8(named: str, tmp_path: Path) -> None:
    folder = tmp_path / "manifests"
    folder.mkdir()
    bad = folder / "bad.yaml"
    bad.write_bytes(b"kind: \xff\xfe\n")
    target = bad if named == "file" else folder
    code, out, err = rdd(["ctl", "apply", "-f", str(target)], tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: error reading {bad}: not UTF-8 text (byte 0xff at offset 6)")
    assert err.count("\n") == 1


def test_recursive_yaml_is_a_parse_error(tmp_path: Path) -> None:
    manifest = tmp_path / "loop.yaml"
    manifest.write_text("a: &a [*a]\n")
    code, out, err = rdd(["ctl", "apply", "-f", str(manifest)], tmp_path)
    assert (code, out) == (1, "")
    assert err.startswith(f"error: error parsing {manifest}: yaml: ")
    assert "unexpected" not in err


def _raising(error: BaseException) -> object:
    async def command(conn: Connection, args: argparse.Namespace, console: Console) -> int:
        raise error

    return command


@pytest.mark.parametrize(
    ("argv", "error", "code"),
    [
        (["set", "running=true"], ForbiddenError("denied"), 3),
        (["start"], ForbiddenError("denied"), 3),
        (["stop"], ForbiddenError("denied"), 3),
        (["set", "running=true"], ConflictError("stale"), 1),
        (["ctl", "get", "cm"], ForbiddenError("denied"), 1),
        (["ctl", "get", "cm"], NotFoundError("gone"), 1),
        (["ctl", "get", "cm"], KeyboardInterrupt(), 130),
        (["ctl", "get", "cm"], RuntimeError("bug"), 1),
    ],
)
def test_exit_codes(
    argv: list[str],
    error: BaseException,
    code: int,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    for name in ("set_command", "start", "stop"):
        monkeypatch.setattr(setting, name, _raising(error))
    monkeypatch.setattr(getting, "get", _raising(error))
    got, out, err = rdd(argv, tmp_path)
    assert got == code
    assert out == ""
    assert "Traceback" not in err
    if isinstance(error, ForbiddenError | ConflictError | NotFoundError):
        assert err.startswith("Error from server (")
    if isinstance(error, KeyboardInterrupt):
        assert err == ""
    if isinstance(error, RuntimeError):
        assert err == "error: unexpected RuntimeError: bug\n"


def test_names_may_follow_flags() -> None:
    args = cli_main.parse(["ctl", "get", "cm", "-n", "ns", "a", "b"])
    assert args.resources == ["cm", "a", "b"]
    assert (args.namespace, args.namespace_given) == ("ns", True)
    assert cli_main.parse(["ctl", "get", "cm"]).namespace == "default"


@pytest.mark.parametrize(
    ("argv", "wait", "dry_run"),
    [
        (["set", "running=true"], True, False),
        (["set", "running=true", "--wait=false"], False, False),
        (["start", "--wait"], True, False),
        (["stop", "--dry-run"], True, True),
        (["stop", "--dry-run=server"], True, True),
    ],
)
def test_shortcut_flags(argv: list[str], wait: bool, dry_run: bool) -> None:
    args = cli_main.parse(argv)
    assert (args.wait, args.dry_run) == (wait, dry_run)


def test_ctl_dry_run_flag() -> None:
    assert cli_main.parse(["ctl", "apply", "-f", "x"]).dry_run == "none"
    assert cli_main.parse(["ctl", "apply", "-f", "x", "--dry-run=server"]).dry_run == "server"
    assert cli_main.parse(["ctl", "delete", "cm", "x", "--dry-run"]).dry_run == "client"
