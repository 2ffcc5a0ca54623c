"""How `rdd ctl` prints objects (pure): kubectl-like tables, `-o name`,
JSON/YAML (a `List` for several objects), JSONPath, and the object names
used in messages (`configmap/rd`, `configmap "rd" deleted`, `limavms/rd`).

Functions take dicts from rdd.meta.serialization.to_dict and return text."""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

from rdd.cli import jsonpath
from rdd.cli.arguments import OutputFormat
from rdd.kinds import EVENT, Kind

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


def find_condition(obj: dict[str, Any], type_: str) -> dict[str, Any] | None:
    for cond in obj.get("status", {}).get("conditions", []):
        if cond.get("type") == type_:
            return dict(cond)
    return None


def last_seen(obj: dict[str, Any], now: datetime) -> str:
    """An event's age, `5m (x3 over 10m)` when it recurred (kubectl's)."""
    last = age(event_time(obj), now)
    count = int(obj.get("count") or 1)
    if count > 1 and obj.get("firstTimestamp"):
        return f"{last} (x{count} over {age(obj['firstTimestamp'], now)})"
    return last


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


@functools.cache
def _literal_dumper() -> Any:
    """A SafeDumper that writes multi-line strings (Lima templates) as `|`
    literals; made on first use, so only commands that print YAML import yaml."""
    import yaml

    def represent_str(dumper: yaml.SafeDumper, value: str) -> yaml.ScalarNode:
        style = "|" if "\n" in value and not any(c in value for c in "\t\r") else None
        return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)

    class LiteralDumper(yaml.SafeDumper):
        """SafeDumper with the literal-string representer below."""

    LiteralDumper.add_representer(str, represent_str)
    return LiteralDumper


def to_yaml(data: Any) -> str:
    """Block style, multi-line strings as `|` literals."""
    import yaml

    return yaml.dump(data, Dumper=_literal_dumper(), sort_keys=False, default_flow_style=False)


def to_json(data: Any) -> str:
    return json.dumps(data, indent=4) + "\n"


def render_serialized(data: Any, fmt: OutputFormat) -> str:
    """An object or a List as JSON, YAML or a JSONPath template's text."""
    if fmt.kind == "json":
        return to_json(data)
    if fmt.kind == "yaml":
        return to_yaml(data)
    return jsonpath.execute(fmt.template, data)
