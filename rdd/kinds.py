"""The scheme: the kinds this control plane serves and everything that
differs between them, in one table. A new kind is one entry in it (plus
its messages in protos/ and its admission rule in rdd.admission).

Read by the store (key layout, which fields are spec), the service mains
(List and Watch messages), the clients (stub, write request), the CLI
(aliases, `-o name`, error texts, read-only kinds, printer columns) and the
server (which service owns a kind's finalizers).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from google.protobuf.message import Message

from rdd.api.app.v1alpha1 import app_pb2, app_pb2_grpc
from rdd.api.core.v1 import core_pb2, core_pb2_grpc
from rdd.api.lima.v1alpha1 import limavm_pb2, limavm_pb2_grpc
from rdd.meta.conditions import ConditionType

T = TypeVar("T", bound=Message)


@dataclass(frozen=True)
class Column:
    """A printer column, as a CRD's additionalPrinterColumns: a header and a
    kubectl JSONPath into the object's JSON form ("" is the object itself).
    `format` names one of rdd.cli.printing's formatters for what a path
    alone cannot say (an age, a count, a default); `priority` 0 prints
    always, 1 with `-o wide`, 2 only where a view names it (`rdd limavm list`)."""

    header: str
    path: str
    format: str = ""
    priority: int = 0


def condition(type_: str, field: str = "status") -> str:
    """The JSONPath of a condition's field: `.status.conditions[?(@.type=="Ready")].status`."""
    return f'.status.conditions[?(@.type=="{type_}")].{field}'


NAME = Column("NAME", ".metadata.name")
AGE = Column("AGE", ".metadata.creationTimestamp", format="age")


@dataclass(frozen=True, kw_only=True)
class Kind(Generic[T]):
    """One resource kind and everything that differs between kinds."""

    kind: str
    group: str
    version: str
    plural: str
    short_names: tuple[str, ...] = ()
    namespaced: bool
    message: type[T]
    list_message: type[Message]
    watch_event_message: type[Message]
    #: The gRPC stub class of the kind's service (`stub(channel)`).
    stub: Callable[[Any], Any]
    #: Create/Update's request message; None for a read-only kind.
    write_request: type[Message] | None
    #: Top-level fields whose change bumps metadata.generation.
    spec_fields: tuple[str, ...]
    has_status: bool
    #: Names are claimed across all namespaces (Lima instance directories).
    unique_names: bool = False
    #: Schema: fields that must be non-empty, as (proto path, JSON path).
    required: tuple[tuple[str, str], ...] = ()
    #: The service that serves this kind's API and runs its controller.
    served_by: str = "limavm"
    #: Why no command may create, change or delete its objects ("": they may).
    read_only: str = ""
    #: What `rdd ctl get` prints, in order.
    columns: tuple[Column, ...] = (NAME, AGE)
    #: kubectl's categories: `all` is what `rdd ctl get all` lists.
    categories: tuple[str, ...] = ()

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

    def new(self) -> T:
        """An empty object of this kind with apiVersion and kind filled in."""
        obj = self.message()
        typed: Any = obj  # every kind's message has these two fields
        typed.api_version = self.api_version
        typed.kind = self.kind
        return obj


