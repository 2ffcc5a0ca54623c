"""Hypothesis strategies for the fuzz suite: every unary-request RPC of every
service, with random bytes or a random well-typed request message.

Well-typed messages are drawn from the proto descriptors, field by field,
with values chosen to sit near the rules (names that are almost valid, label
keys Kubernetes rejects, numbers at the int64 edge, JSON objects for the
admission review's object fields, deep or aliased YAML for templates), so
the random walk spends its time where bugs live.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from google.protobuf.descriptor import FieldDescriptor, MethodDescriptor
from google.protobuf.message import Message
from google.protobuf.message_factory import GetMessageClass
from hypothesis import strategies as st

from rdd.api.admission.v1 import admission_pb2
from rdd.api.app.v1alpha1 import app_pb2
from rdd.api.core.v1 import core_pb2
from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.kinds import ALL_KINDS, APP, CONFIGMAP, LIMAVM, Kind
from rdd.meta.names import TEMPLATE_LABEL
from rdd.meta.serialization import to_json
from tests.support.objects import billion_laughs

#: Which stack component serves which services.
SERVED_BY: dict[str, tuple[Any, ...]] = {
    "app": (app_pb2.DESCRIPTOR.services_by_name["AppService"],),
    "limavm": (
        limavm_pb2.DESCRIPTOR.services_by_name["LimaVMService"],
        core_pb2.DESCRIPTOR.services_by_name["ConfigMapService"],
        core_pb2.DESCRIPTOR.services_by_name["EventService"],
    ),
    "webhook": (admission_pb2.DESCRIPTOR.services_by_name["AdmissionService"],),
}


@dataclass(frozen=True)
class Rpc:
    component: str
    method: MethodDescriptor

    @property
    def path(self) -> str:
        return f"/{self.method.containing_service.full_name}/{self.method.name}"

    @property
    def streaming(self) -> bool:
        return bool(self.method.server_streaming)

    def request_class(self) -> type[Message]:
        return GetMessageClass(self.method.input_type)


RPCS: tuple[Rpc, ...] = tuple(
    Rpc(component, method)
    for component, services in SERVED_BY.items()
    for service in services
    for method in service.methods
)

INT32 = (-(2**31), 2**31 - 1)

_NAMES = st.sampled_from(
    [
        "",
        "a",
        "default",
        "app",
        "rd",
        "fuzz",
        "nl\n",
        "a\n",
        "-a",
        "A",
        "a/b",
        "..",
        "x" * 64,
        "x" * 254,
        "\x00",
        "é",
        "kube-system",
        "fuzz-template",
    ]
)
_LABEL_KEYS = st.sampled_from(
    [
        "",
        " ",
        "\x00",
        "a b",
        "a\n",
        "ok",
        "example.com/ok",
        "/x",
        "a/b/c",
        "X" * 64,
        "lima.rancherdesktop.io/template-configmap",
        "kubectl.kubernetes.io/last-applied-configuration",
    ]
)
_REVISIONS = st.one_of(
    st.sampled_from(
        [
            "",
            "0",
            "1",
            "-1",
            " 1",
            "1.5",
            "abc",
            "\u0661",
            str(2**63 - 1),
            str(2**63),
            str(2**64),
            "9" * 40,
            "9" * 5000,
        ]
    ),
    st.integers(min_value=0, max_value=2**70).map(str),
)


def _deep_json(depth: int) -> str:
    return '{"a":' * depth + "1" + "}" * depth


def _templates() -> st.SearchStrategy[str]:
    return st.one_of(
        st.sampled_from(
            [
                "images: [{location: https://example.invalid/x.img}]\n",
                "images: [\n",
                "a: 1\na: 2\n",
                billion_laughs(10),
                "images: " + "[" * 1000 + "]" * 1000 + "\n",
                "images:\n" + "".join(f"{' ' * i}- \n" for i in range(0, 400, 2)),
                "\x00",
                "cpus: 1" + "0" * 5000 + "\n",
            ]
        ),
        st.text(max_size=200),
    )


def _strings(field: FieldDescriptor) -> st.SearchStrategy[str]:
    name = field.name
    if name in ("name", "namespace", "owner_uid", "uid"):
        return st.one_of(_NAMES, st.text(max_size=30))
    if name == "resource_version":
        return _REVISIONS
    if name in ("object", "old_object", "patched_object"):
        return _object_json()
    if name == "kind":
        return st.one_of(st.sampled_from([k.kind for k in ALL_KINDS] + ["", "Pod"]), st.text())
    if name == "operation":
        return st.sampled_from(["CREATE", "UPDATE", "DELETE", "CONNECT", ""])
    if name == "subresource":
        return st.sampled_from(["", "status", "x"])
    return st.one_of(st.text(max_size=40), _templates())


def _object_json() -> st.SearchStrategy[str]:
    """What an admission review carries: a real object's JSON, mangled or not."""
    real = (
        st.sampled_from(ALL_KINDS)
        .flatmap(lambda kind: messages(kind.message, depth=3))
        .map(to_json)
    )
    return st.one_of(
        real,
        st.sampled_from(
            [
                "",
                "{}",
                "[]",
                "null",
                "{",
                '{"metadata": NaN}',
                _deep_json(1000),
                _deep_json(150),
                "1" * 5000,
                '{"metadata": {"name": 5}}',
                '{"spec": {"running": "yes"}}',
            ]
        ),
        st.recursive(
            st.none() | st.booleans() | st.integers() | st.text(max_size=10),
            lambda inner: (
                st.lists(inner, max_size=3)
                | st.dictionaries(st.text(max_size=8), inner, max_size=3)
            ),
            max_leaves=10,
        ).map(json.dumps),
    )


