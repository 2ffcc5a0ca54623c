"""The LimaVM controller: keeps each LimaVM's Lima instance as declared.

Level-based, each pass a ladder: gone -> done; deleting -> finalize; no
finalizer -> add it; no usable template -> say so. Otherwise it observes
once (the LimaVM, its template ConfigMap, the driver's view of the
instance), takes the one action that observation calls for (decisions.py),
and writes status once, from that observation and the action's outcome
(reporting.py); after an action it looks again. The driver prepares in the
background (status says Pending only once that has taken a moment,
decisions.pending_hold, so a quick one is reported once, as Created; a
delete cancels it) and notifies when an instance changes on its own (crash,
boot, preparation done). A template change restarts the VM with its new
lima.yaml; only a new arch or new images rebuild the instance. Restarts
after failures back off exponentially (decisions.account_restart)."""

from __future__ import annotations

import contextlib
import dataclasses
import functools
import logging
import time
from dataclasses import dataclass, field
from typing import Any

from rdd.services.limavm.decisions import (
    CREATED,
    RUNNING_CONDITION,
    ConditionValue,
    Failure,
    Observed,
    RestartStreak,
    VMAction,
    account_restart,
    decide_vm_action,
    needs_rebuild,
    pending_hold,
    prepare_backoff,
    requeue_after,
    resumed_streak,
)
from rdd.services.limavm.reporting import RECONCILING, StatusWriter, copy_vm

from rdd.drivers.base import ABSENT, PREPARING, Driver, DriverError, InstanceStatus
from rdd.errors import ApiError, NotFoundError
from rdd.kinds import LIMAVM
from rdd.meta import conditions
from rdd.meta.conditions import ConditionType, Reason
from rdd.meta.finalizers import add_finalizer, has_finalizer, is_deleting
from rdd.meta.names import (
    CLEANUP_FINALIZER,
    RESTART_ANNOTATION,
    TEMPLATE_KEY,
    template_configmap_name,
)
from rdd.meta.owners import controller_ref
from rdd.runtime.controller import DONE, Controller, Outcome, RequeueAfter
from rdd.runtime.events import EventRecorder
from rdd.runtime.informer import Informer, Key, status_only, subject
from rdd.runtime.reporting import Reporter
from rdd.store.registry import Registry
from rdd.templates.rendering import is_built_from, render_for_arch

log = logging.getLogger(__name__)

#: A failed stop is tried again after this long.
STOP_RETRY_SECONDS = 2.0
#: The LimaVM informer's index by name: a driver notifies by instance name.
NAME_INDEX = "name"


@dataclass
class LimaVMContext:
    """What the controller works with."""

    registry: Registry
    vms: Informer
    configmaps: Informer
    driver: Driver
    recorder: EventRecorder
    host_arch: str
    #: Graceful stop budget (RDD_STOP_TIMEOUT_SECONDS); None: the driver's own.
    stop_timeout: float | None = None


@dataclass
class _Instance:
    """What the controller remembers about one instance between passes."""

    #: A driver call of ours that raised, and the lima.yaml it was for.
    failure: Failure | None = None
    failure_yaml: str = ""
    #: The lima.yaml of the last preparation begun, when it began, and when
    #: it was seen failing.
    prepared_yaml: str = ""
    prepare_began: float | None = None
    prepare_failed_at: float | None = None
    #: Failed runs in a row and the restart backoff they earned; when that
    #: backoff ends on the wall clock, as status says it.
    streak: RestartStreak = field(default_factory=RestartStreak)
    not_before_text: str = ""


