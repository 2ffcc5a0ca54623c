"""Objects <-> Kubernetes JSON/YAML dicts, with errors people can act on.

Used by the CLI (manifests, `-o json|yaml`), admission (objects travel as
JSON) and the servicers. Field names are Kubernetes' (camelCase).
"""

from __future__ import annotations

import json
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message

from rdd.errors import InvalidError
from rdd.kinds import Kind, UnknownKindError, kind_for
from rdd.meta.loading import LoadError, load_json


def to_dict(obj: Message) -> dict[str, Any]:
    """Kubernetes-shaped dict: empty strings, lists and maps left out, false
    and 0 kept (so `{.spec.running}` prints `false`)."""
    raw = json_format.MessageToDict(obj, always_print_fields_with_no_presence=True)
    return _prune(raw)


def _prune(value: Any) -> Any:
    if isinstance(value, dict):
        pruned = {k: _prune(v) for k, v in value.items()}
        return {k: v for k, v in pruned.items() if v not in ("", [], {}, None)}
    if isinstance(value, list):
        return [_prune(v) for v in value]
    return value


def to_json(obj: Message) -> str:
    return json.dumps(to_dict(obj), separators=(",", ":"))


def from_dict(kind: Kind, data: dict[str, Any]) -> Message:
    """Parse a manifest dict of a known kind; unknown or mistyped fields are
    an InvalidError naming the field."""
    obj = kind.message()
    try:
        json_format.ParseDict(data, obj)
    except json_format.ParseError as exc:
        raise InvalidError(
            f'{kind.kind} in version "{kind.version}" cannot be handled: {_clean(exc)}'
        ) from None
    return obj


def from_json(kind: Kind, text: str) -> Message:
    """Parse an object's JSON (an admission review's); text that is not JSON,
    too large or nested too deeply is an InvalidError."""
    try:
        data = load_json(text)
    except LoadError as exc:
        raise InvalidError(f"{kind.kind}: {exc}") from None
    if not isinstance(data, dict):
        raise InvalidError("invalid object: expected a JSON object")
    return from_dict(kind, data)


def parse_manifest(data: Any) -> tuple[Kind, Message]:
    """A YAML/JSON document -> (kind, object), checking apiVersion and kind."""
    if not isinstance(data, dict):
        raise InvalidError(
            "invalid manifest: expected a mapping with apiVersion, kind and metadata"
        )
    try:
        kind = kind_for(str(data.get("apiVersion") or ""), str(data.get("kind") or ""))
    except UnknownKindError as exc:
        raise InvalidError(str(exc)) from None
    return kind, from_dict(kind, data)


def _clean(exc: Exception) -> str:
    """protobuf's messages name proto types; say the Kubernetes field instead."""
    text = str(exc)
    for prefix in ("Failed to parse ", "Message type "):
        text = text.replace(prefix, "")
    return text
