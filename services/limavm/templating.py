"""A LimaVM's template ConfigMap (`<name>-template`): built from the
templateRef'd ConfigMap and created in the same transaction as the LimaVM,
so it never exists without its ownerReference."""

from __future__ import annotations

from typing import Any

from rdd.errors import InvalidError
from rdd.kinds import CONFIGMAP, LIMAVM, Kind
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import TEMPLATE_LABEL, owned_finalizer, template_configmap_name
from rdd.meta.owners import set_controller_reference
from rdd.store.etcdclient import EtcdStore


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


def companions_from(store: EtcdStore):  # type: ignore[no-untyped-def]
    """The registry hook that adds the template ConfigMap to a LimaVM create."""

    async def companions(vm: Any) -> list[tuple[Kind, Any]]:
        namespace = template_namespace(vm)
        source = await store.get(CONFIGMAP, namespace, vm.spec.template_ref.name)
        if source is None:
            raise InvalidError(
                f'spec.templateRef: ConfigMap "{namespace}/{vm.spec.template_ref.name}" not found'
            )
        return [(CONFIGMAP, build_template_configmap(vm, source))]

    return companions
