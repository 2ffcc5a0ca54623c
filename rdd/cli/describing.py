"""`rdd ctl describe KIND [NAME...] [-l SELECTOR]`: kubectl's describe layout.

The header (`Name:`, `Namespace:`, `Labels:`, `Annotations:`, `Finalizers:`,
`Controlled By:`, `API Version:`, `Kind:`, `CreationTimestamp:`), then the
spec and status fields with kubectl's Title Case names (`Template Ref:`),
`Conditions:` as a table, a ConfigMap's `Data` as kubectl prints it, and the
object's own Events last (`Events:  <none>` when there are none). Text is laid
out the way kubectl's tabwriter lays it out: cells separated by at least two
spaces, aligned within each run of lines that have cells."""

from __future__ import annotations

import argparse
import re
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rdd.cli.arguments import UsageError, split_kind_name
from rdd.cli.connection import Connection
from rdd.cli.console import Console
from rdd.cli.getting import list_selected, scope, selectors
from rdd.cli.output import NONE, last_seen, no_resources_message, parse_time, sort_objects
from rdd.cli.parsing import Words, namespace_flags, selector_flags
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import CONFIGMAP, EVENT, Kind
from rdd.meta.serialization import to_dict

_TOP_LEVEL = ("apiVersion", "kind", "metadata")


def title(key: str) -> str:
    """kubectl's field names in describe: `templateRef` -> `Template Ref`."""
    spaced = re.sub(r"(?<=[a-z0-9])(?=[A-Z])", " ", key)
    return spaced[:1].upper() + spaced[1:]


def timestamp(stamp: str) -> str:
    """RFC 1123 with a numeric zone, as kubectl prints times in describe."""
    when = parse_time(stamp)
    return stamp if when is None else when.astimezone(UTC).strftime("%a, %d %b %Y %H:%M:%S %z")


def _listed(values: Sequence[str]) -> list[str]:
    """Several values: the first after the heading, the rest below it."""
    return list(values) or [NONE]


def _header(kind: Kind, obj: dict[str, Any]) -> list[str]:
    meta = obj.get("metadata", {})
    lines = [f"Name:\t{meta.get('name', '')}", f"Namespace:\t{meta.get('namespace', '')}"]
    for heading, values in (
        ("Labels", [f"{k}={v}" for k, v in sorted((meta.get("labels") or {}).items())]),
        ("Annotations", [f"{k}: {v}" for k, v in sorted((meta.get("annotations") or {}).items())]),
        ("Finalizers", list(meta.get("finalizers") or [])),
    ):
        first, *rest = _listed(values)
        lines.append(f"{heading}:\t{first}")
        lines.extend(f"\t{value}" for value in rest)
    owner = next((r for r in meta.get("ownerReferences") or [] if r.get("controller")), None)
    if owner is not None:
        lines.append(f"Controlled By:\t{owner.get('kind', '')}/{owner.get('name', '')}")
    lines.append(f"API Version:\t{obj.get('apiVersion', kind.api_version)}")
    lines.append(f"Kind:\t{obj.get('kind', kind.kind)}")
    lines.append(f"CreationTimestamp:\t{timestamp(meta.get('creationTimestamp', ''))}")
    if meta.get("deletionTimestamp"):
        lines.append(f"DeletionTimestamp:\t{timestamp(meta['deletionTimestamp'])}")
    return lines


