"""Admission rules for the LimaVM: created with the cleanup finalizer and a
templateRef that names an existing template ConfigMap with an image for the
VM's arch, which the installed Lima accepts too; the templateRef never
changes; names are unique across namespaces and usable as Lima instance
names; owned ones are deleted only by their owner.

Listed in the dispatcher's table (`rdd.admission.webhooks`).
"""

from __future__ import annotations

import asyncio
import re
from typing import Any

from rdd.admission.configmaps import lima_template_problems, template_entry_problems
from rdd.admission.lookup import Lookup
from rdd.admission.reviews import KindRules
from rdd.api.lima.v1alpha1 import limavm_pb2
from rdd.errors import NameTakenError
from rdd.kinds import CONFIGMAP, LIMAVM
from rdd.meta.finalizers import add_finalizer
from rdd.meta.names import CLEANUP_FINALIZER

#: Lima's instance name rule (the name is also the instance directory).
_INSTANCE_NAME = re.compile(r"[A-Za-z0-9]+(?:[._-][A-Za-z0-9]+)*")
_INSTANCE_NAME_MAX = 76


class LimaVMRules(KindRules):
    def default(self, obj: Any, old: Any | None) -> Any:
        """templateRef.namespace filled in, the cleanup finalizer added on CREATE.

        An UPDATE that leaves templateRef.namespace empty keeps the stored
        value (proto3 cannot tell omitted from empty).
        """
        vm = limavm_pb2.LimaVM()
        vm.CopyFrom(obj)
        ref = vm.spec.template_ref
        if not ref.namespace:
            stored = old.spec.template_ref.namespace if old is not None else ""
            ref.namespace = stored or vm.metadata.namespace
        if old is None:
            add_finalizer(vm, CLEANUP_FINALIZER)
        return vm

    async def validate_create(self, obj: Any, lookup: Lookup) -> list[str]:
        """Reads the name claim and the template ConfigMap through `lookup`
        (on CREATE only: afterwards the VM has its own copy, `<name>-template`,
        and the input may be gone)."""
        found = instance_name_problems(obj.metadata.name) + spec_problems(obj, None)
        if found:
            return found
        name, namespace = obj.metadata.name, obj.metadata.namespace
        ref = obj.spec.template_ref
        # Two independent reads: one round trip's wait, not two.
        taken, configmap = await asyncio.gather(
            lookup.claimed_namespace(LIMAVM, name), lookup.get(CONFIGMAP, ref.namespace, ref.name)
        )
        if taken is not None and taken != namespace:
            taken_error = NameTakenError.held(LIMAVM.named(name), taken)
            return [f"{taken_error.message}: LimaVM names must be unique across namespaces"]
        # A new LimaVM is built for the host's arch (status is the server's, empty on create).
        found = template_ref_problems(ref, configmap, vm_arch=lookup.host_arch)
        if found:
            return found
        lima = await lima_template_problems(configmap, what=_show_configmap(ref), lookup=lookup)
        return [f"spec.templateRef: {problem}" for problem in lima]

    async def validate_update(self, obj: Any, old: Any, lookup: Lookup) -> list[str]:
        return spec_problems(obj, old)


def spec_problems(vm: Any, old: Any | None) -> list[str]:
    """Problems visible in the written object and the stored one alone. Pure."""
    found: list[str] = []
    if not vm.spec.template_ref.name:
        found.append("spec.templateRef.name: Required value")
    if old is not None and old.spec.template_ref != vm.spec.template_ref:
        found.append(
            f"spec.templateRef is immutable: was {_show_ref(old.spec.template_ref)}, "
            f"got {_show_ref(vm.spec.template_ref)}"
        )
    return found


def instance_name_problems(name: str) -> list[str]:
    """Why `name` cannot name a Lima instance, or nothing. Pure."""
    if (
        len(name) <= _INSTANCE_NAME_MAX
        and _INSTANCE_NAME.fullmatch(name)
        and not name.endswith((".yaml", ".yml"))
    ):
        return []
    return [
        f'metadata.name: "{name}" cannot name a Lima instance: letters and digits joined '
        f'by single ".", "_" or "-", at most {_INSTANCE_NAME_MAX} characters, '
        "not ending in .yaml or .yml"
    ]


def template_ref_problems(ref: Any, configmap: Any | None, *, vm_arch: str) -> list[str]:
    """Why the ConfigMap a new LimaVM names cannot build it (`configmap` is
    what the lookup found, None when absent). Pure."""
    what = _show_configmap(ref)
    if configmap is None:
        return [f"spec.templateRef: {what} not found"]
    problems = template_entry_problems(configmap, what=what, vm_arch=vm_arch)
    return [f"spec.templateRef: {problem}" for problem in problems]


def _show_configmap(ref: Any) -> str:
    return f'ConfigMap "{ref.name}" in namespace "{ref.namespace}"'


def _show_ref(ref: Any) -> str:
    return f'"{ref.namespace}/{ref.name}"'
