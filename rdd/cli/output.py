"""How `rdd ctl` prints objects (pure): kubectl-like tables, `-o name`,
JSON/YAML (a `List` for several objects), JSONPath, and the object names
used in messages (`configmap/rd`, `configmap "rd" deleted`, `limavms/rd`).

Functions take dicts from rdd.meta.serialization.to_dict and return text."""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import yaml

from rdd.cli import jsonpath
from rdd.cli.arguments import OutputFormat
from rdd.kinds import APP, CONFIGMAP, EVENT, LIMAVM, Kind

NONE = "<none>"

# -- names ---------------------------------------------------------------------


def type_name(kind: Kind) -> str:
    """`limavm.lima.rancherdesktop.io`, or `configmap` for the core group."""
    return f"{kind.singular}.{kind.group}" if kind.group else kind.singular


def name_form(kind: Kind, name: str) -> str:
    """`-o name`: `limavm.lima.rancherdesktop.io/rd`, `configmap/rd-template`."""
    return f"{type_name(kind)}/{name}"


def quoted_form(kind: Kind, name: str) -> str:
    """`configmap "rd"`, as in `configmap "rd" deleted`."""
    return f'{type_name(kind)} "{name}"'


def plural_form(kind: Kind, name: str) -> str:
    """`limavms/rd`, as in kubectl wait's timeout message."""
    return f"{kind.plural}/{name}"


def dry_run_suffix(mode: str) -> str:
    return {"server": " (server dry run)", "client": " (dry run)"}.get(mode, "")


def no_resources_message(kind: Kind, namespace: str) -> str:
    """kubectl's stderr line for an empty list."""
    if not kind.namespaced or not namespace:
        return "No resources found"
    return f"No resources found in {namespace} namespace."


# -- ages ----------------------------------------------------------------------


