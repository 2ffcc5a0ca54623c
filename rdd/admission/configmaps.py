"""Admission rules for ConfigMaps: owned ones are deleted only by their owner,
and a template ConfigMap (label `lima.rancherdesktop.io/template-configmap:
"true"`) holds a template Lima accepts and keeps its label while controlled.

Called by the dispatcher in `rdd.admission.webhooks`; `template_entry_problems`
is shared with the LimaVM rules, which check the ConfigMap a LimaVM names.
"""

from __future__ import annotations

from typing import Any

from rdd.admission.ownership import owned_delete_problems
from rdd.admission.reviews import written
from rdd.meta.names import TEMPLATE_KEY, TEMPLATE_LABEL
from rdd.meta.owners import controller_ref
from rdd.store.registry import Review
from rdd.templates.validation import validate_template


def is_template_configmap(configmap: Any) -> bool:
    return configmap.metadata.labels.get(TEMPLATE_LABEL) == "true"


def template_entry_problems(configmap: Any, *, what: str, vm_arch: str | None) -> list[str]:
    """Why `configmap` cannot serve as a Lima template (no `template` entry, or
    one Lima would reject; with `vm_arch`, also one without an image for it).
    `what` names the ConfigMap in messages. Pure."""
    if TEMPLATE_KEY not in configmap.data:
        return [f'{what} must have a "{TEMPLATE_KEY}" data entry']
    problems = validate_template(configmap.data[TEMPLATE_KEY], vm_arch=vm_arch)
    if problems:
        return [f"{what} has an invalid template: {'; '.join(problems)}"]
    return []


def configmap_problems(review: Review) -> list[str]:
    """Why this ConfigMap write is refused, or nothing. Pure.

    The template is checked when it is new or changed, so a metadata-only
    update (an owner dropping its finalizer) is never blocked by it.
    """
    if review.operation == "DELETE":
        return owned_delete_problems(review.old)
    if review.subresource:
        return []
    new, old = written(review), review.old
    name = new.metadata.name
    found: list[str] = []
    if old is not None and is_template_configmap(old) and not is_template_configmap(new):
        owner = controller_ref(new) or controller_ref(old)
        if owner is not None:
            found.append(
                f'metadata.labels: cannot remove {TEMPLATE_LABEL}="true" from ConfigMap '
                f'"{name}" while it is controlled by {owner.kind} "{owner.name}"'
            )
    if is_template_configmap(new) and _template_changed(new, old):
        found += template_entry_problems(new, what=f'ConfigMap "{name}"', vm_arch=None)
    return found


def _template_changed(new: Any, old: Any | None) -> bool:
    if old is None or not is_template_configmap(old):
        return True
    return bool(old.data.get(TEMPLATE_KEY) != new.data.get(TEMPLATE_KEY))
