"""`rdd ctl delete` and `rdd ctl wait`: thin commands that call the resource
clients and print what rdd.cli.output renders. (get: rdd.cli.getting;
describe: rdd.cli.describing; apply: rdd.cli.applying; patch, annotate:
rdd.cli.patching.)"""

from __future__ import annotations

import argparse
from collections.abc import Callable

from rdd.cli.arguments import (
    UsageError,
    check_writable,
    parse_duration,
    split_kind_name,
)
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.getting import list_selected, scope, selectors
from rdd.cli.output import (
    dry_run_suffix,
    name_form,
    no_resources_message,
    plural_form,
    quoted_form,
)
from rdd.cli.waitfor import is_met, parse_wait_for
from rdd.cli.waiting import State, wait_until
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import Kind


def timed_out(kind: Kind, name: str) -> UsageError:
    return UsageError(f"timed out waiting for the condition on {plural_form(kind, name)}")


async def delete(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, names = split_kind_name(args.resources)
    selecting = any(selectors(args).values())
    if names and selecting:
        raise UsageError("name cannot be provided when a selector is specified")
    if not names and not selecting:
        raise UsageError("resource(s) were provided, but no name was specified")
    check_writable(kind)
    timeout = parse_duration(args.timeout) or None  # 0: until it is gone
    namespace = scope(kind, args)
    client = conn.client(kind)
    if selecting:
        listing = await list_selected(conn, kind, args)
        names = [obj.metadata.name for obj in listing.items]
        if not names:
            console.warn(no_resources_message(kind, namespace))
            return 0
    failed = False
    deleted: list[tuple[str, str]] = []
    for name in names:
        try:
            if args.dry_run == "client":
                await client.get(name, namespace)
                gone = None
            else:
                gone = await client.delete(name, namespace, dry_run=args.dry_run == "server")
        except NotFoundError as error:
            if not args.ignore_not_found:
                console.api_error(error)
                failed = True
            continue
        except ApiError as error:
            console.api_error(error)
            failed = True
            continue
        console.line(f"{quoted_form(kind, name)} deleted{dry_run_suffix(args.dry_run)}")
        if gone is not None and args.dry_run == "none":
            deleted.append((name, gone.metadata.uid))
    if args.wait:
        for name, uid in deleted:
            try:
                await wait_until(client, name, namespace, _gone(uid), timeout=timeout)
            except TimeoutError:
                raise timed_out(kind, name) from None
    return 1 if failed else 0


def _gone(uid: str) -> Callable[[State], bool]:
    """Deleted, or replaced by a new object of the same name."""

    def predicate(state: State) -> bool:
        return state is None or state.get("metadata", {}).get("uid") != uid

    return predicate


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
