"""Tables (pure): each kind's printer columns (rdd.kinds, (header, JSONPath)
pairs) evaluated on objects, `-o custom-columns`, `--sort-by`, and
kubectl's tabwriter layout; `render` is everything `rdd ctl get` prints.

A column's path goes through rdd.cli.jsonpath; FORMATTERS are what a column
may name when a path alone cannot say it. Functions take dicts from
rdd.meta.serialization.to_dict and return text."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from rdd.cli import jsonpath
from rdd.cli.arguments import OutputFormat
from rdd.cli.output import (
    NONE,
    age,
    as_list,
    find_condition,
    last_seen,
    name_form,
    render_serialized,
)
from rdd.kinds import Column, Kind
from rdd.meta.conditions import ConditionType, Reason
from rdd.meta.names import RESTART_ANNOTATION

# -- formatters ------------------------------------------------------------------


def vm_status(obj: dict[str, Any]) -> str:
    """A LimaVM in one word: Deleting, the Created failure, Creating,
    Restarting, Running, or the Running condition's reason (Starting,
    Stopped, StartFailed, StopFailed, Reconciling)."""
    meta = obj.get("metadata", {})
    if meta.get("deletionTimestamp"):
        return "Deleting"
    created = find_condition(obj, ConditionType.CREATED)
    if created is not None and created.get("status") == "False":
        return str(created.get("reason") or Reason.CREATE_FAILED)
    running = find_condition(obj, ConditionType.RUNNING)
    if created is None or created.get("status") != "True" or running is None:
        return "Creating"
    if running.get("status") == "True":
        return "Restarting" if RESTART_ANNOTATION in meta.get("annotations", {}) else "Running"
    return str(running.get("reason") or running.get("status") or "Unknown")


def _involved(ref: dict[str, Any]) -> str:
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


#: What a column's `format` names: (the values its path found, now) -> cell.
FORMATTERS: dict[str, Callable[[list[Any], datetime], str]] = {
    "age": lambda found, now: age(str(found[0]) if found else "", now),
    "bool": lambda found, _now: jsonpath.format_value(bool(found and found[0])),
    "number": lambda found, _now: jsonpath.format_value(found[0] if found else 0),
    "count": lambda found, _now: str(len(found[0]) if found else 0),
    "last_seen": lambda found, now: last_seen(found[0], now),
    "involved": lambda found, _now: _involved(found[0] if found else {}),
    "vm_status": lambda found, _now: vm_status(found[0]),
}


def _cell(found: list[Any]) -> str:
    """Values as kubectl prints a column: joined by commas, `<none>` for none."""
    shown = [v for v in found if v is not None and v != ""]
    return ",".join(jsonpath.format_value(v) for v in shown) if shown else NONE


@dataclass(frozen=True)
class _Printed:
    """A column ready to print: its header and how to get its cell."""

    header: str
    cell: Callable[[dict[str, Any], datetime], str]


def _printed(column: Column) -> _Printed:
    path = jsonpath.parse_path(column.path) if column.path else None
    formatter = FORMATTERS[column.format] if column.format else None

    def cell(obj: dict[str, Any], now: datetime) -> str:
        found = path.find(obj) if path is not None else [obj]
        return formatter(found, now) if formatter is not None else _cell(found)

    return _Printed(column.header, cell)


# -- tables ------------------------------------------------------------------------


def labels_text(obj: dict[str, Any]) -> str:
    """`--show-labels`: `k=v,k2=v2` in key order, or `<none>`."""
    labels = obj.get("metadata", {}).get("labels") or {}
    return ",".join(f"{k}={labels[k]}" for k in sorted(labels)) or NONE


@dataclass(frozen=True)
class TableOptions:
    """How `get` lays out a table: `-o wide`, `-A` (a NAMESPACE column),
    `--show-labels` (a LABELS column), `--no-headers`, and `kind/name` in
    the NAME column when several kinds are printed (as kubectl does)."""

    wide: bool = False
    all_namespaces: bool = False
    show_labels: bool = False
    no_headers: bool = False
    with_kind: bool = False


def _columns(kind: Kind, options: TableOptions) -> list[_Printed]:
    shown = [c for c in kind.columns if c.priority == 0 or (options.wide and c.priority == 1)]
    columns = [_printed(c) for c in shown]
    if options.with_kind:

        def kind_name(obj: dict[str, Any], _now: datetime) -> str:
            return name_form(kind, str(obj.get("metadata", {}).get("name", "")))

        columns = [
            _Printed("NAME", kind_name) if c.path == ".metadata.name" else p
            for c, p in zip(shown, columns, strict=True)
        ]
    if options.all_namespaces and kind.namespaced:
        columns = [_printed(Column("NAMESPACE", ".metadata.namespace")), *columns]
    if options.show_labels:
        columns.append(_Printed("LABELS", lambda obj, _now: labels_text(obj)))
    return columns


def _rows(
    columns: Sequence[_Printed], objects: Sequence[dict[str, Any]], now: datetime
) -> list[list[str]]:
    rows = [[c.header for c in columns]]
    rows.extend([c.cell(obj, now) for c in columns] for obj in objects)
    return rows


def table_rows(
    kind: Kind,
    objects: Sequence[dict[str, Any]],
    *,
    now: datetime,
    wide: bool = False,
    all_namespaces: bool = False,
    options: TableOptions | None = None,
) -> list[list[str]]:
    """Header row then one row per object."""
    options = options or TableOptions(wide=wide, all_namespaces=all_namespaces)
    return _rows(_columns(kind, options), objects, now)


def view_rows(
    kind: Kind, headers: Sequence[str], objects: Sequence[dict[str, Any]], *, now: datetime
) -> list[list[str]]:
    """The kind's columns named by `headers`, in that order, whatever their priority."""
    by_header = {c.header: c for c in kind.columns}
    return _rows([_printed(by_header[h]) for h in headers], objects, now)


