"""`rdd ctl wait`: a thin command that watches through the resource clients
(rdd.cli.waiting) until rdd.cli.waitfor says the object meets `--for`."""

from __future__ import annotations

import argparse

from rdd.cli.arguments import (
    UsageError,
    parse_duration,
    split_kind_name,
)
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.getting import scope
from rdd.cli.output import (
    name_form,
    plural_form,
)
from rdd.cli.parsing import Words, namespace_flags
from rdd.cli.waitfor import is_met, parse_wait_for
from rdd.cli.waiting import wait_until
from rdd.kinds import Kind


def timed_out(kind: Kind, name: str) -> UsageError:
    return UsageError(f"timed out waiting for the condition on {plural_form(kind, name)}")


async def wait(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, names = split_kind_name(args.resources)
    if not names:
        raise UsageError("resource name may not be empty")
    if not args.wait_for:
        raise UsageError("--for must be specified: create, delete, condition=TYPE or jsonpath=")
    wait_for = parse_wait_for(args.wait_for)
    timeout = parse_duration(args.timeout)
    namespace = scope(kind, args)
    client = conn.client(kind)
    must_exist = wait_for.mode in ("condition", "jsonpath")
    for name in names:
        try:
            await wait_until(
                client,
                name,
                namespace,
                lambda state: is_met(wait_for, state),
                timeout=timeout,
                must_exist=must_exist,
            )
        except TimeoutError:
            raise timed_out(kind, name) from None
        console.line(f"{name_form(kind, name)} condition met")
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("resources", nargs="+", metavar="KIND/NAME")
    parser.add_argument(
        "--for",
        dest="wait_for",
        help="create|delete|condition=TYPE[=STATUS]|jsonpath='{.path}'=VALUE",
    )
    parser.add_argument("--timeout", default="30s", help="default 30s; 0: check once")
    namespace_flags(parser)
    parser.set_defaults(run_async=wait, rest="resources")
