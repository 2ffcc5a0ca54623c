"""`rdd ctl api-resources`: the kinds this control plane serves, from
rdd.kinds, in kubectl's layout (NAME SHORTNAMES APIVERSION NAMESPACED KIND;
`-o wide` adds VERBS and CATEGORIES, `-o name` prints `plural[.group]`),
sorted as kubectl sorts them: by group (the core group first), then name.
No server is asked: the table is the one the services are built from."""

from __future__ import annotations

import argparse
from collections.abc import Sequence

from rdd.cli.arguments import UsageError
from rdd.cli.console import Console
from rdd.cli.parsing import Words, bool_flag
from rdd.cli.printing import render_table
from rdd.kinds import ALL_KINDS, Kind

READ_VERBS = ("get", "list", "watch")
WRITE_VERBS = ("create", "delete", "patch", "update")
OUTPUTS = ("wide", "name")
SORTS = ("name", "kind")


def verbs(kind: Kind) -> list[str]:
    """What the kind's service lets clients do, sorted as kubectl prints them."""
    allowed = READ_VERBS if kind.read_only else READ_VERBS + WRITE_VERBS
    return sorted(allowed)


def selected(
    kinds: Sequence[Kind],
    *,
    namespaced: bool | None = None,
    api_group: str | None = None,
    sort_by: str | None = None,
) -> list[Kind]:
    """The kinds the flags keep, in kubectl's order (pure)."""
    kept = [
        k
        for k in kinds
        if (namespaced is None or k.namespaced == namespaced)
        and (api_group is None or k.group == api_group)
    ]
    if sort_by == "kind":
        return sorted(kept, key=lambda k: k.kind)
    if sort_by == "name":
        return sorted(kept, key=lambda k: k.plural)
    return sorted(kept, key=lambda k: (k.group, k.plural))


def rows(kinds: Sequence[Kind], *, wide: bool = False) -> list[list[str]]:
    """Header row then one row per kind (pure)."""
    header = ["NAME", "SHORTNAMES", "APIVERSION", "NAMESPACED", "KIND"]
    if wide:
        header += ["VERBS", "CATEGORIES"]
    table = [header]
    for kind in kinds:
        row = [
            kind.plural,
            ",".join(kind.short_names),
            kind.api_version,
            str(kind.namespaced).lower(),
            kind.kind,
        ]
        if wide:
            row += [f"[{' '.join(verbs(kind))}]", ",".join(kind.categories)]
        table.append(row)
    return table


def api_resources(args: argparse.Namespace, console: Console) -> int:
    if args.output is not None and args.output not in OUTPUTS:
        raise UsageError(f'--output {args.output} is not available; use "wide" or "name"')
    if args.sort_by is not None and args.sort_by not in SORTS:
        raise UsageError(f'--sort-by accepts only name or kind, got "{args.sort_by}"')
    kinds = selected(
        ALL_KINDS, namespaced=args.namespaced, api_group=args.api_group, sort_by=args.sort_by
    )
    if args.output == "name":
        for kind in kinds:
            console.line(kind.resource)
        return 0
    table = rows(kinds, wide=args.output == "wide")
    console.write(render_table(table[1:] if args.no_headers else table))
    return 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("-o", "--output", help="wide|name")
    bool_flag(
        parser,
        "--namespaced",
        default=None,
        help="only namespaced kinds (false: only cluster-scoped ones)",
    )
    parser.add_argument("--api-group", help='only this group ("" for the core group)')
    parser.add_argument("--sort-by", help="name|kind")
    parser.add_argument("--no-headers", action="store_true", help="no header row")
    parser.set_defaults(run=api_resources)