def render_table(rows: Sequence[Sequence[str]]) -> str:
    """Like kubectl's tabwriter: left aligned, at least 3 spaces between
    columns, cells at least 6 wide, the last column not padded."""
    if not rows:
        return ""
    widths = [max(6, max(len(row[i]) for row in rows) + 3) for i in range(len(rows[0]) - 1)]
    lines = []
    for row in rows:
        cells = [cell.ljust(widths[i]) for i, cell in enumerate(row[:-1])]
        lines.append("".join(cells) + row[-1])
    return "\n".join(line.rstrip() for line in lines) + "\n"


# -- custom columns and sorting -------------------------------------------------

_RELAXED_PATH = re.compile(r"^\{?(\.?[^{}]+)\}?$")


def relaxed_template(path: str) -> str:
    """kubectl's relaxed JSONPath for --sort-by and custom columns: `{.a.b}`,
    `.a.b` and `a.b` all mean `{.a.b}`."""
    match = _RELAXED_PATH.match(path.strip())
    if match is None:
        raise jsonpath.JsonPathError(
            f"unexpected path string, expected a 'name1.name2' or "
            f"'.name1.name2' or '{{name1.name2}}' or "
            f"'{{.name1.name2}}': {path}"
        )
    inner = match.group(1)
    return "{" + (inner if inner.startswith(".") else "." + inner) + "}"


@dataclass(frozen=True)
class CustomColumn:
    header: str
    template: list[jsonpath.Part]


def parse_custom_columns(spec: str) -> list[CustomColumn]:
    """`-o custom-columns=NAME:.metadata.name,RUNNING:.spec.running`;
    ValueError with kubectl's wording for a malformed spec."""
    if not spec.strip():
        raise ValueError("custom-columns format specified but no custom columns given")
    columns = []
    for part in spec.split(","):
        header, colon, path = part.partition(":")
        if not colon or not header or not path:
            raise ValueError(
                f"unexpected custom-columns spec: {part}, expected <header>:<json-path-expr>"
            )
        columns.append(CustomColumn(header, jsonpath.parse_template(relaxed_template(path))))
    return columns


def custom_rows(
    columns: Sequence[CustomColumn], objects: Sequence[dict[str, Any]]
) -> list[list[str]]:
    """Header row then one row per object: a column's values joined by
    commas, `<none>` when it finds none."""
    rows = [[c.header for c in columns]]
    for obj in objects:
        row = []
        for column in columns:
            found = jsonpath.values(column.template, obj)
            row.append(",".join(jsonpath.format_value(v) for v in found) if found else NONE)
        rows.append(row)
    return rows


def _sort_key(value: Any) -> tuple[int, Any]:
    """Missing first, then numbers by value, then everything else as text."""
    if value is None:
        return (0, 0)
    if isinstance(value, int | float) and not isinstance(value, bool):
        return (1, value)
    return (2, jsonpath.format_value(value))


def sort_by(objects: Sequence[dict[str, Any]], path: str) -> list[dict[str, Any]]:
    """`--sort-by=JSONPATH`: by the first value the path finds in each
    object (stable, so ties keep the namespace/name order)."""
    template = jsonpath.parse_template(relaxed_template(path))

    def key(obj: dict[str, Any]) -> tuple[int, Any]:
        found = jsonpath.values(template, obj)
        return _sort_key(found[0] if found else None)

    return sorted(objects, key=key)


def render(
    kind: Kind,
    objects: Sequence[dict[str, Any]],
    fmt: OutputFormat,
    *,
    single: bool,
    now: datetime,
    all_namespaces: bool = False,
    options: TableOptions | None = None,
) -> str:
    """Everything `rdd ctl get` prints on stdout. `single`: one object was
    asked for by name (JSON/YAML/JSONPath show it bare, not in a List). No
    objects: nothing, except an empty List for JSON and YAML (as kubectl)."""
    options = options or TableOptions(wide=fmt.kind == "wide", all_namespaces=all_namespaces)
    if not objects:
        return render_serialized(as_list([]), fmt) if fmt.kind in ("json", "yaml") else ""
    if fmt.kind == "name":
        return "".join(name_form(kind, o["metadata"]["name"]) + "\n" for o in objects)
    data: Any = objects[0] if single and len(objects) == 1 else as_list(objects)
    if fmt.kind in ("json", "yaml", "jsonpath"):
        return render_serialized(data, fmt)
    if fmt.kind == "custom-columns":
        rows = custom_rows(parse_custom_columns(fmt.template), objects)
    else:
        rows = table_rows(kind, objects, now=now, options=options)
    return render_table(rows[1:] if options.no_headers else rows)
