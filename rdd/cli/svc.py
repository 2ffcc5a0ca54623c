"""`rdd svc start|stop|status|rotate-credentials` and `rdd config view`: the
stack of this RDD_HOME, through rdd.stack.supervisor. Formatting is pure;
the commands are thin."""

from __future__ import annotations

import argparse
import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from rdd.cli.arguments import UsageError, parse_duration
from rdd.cli.connection import load_client_config
from rdd.cli.console import Console
from rdd.cli.parsing import Command, Words, add_commands
from rdd.cli.printing import render_table
from rdd.config import Settings
from rdd.logs import is_run_header, plain
from rdd.stack.supervisor import ComponentStatus, Outcome, StackError, StackStatus, Supervisor
from rdd.transport.clientconfig import render


def outcome_line(outcome: Outcome) -> str:
    """`webhook: started (pid 123, 127.0.0.1:40001)` (pure)."""
    details = [f"pid {outcome.pid}"] if outcome.pid else []
    if outcome.address:
        details.append(outcome.address)
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{outcome.component}: {outcome.action}{suffix}"


def status_document(status: StackStatus) -> dict[str, Any]:
    """`svc status -o json` (pure): endpoints; per component, its first
    replica's pid, address, health and `metrics` (its Prometheus URL, when
    it serves one); and every replica with leadership."""

    def entry(c: ComponentStatus, *, leader: bool) -> dict[str, Any]:
        found: dict[str, Any] = {"pid": c.pid, "address": c.address or None, "health": c.health}
        if c.metrics:
            found["metrics"] = c.metrics
        if leader:
            found["leader"] = c.leader
        return found

    return {
        "endpoints": status.endpoints,
        "components": {n: entry(c, leader=False) for n, c in status.components.items()},
        "replicas": {
            n: [entry(r, leader=True) for r in members] for n, members in status.replicas.items()
        },
    }


def status_table(status: StackStatus) -> str:
    rows = [["COMPONENT", "PID", "ADDRESS", "HEALTH"]]
    for name, c in status.components.items():
        for index, r in enumerate(status.replicas.get(name) or [c]):
            label = name if index == 0 else f"{name}-{index}"
            health = f"{r.health} (leader)" if r.leader else r.health
            rows.append([label, str(r.pid or "-"), r.address or "-", health])
    return render_table(rows)


#: How much of a component's log a start failure shows.
FAILURE_LOG_LINES = 10
_LOG_BYTES = 64 * 1024
_RUN_HEADER = re.compile(r"^--- rdd svc start: (\S+) at ")
_CHAINED = (
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
)


def shorten_tracebacks(lines: list[str]) -> tuple[list[str], str]:
    """(lines with each Python traceback reduced to its exception line,
    the last such exception without its module path) (pure)."""
    kept: list[str] = []
    last = ""
    inside = False
    for line in lines:
        if line.startswith("Traceback (most recent call last):"):
            inside = True
            continue
        if inside:
            if not line.strip() or line[0].isspace() or line in _CHAINED:
                continue
            inside = False
            exception, sep, message = line.partition(": ")
            if " " not in exception:
                last = exception.rpartition(".")[2] + sep + message
                line = last
        elif line in _CHAINED or not line.strip():
            continue
        kept.append(line)
    return kept, last