def _scalar(field: FieldDescriptor) -> st.SearchStrategy[Any]:
    kind = field.type
    if kind == FieldDescriptor.TYPE_STRING:
        return _strings(field)
    if kind == FieldDescriptor.TYPE_BOOL:
        return st.booleans()
    if kind in (
        FieldDescriptor.TYPE_INT32,
        FieldDescriptor.TYPE_SINT32,
        FieldDescriptor.TYPE_SFIXED32,
    ):
        return st.one_of(st.sampled_from([*INT32, 0, -1, 1]), st.integers(*INT32))
    if kind in (
        FieldDescriptor.TYPE_INT64,
        FieldDescriptor.TYPE_SINT64,
        FieldDescriptor.TYPE_SFIXED64,
    ):
        return st.integers(-(2**63), 2**63 - 1)
    if kind in (FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32):
        return st.integers(0, 2**32 - 1)
    if kind in (FieldDescriptor.TYPE_UINT64, FieldDescriptor.TYPE_FIXED64):
        return st.integers(0, 2**64 - 1)
    if kind in (FieldDescriptor.TYPE_DOUBLE, FieldDescriptor.TYPE_FLOAT):
        return st.floats(allow_nan=True, width=32 if kind == FieldDescriptor.TYPE_FLOAT else 64)
    if kind == FieldDescriptor.TYPE_BYTES:
        return st.binary(max_size=64)
    if kind == FieldDescriptor.TYPE_ENUM:
        return st.sampled_from([v.number for v in field.enum_type.values])
    raise AssertionError(f"no strategy for field {field.full_name}")


@st.composite
def _message_draw(draw: st.DrawFn, cls: type[Message], depth: int) -> Message:
    msg = cls()
    for field in cls.DESCRIPTOR.fields:
        if not draw(st.booleans()):
            continue
        if field.message_type is not None and field.message_type.GetOptions().map_entry:
            key_field, value_field = field.message_type.fields
            keys = _LABEL_KEYS if field.name in ("labels", "annotations") else _scalar(key_field)
            if value_field.message_type is None:
                values = _scalar(value_field)
                if field.name == "data":
                    values = st.one_of(_templates(), st.text(max_size=20))
                getattr(msg, field.name).update(draw(st.dictionaries(keys, values, max_size=3)))
            continue
        if field.message_type is not None:
            if depth <= 0:
                continue
            sub = messages(GetMessageClass(field.message_type), depth=depth - 1)
            if field.is_repeated:
                getattr(msg, field.name).extend(draw(st.lists(sub, max_size=2)))
            else:
                getattr(msg, field.name).CopyFrom(draw(sub))
            continue
        values = _scalar(field)
        if field.is_repeated:
            getattr(msg, field.name).extend(draw(st.lists(values, max_size=3)))
        else:
            setattr(msg, field.name, draw(values))
    return msg


