"""`rdd ctl get`: one or several kinds (`app,limavm`, `all`), by name or by
selector, printed once or watched (`-w`, `--watch-only`), in any of
rdd.cli.output's formats. Selectors are sent to the server, which filters.

kubectl's behaviour throughout: JSON/YAML of several objects (or none) is one
`List`; tables of several kinds are separated by a blank line and name their
rows `kind.group/name`; "No resources found" goes to stderr for the
human-readable formats only."""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from rdd.cli import jsonpath
from rdd.cli.arguments import OutputFormat, UsageError, parse_kind, parse_output
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.output import as_list, no_resources_message, render_serialized, sort_objects
from rdd.cli.parsing import Words, namespace_flags, selector_flags
from rdd.cli.printing import (
    TableOptions,
    custom_rows,
    parse_custom_columns,
    relaxed_template,
    render,
    render_table,
    sort_by,
    table_rows,
)
from rdd.errors import ApiError, InvalidError, NotFoundError
from rdd.kinds import ALL_KINDS, Kind
from rdd.meta.serialization import to_dict

#: What `get all` lists: the kinds in kubectl's `all` category.
ALL: tuple[Kind, ...] = tuple(kind for kind in ALL_KINDS if "all" in kind.categories)
_SERIALIZED = ("json", "yaml", "jsonpath")


@dataclass(frozen=True)
class Request:
    """What to get: each kind with the names asked for (none: list it)."""

    kinds: tuple[tuple[Kind, tuple[str, ...]], ...]

    @property
    def several_kinds(self) -> bool:
        return len(self.kinds) > 1

    @property
    def by_name(self) -> bool:
        return any(names for _, names in self.kinds)


def parse_request(words: Sequence[str]) -> Request:
    """`KIND[,KIND...] [NAME...]`, `all`, or `KIND/NAME...` (kinds may differ)."""
    if not words:
        raise UsageError("you must specify the type of resource to get")
    first = words[0]
    if "/" in first:
        grouped: dict[Kind, list[str]] = {}
        for word in words:
            kind_word, sep, name = word.partition("/")
            if not sep or not name:
                raise UsageError(
                    "there is no need to specify a resource type as a separate argument when "
                    f'passing arguments in resource/name form (e.g. "rdd ctl get {first}")'
                )
            grouped.setdefault(parse_kind(kind_word), []).append(name)
        return Request(tuple((kind, tuple(names)) for kind, names in grouped.items()))
    kinds: list[Kind] = []
    for word in first.split(","):
        for kind in ALL if word.lower() == "all" else (parse_kind(word),):
            if kind not in kinds:
                kinds.append(kind)
    names = tuple(words[1:])
    return Request(tuple((kind, names) for kind in kinds))


def scope(kind: Kind, args: argparse.Namespace) -> str:
    """The namespace to ask for: "" for cluster-scoped kinds and -A."""
    if not kind.namespaced or getattr(args, "all_namespaces", False):
        return ""
    return str(args.namespace)


def selectors(args: argparse.Namespace) -> dict[str, str]:
    return {
        "label_selector": getattr(args, "selector", None) or "",
        "field_selector": getattr(args, "field_selector", None) or "",
    }


class BadSelectorError(InvalidError):
    """The server refused a List's selectors: kubectl reports it as BadRequest."""

    reason = "BadRequest"


def selector_error(kind: Kind, args: argparse.Namespace, error: InvalidError) -> InvalidError:
    """kubectl's wording for a List the server refused over its selectors."""
    chosen = selectors(args)
    return BadSelectorError(
        f'Unable to find "{kind.resource}" that match label selector '
        f'"{chosen["label_selector"]}", field selector "{chosen["field_selector"]}": '
        f"{error.message}"
    )