def _scalar(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return NONE if value is None or value == "" else str(value)


def _fields(value: Any, indent: str) -> list[str]:
    """A map's fields, nested maps and lists indented below their name."""
    lines: list[str] = []
    for key, item in value.items():
        if isinstance(item, dict):
            lines.append(f"{indent}{title(key)}:")
            lines.extend(_fields(item, indent + "  "))
        elif isinstance(item, list):
            lines.append(f"{indent}{title(key)}:")
            for element in item:
                if isinstance(element, dict):
                    lines.extend(_fields(element, indent + "  "))
                else:
                    lines.append(f"{indent}  {_scalar(element)}")
        else:
            lines.append(f"{indent}{title(key)}:\t{_scalar(item)}")
    return lines


def _conditions(conditions: Sequence[dict[str, Any]]) -> list[str]:
    headers = ("Type", "Status", "LastTransitionTime", "Reason", "Message")
    lines = [
        "Conditions:",
        "  " + "\t".join(headers),
        "  " + "\t".join("-" * len(h) for h in headers),
    ]
    for cond in conditions:
        cells = (
            cond.get("type", ""),
            cond.get("status", ""),
            timestamp(cond.get("lastTransitionTime", "")),
            cond.get("reason", ""),
            cond.get("message", ""),
        )
        lines.append("  " + "\t".join(str(c) for c in cells))
    return lines


def _data(obj: dict[str, Any]) -> list[str]:
    """A ConfigMap's data, as kubectl prints it."""
    lines = ["", "Data", "===="]
    for key, value in sorted((obj.get("data") or {}).items()):
        lines.extend([f"{key}:", "----", str(value), ""])
    lines.extend(["", "BinaryData", "====", ""])
    return lines


def events_section(events: Sequence[dict[str, Any]], now: datetime) -> list[str]:
    """`Events:` and a table of the object's events, oldest first."""
    if not events:
        return ["Events:\t<none>"]
    headers = ("Type", "Reason", "Age", "Message")
    lines = ["Events:", "  " + "\t".join(headers), "  " + "\t".join("-" * len(h) for h in headers)]
    for event in sort_objects(EVENT, list(events)):
        cells = (event.get("type", ""), event.get("reason", ""), last_seen(event, now))
        lines.append("  " + "\t".join((*cells, str(event.get("message", "")))))
    return lines


def describe_object(
    kind: Kind, obj: dict[str, Any], events: Sequence[dict[str, Any]], *, now: datetime
) -> str:
    """One object's description (pure)."""
    lines = _header(kind, obj)
    if kind == CONFIGMAP:
        lines.extend(_data(obj))
    else:
        rest = {k: v for k, v in obj.items() if k not in (*_TOP_LEVEL, "status")}
        lines.extend(_fields(rest, ""))
        status = dict(obj.get("status") or {})
        conditions = status.pop("conditions", None)
        if status:
            lines.append("Status:")
            lines.extend(_fields(status, "  "))
        if conditions is not None:
            lines.extend(_conditions(conditions))
    lines.extend(events_section(events, now))
    return align(lines)


def align(lines: Sequence[str]) -> str:
    """kubectl's tabwriter (padding 2): within each run of consecutive lines
    that contain tabs, every cell but a line's last is padded to the widest
    cell of its column."""
    out: list[str] = []
    block: list[list[str]] = []

    def flush() -> None:
        widths: dict[int, int] = {}
        for cells in block:
            for i, cell in enumerate(cells[:-1]):
                widths[i] = max(widths.get(i, 0), len(cell))
        for cells in block:
            padded = [cell.ljust(widths[i] + 2) for i, cell in enumerate(cells[:-1])]
            out.append(("".join(padded) + cells[-1]).rstrip())
        block.clear()

    for line in lines:
        if "\t" in line:
            block.append(line.split("\t"))
            continue
        flush()
        out.append(line)
    flush()
    return "\n".join(out) + "\n"


async def _events_of(conn: Connection, kind: Kind, obj: Any) -> list[dict[str, Any]]:
    """The object's events (this incarnation's, by uid), selected by the server."""
    meta = obj.metadata
    selector = (
        f"involvedObject.kind={kind.kind},involvedObject.name={meta.name},"
        f"involvedObject.uid={meta.uid}"
    )
    listing = await conn.client(EVENT).list(
        meta.namespace if kind.namespaced else "", field_selector=selector
    )
    return [to_dict(e) for e in listing.items]


async def describe(conn: Connection, args: argparse.Namespace, console: Console) -> int:
    kind, names = split_kind_name(args.resources)
    if names and any(selectors(args).values()):
        raise UsageError("name cannot be provided when a selector is specified")
    client = conn.client(kind)
    objects: list[Any] = []
    failed = False
    if names:
        for name in names:
            try:
                objects.append(await client.get(name, scope(kind, args)))
            except NotFoundError as error:
                console.api_error(error)
                failed = True
    else:
        listing = await list_selected(conn, kind, args)
        objects = list(listing.items)
        if not objects:
            console.warn(no_resources_message(kind, scope(kind, args)))
            return 0
    now = datetime.now(UTC)
    texts = []
    for obj in objects:
        try:
            events = await _events_of(conn, kind, obj) if kind != EVENT else []
        except ApiError as error:
            console.api_error(error)
            events, failed = [], True
        texts.append(describe_object(kind, to_dict(obj), events, now=now))
    console.write("\n\n".join(texts))
    return 1 if failed else 0


def configure(name: str, parser: argparse.ArgumentParser, words: Words) -> None:
    parser.add_argument("resources", nargs="+", metavar="KIND [NAME...]")
    namespace_flags(parser, all_namespaces=True)
    selector_flags(parser)
    parser.set_defaults(run_async=describe, rest="resources")
