"""LimaVM status: what the controller observed, written as conditions and
status fields, with an Event per condition change.

Called by the LimaVM controller (services/limavm/controller.py) after each
action, before starting a VM that failed (so the failure is on record even
when the restart follows at once), and after a controller restart."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from rdd.services.limavm.decisions import (
    CREATED,
    RUNNING_CONDITION,
    ConditionValue,
    Observed,
    counts_as_start,
    created_condition,
    running_condition,
)

from rdd.api.meta.v1 import meta_pb2
from rdd.drivers.base import ABSENT, PARTIAL, PREPARING
from rdd.kinds import LIMAVM
from rdd.meta import conditions
from rdd.runtime.reporting import Reporter

RECONCILING = ConditionValue(
    conditions.UNKNOWN, conditions.Reason.RECONCILING, "controller restarted; checking the instance"
)


@dataclass
class StatusWriter:
    reporter: Reporter

    async def report(self, vm: Any, observed: Observed, template: Any, arch: str) -> Any:
        """Conditions and template fields from one observation; returns the LimaVM as stored."""
        values = {
            CREATED: created_condition(observed),
            RUNNING_CONDITION: running_condition(observed),
        }
        # Only a built instance has applied a template (a Partial one is being rebuilt).
        built = observed.state not in (ABSENT, PARTIAL, PREPARING)
        current_template = observed.template_current and built
        return await self.write(
            vm,
            values,
            template_config_map=template.metadata.name,
            observed_template_version=template.metadata.resource_version
            if current_template
            else None,
            restart_needed=not observed.template_current,
            arch=arch,
            failure_streak=observed.failure_streak,
            restart_not_before=observed.restart_not_before,
        )

    async def write(
        self,
        vm: Any,
        values: dict[str, ConditionValue],
        *,
        template_config_map: str | None = None,
        observed_template_version: str | None = None,
        restart_needed: bool | None = None,
        arch: str | None = None,
        failure_streak: int | None = None,
        restart_not_before: str | None = None,
    ) -> Any:
        """One status write when anything differs, then an Event per condition
        change (Warning for a *Failed reason). Returns the LimaVM as stored."""
        updated = copy_vm(vm)
        status = updated.status
        now = conditions.now_rfc3339()
        for type_, value in values.items():
            previous = conditions.find_condition(vm.status.conditions, type_)
            if (
                previous is not None
                and previous.status == value.status
                and previous.reason == value.reason
                and previous.message == value.message
                and previous.observed_generation == vm.metadata.generation
            ):
                continue
            conditions.set_condition(
                status.conditions,
                meta_pb2.Condition(
                    type=type_,
                    status=value.status,
                    reason=value.reason,
                    message=value.message,
                    observed_generation=vm.metadata.generation,
                ),
                now=now,
            )
            if (
                type_ == RUNNING_CONDITION
                and previous is not None
                and counts_as_start(previous.status, previous.reason, value.status)
            ):
                status.restart_count += 1
        if template_config_map is not None:
            status.template_config_map = template_config_map
        if observed_template_version is not None:
            status.observed_template_resource_version = observed_template_version
        if restart_needed is not None:
            status.restart_needed = restart_needed
        if arch is not None and not status.arch:
            status.arch = arch
        if failure_streak is not None:
            status.failure_streak = failure_streak
        if restart_not_before is not None:
            status.restart_not_before = restart_not_before
        return await self.reporter.write(vm, updated)


def copy_vm(vm: Any) -> Any:
    copied = LIMAVM.new()
    copied.CopyFrom(vm)
    return copied
