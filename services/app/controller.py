"""The App controller: turns the one App into its input ConfigMap `rd` and
LimaVM `rd`, keeps spec.running propagated and conditions mirrored, and on
deletion releases and deletes everything it owns, waits by watch until the
LimaVM is gone, then drops its own finalizer.

Writes to LimaVMs and ConfigMaps go through the LimaVM service's RPCs;
reads come from informers on etcd."""

from __future__ import annotations

import contextlib
import logging
from dataclasses import dataclass
from typing import Any

from rdd.services.app.decisions import SETTLED, mirrored_conditions, settled_condition

from rdd.api.meta.v1 import meta_pb2
from rdd.clients import CREATED, ResourceClient, create_or_update
from rdd.errors import AlreadyExistsError, ApiError, NotFoundError
from rdd.kinds import APP, CONFIGMAP, LIMAVM, Kind
from rdd.meta import conditions
from rdd.meta.finalizers import add_finalizer, has_finalizer, is_deleting
from rdd.meta.names import (
    CLEANUP_FINALIZER,
    DEFAULT_NAMESPACE,
    TEMPLATE_KEY,
    owned_finalizer,
    template_configmap_name,
)
from rdd.meta.owners import controller_ref, is_controlled_by, set_controller_reference
from rdd.runtime.controller import DONE, Controller, Outcome
from rdd.runtime.events import EventRecorder
from rdd.runtime.informer import Informer, Key, subject
from rdd.runtime.reporting import Reporter
from rdd.store.registry import Registry

log = logging.getLogger(__name__)

#: The names the App gives what it creates (the original's).
CHILD_NAME = "rd"
#: The App informer's index of Apps by the namespace their children live in.
NAMESPACE_INDEX = "namespace"


@dataclass
class AppContext:
    registry: Registry
    apps: Informer
    limavms: Informer
    configmaps: Informer
    limavm_client: ResourceClient
    configmap_client: ResourceClient
    recorder: EventRecorder
    default_template: str


def app_namespace(app: Any) -> str:
    return app.spec.namespace or DEFAULT_NAMESPACE


