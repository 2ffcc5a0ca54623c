"""Admission rule for template changes: a LimaVM's disk never shrinks.

Lima cannot shrink an instance's disk: `limactl edit` refuses it and every
later `limactl start` fails (rdd.templates.disks). So an edit of a template
ConfigMap that lowers `disk` is refused while the LimaVM controlling it has
an instance (its Created condition is True); before that, nothing was built
and any size goes. Called by `rdd.admission.configmaps`.
"""

from __future__ import annotations

from typing import Any

from rdd.meta import conditions
from rdd.meta.names import TEMPLATE_KEY
from rdd.templates.disks import disk_shrink_problem


def instance_exists(vm: Any) -> bool:
    """Whether the LimaVM reports its Lima instance as created. Pure."""
    found = conditions.find_condition(vm.status.conditions, conditions.ConditionType.CREATED)
    return found is not None and found.status == conditions.TRUE


def disk_shrink_problems(new: Any, old: Any | None, vm: Any | None) -> list[str]:
    """Why changing the template ConfigMap `old` into `new` is refused for the
    LimaVM `vm` that controls it (None: no such LimaVM), or nothing. Pure."""
    if vm is None or old is None or not instance_exists(vm):
        return []
    before, after = old.data.get(TEMPLATE_KEY), new.data.get(TEMPLATE_KEY)
    if before is None or after is None:
        return []
    problem = disk_shrink_problem(before, after)
    if not problem:
        return []
    return [
        f'ConfigMap "{new.metadata.name}": {problem} (LimaVM "{vm.metadata.name}" has its instance)'
    ]
