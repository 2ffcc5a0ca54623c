"""The kinds this control plane serves, and how people and manifests name them.

One table, read by the store (key layout, which fields are spec), the
servicers (messages), admission and the CLI (aliases, `-o name`, error texts).
"""

from __future__ import annotations

from dataclasses import dataclass

from google.protobuf.message import Message

from rdd.api.app.v1alpha1 import app_pb2
from rdd.api.core.v1 import core_pb2
from rdd.api.lima.v1alpha1 import limavm_pb2


@dataclass(frozen=True)
class Kind:
    """One resource kind and everything that differs between kinds."""

    kind: str
    group: str
    version: str
    plural: str
    short_names: tuple[str, ...]
    namespaced: bool
    message: type[Message]
    #: Top-level fields whose change bumps metadata.generation.
    spec_fields: tuple[str, ...]
    has_status: bool
    #: Names are claimed across all namespaces (Lima instance directories).
    unique_names: bool = False
    #: Schema: fields that must be non-empty, as (proto path, JSON path).
    required: tuple[tuple[str, str], ...] = ()
    #: The service that serves this kind's API and runs its controller.
    served_by: str = "limavm"

    @property
    def api_version(self) -> str:
        return f"{self.group}/{self.version}" if self.group else self.version

    @property
    def resource(self) -> str:
        """`limavms.lima.rancherdesktop.io`, or `configmaps` for the core group."""
        return f"{self.plural}.{self.group}" if self.group else self.plural

    @property
    def singular(self) -> str:
        return self.kind.lower()

    def named(self, name: str) -> str:
        """How kubectl names an object in messages: `limavms.lima.rancherdesktop.io "rd"`."""
        return f'{self.resource} "{name}"'

    def new(self) -> Message:
        """An empty object of this kind with apiVersion and kind filled in."""
        obj = self.message()
        obj.api_version = self.api_version  # type: ignore[attr-defined]
        obj.kind = self.kind  # type: ignore[attr-defined]
        return obj


APP = Kind(
    kind="App",
    group="app.rancherdesktop.io",
    version="v1alpha1",
    plural="apps",
    short_names=(),
    namespaced=False,
    message=app_pb2.App,
    spec_fields=("spec",),
    has_status=True,
    served_by="app",
)
LIMAVM = Kind(
    kind="LimaVM",
    group="lima.rancherdesktop.io",
    version="v1alpha1",
    plural="limavms",
    short_names=(),
    namespaced=True,
    message=limavm_pb2.LimaVM,
    spec_fields=("spec",),
    has_status=True,
    unique_names=True,
    required=(("spec.template_ref.name", "spec.templateRef.name"),),
)
CONFIGMAP = Kind(
    kind="ConfigMap",
    group="",
    version="v1",
    plural="configmaps",
    short_names=("cm",),
    namespaced=True,
    message=core_pb2.ConfigMap,
    spec_fields=("data",),
    has_status=False,
)
EVENT = Kind(
    kind="Event",
    group="",
    version="v1",
    plural="events",
    short_names=("ev",),
    namespaced=True,
    message=core_pb2.Event,
    spec_fields=(),
    has_status=False,
)

ALL_KINDS: tuple[Kind, ...] = (APP, LIMAVM, CONFIGMAP, EVENT)


class UnknownKindError(ValueError):
    """A word or apiVersion/kind pair that names none of our kinds."""


def kinds_served_by(service: str) -> frozenset[str]:
    """The kinds (`App`, ...) whose API and controller live in `service`."""
    return frozenset(kind.kind for kind in ALL_KINDS if kind.served_by == service)


def resolve_kind(word: str) -> Kind:
    """Kind from what a person types: kind, plural, short name or `plural.group`."""
    lowered = word.lower()
    for kind in ALL_KINDS:
        aliases = {kind.singular, kind.plural, kind.resource, *kind.short_names}
        if kind.group:
            aliases |= {f"{kind.singular}.{kind.group}"}
        if lowered in aliases:
            return kind
    raise UnknownKindError(f'the server doesn\'t have a resource type "{word}"')


def kind_for(api_version: str, kind_name: str) -> Kind:
    """Kind from a manifest's apiVersion and kind, both required and exact."""
    if not kind_name:
        raise UnknownKindError("Object 'Kind' is missing")
    if not api_version:
        raise UnknownKindError("Object 'apiVersion' is missing")
    for kind in ALL_KINDS:
        if kind.kind == kind_name and kind.api_version == api_version:
            return kind
    raise UnknownKindError(f'no matches for kind "{kind_name}" in version "{api_version}"')
