"""The LimaVM controller: keeps each LimaVM's Lima instance as declared.

Level-based: every pass re-reads the LimaVM, its template ConfigMap and the
driver's view of the instance, performs one action (decisions.py), and
writes status. Preparation runs in the background so a delete can cancel
it; the driver notifies when an instance changes on its own (crash, boot)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from rdd.api.meta.v1 import meta_pb2
from rdd.drivers.base import ABSENT, Driver, DriverError, InstanceStatus
from rdd.errors import ApiError, ConflictError, NotFoundError
from rdd.kinds import LIMAVM
from rdd.meta import conditions
from rdd.meta.finalizers import add_finalizer, has_finalizer, is_deleting, remove_finalizer
from rdd.meta.names import (
    CLEANUP_FINALIZER,
    RESTART_ANNOTATION,
    TEMPLATE_KEY,
    template_configmap_name,
)
from rdd.meta.owners import controller_ref
from rdd.runtime.controller import DONE, Controller, Outcome, RequeueAfter
from rdd.runtime.events import EventRecorder
from rdd.runtime.informer import Informer, Key, subject
from rdd.store.registry import Registry
from rdd.templates.rendering import is_built_from, render_for_arch
from services.limavm.decisions import (
    CREATED,
    RUNNING_CONDITION,
    ConditionValue,
    Failure,
    Observed,
    VMAction,
    counts_as_start,
    created_condition,
    decide_vm_action,
    running_condition,
)

log = logging.getLogger(__name__)

#: A failed preparation is retried after this long (or at once on a template change).
PREPARE_RETRY_SECONDS = 30.0


@dataclass
class LimaVMContext:
    """What the controller works with."""

    registry: Registry
    vms: Informer
    configmaps: Informer
    driver: Driver
    recorder: EventRecorder
    lima_home: Path
    host_arch: str
    stop_timeout: float = 30.0


@dataclass
class _Preparation:
    task: asyncio.Task[None]
    lima_yaml: str


@dataclass
class _Failures:
    """Last failed operation per instance; cleared by success or a new template."""

    by_name: dict[str, tuple[Failure, str, float]] = field(default_factory=dict)

    def get(self, name: str, lima_yaml: str) -> Failure | None:
        entry = self.by_name.get(name)
        if entry is None:
            return None
        failure, for_yaml, at = entry
        stale = for_yaml != lima_yaml or (
            failure.reason == "CreateFailed" and time.monotonic() - at > PREPARE_RETRY_SECONDS
        )
        return None if stale else failure

    def set(self, name: str, failure: Failure, lima_yaml: str) -> None:
        self.by_name[name] = (failure, lima_yaml, time.monotonic())

    def clear(self, name: str) -> None:
        self.by_name.pop(name, None)


class LimaVMController:
    def __init__(self, context: LimaVMContext) -> None:
        self.ctx = context
        self.controller = Controller("limavm", self.reconcile, workers=4)
        self._preparations: dict[str, _Preparation] = {}
        self._failures = _Failures()
        context.vms.add_handler(self._on_vm)
        context.configmaps.add_handler(self._on_configmap)

    # Watches -> keys ---------------------------------------------------------

    def _on_vm(self, old: Any | None, new: Any | None) -> None:
        obj = subject(old, new)
        self.controller.enqueue((obj.metadata.namespace, obj.metadata.name))

    def _on_configmap(self, old: Any | None, new: Any | None) -> None:
        """A template ConfigMap change enqueues the LimaVM that controls it."""
        obj = subject(old, new)
        ref = controller_ref(obj)
        if ref is not None and ref.kind == LIMAVM.kind:
            self.controller.enqueue((obj.metadata.namespace, ref.name))

    def notify(self, name: str) -> None:
        """Driver callback: an instance changed on its own."""
        for vm in self.ctx.vms.list():
            if vm.metadata.name == name:
                self.controller.enqueue((vm.metadata.namespace, name))

    # Lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        await self.ctx.vms.start()
        await self.ctx.configmaps.start()
        await self._mark_reconciling()
        self.controller.start()
        for vm in self.ctx.vms.list():
            self.controller.enqueue((vm.metadata.namespace, vm.metadata.name))

    async def shutdown(self) -> None:
        await self.controller.shutdown()
        for name in list(self._preparations):
            await self._cancel_preparation(name)
        await self.ctx.driver.shutdown()
        await self.ctx.configmaps.shutdown()
        await self.ctx.vms.shutdown()

    async def _mark_reconciling(self) -> None:
        """After a restart, Running is Unknown until the real state is known."""
        for vm in self.ctx.vms.list():
            if (
                is_deleting(vm)
                or conditions.find_condition(vm.status.conditions, RUNNING_CONDITION) is None
            ):
                continue
            value = ConditionValue(
                conditions.UNKNOWN, "Reconciling", "controller restarted; checking the instance"
            )
            with contextlib.suppress(ApiError):
                await self._write_status(vm, {RUNNING_CONDITION: value})

    # Reconcile -----------------------------------------------------------------

    async def reconcile(self, key: Key) -> Outcome:
        namespace, name = key
        vm = self.ctx.vms.get(namespace, name)
        if vm is None:
            return DONE
        if is_deleting(vm):
            return await self._finalize(vm)
        if not has_finalizer(vm, CLEANUP_FINALIZER):
            updated = _copy(vm)
            add_finalizer(updated, CLEANUP_FINALIZER)
            await self.ctx.registry.update(LIMAVM, updated)
            return DONE
        template = self.ctx.configmaps.get(namespace, template_configmap_name(name))
        if template is None:
            # Written in the LimaVM's own transaction and guarded against
            # deletion: the ConfigMap watch simply has not delivered it yet,
            # and its event enqueues this LimaVM.
            log.info("event=waiting_for_template key=%s/%s", namespace, name)
            return DONE
        if TEMPLATE_KEY not in template.data:
            message = f'template ConfigMap "{template.metadata.name}" has no "{TEMPLATE_KEY}" entry'
            await self._write_status(
                vm, {CREATED: ConditionValue(conditions.FALSE, "CreateFailed", message)}
            )
            return DONE
        arch = vm.status.arch or self.ctx.host_arch
        lima_yaml = render_for_arch(template.data[TEMPLATE_KEY], arch)

        observed = await self._observe(vm, lima_yaml)
        action = decide_vm_action(observed)
        log.info(
            "event=reconcile key=%s/%s state=%s action=%s",
            namespace,
            name,
            observed.state,
            action.value,
        )
        outcome = await self._perform(vm, action, lima_yaml, arch)
        if action not in (VMAction.NOTHING, VMAction.CLEAR_RESTART_REQUEST):
            observed = await self._observe(vm, lima_yaml)
        await self._report(vm, observed, template, arch)
        return outcome

    async def _observe(self, vm: Any, lima_yaml: str) -> Observed:
        name = vm.metadata.name
        instance: InstanceStatus = await self.ctx.driver.status(name)
        built_from = _read_lima_yaml(self.ctx.lima_home, name)
        return Observed(
            running_wanted=vm.spec.running,
            state=instance.state,
            preparing=name in self._preparations,
            template_current=built_from is None or is_built_from(built_from, lima_yaml),
            restart_requested=RESTART_ANNOTATION in vm.metadata.annotations,
            failure=self._failures.get(name, lima_yaml),
        )

    async def _perform(self, vm: Any, action: VMAction, lima_yaml: str, arch: str) -> Outcome:
        name = vm.metadata.name
        driver = self.ctx.driver
        match action:
            case VMAction.PREPARE:
                self._start_preparation(vm, lima_yaml, arch)
            case VMAction.REPREPARE:
                await driver.delete(name)
                self._start_preparation(vm, lima_yaml, arch)
            case VMAction.START:
                try:
                    await driver.start(name)
                    self._failures.clear(name)
                except DriverError as exc:
                    self._failures.set(name, Failure("StartFailed", exc.message), lima_yaml)
                    return RequeueAfter(2.0)
            case VMAction.STOP | VMAction.FORCE_STOP:
                timeout = self.ctx.stop_timeout if action is VMAction.STOP else 0.0
                try:
                    await driver.stop(name, timeout=timeout)
                    self._failures.clear(name)
                except DriverError as exc:
                    self._failures.set(name, Failure("StopFailed", exc.message), lima_yaml)
                    return RequeueAfter(2.0)
            case VMAction.CLEAR_RESTART_REQUEST:
                updated = _copy(vm)
                del updated.metadata.annotations[RESTART_ANNOTATION]
                await self.ctx.registry.update(LIMAVM, updated)
            case VMAction.NOTHING:
                failure = self._failures.get(name, lima_yaml)
                if failure is not None and failure.reason == "CreateFailed":
                    return RequeueAfter(PREPARE_RETRY_SECONDS)
        return DONE

    # Preparation runs in the background ---------------------------------------

    def _start_preparation(self, vm: Any, lima_yaml: str, arch: str) -> None:
        name = vm.metadata.name
        if name in self._preparations:
            return
        task = asyncio.get_running_loop().create_task(
            self._prepare(name, lima_yaml, arch), name=f"prepare-{name}"
        )
        self._preparations[name] = _Preparation(task, lima_yaml)

    async def _prepare(self, name: str, lima_yaml: str, arch: str) -> None:
        try:
            await self.ctx.driver.prepare(name, lima_yaml, arch)
            self._failures.clear(name)
            log.info("event=prepared name=%s arch=%s", name, arch)
        except DriverError as exc:
            log.warning("event=prepare_failed name=%s error=%s", name, exc.message)
            self._failures.set(name, Failure("CreateFailed", exc.message), lima_yaml)
        finally:
            self._preparations.pop(name, None)
            self.notify(name)

    async def _cancel_preparation(self, name: str) -> None:
        preparation = self._preparations.pop(name, None)
        if preparation is None:
            return
        preparation.task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await preparation.task

    # Status ---------------------------------------------------------------------

    async def _report(self, vm: Any, observed: Observed, template: Any, arch: str) -> None:
        values = {
            CREATED: created_condition(observed),
            RUNNING_CONDITION: running_condition(observed),
        }
        current_template = (
            observed.template_current and observed.state != ABSENT and not observed.preparing
        )
        await self._write_status(
            vm,
            values,
            template_config_map=template.metadata.name,
            observed_template_version=template.metadata.resource_version
            if current_template
            else None,
            restart_needed=not observed.template_current,
            arch=arch,
        )

    async def _write_status(
        self,
        vm: Any,
        values: dict[str, ConditionValue],
        *,
        template_config_map: str | None = None,
        observed_template_version: str | None = None,
        restart_needed: bool | None = None,
        arch: str | None = None,
    ) -> None:
        """One status write when anything differs, then an Event per condition change."""
        updated = _copy(vm)
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
        if updated.status == vm.status:
            return
        await self.ctx.registry.update_status(LIMAVM, updated)
        for changed in conditions.condition_changes(vm.status.conditions, status.conditions):
            event_type = "Warning" if changed.reason.endswith("Failed") else "Normal"
            await self.ctx.recorder.record(updated, event_type, changed.reason, changed.message)

    # Deletion -------------------------------------------------------------------

    async def _finalize(self, vm: Any) -> Outcome:
        """Stop the VM, remove the instance, release and delete owned
        ConfigMaps, then drop the cleanup finalizer."""
        if not has_finalizer(vm, CLEANUP_FINALIZER):
            return DONE
        name = vm.metadata.name
        await self._cancel_preparation(name)
        instance = await self.ctx.driver.status(name)
        if instance.state != ABSENT:
            try:
                await self.ctx.driver.stop(name, timeout=min(self.ctx.stop_timeout, 5.0))
            except DriverError as exc:
                log.warning(
                    "event=graceful_stop_failed name=%s error=%s; deleting forcibly",
                    name,
                    exc.message,
                )
            await self.ctx.driver.delete(name)
        self._failures.clear(name)
        registry = self.ctx.registry
        for ref in await registry.store.owned_by(vm.metadata.uid):
            with contextlib.suppress(NotFoundError):
                await registry.release_ownership(
                    ref.kind, ref.namespace, ref.name, owner_uid=vm.metadata.uid
                )
                await registry.delete(ref.kind, ref.namespace, ref.name)
        updated = _copy(vm)
        remove_finalizer(updated, CLEANUP_FINALIZER)
        try:
            await registry.update(LIMAVM, updated)
        except ConflictError:
            return RequeueAfter(0)
        await self.ctx.recorder.record(vm, "Normal", "Deleted", "Lima instance removed")
        log.info("event=finalized key=%s/%s", vm.metadata.namespace, name)
        return DONE


def _copy(vm: Any) -> Any:
    copied = LIMAVM.new()
    copied.CopyFrom(vm)
    return copied


def _read_lima_yaml(lima_home: Path, name: str) -> str | None:
    try:
        return (lima_home / name / "lima.yaml").read_text()
    except (FileNotFoundError, NotADirectoryError):
        return None
