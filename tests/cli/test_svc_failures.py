"""What `rdd svc start` says when a component does not start: the reason on
the first line, then this run's log lines with Python tracebacks cut to
their exception line."""

from __future__ import annotations

from pathlib import Path

from rdd.cli.svc import failure_message, last_run, shorten_tracebacks

TRACEBACK = """\
Traceback (most recent call last):
  File "<frozen runpy>", line 198, in _run_module_as_main
  File "/work/main/services/webhook/__main__.py", line 29, in main
    servicer = AdmissionServicer(StoreLookup(store, host_arch(os.environ), validator))
                                                    ^^^^^^^^^^^^^^^^^^^^^
  File "/work/main/rdd/drivers/__init__.py", line 66, in host_arch
    raise DriverError(f"RDD_HOST_ARCH must be x86_64 or aarch64, got {override!r}")
rdd.drivers.base.DriverError: RDD_HOST_ARCH must be x86_64 or aarch64, got 'sparc'"""

LOG = f"""\
--- rdd svc start: webhook at 2026-01-01T00:00:00Z ---
an older run's line
--- rdd svc start: webhook at 2026-01-01T00:01:00Z ---
2026-01-01 00:01:00 INFO event=starting
{TRACEBACK}
"""
PATH = Path("/home/logs/webhook.log")


def test_last_run() -> None:
    assert last_run(LOG)[0] == "2026-01-01 00:01:00 INFO event=starting"
    assert last_run("no header\n") == ["no header"]


def test_a_traceback_is_its_exception_line() -> None:
    lines, exception = shorten_tracebacks(TRACEBACK.splitlines())
    assert exception == "DriverError: RDD_HOST_ARCH must be x86_64 or aarch64, got 'sparc'"
    assert lines == [exception]


def test_chained_tracebacks_keep_each_exception_and_name_the_last() -> None:
    text = (
        'Traceback (most recent call last):\n  File "a.py", line 1, in f\n'
        "KeyError: 'x'\n\nDuring handling of the above exception, another exception occurred:\n"
        '\nTraceback (most recent call last):\n  File "b.py", line 2, in g\n'
        "ValueError: bad\n"
    )
    lines, exception = shorten_tracebacks(text.splitlines())
    assert (lines, exception) == (["KeyError: 'x'", "ValueError: bad"], "ValueError: bad")


def test_the_first_line_is_the_reason() -> None:
    message = failure_message("webhook exited with status 1 before SERVING", LOG, PATH)
    assert message.splitlines() == [
        "webhook exited with status 1 before SERVING: "
        "DriverError: RDD_HOST_ARCH must be x86_64 or aarch64, got 'sparc'",
        f"last lines of {PATH}:",
        "2026-01-01 00:01:00 INFO event=starting",
    ]
    assert "Traceback" not in message and "File " not in message


def test_a_log_of_only_a_traceback_points_at_the_file() -> None:
    message = failure_message("limavm exited with status 1 before SERVING", TRACEBACK, PATH)
    assert message.splitlines()[1] == f"(details in {PATH})"


def test_a_log_without_traceback_is_shown_as_is() -> None:
    log = "--- rdd svc start: app at x ---\nERROR event=fatal error=etcd is unavailable\n"
    message = failure_message("app did not report SERVING within 60s", log, PATH)
    assert message.splitlines() == [
        "app did not report SERVING within 60s",
        f"last lines of {PATH}:",
        "ERROR event=fatal error=etcd is unavailable",
    ]
    assert failure_message("etcd at x is not healthy", "", None) == "etcd at x is not healthy"


def test_json_lines_are_read_as_a_person_reads_them() -> None:
    """The services' JSON lines (rdd.logs): the failure message shows the
    level, msg and fields, and a traceback field is cut to its exception."""
    from rdd.logs import line, run_header

    fatal = line(
        ts="2026-01-01T00:01:00.000Z",
        level="error",
        component="app",
        msg="fatal",
        logger="rdd.server.process",
        fields={"error": "etcd is unavailable"},
    )
    crashed = line(
        ts="2026-01-01T00:01:01.000Z",
        level="error",
        component="app",
        msg="component_shutdown_failed",
        logger="rdd.server.process",
        fields={"traceback": TRACEBACK},
    )
    log = "\n".join([run_header("app", 0), "old run", run_header("app", 60), fatal, crashed])
    assert last_run(log)[0] == "ERROR fatal error=etcd is unavailable"
    message = failure_message("app exited with status 1 before SERVING", log, PATH)
    assert message.splitlines() == [
        "app exited with status 1 before SERVING: "
        "DriverError: RDD_HOST_ARCH must be x86_64 or aarch64, got 'sparc'",
        f"last lines of {PATH}:",
        "ERROR fatal error=etcd is unavailable",
        "ERROR component_shutdown_failed",
    ]
