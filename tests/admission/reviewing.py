"""What the admission rule tests build their reviews from: plain objects,
a dict-backed Lookup, and the verdict helpers (not a test module)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import pytest

from rdd.admission import AdmissionDeniedError, Lookup, validate, webhook_name
from rdd.api.app.v1alpha1 import app_pb2
from rdd.api.core.v1 import core_pb2
from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.api.meta.v1 import meta_pb2
from rdd.kinds import APP, CONFIGMAP, LIMAVM, Kind
from rdd.meta.names import TEMPLATE_LABEL
from rdd.store.review import Review

TWO_ARCH_TEMPLATE = """\
images:
- location: https://example.com/x86_64.iso
  arch: x86_64
- location: https://example.com/aarch64.iso
  arch: aarch64
"""
X86_ONLY_TEMPLATE = "images: [{location: https://example.com/x86_64.iso, arch: x86_64}]\n"


@dataclass
class DictLookup:
    """A Lookup over a dict of objects keyed by (kind, namespace, name)."""

    objects: dict[tuple[str, str, str], Any] = field(default_factory=dict)
    host_arch: str = "x86_64"
    #: What "limactl validate" says of every template; the templates it was asked about.
    lima_says: list[str] = field(default_factory=list)
    lima_asked: list[str] = field(default_factory=list)

    def add(self, kind: Kind, obj: Any) -> None:
        self.objects[(kind.kind, obj.metadata.namespace, obj.metadata.name)] = obj

    async def get(self, kind: Kind, namespace: str, name: str) -> Any | None:
        return self.objects.get((kind.kind, namespace, name))

    async def claimed_namespace(self, kind: Kind, name: str) -> str | None:
        for kind_name, namespace, stored in self.objects:
            if kind_name == kind.kind and stored == name:
                return namespace
        return None

    async def lima_problems(self, template: str) -> list[str]:
        self.lima_asked.append(template)
        return list(self.lima_says)


def make_app(name: str = "app", namespace: str = "default", **meta: Any) -> app_pb2.App:
    return app_pb2.App(
        api_version=APP.api_version,
        kind=APP.kind,
        metadata=meta_pb2.ObjectMeta(name=name, **meta),
        spec=app_pb2.AppSpec(namespace=namespace),
    )


def make_vm(
    name: str = "rd",
    namespace: str = "default",
    *,
    ref: str = "rd",
    ref_namespace: str = "default",
    arch: str = "",
    **meta: Any,
) -> limavm_pb2.LimaVM:
    return limavm_pb2.LimaVM(
        api_version=LIMAVM.api_version,
        kind=LIMAVM.kind,
        metadata=meta_pb2.ObjectMeta(name=name, namespace=namespace, **meta),
        spec=limavm_pb2.LimaVMSpec(
            template_ref=limavm_pb2.TemplateRef(name=ref, namespace=ref_namespace)
        ),
        status=limavm_pb2.LimaVMStatus(arch=arch),
    )


def make_cm(
    name: str = "rd",
    namespace: str = "default",
    *,
    data: dict[str, str] | None = None,
    template_label: bool = False,
    controller: str = "",
    **meta: Any,
) -> core_pb2.ConfigMap:
    labels = {TEMPLATE_LABEL: "true"} if template_label else {}
    owners = (
        [meta_pb2.OwnerReference(kind=controller, name="rd", uid="uid-1", controller=True)]
        if controller
        else []
    )
    return core_pb2.ConfigMap(
        api_version=CONFIGMAP.api_version,
        kind=CONFIGMAP.kind,
        metadata=meta_pb2.ObjectMeta(
            name=name, namespace=namespace, labels=labels, owner_references=owners, **meta
        ),
        data={"template": TWO_ARCH_TEMPLATE} if data is None else data,
    )


def create(kind: Kind, obj: Any) -> Review:
    return Review("CREATE", kind, obj, None, False)


def update(kind: Kind, obj: Any, old: Any, subresource: str = "") -> Review:
    return Review("UPDATE", kind, obj, old, False, subresource)


def delete(kind: Kind, old: Any) -> Review:
    return Review("DELETE", kind, None, old, False)


async def denial(review: Review, lookup: Lookup | None = None) -> str:
    """The message validate refuses `review` with."""
    with pytest.raises(AdmissionDeniedError) as caught:
        await validate(review, lookup or DictLookup())
    assert caught.value.webhook == webhook_name(review.kind, "validate")
    return caught.value.message


async def admitted(review: Review, lookup: Lookup | None = None) -> None:
    await validate(review, lookup or DictLookup())


def lookup_with_template(template: str = TWO_ARCH_TEMPLATE, **kwargs: Any) -> DictLookup:
    lookup = DictLookup(**kwargs)
    lookup.add(CONFIGMAP, make_cm(data={"template": template}))
    return lookup