class AppController:
    def __init__(self, context: AppContext) -> None:
        self.ctx = context
        self.controller = Controller("app", self.reconcile, workers=2)
        self.reporter = Reporter(APP, context.registry, context.recorder, informer=context.apps)
        context.apps.add_index(NAMESPACE_INDEX, lambda app: (app_namespace(app),))

    def _on_app(self, old: Any | None, new: Any | None) -> None:
        obj = subject(old, new)
        self.controller.enqueue(("", obj.metadata.name))

    def _on_child(self, old: Any | None, new: Any | None) -> None:
        """A LimaVM or ConfigMap change enqueues the App its ownerReference
        names (before or after the change). One with no owner left (released
        by a deleting App, which waits for it to go) enqueues the Apps of its
        namespace, found through an informer index."""
        owners = {
            ref.name
            for obj in (old, new)
            if obj is not None
            for ref in obj.metadata.owner_references
            if ref.kind == APP.kind
        }
        if not owners:
            namespace = subject(old, new).metadata.namespace
            owners = {
                app.metadata.name for app in self.ctx.apps.by_index(NAMESPACE_INDEX, namespace)
            }
        for name in owners:
            self.controller.enqueue(("", name))

    async def start(self) -> None:
        """The App informer is shared with the API: tell it (and this term's
        child informers) this term's handlers, then look at every App once."""
        self.ctx.apps.add_handler(self._on_app)
        self.ctx.limavms.add_handler(self._on_child)
        self.ctx.configmaps.add_handler(self._on_child)
        for informer in (self.ctx.apps, self.ctx.limavms, self.ctx.configmaps):
            await informer.start()
        self.controller.start()
        for app in self.ctx.apps.list():
            self.controller.enqueue(("", app.metadata.name))

    async def shutdown(self) -> None:
        await self.controller.shutdown()
        await self.ctx.recorder.shutdown()
        self.ctx.apps.remove_handler(self._on_app)
        self.ctx.limavms.remove_handler(self._on_child)
        self.ctx.configmaps.remove_handler(self._on_child)
        for informer in (self.ctx.configmaps, self.ctx.limavms, self.ctx.apps):
            await informer.shutdown()

    async def reconcile(self, key: Key) -> Outcome:
        app = self.ctx.apps.get(*key)
        if app is None:
            return DONE
        if is_deleting(app):
            return await self._finalize(app)
        if not has_finalizer(app, CLEANUP_FINALIZER):
            updated = _copy(APP, app)
            add_finalizer(updated, CLEANUP_FINALIZER)
            self.ctx.apps.note_written(await self.ctx.registry.update(APP, updated))
            return DONE
        namespace = app_namespace(app)
        creating = self.ctx.limavms.get(namespace, CHILD_NAME) is None
        try:
            vm = await self._ensure_limavm(app, namespace)
        except ApiError as error:
            if creating:  # say why on the App (and in a Warning event), then retry
                await self._report(app, None, namespace, create_error=error.message)
            raise
        if is_controlled_by(vm, app.metadata.uid) and not is_deleting(vm):
            await self._release_input(app, vm, namespace)
        await self._report(app, vm, namespace)
        return DONE

    async def _ensure_limavm(self, app: Any, namespace: str) -> Any:
        """LimaVM `rd` as the App declares it (create-or-update): created
        from its input ConfigMap when missing, spec.running carried over
        while it is ours. The first read is the informer's (absent there:
        create, and an AlreadyExists reads again); a retry after a race
        reads through the API."""
        reads = 0

        async def read() -> Any:
            nonlocal reads
            reads += 1
            if reads > 1:
                return await self.ctx.limavm_client.get(CHILD_NAME, namespace)
            cached = self.ctx.limavms.get(namespace, CHILD_NAME)
            if cached is None:
                await self._create_source(app, namespace)
                raise NotFoundError(f"{LIMAVM.named(CHILD_NAME)} not found")
            return cached

        verb, vm = await create_or_update(
            self.ctx.limavm_client,
            CHILD_NAME,
            namespace,
            read=read,
            build=lambda: _new_limavm(app, namespace),
            mutate=lambda live: _running_as_declared(live, app),
        )
        if verb == CREATED:
            log.info("event=limavm_created app=%s namespace=%s", app.metadata.name, namespace)
        return vm

    async def _create_source(self, app: Any, namespace: str) -> None:
        """Input ConfigMap `rd` (the template) for a LimaVM about to be created."""
        if self.ctx.configmaps.get(namespace, CHILD_NAME) is None:
            source = CONFIGMAP.new()
            source.metadata.name = CHILD_NAME
            source.metadata.namespace = namespace
            source.data[TEMPLATE_KEY] = self.ctx.default_template
            _own(source, app)
            with contextlib.suppress(AlreadyExistsError):
                await self.ctx.configmap_client.create(source)

    async def _release_input(self, app: Any, vm: Any, namespace: str) -> None:
        source = self.ctx.configmaps.get(namespace, CHILD_NAME)
        if vm.status.template_config_map and source is not None:
            # The LimaVM has its own copy now: the input is no longer needed.
            await self._release_and_delete(self.ctx.configmap_client, source, app)

    async def _release_and_delete(self, client: ResourceClient, child: Any, app: Any) -> None:
        """Lesson 1: strip our owned-by finalizer, then delete (one write,
        in the child's service)."""
        meta = child.metadata
        if not is_controlled_by(child, app.metadata.uid) and controller_ref(child) is not None:
            return
        with contextlib.suppress(NotFoundError):
            if controller_ref(child) is None:  # released already: delete that very object
                await client.delete(meta.name, meta.namespace, uid=meta.uid)
                return
            await client.release_ownership(
                meta.name, meta.namespace, owner_uid=app.metadata.uid, and_delete=True
            )

    async def _report(
        self, app: Any, vm: Any | None, namespace: str, *, create_error: str = ""
    ) -> None:
        template = None
        if vm is not None:
            template = self.ctx.configmaps.get(namespace, template_configmap_name(vm.metadata.name))
        generation = app.metadata.generation
        status_, reason, message = settled_condition(app, vm, template, create_error=create_error)
        wanted = [
            *mirrored_conditions(vm, generation=generation),
            meta_pb2.Condition(
                type=SETTLED,
                status=status_,
                reason=reason,
                message=message,
                observed_generation=generation,
            ),
        ]
        updated = _copy(APP, app)
        now = conditions.now_rfc3339()
        for condition in wanted:
            conditions.set_condition(updated.status.conditions, condition, now=now)
        for stale in {c.type for c in updated.status.conditions} - {c.type for c in wanted}:
            conditions.remove_condition(updated.status.conditions, stale)
        await self.reporter.write(app, updated)

    async def _finalize(self, app: Any) -> Outcome:
        """Release and delete what the App owns; once the LimaVM is gone
        (a watch event brings us back), drop the cleanup finalizer."""
        if not has_finalizer(app, CLEANUP_FINALIZER):
            return DONE
        uid = app.metadata.uid
        clients = {LIMAVM.kind: self.ctx.limavm_client, CONFIGMAP.kind: self.ctx.configmap_client}
        for ref in await self.ctx.registry.owned_by(uid):
            client = clients.get(ref.kind.kind)
            if client is None:
                continue
            with contextlib.suppress(NotFoundError):
                await client.release_ownership(
                    ref.name, ref.namespace, owner_uid=uid, and_delete=True
                )
        namespace = app_namespace(app)
        for informer in (self.ctx.limavms, self.ctx.configmaps):
            child = informer.get(namespace, CHILD_NAME)
            if child is not None and _was_ours(child, uid):
                if not is_deleting(child):
                    with contextlib.suppress(NotFoundError):
                        await _client_for(informer.kind, clients).delete(CHILD_NAME, namespace)
                log.info(
                    "event=waiting_for_child app=%s child=%s/%s",
                    app.metadata.name,
                    informer.kind.kind,
                    CHILD_NAME,
                )
                return DONE
        await self.ctx.registry.remove_finalizer(APP, "", app.metadata.name, CLEANUP_FINALIZER)
        log.info("event=finalized app=%s", app.metadata.name)
        return DONE


