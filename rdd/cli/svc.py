"""`rdd svc start|stop|status`: the stack of this RDD_HOME, through
rdd.stack.supervisor. Formatting is pure; the commands are thin."""

from __future__ import annotations

import argparse
import json
from typing import Any

from rdd.cli.arguments import UsageError, parse_duration
from rdd.cli.console import Console
from rdd.cli.output import render_table
from rdd.stack.supervisor import Outcome, StackError, StackStatus, Supervisor


def outcome_line(outcome: Outcome) -> str:
    """`webhook: started (pid 123, 127.0.0.1:40001)` (pure)."""
    details = [f"pid {outcome.pid}"] if outcome.pid else []
    if outcome.address:
        details.append(outcome.address)
    suffix = f" ({', '.join(details)})" if details else ""
    return f"{outcome.component}: {outcome.action}{suffix}"


def status_document(status: StackStatus) -> dict[str, Any]:
    """`svc status -o json` (pure): endpoints and, per component, pid, address, health."""
    return {
        "endpoints": status.endpoints,
        "components": {
            name: {"pid": c.pid, "address": c.address or None, "health": c.health}
            for name, c in status.components.items()
        },
    }


def status_table(status: StackStatus) -> str:
    rows = [["COMPONENT", "PID", "ADDRESS", "HEALTH"]]
    for name, c in status.components.items():
        rows.append([name, str(c.pid or "-"), c.address or "-", c.health])
    return render_table(rows)


def start(args: argparse.Namespace, console: Console) -> int:
    supervisor = Supervisor(console.env)
    try:
        outcomes = supervisor.start(timeout=parse_duration(args.timeout))
    except StackError as exc:
        raise UsageError(str(exc)) from None
    for outcome in outcomes:
        console.line(outcome_line(outcome))
    return 0


def stop(args: argparse.Namespace, console: Console) -> int:
    for outcome in Supervisor(console.env).stop():
        console.line(outcome_line(outcome))
    return 0


def status(args: argparse.Namespace, console: Console) -> int:
    """Exit 0 when every component is SERVING, 1 otherwise (for scripts)."""
    if args.output not in (None, "json"):
        raise UsageError(f'unsupported output format "{args.output}": use -o json')
    current = Supervisor(console.env).status()
    if args.output == "json":
        console.write(json.dumps(status_document(current), indent=2) + "\n")
    else:
        console.write(status_table(current))
    return 0 if current.serving else 1