def last_run(text: str) -> list[str]:
    """The lines after the last run header the supervisor wrote (rdd.logs;
    older logs have `--- rdd svc start: ... ---`), JSON lines written out
    as a person reads them, a traceback field as its lines (pure)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if _RUN_HEADER.match(line) or is_run_header(line)]
    return [out for line in lines[starts[-1] + 1 if starts else 0 :] for out in plain(line)]


def _read_log(path: Path | None, fallback: str) -> str:
    if path is None:
        return fallback
    try:
        with open(path, "rb") as log:
            log.seek(0, 2)
            log.seek(max(0, log.tell() - _LOG_BYTES))
            return log.read().decode(errors="replace")
    except OSError:
        return fallback


def failure_message(message: str, log_text: str, log_path: Path | None) -> str:
    """What `rdd svc start` says when a component did not start (pure): the
    supervisor's message and the exception that ended the component on the
    first line, then the last lines of its log for this run, tracebacks cut."""
    lines, exception = shorten_tracebacks(last_run(log_text))
    if exception:
        message = f"{message}: {exception}"
        lines = [line for line in lines if line != exception]
    if not log_path:
        return message
    if not lines:
        return f"{message}\n(details in {log_path})"
    tail = "\n".join(lines[-FAILURE_LOG_LINES:])
    return f"{message}\nlast lines of {log_path}:\n{tail}"


def start(args: argparse.Namespace, console: Console) -> int:
    env = dict(console.env)
    for flag, variable in (
        (args.listen, "RDD_LISTEN"),
        (args.etcd_members, "RDD_ETCD_MEMBERS"),
        (args.replicas, "RDD_REPLICAS"),
    ):
        if flag is not None:
            env[variable] = flag
    if args.metrics:
        env["RDD_METRICS"] = "1"
    supervisor = Supervisor(env)
    try:
        outcomes = supervisor.start(timeout=parse_duration(args.timeout))
    except StackError as exc:
        log_text = _read_log(exc.log_path, exc.log_tail)
        raise UsageError(failure_message(exc.message, log_text, exc.log_path)) from None
    for outcome in outcomes:
        console.line(outcome_line(outcome))
    return 0


def rotate_credentials(args: argparse.Namespace, console: Console) -> int:
    """New credentials for a stopped stack; clients need the new config."""
    supervisor = Supervisor(_without_rpc_timeout(console.env))
    try:
        supervisor.rotate_credentials()
    except StackError as exc:
        raise UsageError(exc.message) from None
    console.line(f"new credentials in {supervisor.pki.folder}; 'rdd svc start' uses them")
    return 0


def config_view(args: argparse.Namespace, console: Console) -> int:
    """`rdd config view [--raw]`: the client configuration the CLI would use."""
    settings = Settings.from_env(_without_rpc_timeout(console.env))
    config = load_client_config(settings)
    if config is None:
        raise UsageError(
            f"no client configuration at {settings.client_config}: start the stack "
            "with 'rdd svc start', or point RDD_CONFIG at one"
        )
    console.write(render(config, redact=not args.raw))
    return 0


def _without_rpc_timeout(env: Mapping[str, str]) -> dict[str, str]:
    """stop and status make no RPC: a bad RDD_RPC_TIMEOUT must not keep a
    stack that was started without it from being stopped."""
    return {k: v for k, v in env.items() if k != "RDD_RPC_TIMEOUT"}


def stop(args: argparse.Namespace, console: Console) -> int:
    for outcome in Supervisor(_without_rpc_timeout(console.env)).stop():
        console.line(outcome_line(outcome))
    return 0


def status(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when every component is SERVING, 1 otherwise (for scripts)."""
    if args.output not in (None, "json"):
        raise UsageError(f'unsupported output format "{args.output}": use -o json')
    current = Supervisor(_without_rpc_timeout(console.env)).status()
    if args.output == "json":
        console.write(json.dumps(status_document(current), indent=2) + "\n")
    else:
        console.write(status_table(current))
    return 0 if current.serving else 1


SVC_ACTIONS = (
    Command("start", "svc", "start what is not running"),
    Command("rotate-credentials", "svc", "new token, CA and certificates for a stopped stack"),
    Command("stop", "svc", "stop everything this RDD_HOME started"),
    Command("status", "svc", "pid, address and health of each component"),
    Command("logs", "stacklogs", "a component's log lines (none named: all of them)"),
)
CONFIG_ACTIONS = (
    Command("view", "svc", "print the client configuration, the token and CA redacted"),
)


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    """`rdd svc ACTION`, `rdd config view`, and each svc action's flags."""
    if name == "svc":
        actions = parser.add_subparsers(dest="svc_command", metavar="ACTION", required=True)
        add_commands(actions, SVC_ACTIONS, words)
    elif name == "config":
        actions = parser.add_subparsers(dest="config_command", metavar="ACTION", required=True)
        add_commands(actions, CONFIG_ACTIONS, words)
    elif name == "start":
        parser.add_argument("--timeout", default="60s", help="per component (default 60s)")
        parser.add_argument(
            "--listen",
            metavar="unix|tcp[://ADDRESS]",
            help="unix sockets in $RDD_HOME/run (default), or TCP with TLS and a token "
            "(on 127.0.0.1, or ADDRESS); also RDD_LISTEN",
        )
        parser.add_argument(
            "--etcd-members",
            metavar="N",
            help="run an etcd cluster of N members: 1, 3 or 5 (default 1)",
        )
        parser.add_argument(
            "--replicas", metavar="M", help="run M processes of each service (default 1)"
        )
        parser.add_argument(
            "--metrics",
            action="store_true",
            help="each service serves Prometheus metrics on a loopback port; also RDD_METRICS=1",
        )
        parser.set_defaults(run=start)
    elif name == "rotate-credentials":
        parser.set_defaults(run=rotate_credentials)
    elif name == "stop":
        parser.set_defaults(run=stop)
    elif name == "status":
        parser.add_argument("-o", "--output", help="json")
        parser.set_defaults(run=status)
    elif name == "view":
        parser.add_argument("--raw", action="store_true", help="print the token and CA too")
        parser.set_defaults(run=config_view)