def _new_limavm(app: Any, namespace: str) -> Any:
    vm = LIMAVM.new()
    vm.metadata.name = CHILD_NAME
    vm.metadata.namespace = namespace
    vm.spec.template_ref.name = CHILD_NAME
    vm.spec.template_ref.namespace = namespace
    vm.spec.running = app.spec.running
    _own(vm, app)
    # The LimaVM controller's own finalizer, set now: it would add it in
    # a write of its own before doing anything else.
    add_finalizer(vm, CLEANUP_FINALIZER)
    return vm


def _running_as_declared(vm: Any, app: Any) -> Any | None:
    """The LimaVM with the App's spec.running, or None when that is so
    already or the LimaVM is not the App's to change (pure)."""
    if not is_controlled_by(vm, app.metadata.uid) or is_deleting(vm):
        return None
    if vm.spec.running == app.spec.running:
        return None
    updated = _copy(LIMAVM, vm)
    updated.spec.running = app.spec.running
    return updated


def _own(child: Any, app: Any) -> None:
    set_controller_reference(child, app)
    add_finalizer(child, owned_finalizer(APP.kind))


def _was_ours(child: Any, uid: str) -> bool:
    """Ours, or released by us (no controller left) and not yet gone."""
    ref = controller_ref(child)
    return ref is None or ref.uid == uid


def _client_for(kind: Kind, clients: dict[str, ResourceClient]) -> ResourceClient:
    return clients[kind.kind]


def _copy(kind: Kind, obj: Any) -> Any:
    copied = kind.message()
    copied.CopyFrom(obj)
    return copied
