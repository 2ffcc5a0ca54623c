"""A LimaVM's template ConfigMap (`<name>-template`): built from the
templateRef'd ConfigMap and created in the same transaction as the LimaVM,
so it never exists without its ownerReference, and only while the source is
still the version the LimaVM's review judged (rdd.store.review.Companions)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from rdd.errors import InvalidError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import TEMPLATE_LABEL, owned_finalizer, template_configmap_name
from rdd.meta.owners import set_controller_reference
from rdd.store.etcdclient import EtcdStore
from rdd.store.review import KindObjects


def template_namespace(vm: Any) -> str:
    return vm.spec.template_ref.namespace or vm.metadata.namespace


def build_template_configmap(vm: Any, source: Any) -> Any:
    """The copy the LimaVM owns (pure): label, owned-by-LimaVM finalizer,
    controller reference."""
    cm = CONFIGMAP.new()
    cm.metadata.name = template_configmap_name(vm.metadata.name)
    cm.metadata.namespace = vm.metadata.namespace
    cm.metadata.labels[TEMPLATE_LABEL] = "true"
    cm.data.update(source.data)
    add_finalizer(cm, owned_finalizer(LIMAVM.kind))
    set_controller_reference(cm, vm)
    return cm


class TemplateCompanion:
    """The registry's Companions for a LimaVM: its template ConfigMap,
    copied from the one its templateRef names (the ConfigMap informer's
    copy first, etcd's when that is missing or proved stale)."""

    def __init__(self, store: EtcdStore, cached: Callable[[str, str], Any | None]) -> None:
        self._store = store
        self._cached = cached

    async def read(self, parent: Any, *, fresh: bool) -> KindObjects:
        """The named ConfigMap, or nothing: admission then says it is missing."""
        namespace, name = template_namespace(parent), parent.spec.template_ref.name
        source = None if fresh else self._cached(namespace, name)
        if source is None:
            source = await self._store.get(CONFIGMAP, namespace, name)
        return [(CONFIGMAP, source)] if source is not None else []

    def build(self, parent: Any, sources: KindObjects) -> KindObjects:
        if not sources:
            ref = parent.spec.template_ref
            raise InvalidError(
                f'spec.templateRef: ConfigMap "{template_namespace(parent)}/{ref.name}" not found'
            )
        return [(CONFIGMAP, build_template_configmap(parent, source)) for _, source in sources]