APP: Kind[app_pb2.App] = Kind(
    kind="App",
    group="app.rancherdesktop.io",
    version="v1alpha1",
    plural="apps",
    namespaced=False,
    message=app_pb2.App,
    list_message=app_pb2.AppList,
    watch_event_message=app_pb2.AppWatchEvent,
    stub=app_pb2_grpc.AppServiceStub,
    write_request=app_pb2.AppWriteRequest,
    spec_fields=("spec",),
    has_status=True,
    served_by="app",
    categories=("all",),
    columns=(
        NAME,
        Column("RUNNING", ".spec.running", format="bool"),
        Column("SETTLED", condition(ConditionType.SETTLED)),
        AGE,
        Column("REASON", condition(ConditionType.SETTLED, "reason"), priority=1),
        Column("VM-NAMESPACE", ".spec.namespace", priority=1),
    ),
)
LIMAVM: Kind[limavm_pb2.LimaVM] = Kind(
    kind="LimaVM",
    group="lima.rancherdesktop.io",
    version="v1alpha1",
    plural="limavms",
    namespaced=True,
    message=limavm_pb2.LimaVM,
    list_message=limavm_pb2.LimaVMList,
    watch_event_message=limavm_pb2.LimaVMWatchEvent,
    stub=limavm_pb2_grpc.LimaVMServiceStub,
    write_request=limavm_pb2.LimaVMWriteRequest,
    spec_fields=("spec",),
    has_status=True,
    unique_names=True,
    required=(("spec.template_ref.name", "spec.templateRef.name"),),
    categories=("all",),
    columns=(
        NAME,
        Column("NAMESPACE", ".metadata.namespace", priority=2),
        Column("RUNNING", ".spec.running", format="bool"),
        Column("STATUS", "", format="vm_status", priority=2),
        Column("CREATED", condition(ConditionType.CREATED)),
        Column("RUNNING-STATUS", condition(ConditionType.RUNNING)),
        AGE,
        Column("REASON", condition(ConditionType.RUNNING, "reason"), priority=1),
        Column("ARCH", ".status.arch", priority=1),
        Column("RESTARTS", ".status.restartCount", format="number", priority=1),
        Column("TEMPLATE", ".status.templateConfigMap", priority=1),
    ),
)
CONFIGMAP: Kind[core_pb2.ConfigMap] = Kind(
    kind="ConfigMap",
    group="",
    version="v1",
    plural="configmaps",
    short_names=("cm",),
    namespaced=True,
    message=core_pb2.ConfigMap,
    list_message=core_pb2.ConfigMapList,
    watch_event_message=core_pb2.ConfigMapWatchEvent,
    stub=core_pb2_grpc.ConfigMapServiceStub,
    write_request=core_pb2.ConfigMapWriteRequest,
    spec_fields=("data",),
    has_status=False,
    categories=("all",),
    columns=(NAME, Column("DATA", ".data", format="count"), AGE),
)
EVENT: Kind[core_pb2.Event] = Kind(
    kind="Event",
    group="",
    version="v1",
    plural="events",
    short_names=("ev",),
    namespaced=True,
    message=core_pb2.Event,
    list_message=core_pb2.EventList,
    watch_event_message=core_pb2.EventWatchEvent,
    stub=core_pb2_grpc.EventServiceStub,
    write_request=None,
    spec_fields=(),
    has_status=False,
    read_only="events are read-only: they are recorded by the controllers",
    columns=(
        Column("LAST SEEN", "", format="last_seen"),
        Column("TYPE", ".type"),
        Column("REASON", ".reason"),
        Column("OBJECT", ".involvedObject", format="involved"),
        Column("MESSAGE", ".message"),
    ),
)

ALL_KINDS: tuple[Kind[Any], ...] = (APP, LIMAVM, CONFIGMAP, EVENT)


class UnknownKindError(ValueError):
    """A word or apiVersion/kind pair that names none of our kinds."""


def kinds_served_by(service: str) -> frozenset[str]:
    """The kinds (`App`, ...) whose API and controller live in `service`."""
    return frozenset(kind.kind for kind in ALL_KINDS if kind.served_by == service)


def resolve_kind(word: str) -> Kind[Any]:
    """Kind from what a person types: kind, plural, short name or `plural.group`."""
    lowered = word.lower()
    for kind in ALL_KINDS:
        aliases = {kind.singular, kind.plural, kind.resource, *kind.short_names}
        if kind.group:
            aliases |= {f"{kind.singular}.{kind.group}"}
        if lowered in aliases:
            return kind
    raise UnknownKindError(f'the server doesn\'t have a resource type "{word}"')


def kind_for(api_version: str, kind_name: str) -> Kind[Any]:
    """Kind from a manifest's apiVersion and kind, both required and exact."""
    if not kind_name:
        raise UnknownKindError("Object 'Kind' is missing")
    if not api_version:
        raise UnknownKindError("Object 'apiVersion' is missing")
    for kind in ALL_KINDS:
        if kind.kind == kind_name and kind.api_version == api_version:
            return kind
    raise UnknownKindError(f'no matches for kind "{kind_name}" in version "{api_version}"')