class LimaVMController:
    def __init__(self, context: LimaVMContext) -> None:
        self.ctx = context
        self.controller = Controller("limavm", self.reconcile, workers=4)
        self.status = StatusWriter(
            Reporter(LIMAVM, context.registry, context.recorder, informer=context.vms)
        )
        self._instances: dict[str, _Instance] = {}
        #: LimaVMs whose pass found no template copy in the cache yet.
        self._awaiting_template: set[Key] = set()
        context.vms.add_index(NAME_INDEX, lambda vm: (vm.metadata.name,))

    # Watches -> keys ---------------------------------------------------------

    def _on_vm(self, old: Any | None, new: Any | None) -> None:
        if status_only(old, new):
            return  # status is ours: written from what the last pass saw
        obj = subject(old, new)
        self.controller.enqueue((obj.metadata.namespace, obj.metadata.name))

    def _on_configmap(self, old: Any | None, new: Any | None) -> None:
        """A template ConfigMap change enqueues the LimaVM that controls it.
        A new copy does so only if a pass missed it: it is written in its
        LimaVM's own transaction, whose event brings that pass."""
        obj = subject(old, new)
        ref = controller_ref(obj)
        if ref is None or ref.kind != LIMAVM.kind:
            return
        key = (obj.metadata.namespace, ref.name)
        if old is None and key not in self._awaiting_template:
            return
        self._awaiting_template.discard(key)
        self.controller.enqueue(key)

    def notify(self, name: str) -> None:
        """Driver callback: an instance changed on its own."""
        for vm in self.ctx.vms.by_index(NAME_INDEX, name):
            self.controller.enqueue((vm.metadata.namespace, name))

    # Lifecycle -----------------------------------------------------------------

    async def start(self) -> None:
        """Hook this term's handlers into the informers (shared with the API)."""
        self.ctx.vms.add_handler(self._on_vm)
        self.ctx.configmaps.add_handler(self._on_configmap)
        await self.ctx.vms.start()
        await self.ctx.configmaps.start()
        await self._mark_reconciling()
        self.controller.start()
        for vm in self.ctx.vms.list():
            self.controller.enqueue((vm.metadata.namespace, vm.metadata.name))

    async def shutdown(self) -> None:
        await self.controller.shutdown()
        await self.ctx.driver.shutdown()  # cancels preparations in flight
        await self.ctx.recorder.shutdown()
        for informer, handler in (
            (self.ctx.vms, self._on_vm),
            (self.ctx.configmaps, self._on_configmap),
        ):
            informer.remove_handler(handler)
            await informer.shutdown()

    async def _mark_reconciling(self) -> None:
        """After a restart, Running is Unknown until the real state is known."""
        for vm in self.ctx.vms.list():
            if (
                is_deleting(vm)
                or conditions.find_condition(vm.status.conditions, RUNNING_CONDITION) is None
            ):
                continue
            with contextlib.suppress(ApiError):
                await self.status.write(vm, {RUNNING_CONDITION: RECONCILING})

    # Reconcile -----------------------------------------------------------------

    async def reconcile(self, key: Key) -> Outcome:
        namespace, name = key
        vm = self.ctx.vms.get(namespace, name)
        if vm is None:
            self._awaiting_template.discard(key)
            return DONE
        if is_deleting(vm):
            return await self._finalize(vm)
        if not has_finalizer(vm, CLEANUP_FINALIZER):
            updated = copy_vm(vm)
            add_finalizer(updated, CLEANUP_FINALIZER)
            self.ctx.vms.note_written(await self.ctx.registry.update(LIMAVM, updated))
            return DONE
        template = self.ctx.configmaps.get(namespace, template_configmap_name(name))
        if template is None:
            # Written in the LimaVM's own transaction and guarded against
            # deletion: the ConfigMap watch simply has not delivered it yet,
            # and its event enqueues this LimaVM.
            log.info("event=waiting_for_template key=%s/%s", namespace, name)
            self._awaiting_template.add(key)
            return DONE
        if TEMPLATE_KEY not in template.data:
            message = f'template ConfigMap "{template.metadata.name}" has no "{TEMPLATE_KEY}" entry'
            await self.status.write(
                vm, {CREATED: ConditionValue(conditions.FALSE, Reason.CREATE_FAILED, message)}
            )
            return DONE
        arch = vm.status.arch or self.ctx.host_arch
        lima_yaml = _render(template.data[TEMPLATE_KEY], arch)

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
        if action is VMAction.CLEAR_RESTART_REQUEST:
            return outcome  # a metadata write: its watch event brings the next pass
        memo = self._instances.setdefault(name, _Instance())
        preparing = observed.state == PREPARING or action in (VMAction.PREPARE, VMAction.REBUILD)
        hold = pending_hold(memo.prepare_began, preparing=preparing, now=time.monotonic())
        if hold is not None:
            return RequeueAfter(hold)
        # The one status write: this observation, with what the action just
        # taught (a failure of ours, or none any more).
        await self.status.report(
            vm, dataclasses.replace(observed, failure=memo.failure), template, arch
        )
        if action is not VMAction.NOTHING:
            return RequeueAfter(0) if outcome is DONE else outcome  # look again
        wait = requeue_after(observed, action)
        return DONE if wait is None else RequeueAfter(wait)

    async def _observe(self, vm: Any, lima_yaml: str) -> Observed:
        name = vm.metadata.name
        instance: InstanceStatus = await self.ctx.driver.status(name)
        built_from = self.ctx.driver.built_template(name)
        current = built_from is None or is_built_from(built_from, lima_yaml)
        memo = self._memo(vm)
        now = time.monotonic()
        if memo.failure is not None and (
            memo.failure_yaml != lima_yaml
            or (memo.failure.reason == Reason.START_FAILED and not vm.spec.running)
        ):
            memo.failure = None
        failing = instance.state == ABSENT and bool(instance.message)
        memo.prepare_failed_at, prepare_wait = prepare_backoff(
            memo.prepare_failed_at, failing=failing and memo.prepared_yaml == lima_yaml, now=now
        )
        observed = Observed(
            running_wanted=vm.spec.running,
            state=instance.state,
            message=instance.message,
            template_current=current,
            rebuild_needed=not current
            and built_from is not None
            and needs_rebuild(built_from, lima_yaml),
            restart_requested=RESTART_ANNOTATION in vm.metadata.annotations,
            failure=memo.failure,
            prepare_backoff=prepare_wait,
        )
        before = memo.streak
        memo.streak, start_wait = account_restart(before, observed, now=now)
        if memo.streak.failures == 0:
            memo.not_before_text = ""
        elif memo.streak.not_before != before.not_before:
            memo.not_before_text = conditions.rfc3339_in(memo.streak.not_before - now)
        if memo.streak.failures != before.failures or memo.streak.not_before != before.not_before:
            log.info(
                "event=vm_failed name=%s failures=%d restart_in=%.1fs",
                name,
                memo.streak.failures,
                start_wait,
            )
        return dataclasses.replace(
            observed,
            start_backoff=start_wait,
            failure_streak=memo.streak.failures,
            restart_not_before=memo.not_before_text,
        )

    def _memo(self, vm: Any) -> _Instance:
        """What this controller remembers of `vm`'s instance; the first time,
        the failure streak that status kept (a restart or a new leader)."""
        name = vm.metadata.name
        memo = self._instances.get(name)
        if memo is None:
            left = conditions.seconds_until(vm.status.restart_not_before)
            running = conditions.find_condition(vm.status.conditions, ConditionType.RUNNING)
            streak = resumed_streak(
                vm.status.failure_streak,
                left,
                ran_since=running is not None and running.status == conditions.TRUE,
                now=time.monotonic(),
            )
            memo = self._instances[name] = _Instance(
                streak=streak,
                not_before_text=vm.status.restart_not_before if streak.failures else "",
            )
        return memo

    async def _perform(self, vm: Any, action: VMAction, lima_yaml: str, arch: str) -> Outcome:
        name = vm.metadata.name
        driver = self.ctx.driver
        memo = self._instances.setdefault(name, _Instance())
        match action:
            case VMAction.PREPARE:
                self._begin_prepare(name, lima_yaml, arch)
            case VMAction.REBUILD:
                log.info("event=rebuild name=%s reason=arch or images changed", name)
                await driver.delete(name)
                self._begin_prepare(name, lima_yaml, arch)
            case VMAction.RECONFIGURE:
                try:
                    await driver.reconfigure(name, lima_yaml)
                except DriverError as exc:
                    self._fail(memo, Failure(Reason.START_FAILED, exc.message), lima_yaml)
                    return RequeueAfter(STOP_RETRY_SECONDS)
                memo.failure = None
                log.info("event=reconfigured name=%s", name)
            case VMAction.START:
                memo.streak = dataclasses.replace(memo.streak, counted=False)
                try:
                    await driver.start(name)
                    memo.failure = None
                except DriverError as exc:
                    self._fail(memo, Failure(Reason.START_FAILED, exc.message), lima_yaml)
            case VMAction.STOP | VMAction.FORCE_STOP:
                timeout = self.ctx.stop_timeout if action is VMAction.STOP else 0.0
                try:
                    await driver.stop(name, timeout=timeout)
                    memo.failure = None
                except DriverError as exc:
                    self._fail(memo, Failure(Reason.STOP_FAILED, exc.message), lima_yaml)
                    return RequeueAfter(STOP_RETRY_SECONDS)
            case VMAction.CLEAR_RESTART_REQUEST:
                updated = copy_vm(vm)
                del updated.metadata.annotations[RESTART_ANNOTATION]
                self.ctx.vms.note_written(await self.ctx.registry.update(LIMAVM, updated))
            case VMAction.NOTHING:
                pass
        return DONE

    def _begin_prepare(self, name: str, lima_yaml: str, arch: str) -> None:
        """Preparation runs in the driver, in the background (see Driver.begin_prepare)."""
        memo = self._instances.setdefault(name, _Instance())
        memo.prepared_yaml, memo.prepare_failed_at = lima_yaml, None
        memo.prepare_began = time.monotonic()
        self.ctx.driver.begin_prepare(name, lima_yaml, arch)

    @staticmethod
    def _fail(memo: _Instance, failure: Failure, lima_yaml: str) -> None:
        log.warning("event=operation_failed reason=%s error=%r", failure.reason, failure.message)
        memo.failure, memo.failure_yaml = failure, lima_yaml

    # Deletion -------------------------------------------------------------------

    async def _finalize(self, vm: Any) -> Outcome:
        """Stop the VM, remove the instance, then release and delete owned
        ConfigMaps and drop the cleanup finalizer, in one write."""
        if not has_finalizer(vm, CLEANUP_FINALIZER):
            return DONE
        name = vm.metadata.name
        instance = await self.ctx.driver.status(name)
        if instance.state != ABSENT:
            # The full graceful budget: a guest killed mid-shutdown can lose
            # data even when its instance is about to go (the API has no
            # forced delete that would ask for less).
            try:
                await self.ctx.driver.stop(name, timeout=self.ctx.stop_timeout)
            except DriverError as exc:
                log.warning(
                    "event=graceful_stop_failed name=%s error=%s; deleting forcibly",
                    name,
                    exc.message,
                )
            await self.ctx.driver.delete(name)  # cancels a preparation in flight
        self._instances.pop(name, None)
        try:
            await self.ctx.registry.finish_deletion(
                LIMAVM, vm.metadata.namespace, name, CLEANUP_FINALIZER, released_by={LIMAVM.kind}
            )
        except NotFoundError:
            return DONE  # finalized in a pass before, from a cache behind etcd
        await self.ctx.recorder.record(vm, "Normal", "Deleted", "Lima instance removed")
        log.info("event=finalized key=%s/%s", vm.metadata.namespace, name)
        return DONE


@functools.lru_cache(maxsize=256)
def _render(template_text: str, arch: str) -> str:
    """render_for_arch, once per (template, arch): every pass asks, and
    parsing YAML costs more than the rest of an idle pass."""
    return render_for_arch(template_text, arch)
