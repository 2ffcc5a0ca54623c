"""What the App controller reports (pure): mirrored LimaVM conditions and
the App's own `Settled` condition. Tested with plain data."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from rdd.api.meta.v1 import meta_pb2
from rdd.meta.conditions import FALSE, TRUE, ConditionType, Reason, find_condition, is_failed

SETTLED = ConditionType.SETTLED


def mirrored_conditions(vm: Any | None, *, generation: int) -> list[meta_pb2.Condition]:
    """Every LimaVM condition as the App shows it: same type, status, reason,
    message and lastTransitionTime; observedGeneration is the App's."""
    if vm is None:
        return []
    mirrored = []
    for source in vm.status.conditions:
        copy = meta_pb2.Condition()
        copy.CopyFrom(source)
        copy.observed_generation = generation
        mirrored.append(copy)
    return mirrored


def settled_condition(
    app: Any, vm: Any | None, template: Any | None, *, create_error: str = ""
) -> tuple[str, str, str]:
    """(status, reason, message) of Settled: True only when the LimaVM has
    applied the current template and Running matches spec.running; the
    error that keeps the LimaVM from being created, if any."""
    wanted = app.spec.running
    if vm is None and create_error:
        return FALSE, Reason.CREATE_FAILED, create_error
    if vm is None or vm.metadata.deletion_timestamp:
        return FALSE, Reason.WAITING_FOR_LIMAVM, "waiting for the LimaVM to be created"
    if vm.spec.running != wanted:
        return FALSE, (Reason.STARTING if wanted else Reason.STOPPING), "updating the LimaVM"
    conditions: Iterable[meta_pb2.Condition] = vm.status.conditions
    created = find_condition(conditions, ConditionType.CREATED)
    running = find_condition(conditions, ConditionType.RUNNING)
    if created is not None and created.status == FALSE:
        return FALSE, created.reason, created.message
    if running is not None and running.status == FALSE and is_failed(running.reason):
        return FALSE, running.reason, running.message
    current = [c for c in (created, running) if c is not None]
    if len(current) < 2 or any(c.observed_generation != vm.metadata.generation for c in current):
        return FALSE, Reason.WAITING_FOR_LIMAVM, "waiting for the LimaVM to report its state"
    if (
        template is None
        or vm.status.restart_needed
        or vm.status.observed_template_resource_version != template.metadata.resource_version
    ):
        return FALSE, Reason.APPLYING_TEMPLATE, "the LimaVM is applying its template"
    assert running is not None
    if wanted and running.status != TRUE:
        return FALSE, Reason.STARTING, running.message or "the VM is starting"
    if not wanted and running.status == TRUE:
        return FALSE, Reason.STOPPING, "the VM is stopping"
    if not wanted and running.reason != Reason.STOPPED:
        return FALSE, Reason.STOPPING, running.message or "the VM is stopping"
    state = "running" if wanted else "stopped"
    return TRUE, Reason.SETTLED, f"the VM is {state} as requested"
