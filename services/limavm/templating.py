"""A LimaVM's template ConfigMap (`<name>-template`): built from the
templateRef'd ConfigMap and created in the same transaction as the LimaVM,
so it never exists without its ownerReference, and only while the source is
still the version the LimaVM's review judged (rdd.store.registry.Companions)."""

from __future__ import annotations

from typing import Any

from rdd.errors import InvalidError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import TEMPLATE_LABEL, owned_finalizer, template_configmap_name
from rdd.meta.owners import set_controller_reference
from rdd.store.etcdclient import EtcdStore
from rdd.store.registry import KindObjects


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
    copied from the one its templateRef names (read fresh from etcd)."""

    def __init__(self, store: EtcdStore) -> None:
        self._store = store

    async def read(self, parent: Any) -> KindObjects:
        """The named ConfigMap, or nothing: admission then says it is missing."""
        namespace = template_namespace(parent)
        source = await self._store.get(CONFIGMAP, namespace, parent.spec.template_ref.name)
        return [(CONFIGMAP, source)] if source is not None else []

    def build(self, parent: Any, sources: KindObjects) -> KindObjects:
        if not sources:
            ref = parent.spec.template_ref
            raise InvalidError(
                f'spec.templateRef: ConfigMap "{template_namespace(parent)}/{ref.name}" not found'
            )
        return [(CONFIGMAP, build_template_configmap(parent, source)) for _, source in sources]