async def list_selected(
    conn: Connection, kind: Kind, args: argparse.Namespace, *, chunk_size: int = 500
) -> Any:
    """The List of `kind` the flags select (-n/-A, -l, --field-selector)."""
    try:
        return await conn.client(kind).list_all(
            scope(kind, args), chunk_size=chunk_size, **selectors(args)
        )
    except InvalidError as error:
        if any(selectors(args).values()):
            raise selector_error(kind, args, error) from None
        raise


def check_format(fmt: OutputFormat, args: argparse.Namespace) -> None:
    """Reject a bad template or path before anything is fetched."""
    try:
        if fmt.kind == "jsonpath":
            jsonpath.parse_template(fmt.template)
        if args.sort_by:
            jsonpath.parse_template(relaxed_template(args.sort_by))
    except jsonpath.JsonPathError as exc:
        raise UsageError(f"error parsing jsonpath {fmt.template or args.sort_by}, {exc}") from None
    if fmt.kind == "custom-columns":
        try:
            parse_custom_columns(fmt.template)
        except (ValueError, jsonpath.JsonPathError) as exc:
            raise UsageError(str(exc)) from None


async def get(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    request = parse_request(args.resources)
    fmt = parse_output(args.output)
    check_format(fmt, args)
    if args.chunk_size < 0:
        raise UsageError(f"--chunk-size must be 0 or greater, got {args.chunk_size}")
    if args.all_namespaces and request.by_name:
        raise UsageError("a resource cannot be retrieved by name across all namespaces")
    if request.by_name and any(selectors(args).values()):
        raise UsageError("name cannot be provided when a selector is specified")
    if args.watch or args.watch_only:
        return await watch(conn, args, console, request, fmt)
    options = TableOptions(
        wide=fmt.kind == "wide",
        all_namespaces=args.all_namespaces,
        show_labels=args.show_labels,
        no_headers=args.no_headers,
        with_kind=request.several_kinds,
    )
    now = datetime.now(UTC)
    failed = False
    found: list[tuple[Kind, list[dict[str, Any]]]] = []
    for kind, names in request.kinds:
        objects, missing = await _fetch(conn, kind, names, args)
        for problem in missing:
            console.api_error(problem)
        failed = failed or bool(missing)
        found.append((kind, _ordered(kind, objects, args.sort_by)))
    everything = [obj for _, objects in found for obj in objects]
    single = not request.several_kinds and sum(len(n) for _, n in request.kinds) == 1
    if fmt.kind in _SERIALIZED:
        if everything or not request.by_name:
            if args.sort_by and request.several_kinds:
                everything = sort_by(everything, args.sort_by)
            data = everything[0] if single and len(everything) == 1 else as_list(everything)
            console.write(render_serialized(data, fmt))
        return 1 if failed else 0
    if not everything:
        if not request.by_name:
            first_kind = request.kinds[0][0]
            console.warn(no_resources_message(first_kind, scope(first_kind, args)))
        return 1 if failed else 0
    tables = [
        render(kind, objects, fmt, single=single, now=now, options=options)
        for kind, objects in found
        if objects
    ]
    console.write("\n".join(tables))
    return 1 if failed else 0


async def _fetch(
    conn: Connection, kind: Kind, names: Sequence[str], args: argparse.Namespace
) -> tuple[list[dict[str, Any]], list[ApiError]]:
    """The named objects (and the NotFound errors), or the selected list."""
    if not names:
        listing = await list_selected(conn, kind, args, chunk_size=args.chunk_size)
        return [to_dict(o) for o in listing.items], []
    client = conn.client(kind)
    found: list[dict[str, Any]] = []
    missing: list[ApiError] = []
    for name in names:
        try:
            found.append(to_dict(await client.get(name, scope(kind, args))))
        except NotFoundError as error:
            missing.append(error)
    return found, missing


def _ordered(kind: Kind, objects: list[dict[str, Any]], path: str | None) -> list[dict[str, Any]]:
    ordered = sort_objects(kind, objects)
    return sort_by(ordered, path) if path else ordered


# -- watching --------------------------------------------------------------------------------


class _Printer:
    """Prints a watch's objects one at a time, each flushed at once: table
    rows aligned with the header printed before the first of them."""

    def __init__(self, kind: Kind, fmt: OutputFormat, options: TableOptions, console: Console):
        self.kind, self.fmt, self.options, self.console = kind, fmt, options, console
        self.header_printed = options.no_headers
        self.printed = 0

    def print(self, obj: dict[str, Any]) -> None:
        now = datetime.now(UTC)
        if self.fmt.kind in _SERIALIZED:
            separator = "---\n" if self.fmt.kind == "yaml" and self.printed else ""
            self.console.write(separator + render_serialized(obj, self.fmt))
        elif self.fmt.kind == "name":
            self.console.write(render(self.kind, [obj], self.fmt, single=True, now=now))
        else:
            rows = self._rows(obj, now)
            text = render_table(rows)
            lines = text.splitlines(keepends=True)
            self.console.write("".join(lines if not self.header_printed else lines[1:]))
            self.header_printed = True
        self.printed += 1

    def _rows(self, obj: dict[str, Any], now: datetime) -> list[list[str]]:
        if self.fmt.kind == "custom-columns":
            return custom_rows(parse_custom_columns(self.fmt.template), [obj])
        return table_rows(self.kind, [obj], now=now, options=self.options)


async def watch(
    conn: Connection,
    args: argparse.Namespace,
    console: Console,
    request: Request,
    fmt: OutputFormat,
) -> int:
    """`get -w`: the list (unless --watch-only), then every change, until the
    server ends the stream or the user presses Ctrl-C."""
    names = [name for _, kind_names in request.kinds for name in kind_names]
    resources = len(request.kinds) * max(1, len(names))
    if request.several_kinds or len(names) > 1:
        raise UsageError(
            "watch is only supported on individual resources and resource collections, "
            f"but {resources} resources were found"
        )
    kind = request.kinds[0][0]
    if names:
        # One object: kubectl watches it as a list selected by its name.
        by_name = f"metadata.name={names[0]}"
        args.field_selector = f"{args.field_selector},{by_name}" if args.field_selector else by_name
    options = TableOptions(
        wide=fmt.kind == "wide",
        all_namespaces=args.all_namespaces,
        show_labels=args.show_labels,
        no_headers=args.no_headers,
    )
    printer = _Printer(kind, fmt, options, console)
    listing = await list_selected(conn, kind, args, chunk_size=args.chunk_size)
    if not args.watch_only:
        objects = _ordered(kind, [to_dict(o) for o in listing.items], args.sort_by)
        if not objects and fmt.kind not in _SERIALIZED:
            if names:
                raise NotFoundError(f"{kind.named(names[0])} not found")
            console.warn(no_resources_message(kind, scope(kind, args)))
        for obj in objects:
            printer.print(obj)
    client = conn.client(kind)
    async for event in client.watch(
        scope(kind, args), resource_version=listing.metadata.resource_version, **selectors(args)
    ):
        printer.print(to_dict(event.object))
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("resources", nargs="+", metavar="KIND[,KIND...]|all [NAME...]")
    namespace_flags(parser, all_namespaces=True)
    parser.add_argument(
        "-o",
        "--output",
        help="json|yaml|name|wide|jsonpath=TEMPLATE|custom-columns=HEADER:PATH,...",
    )
    parser.add_argument(
        "--chunk-size", type=int, default=500, help="list in pages of this many (0: no limit)"
    )
    selector_flags(parser)
    parser.add_argument(
        "-w", "--watch", action="store_true", help="after the list, print every change"
    )
    parser.add_argument(
        "--watch-only", action="store_true", help="print every change, not the list first"
    )
    parser.add_argument("--show-labels", action="store_true", help="a LABELS column")
    parser.add_argument("--no-headers", action="store_true", help="tables without the header")
    parser.add_argument("--sort-by", metavar="JSONPATH", help="e.g. .metadata.creationTimestamp")
    parser.set_defaults(run_async=get, rest="resources")
