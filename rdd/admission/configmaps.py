"""Admission rules for ConfigMaps: owned ones are deleted only by their owner,
and a template ConfigMap (label `lima.rancherdesktop.io/template-configmap:
"true"`) holds a template Lima accepts and keeps its label while controlled;
an edit never shrinks the disk of an existing instance (rdd.admission.disks).

Listed in the dispatcher's table (`rdd.admission.webhooks`); `template_entry_problems`
and `lima_template_problems` are shared with the LimaVM rules, which check
the ConfigMap a LimaVM names. Our own checks are pure; what the installed
Lima says comes through the `Lookup`.
"""

from __future__ import annotations

import functools
from typing import Any

from rdd.admission.disks import disk_shrink_problems
from rdd.admission.lookup import Lookup
from rdd.admission.reviews import KindRules
from rdd.kinds import LIMAVM
from rdd.meta.names import TEMPLATE_KEY, TEMPLATE_LABEL
from rdd.meta.owners import controller_ref
from rdd.templates.validation import validate_template


@functools.lru_cache(maxsize=64)
def judged_template(text: str, vm_arch: str | None) -> tuple[str, ...]:
    """`validate_template`, remembered by its arguments: most LimaVMs share
    a few templates. Pure."""
    return tuple(validate_template(text, vm_arch=vm_arch))


def is_template_configmap(configmap: Any) -> bool:
    return configmap.metadata.labels.get(TEMPLATE_LABEL) == "true"


def template_entry_problems(configmap: Any, *, what: str, vm_arch: str | None) -> list[str]:
    """Why `configmap` cannot serve as a Lima template (no `template` entry, or
    one Lima would reject; with `vm_arch`, also one without an image for it).
    `what` names the ConfigMap in messages. Pure."""
    if TEMPLATE_KEY not in configmap.data:
        return [f'{what} must have a "{TEMPLATE_KEY}" data entry']
    problems = judged_template(configmap.data[TEMPLATE_KEY], vm_arch)
    if problems:
        return [f"{what} has an invalid template: {'; '.join(problems)}"]
    return []


async def lima_template_problems(configmap: Any, *, what: str, lookup: Lookup) -> list[str]:
    """What the installed Lima says about a template our own checks accepted
    (through `lookup.lima_problems`). Asked only then: a template we already
    refuse gets one message per problem, and no limactl call."""
    problems = await lookup.lima_problems(configmap.data[TEMPLATE_KEY])
    if problems:
        return [f"{what} has an invalid template (limactl validate): {'; '.join(problems)}"]
    return []


class ConfigMapRules(KindRules):
    """The ConfigMap has nothing to default; its template is judged when new
    or changed, so a metadata-only update (an owner dropping its finalizer)
    is never blocked by it."""

    async def validate_create(self, obj: Any, lookup: Lookup) -> list[str]:
        return await _template_problems(obj, None, lookup)

    async def validate_update(self, obj: Any, old: Any, lookup: Lookup) -> list[str]:
        return label_removal_problems(obj, old) or await _template_problems(obj, old, lookup)


def label_removal_problems(new: Any, old: Any) -> list[str]:
    """A controlled template ConfigMap keeps its template label. Pure."""
    if not is_template_configmap(old) or is_template_configmap(new):
        return []
    owner = controller_ref(new) or controller_ref(old)
    if owner is None:
        return []
    return [
        f'metadata.labels: cannot remove {TEMPLATE_LABEL}="true" from ConfigMap '
        f'"{new.metadata.name}" while it is controlled by {owner.kind} "{owner.name}"'
    ]


async def _template_problems(new: Any, old: Any | None, lookup: Lookup) -> list[str]:
    """A new or changed template, checked once: our own checks (for the arch
    of the LimaVM that controls it, if one does), the disk rule, then Lima's."""
    if not is_template_configmap(new) or not _template_changed(new, old):
        return []
    what = f'ConfigMap "{new.metadata.name}"'
    controlled, vm = await _controlling_vm(new, lookup)
    arch = None
    if controlled:
        # An edited template must keep an image for the arch its VM was
        # built for (status.arch, else the host's), and must not shrink
        # the disk of an instance that exists.
        arch = str(vm.status.arch or lookup.host_arch) if vm is not None else lookup.host_arch
    found = template_entry_problems(new, what=what, vm_arch=arch)
    if controlled and not found:
        found = disk_shrink_problems(new, old, vm)
    return found or await lima_template_problems(new, what=what, lookup=lookup)


async def _controlling_vm(configmap: Any, lookup: Lookup) -> tuple[bool, Any | None]:
    """(whether a LimaVM controls this template ConfigMap, that LimaVM when
    it is stored under the owner reference's uid)."""
    owner = controller_ref(configmap)
    if owner is None or owner.kind != LIMAVM.kind:
        return False, None
    vm = await lookup.get(LIMAVM, configmap.metadata.namespace, owner.name)
    if vm is None or vm.metadata.uid != owner.uid:
        return True, None
    return True, vm


def _template_changed(new: Any, old: Any | None) -> bool:
    if old is None or not is_template_configmap(old):
        return True
    return bool(old.data.get(TEMPLATE_KEY) != new.data.get(TEMPLATE_KEY))