def messages(cls: type[Message], *, depth: int = 4) -> st.SearchStrategy[Message]:
    """A random, well-typed instance of `cls`: each field set or not."""
    return _message_draw(cls, depth)


_KIND_OF_SERVICE = {"AppService": APP, "LimaVMService": LIMAVM, "ConfigMapService": CONFIGMAP}
_REVIEWED_KINDS = (APP, LIMAVM, CONFIGMAP)


@st.composite
def near_valid_objects(draw: st.DrawFn, kind: Kind) -> Message:
    """An object of `kind` that is valid but for a few drawn details (a name,
    a label key, a template), so writes get past the schema to admission."""
    obj: Any = kind.new()
    meta = obj.metadata
    meta.name = draw(st.one_of(st.sampled_from(["fuzz", "fuzz-template", "app", "rd"]), _NAMES))
    if kind.namespaced:
        meta.namespace = draw(st.sampled_from(["", "default", "fuzz", "nl\n"]))
    meta.labels.update(
        draw(st.dictionaries(_LABEL_KEYS, st.sampled_from(["", "true", "x y", "v\n"]), max_size=2))
    )
    annotations = st.one_of(st.text(max_size=20), st.just("x" * 300_000))
    meta.annotations.update(draw(st.dictionaries(_LABEL_KEYS, annotations, max_size=2)))
    if kind is CONFIGMAP:
        if draw(st.booleans()):
            meta.labels[TEMPLATE_LABEL] = "true"
        obj.data.update(
            draw(st.dictionaries(st.sampled_from(["template", "x"]), _templates(), max_size=2))
        )
    elif kind is LIMAVM:
        obj.spec.template_ref.name = draw(st.sampled_from(["fuzz-template", "", "missing"]))
        if draw(st.booleans()):
            obj.spec.MergeFrom(draw(messages(type(obj.spec), depth=2)))
    elif kind is APP:
        obj.spec.namespace = draw(st.one_of(st.just(""), _NAMES))
    return obj


def near_valid_requests(rpc_method: MethodDescriptor) -> st.SearchStrategy[bytes] | None:
    """Writes and reviews built around near-valid objects; None for other methods."""
    cls = GetMessageClass(rpc_method.input_type)
    kind = _KIND_OF_SERVICE.get(rpc_method.containing_service.name)
    if kind is not None and "object" in cls.DESCRIPTOR.fields_by_name:
        return st.builds(
            lambda obj, dry_run: cls(object=obj, dry_run=dry_run).SerializeToString(),
            near_valid_objects(kind),
            st.booleans(),
        )
    if cls is admission_pb2.AdmissionRequest:
        return st.sampled_from(_REVIEWED_KINDS).flatmap(
            lambda kind: st.builds(
                lambda obj, old, operation: admission_pb2.AdmissionRequest(
                    kind=kind.kind,
                    operation=operation,
                    object=to_json(obj),
                    old_object=to_json(old),
                ).SerializeToString(),
                near_valid_objects(kind),
                near_valid_objects(kind),
                st.sampled_from(["CREATE", "UPDATE", "DELETE"]),
            )
        )
    return None


def raw_requests() -> st.SearchStrategy[bytes]:
    """Bytes for any method: random, truncated or mangled encodings, deep nesting."""
    deep = b"\x0a\x02" * 200  # a length-delimited field inside itself, too short: corrupt
    return st.one_of(
        st.binary(max_size=256),
        st.sampled_from(
            [b"\xff", b"\x80" * 11, b"\x0a\xff\xff\xff\xff\x0f", deep, b"\x0a\x01\xff"]
        ),
    )
