"""`rdd ctl get`, `rdd ctl delete` and `rdd ctl wait`: thin commands that
call the resource clients and print what rdd.cli.output renders.
(apply: rdd.cli.applying; patch, annotate: rdd.cli.patching.)"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from datetime import UTC, datetime

from rdd.cli import jsonpath
from rdd.cli.arguments import (
    UsageError,
    check_writable,
    parse_duration,
    parse_output,
    split_kind_name,
)
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.output import (
    dry_run_suffix,
    name_form,
    no_resources_message,
    plural_form,
    quoted_form,
    render,
    sort_objects,
)
from rdd.cli.waitfor import is_met, parse_wait_for
from rdd.cli.waiting import State, wait_until
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import Kind
from rdd.meta.serialization import to_dict


def scope(kind: Kind, args: argparse.Namespace) -> str:
    """The namespace to ask for: "" for cluster-scoped kinds and -A."""
    if not kind.namespaced or getattr(args, "all_namespaces", False):
        return ""
    return str(args.namespace)


def timed_out(kind: Kind, name: str) -> UsageError:
    return UsageError(f"timed out waiting for the condition on {plural_form(kind, name)}")


async def get(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, names = split_kind_name(args.resources)
    fmt = parse_output(args.output)
    if fmt.kind == "jsonpath":
        try:
            jsonpath.parse_template(fmt.template)
        except jsonpath.JsonPathError as exc:
            raise UsageError(f"error parsing jsonpath {fmt.template}, {exc}") from None
    if args.all_namespaces and names:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    namespace = scope(kind, args)
    client = conn.client(kind)
    now = datetime.now(UTC)
    if names:
        found, missing = [], []
        for name in names:
            try:
                found.append(to_dict(await client.get(name, namespace)))
            except NotFoundError as error:
                missing.append(error)
        console.write(render(kind, found, fmt, single=len(names) == 1, now=now))
        for problem in missing:
            console.api_error(problem)
        return 1 if missing else 0
    if args.chunk_size < 0:
        raise UsageError(f"--chunk-size must be 0 or greater, got {args.chunk_size}")
    listing = await client.list_all(namespace, chunk_size=args.chunk_size)
    objects = sort_objects(kind, [to_dict(o) for o in listing.items])
    if not objects:
        console.warn(no_resources_message(kind, namespace))
        return 0
    console.write(
        render(kind, objects, fmt, single=False, now=now, all_namespaces=args.all_namespaces)
    )
    return 0


async def delete(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, names = split_kind_name(args.resources)
    if not names:
        raise UsageError("resource(s) were provided, but no name was specified")
    check_writable(kind)
    timeout = parse_duration(args.timeout) or None  # 0: until it is gone
    namespace = scope(kind, args)
    client = conn.client(kind)
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