def parse_time(stamp: str) -> datetime | None:
    if not stamp:
        return None
    try:
        parsed = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def human_duration(seconds: float) -> str:
    """kubectl's HumanDuration: `45s`, `5m3s`, `3h20m`, `4d`, `2y30d`."""
    total = int(seconds)
    if total < -1:
        return "<invalid>"
    if total < 0:
        return "0s"
    if total < 120:
        return f"{total}s"
    minutes = total // 60
    if minutes < 10:
        rest = total % 60
        return f"{minutes}m{rest}s" if rest else f"{minutes}m"
    if minutes < 180:
        return f"{minutes}m"
    hours = total // 3600
    if hours < 8:
        rest = minutes % 60
        return f"{hours}h{rest}m" if rest else f"{hours}h"
    if hours < 48:
        return f"{hours}h"
    if hours < 24 * 8:
        rest = hours % 24
        return f"{hours // 24}d{rest}h" if rest else f"{hours // 24}d"
    if hours < 24 * 365 * 2:
        return f"{hours // 24}d"
    if hours < 24 * 365 * 8:
        days = (hours // 24) % 365
        years = hours // 24 // 365
        return f"{years}y{days}d" if days else f"{years}y"
    return f"{hours // 24 // 365}y"


def age(stamp: str, now: datetime) -> str:
    when = parse_time(stamp)
    return NONE if when is None else human_duration((now - when).total_seconds())


# -- columns -------------------------------------------------------------------

Getter = Callable[[dict[str, Any], datetime], str]


@dataclass(frozen=True)
class Column:
    header: str
    value: Getter
    wide_only: bool = False


def _name(obj: dict[str, Any], _now: datetime) -> str:
    return str(obj.get("metadata", {}).get("name", ""))


def _age(obj: dict[str, Any], now: datetime) -> str:
    return age(obj.get("metadata", {}).get("creationTimestamp", ""), now)


def _text(value: Any) -> str:
    if value is None or value == "":
        return NONE
    return jsonpath.format_value(value)


def _field(*path: str, default: Any = None) -> Getter:
    def get(obj: dict[str, Any], _now: datetime) -> str:
        value: Any = obj
        for key in path:
            value = value.get(key) if isinstance(value, dict) else None
        return _text(default if value is None else value)

    return get


def find_condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond.get("type") == type_:
            return dict(cond)
    return None


def _condition(type_: str, field: str = "status") -> Getter:
    def get(obj: dict[str, Any], _now: datetime) -> str:
        cond = find_condition(obj, type_)
        return _text(None if cond is None else cond.get(field))

    return get


def _data_count(obj: dict[str, Any], _now: datetime) -> str:
    return str(len(obj.get("data", {})))


def last_seen(obj: dict[str, Any], now: datetime) -> str:
    """An event's age, `5m (x3 over 10m)` when it recurred (kubectl's)."""
    last = age(event_time(obj), now)
    count = int(obj.get("count") or 1)
    if count > 1 and obj.get("firstTimestamp"):
        return f"{last} (x{count} over {age(obj['firstTimestamp'], now)})"
    return last


def _involved(obj: dict[str, Any], _now: datetime) -> str:
    ref = obj.get("involvedObject", {})
    return f"{str(ref.get('kind', '')).lower()}/{ref.get('name', '')}"


COLUMNS: dict[str, list[Column]] = {
    CONFIGMAP.kind: [Column("NAME", _name), Column("DATA", _data_count), Column("AGE", _age)],
    LIMAVM.kind: [
        Column("NAME", _name),
        Column("RUNNING", _field("spec", "running", default=False)),
        Column("CREATED", _condition("Created")),
        Column("RUNNING-STATUS", _condition("Running")),
        Column("AGE", _age),
        Column("REASON", _condition("Running", "reason"), wide_only=True),
        Column("ARCH", _field("status", "arch"), wide_only=True),
        Column("RESTARTS", _field("status", "restartCount", default=0), wide_only=True),
        Column("TEMPLATE", _field("status", "templateConfigMap"), wide_only=True),
    ],
    APP.kind: [
        Column("NAME", _name),
        Column("RUNNING", _field("spec", "running", default=False)),
        Column("SETTLED", _condition("Settled")),
        Column("AGE", _age),
        Column("REASON", _condition("Settled", "reason"), wide_only=True),
        Column("VM-NAMESPACE", _field("spec", "namespace"), wide_only=True),
    ],
    EVENT.kind: [
        Column("LAST SEEN", last_seen),
        Column("TYPE", _field("type")),
        Column("REASON", _field("reason")),
        Column("OBJECT", _involved),
        Column("MESSAGE", _field("message")),
    ],
}


def _namespace(obj: dict[str, Any], _now: datetime) -> str:
    return str(obj.get("metadata", {}).get("namespace", ""))


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


def _columns(kind: Kind, options: TableOptions) -> list[Column]:
    columns = [c for c in COLUMNS[kind.kind] if options.wide or not c.wide_only]
    if options.with_kind:

        def kind_name(obj: dict[str, Any], _now: datetime) -> str:
            return name_form(kind, str(obj.get("metadata", {}).get("name", "")))

        columns = [Column("NAME", kind_name) if c.value is _name else c for c in columns]
    if options.all_namespaces and kind.namespaced:
        columns = [Column("NAMESPACE", _namespace), *columns]
    if options.show_labels:
        columns.append(Column("LABELS", lambda obj, _now: labels_text(obj)))
    return columns


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
    columns = _columns(kind, options)
    rows = [[c.header for c in columns]]
    rows.extend([c.value(obj, now) for c in columns] for obj in objects)
    return rows


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
            found = [
                v
                for part in column.template
                if isinstance(part, jsonpath.Path)
                for v in jsonpath.evaluate(part.steps, obj)
            ]
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
    steps = [part.steps for part in template if isinstance(part, jsonpath.Path)]

    def key(obj: dict[str, Any]) -> tuple[int, Any]:
        found = [v for s in steps for v in jsonpath.evaluate(s, obj)]
        return _sort_key(found[0] if found else None)

    return sorted(objects, key=key)


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


def event_time(obj: dict[str, Any]) -> str:
    return str(
        obj.get("lastTimestamp")
        or obj.get("firstTimestamp")
        or obj.get("metadata", {}).get("creationTimestamp", "")
    )


def sort_objects(kind: Kind, objects: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Events oldest first (newest last); everything else by namespace, name."""
    if kind == EVENT:
        epoch = datetime.min.replace(tzinfo=UTC)
        return sorted(objects, key=lambda o: parse_time(event_time(o)) or epoch)
    return sorted(
        objects,
        key=lambda o: (o.get("metadata", {}).get("namespace", ""), o["metadata"]["name"]),
    )


# -- serialized formats --------------------------------------------------------


def as_list(objects: Sequence[dict[str, Any]]) -> dict[str, Any]:
    """kubectl's `List` wrapper for several objects."""
    return {
        "apiVersion": "v1",
        "items": list(objects),
        "kind": "List",
        "metadata": {"resourceVersion": ""},
    }


class _Dumper(yaml.SafeDumper):
    """Block style, multi-line strings (Lima templates) as `|` literals."""


def _represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
    style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _represent_str)


def to_yaml(data: Any) -> str:
    return yaml.dump(data, Dumper=_Dumper, sort_keys=False, default_flow_style=False)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=4) + "\n"


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


def render_serialized(data: Any, fmt: OutputFormat) -> str:
    """An object or a List as JSON, YAML or a JSONPath template's text."""
    if fmt.kind == "json":
        return to_json(data)
    if fmt.kind == "yaml":
        return to_yaml(data)
    return jsonpath.execute(fmt.template, data)
