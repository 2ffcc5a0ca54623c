"""`rdd ctl delete`: by name (`KIND NAME...`, `KIND/NAME...`), by selector
(`-l`, `--field-selector`), every object of a kind (`--all`, in the
namespace or with `-A` in all), or every object of manifests (`-f FILE|FOLDER|-`).

kubectl's behaviour: one `kind "name" deleted` line per object; selecting
(`--all`, `-l`, `--field-selector`) ignores objects gone meanwhile unless
`--ignore-not-found=false`; nothing selected is `No resources found` on
stdout and exit 0; a NotFound of a manifest's object names its file
(`error when deleting "FILE": ...`); any failure makes the exit status 1
after the rest were tried. `--wait` (default) waits until each is gone."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass

from rdd.cli.applying import read_manifests
from rdd.cli.arguments import UsageError, check_writable, parse_duration, split_kind_name
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.ctlwait import timed_out
from rdd.cli.getting import list_selected, scope, selectors
from rdd.cli.output import dry_run_suffix, quoted_form
from rdd.cli.parsing import (
    Words,
    bool_flag,
    dry_run_flag,
    namespace_flags,
    selector_flags,
    wait_flags,
)
from rdd.cli.waiting import State, wait_until
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import Kind
from rdd.meta.selectors import SelectorError, parse_label_selector

NO_RESOURCES = "No resources found"
NOTHING_GIVEN = (
    "You must provide one or more resources by argument or filename.\n"
    "Example resource specifications include:\n"
    "   '-f rsrc.yaml'\n"
    "   '--filename=rsrc.json'\n"
    "   '<resource> <name>'\n"
    "   '<resource>'"
)


@dataclass(frozen=True)
class Target:
    """One object to delete; `source` is the manifest file it came from."""

    kind: Kind
    name: str
    namespace: str
    source: str = ""


def check_arguments(args: argparse.Namespace) -> None:
    """kubectl's refusals, before anything is read or deleted (pure)."""
    selecting = any(selectors(args).values())
    if args.all and args.selector:
        raise UsageError("cannot set --all and --selector at the same time")
    if args.all and args.field_selector:
        raise UsageError("cannot set --all and --field-selector at the same time")
    if args.filename:
        if args.resources:
            raise UsageError(
                "when paths, URLs, or stdin is provided as input, you may not specify "
                "resource arguments as well"
            )
        if args.field_selector or args.all:
            raise UsageError("--all and --field-selector cannot be used with -f")
        return
    if not args.resources:
        raise UsageError(NOTHING_GIVEN)
    _, names = split_kind_name(args.resources)
    if names and (selecting or args.all):
        raise UsageError("name cannot be provided when a selector is specified")
    if not names and not selecting and not args.all:
        raise UsageError("resource(s) were provided, but no name was specified")


def ignores_not_found(args: argparse.Namespace) -> bool:
    """`--ignore-not-found` as given; unset, true when selecting (kubectl:
    an object listed and deleted by someone else meanwhile is no error)."""
    if args.ignore_not_found is not None:
        return bool(args.ignore_not_found)
    return bool(args.all or any(selectors(args).values()))


def manifest_targets(args: argparse.Namespace) -> list[Target]:
    """The objects of `-f` files (parsed and checked first), filtered by `-l`
    on the labels the manifests carry, as kubectl does."""
    try:
        selector = parse_label_selector(args.selector or "")
    except SelectorError as exc:
        raise UsageError(str(exc)) from None
    return [
        Target(manifest.kind, manifest.name, manifest.namespace, manifest.source)
        for manifest in read_manifests(args)
        if selector.matches(manifest.data.get("metadata", {}).get("labels") or {})
    ]


async def selected_targets(conn: Connection, args: argparse.Namespace) -> list[Target]:
    """Named objects, or those `--all` / `-l` / `--field-selector` select now."""
    kind, names = split_kind_name(args.resources)
    check_writable(kind)
    namespace = scope(kind, args)
    if names:
        return [Target(kind, name, namespace) for name in names]
    listing = await list_selected(conn, kind, args)
    return [
        Target(kind, obj.metadata.name, obj.metadata.namespace if kind.namespaced else "")
        for obj in listing.items
    ]


def with_source(error: ApiError, source: str) -> ApiError:
    """kubectl names the manifest file: `error when deleting "FILE": ...`."""
    if not source:
        return error
    return type(error)(f'error when deleting "{source}": {error.message}')


async def delete(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    check_arguments(args)
    timeout = parse_duration(args.timeout) or None  # 0: until it is gone
    targets = manifest_targets(args) if args.filename else await selected_targets(conn, args)
    if not targets:
        console.line(NO_RESOURCES)
        return 0
    ignore_not_found = ignores_not_found(args)
    failed = False
    deleted: list[tuple[Target, str]] = []
    for target in targets:
        client = conn.client(target.kind)
        try:
            if args.dry_run == "client":
                await client.get(target.name, target.namespace)
                gone = None
            else:
                gone = await client.delete(
                    target.name, target.namespace, dry_run=args.dry_run == "server"
                )
        except NotFoundError as error:
            if not ignore_not_found:
                console.api_error(with_source(error, target.source))
                failed = True
            continue
        except ApiError as error:
            console.api_error(with_source(error, target.source))
            failed = True
            continue
        console.line(
            f"{quoted_form(target.kind, target.name)} deleted{dry_run_suffix(args.dry_run)}"
        )
        if gone is not None and args.dry_run == "none":
            deleted.append((target, gone.metadata.uid))
    if args.wait:
        for target, uid in deleted:
            client = conn.client(target.kind)
            try:
                await wait_until(client, target.name, target.namespace, _gone(uid), timeout=timeout)
            except TimeoutError:
                raise timed_out(target.kind, target.name) from None
    return 1 if failed else 0


def _gone(uid: str) -> Callable[[State], bool]:
    """Deleted, or replaced by a new object of the same name."""

    def predicate(state: State) -> bool:
        return state is None or state.get("metadata", {}).get("uid") != uid

    return predicate


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("resources", nargs="*", metavar="KIND [NAME...]")
    parser.add_argument(
        "-f", "--filename", action="append", help="every object of a file, folder or - (stdin)"
    )
    parser.add_argument(
        "--all", action="store_true", help="every object of KIND in the namespace (-A: in all)"
    )
    bool_flag(
        parser,
        "--ignore-not-found",
        default=None,
        help="a missing object is no error (default true with --all, -l, --field-selector)",
    )
    selector_flags(parser)
    namespace_flags(parser, all_namespaces=True)
    dry_run_flag(parser)
    wait_flags(parser, timeout="0", what="the objects are gone (0: no time limit)")
    parser.set_defaults(run_async=delete, rest="resources")
