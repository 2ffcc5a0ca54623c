"""Objects <-> Kubernetes JSON/YAML dicts, with errors people can act on.

Used by the CLI (manifests, `-o json|yaml`), admission (objects travel as
JSON) and the servicers. Field names are Kubernetes' (camelCase).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf import json_format
from google.protobuf.descriptor import Descriptor, FieldDescriptor
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
    """Parse a manifest dict of a known kind; an unknown or mistyped field is
    an InvalidError naming the field and the kind in plain words
    (`error validating data: unknown field "spec.runing" in LimaVM`)."""
    problem = field_problem(kind.message.DESCRIPTOR, data)
    if problem:
        raise InvalidError(f"error validating data: {problem.describe(kind.kind)}")
    obj = kind.message()
    try:
        json_format.ParseDict(data, obj)
    except json_format.ParseError as exc:
        # What the walk above lets through (an integer out of range, ...).
        raise InvalidError(
            f'{kind.kind} in version "{kind.version}" cannot be handled: {_clean(exc)}'
        ) from None
    return obj


#: JSON's names for the types protobuf fields take, as Kubernetes' schema
#: errors word them.
_SCALAR_TYPES: dict[int, tuple[str, tuple[type, ...]]] = {
    FieldDescriptor.CPPTYPE_STRING: ("string", (str,)),
    FieldDescriptor.CPPTYPE_BOOL: ("boolean", (bool,)),
    FieldDescriptor.CPPTYPE_INT32: ("integer", (int,)),
    FieldDescriptor.CPPTYPE_INT64: ("integer", (int, str)),
    FieldDescriptor.CPPTYPE_UINT32: ("integer", (int,)),
    FieldDescriptor.CPPTYPE_UINT64: ("integer", (int, str)),
    FieldDescriptor.CPPTYPE_DOUBLE: ("number", (int, float)),
    FieldDescriptor.CPPTYPE_FLOAT: ("number", (int, float)),
    FieldDescriptor.CPPTYPE_ENUM: ("string", (str, int)),
}


def json_type(value: Any) -> str:
    """The JSON type of a parsed value: string, boolean, integer, number,
    object, array or null (pure)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, dict):
        return "object"
    if isinstance(value, list):
        return "array"
    return "string"


@dataclass(frozen=True)
class FieldProblem:
    """A field a manifest must not have (`expected` empty), or one whose
    value has the wrong JSON type."""

    path: str
    got: str = ""
    expected: str = ""

    def describe(self, kind_name: str) -> str:
        """`unknown field "spec.runing" in LimaVM`, `invalid type for
        "spec.running" in LimaVM: got "string", expected "boolean"`."""
        if not self.expected:
            return f'unknown field "{self.path}" in {kind_name}'
        where = f'"{self.path}" in {kind_name}' if self.path else kind_name
        return f'invalid type for {where}: got "{self.got}", expected "{self.expected}"'


def field_problem(descriptor: Descriptor, data: Any, path: str = "") -> FieldProblem | None:
    """The first field of `data` the message type does not have, or whose
    value has the wrong JSON type (pure); None when the shape fits. A field
    is known by its JSON name or its proto name, as protobuf's parser
    accepts both; null stands for "unset" anywhere."""
    if not isinstance(data, dict):
        return _type_problem(path, data, "object")
    fields = {f.json_name: f for f in descriptor.fields}
    fields.update({f.name: f for f in descriptor.fields})
    for key, value in data.items():
        where = f"{path}.{key}" if path else str(key)
        field = fields.get(key)
        if field is None:
            return FieldProblem(where)
        if value is None:
            continue
        problem = _value_problem(field, value, where)
        if problem:
            return problem
    return None


def _value_problem(field: FieldDescriptor, value: Any, path: str) -> FieldProblem | None:
    message = field.message_type
    if message is not None and message.GetOptions().map_entry:
        if not isinstance(value, dict):
            return _type_problem(path, value, "object")
        value_field = message.fields_by_name["value"]
        for key, item in value.items():
            problem = _single_problem(value_field, item, f"{path}.{key}")
            if problem:
                return problem
        return None
    if field.is_repeated:
        if not isinstance(value, list):
            return _type_problem(path, value, "array")
        for index, item in enumerate(value):
            problem = _single_problem(field, item, f"{path}[{index}]")
            if problem:
                return problem
        return None
    return _single_problem(field, value, path)


def _single_problem(field: FieldDescriptor, value: Any, path: str) -> FieldProblem | None:
    if value is None:
        return None
    if field.message_type is not None:
        return field_problem(field.message_type, value, path)
    expected, accepted = _SCALAR_TYPES.get(field.cpp_type, ("string", (str,)))
    if isinstance(value, bool) and expected != "boolean":
        return _type_problem(path, value, expected)
    if not isinstance(value, accepted):
        return _type_problem(path, value, expected)
    return None


def _type_problem(path: str, value: Any, expected: str) -> FieldProblem:
    return FieldProblem(path, json_type(value), expected)


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
