"""The log format (rdd.logs) and the rotated log file (rdd.server.logfile):
every line is one JSON object with ts, level, component, msg; key=value
templates become fields; a file rotates by size and the process's stderr
follows it, so an uncaught traceback lands in the current file."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import datetime
from pathlib import Path

from rdd.logs import JsonFormatter, event_fields, parse, plain


def _record(msg: str, *args: object, exc: bool = False) -> logging.LogRecord:
    exc_info = None
    if exc:
        try:
            raise ValueError("boom")
        except ValueError:
            exc_info = sys.exc_info()
    return logging.LogRecord("rdd.x", logging.WARNING, __file__, 1, msg, args, exc_info)


def test_a_template_becomes_fields_each_from_its_own_arguments() -> None:
    msg, fields = event_fields(
        "event=reconcile_error controller=%s key=%s retry_in=%.3f error=%r",
        ("limavm", ("default", "rd"), 0.005, RuntimeError("a b=c")),
    )
    assert msg == "reconcile_error"
    assert fields == {
        "controller": "limavm",
        "key": "default/rd",
        "retry_in": "0.005",
        "error": "RuntimeError('a b=c')",
    }


def test_numbers_keep_their_type_and_two_placeholders_make_one_field() -> None:
    msg, fields = event_fields("event=x pid=%d object=%s/%s ok=true", (7, "App", "a"))
    assert (msg, fields) == ("x", {"pid": 7, "object": "App/a", "ok": "true"})
    assert event_fields("key=%s", (("", "app1"),))[1] == {"key": "app1"}
    assert event_fields("message=%r", ("it's",))[1] == {"message": "it's"}


def test_a_message_of_another_form_is_kept_whole() -> None:
    assert event_fields("Connected to %s", ("etcd",)) == ("Connected to etcd", {})
    assert event_fields("a=%s b=%s", ("1", "2", "3")) == ("a=%s b=%s ('1', '2', '3')", {})
    assert event_fields("100%% done", ()) == ("100%% done", {})  # as logging prints it


def test_mismatched_arguments_fall_back_to_the_formatted_text() -> None:
    msg, fields = event_fields("event=x a=%s", ("1", "2"))
    assert fields == {}
    assert "event=x" in msg


def test_a_line_is_json_with_the_reserved_fields_first() -> None:
    text = JsonFormatter("app").format(
        _record("event=k8s_event component=%s name=%s", "limavm", "rd", exc=True)
    )
    document = json.loads(text)
    assert list(document)[:5] == ["ts", "level", "component", "msg", "logger"]
    assert document["component"] == "app" and document["component_"] == "limavm"
    assert document["level"] == "warning" and document["msg"] == "k8s_event"
    assert document["ts"].endswith("Z")
    datetime.fromisoformat(document["ts"])
    assert document["traceback"].splitlines()[-1] == "ValueError: boom"
    assert "\n" not in text
    assert plain(text)[0] == "WARNING k8s_event component_=limavm name=rd"
    assert plain(text)[-1] == "ValueError: boom"
    assert parse("not json") is None and parse("{bad") is None


ROTATING_CHILD = """
import logging, sys
from pathlib import Path
from rdd.server import logfile
logfile.configure("app", {"RDD_LOG_LEVEL": "debug"})
logfile.log_to_file(Path(sys.argv[1]), max_bytes=2000, backups=2)
log = logging.getLogger("rdd.test")
for i in range(100):
    log.debug("event=tick i=%d", i)
raise RuntimeError("the end")
"""


def test_the_file_rotates_by_size_and_stderr_follows_it(tmp_path: Path) -> None:
    path = tmp_path / "app.log"
    done = subprocess.run(
        [sys.executable, "-c", ROTATING_CHILD, str(path)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 1
    assert done.stderr == "" and done.stdout == ""
    files = sorted(p.name for p in tmp_path.iterdir())
    assert files == ["app.log", "app.log.1", "app.log.2"]
    for rotated in ("app.log.1", "app.log.2"):
        assert (tmp_path / rotated).stat().st_size <= 2000
        for line in (tmp_path / rotated).read_text().splitlines():
            assert json.loads(line)["level"] == "debug"
    current = path.read_text()
    assert "RuntimeError: the end" in current  # the uncaught traceback, in the current file
    assert '"i": 99' in current
